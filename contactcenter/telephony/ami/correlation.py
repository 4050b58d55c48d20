"""Sans-IO matching of AMI replies to the actions that asked for them.

Design note
-----------
Every action we send carries an ActionID we chose. A reply is matched by that id:

* a message with ``Response:`` and no ``Event:`` is the reply to a pending action. For a list
  action whose reply is ``Success`` with ``EventList: start``, the action stays pending and
  collects the events carrying its id until the one with ``EventList: Complete``;
* every other ``Event:`` message goes to the event subscribers, even when it carries an
  ActionID (``OriginateResponse`` echoes the Originate's id long after its reply);
* a reply nobody waits for (its action timed out) is dropped.

``OriginateResponse`` has both ``Event`` and ``Response`` headers, which is why ``Event`` is
checked first. The correlator holds no futures and does no I/O; the client wraps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contactcenter.telephony.ami.protocol import AmiMessage

__all__ = ["Correlator", "Pending"]


@dataclass(slots=True)
class Pending:
    """One action waiting for its reply (and, for list actions, its items)."""

    action_id: str
    is_list: bool
    response: AmiMessage | None = None
    items: list[AmiMessage] = field(default_factory=list)
    complete: AmiMessage | None = None

    @property
    def failed(self) -> bool:
        """True when the reply was not a success."""
        return self.response is not None and self.response.get("Response") not in (
            "Success",
            "Goodbye",
        )


class Correlator:
    """Routes incoming messages: replies to pending actions, everything else to subscribers."""

    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._pending

    def add(self, action_id: str, is_list: bool = False) -> Pending:
        """Start waiting for the reply to ``action_id``."""
        if action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already in flight")
        pending = Pending(action_id, is_list)
        self._pending[action_id] = pending
        return pending

    def drop(self, action_id: str) -> None:
        """Stop waiting (timeout, cancellation); a late reply will be ignored."""
        self._pending.pop(action_id, None)

    def clear(self) -> list[Pending]:
        """Forget every pending action (the link dropped); returns them."""
        pending = list(self._pending.values())
        self._pending.clear()
        return pending

    def route(self, msg: AmiMessage) -> tuple[bool, Pending | None]:
        """Return (is_event_for_subscribers, finished_action_or_None) for one message."""
        raw = msg.raw
        if (raw is not None and raw.startswith("\nEvent:")) or msg.event is not None:
            if not self._pending:
                return True, None
            aid = msg.get("ActionID")
            pending = self._pending.get(aid) if aid else None
            if pending is None or not pending.is_list:
                return True, None
            if (msg.get("EventList") or "").lower() == "complete":
                pending.complete = msg
                if pending.response is not None:
                    del self._pending[pending.action_id]
                    return False, pending
                return False, None
            pending.items.append(msg)
            return False, None
        aid = msg.get("ActionID")
        pending = self._pending.get(aid) if aid else None
        if pending is None:
            return False, None  # stray or late reply
        pending.response = msg
        if (
            pending.is_list
            and pending.complete is None
            and not pending.failed
            and (msg.get("EventList") or "").lower() == "start"
        ):
            return False, None
        del self._pending[pending.action_id]
        return False, pending
