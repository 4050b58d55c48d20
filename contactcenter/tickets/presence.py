"""Who has which ticket open, and who is writing on it: the collision warning.

Design note: presence is what the pages say now, not something to keep: a page announces
itself when it opens a ticket and again every ``HEARTBEAT_S`` (saying whether its reply box
has text), and says goodbye when it leaves; a viewer not heard of for ``TTL_S`` is gone (a
closed laptop). It lives in the process that serves the pages (the leader: standbys pass
these requests to it), one object per server, no module-level state. Whenever the set of
viewers of a ticket changes, each viewer is told on their live topic (``ticket-viewers``).
The hard guarantee is not here but in ``view_mark.py``: a reply on a stale view is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HEARTBEAT_S = 20.0
TTL_S = 3 * HEARTBEAT_S


@dataclass(frozen=True, slots=True)
class Viewer:
    """One user with a ticket open."""

    username: str
    agent_id: str | None
    staff: bool
    replying: bool
    seen_at: float

    def as_json(self) -> dict[str, Any]:
        return {"username": self.username, "agent_id": self.agent_id,
                "replying": self.replying, "seen_at": self.seen_at}


class Presence:
    """The viewers of every open ticket, by ticket id, then username."""

    def __init__(self) -> None:
        self._open: dict[int, dict[str, Viewer]] = {}

    def viewers(self, ticket_id: int, now: float) -> list[Viewer]:
        """The ticket's viewers heard of within ``TTL_S`` (the others are dropped)."""
        here = self._open.get(ticket_id, {})
        for name in [n for n, v in here.items() if now - v.seen_at > TTL_S]:
            del here[name]
        if not here:
            self._open.pop(ticket_id, None)
        return sorted(here.values(), key=lambda v: v.username)

    def see(self, ticket_id: int, viewer: Viewer) -> bool:
        """``viewer`` has the ticket open; True when that changes what others see."""
        before = {(v.username, v.replying) for v in self.viewers(ticket_id, viewer.seen_at)}
        self._open.setdefault(ticket_id, {})[viewer.username] = viewer
        return (viewer.username, viewer.replying) not in before

    def leave(self, ticket_id: int, username: str) -> bool:
        """``username`` closed the ticket; True when they had it open."""
        here = self._open.get(ticket_id, {})
        gone = here.pop(username, None) is not None
        if not here:
            self._open.pop(ticket_id, None)
        return gone
