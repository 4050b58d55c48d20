"""Fan-out of simulated AMI events, formatted like Asterisk 22 (quirk 7 header order).

Design note: an event is built once as an ordered header list (``Event``, ``Privilege``,
``Timestamp`` from the shared Clock, then the caller-supplied blocks), encoded once with the
telephony AMI serializer, and handed to every subscriber (one per logged-in AMI session).
A bounded history keeps the header lists so tests can look at what was emitted.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from contactcenter.domain.clock import Clock
from contactcenter.telephony.ami.protocol import serialize

from .channels import Headers

log = logging.getLogger(__name__)

Subscriber = Callable[[bytes], None]


def encode(headers: Headers) -> bytes:
    """One AMI message (``Name: value\\r\\n`` lines and the blank line) as bytes."""
    return serialize(headers)


def timestamp(clock: Clock) -> str:
    """``Timestamp:`` value, epoch seconds with microseconds."""
    return f"{clock.time():.6f}"


class EventBus:
    """Emits events to every subscribed AMI session and keeps a short history."""

    def __init__(self, clock: Clock, history: int = 20000) -> None:
        self._clock = clock
        self._subscribers: list[Subscriber] = []
        self.history: deque[Headers] = deque(maxlen=history)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Deliver every future event to ``subscriber``; returns the unsubscribe function."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def emit(self, event: str, privilege: str, headers: Headers, *, stamped: bool = True) -> None:
        """Format and deliver one event."""
        full: Headers = [("Event", event), ("Privilege", privilege)]
        if stamped:
            full.append(("Timestamp", timestamp(self._clock)))
        full.extend(headers)
        self.history.append(full)
        data = encode(full)
        for subscriber in list(self._subscribers):
            try:
                subscriber(data)
            except Exception:  # one broken session must not stop the PBX
                log.exception("AMI event subscriber failed")

    def named(self, event: str) -> list[dict[str, str]]:
        """Past events called ``event`` as dicts (last value wins), oldest first; for tests."""
        return [dict(h) for h in self.history if h[0][1] == event]
