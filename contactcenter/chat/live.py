"""An open conversation as the chat service holds it in memory: its record, the visitor's
sockets, the offer and the timers running for it (ring, idle, gone), the delivered/read marks.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from contactcenter.chat.model import ConversationRecord, ConversationState, Message


class VisitorPeer(Protocol):
    """One visitor socket as the service sees it: frames out, never blocking."""

    def send(self, text: str) -> None:
        """Queue one encoded frame (a peer that cannot keep up closes itself)."""

    def close(self, code: int, reason: str) -> None:
        """Close the socket soon."""


@dataclass(eq=False)
class LiveConversation:
    """An open conversation in memory: its record, visitor sockets and offer."""

    record: ConversationRecord
    token_hash: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    peers: set[VisitorPeer] = field(default_factory=set)
    offer_id: str | None = None
    ring: asyncio.TimerHandle | None = None
    closing_by: str | None = None
    last_position: tuple[int, int | None] | None = None
    client_ids: OrderedDict[str, Message] = field(default_factory=OrderedDict)
    idle: asyncio.TimerHandle | None = None  # the visitor's silence: warning, then close
    idle_warned: bool = False
    gone: asyncio.TimerHandle | None = None  # no visitor socket: abandoned when it fires
    # Delivered/read marks (in memory: a restart forgets them, the next frames restore them)
    visitor_delivered: int = 0  # the widget received every message up to this seq
    visitor_read: int = 0  # ...and showed them to the visitor
    agent_read: int = 0  # the agent read every message up to this seq
    bot: Any = None  # while the channel's bot talks: its side of the conversation (bot.py)
    bot_prompt: dict[str, Any] | None = None  # the bot's last buttons/articles, for a rejoin
    # In memory (a restart forgets them): colleagues invited in (agent ids) and supervisors
    # who joined (user names) besides the agent who has the chat (``supervise.py``).
    guests: set[str] = field(default_factory=set)
    joined: set[str] = field(default_factory=set)

    def stop_timers(self) -> None:
        """Cancel the ring, idle and gone timers."""
        for name in ("ring", "idle", "gone"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)

    def stop_idle(self) -> None:
        """Cancel the idle timer (the visitor spoke, or the chat left its agent)."""
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def state(self) -> ConversationState:
        return self.record.state

    def change(self, **values: Any) -> None:
        self.record = dataclasses.replace(self.record, **values)
