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
from dataclasses import dataclass

from contactcenter.domain.clock import Clock
from contactcenter.telephony.ami.protocol import serialize

from .channels import Headers

log = logging.getLogger(__name__)

Subscriber = Callable[[bytes], None]
ALL = frozenset({"all"})


@dataclass(frozen=True, slots=True)
class NameFilter:
    """A session's ``eventfilter`` by event name (manager.c ``should_send_event``): with
    include names only, just those; with exclude names only, all but those; with both, the
    included ones that are not excluded. Empty: every event."""

    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()

    def passes(self, event: str) -> bool:
        if self.include and event not in self.include:
            return False
        return event not in self.exclude


NO_FILTER = NameFilter()


def event_classes(privilege: str) -> frozenset[str]:
    """The classes an event belongs to: its ``Privilege`` minus the ``all`` every event has."""
    return frozenset(c for c in privilege.split(",") if c and c != "all")


def encode(headers: Headers) -> bytes:
    """One AMI message (``Name: value\\r\\n`` lines and the blank line) as bytes."""
    return serialize(headers)


def encode_event(headers: Headers) -> bytes:
    """``encode`` for the simulator's own events, checked once per message, not per header.

    Header names are the simulator's constants; values from outside (caller ids, variables)
    are refused where they come in. As a safety net, a message whose CR/LF count is not one
    per line, or with a NUL, goes through ``serialize``, which names the bad header and raises.
    """
    text = "".join([f"{k}: {v}\r\n" for k, v in headers]) + "\r\n"
    lines = len(headers) + 1
    if text.count("\n") != lines or text.count("\r") != lines or "\x00" in text:
        return serialize(headers)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return serialize(headers)


def timestamp(clock: Clock) -> str:
    """``Timestamp:`` value, epoch seconds with microseconds."""
    return f"{clock.time():.6f}"


class EventBus:
    """Emits events to the AMI sessions allowed to read them and keeps a short history.

    Like manager.c's ``process_events``, a session gets an event only when every class of the
    event is among its read classes (``read =`` of manager.conf): a least-privilege user without
    ``dialplan`` never sees VarSet or Newexten. An event nobody may read is not even encoded.
    """

    def __init__(self, clock: Clock, history: int = 20000) -> None:
        self._clock = clock
        self._subscribers: list[tuple[Subscriber, frozenset[str], NameFilter]] = []
        # (event, privilege) -> the subscribers that get it (rebuilt when sessions come and go)
        self._readers: dict[tuple[str, str], tuple[Subscriber, ...]] = {}
        # history=0 (benchmarks): keep none, and build no event nobody may read.
        self.history: deque[Headers] = deque(maxlen=history)
        self.keeps_history = history > 0

    def subscribe(
        self, subscriber: Subscriber, read: frozenset[str] = ALL, names: NameFilter = NO_FILTER
    ) -> Callable[[], None]:
        """Deliver future events of the classes ``read`` that pass ``names`` to ``subscriber``.

        Returns the unsubscribe function.
        """
        entry = (subscriber, read, names)
        self._subscribers.append(entry)
        self._readers.clear()

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)
                self._readers.clear()

        return unsubscribe

    def wants(self, event: str, privilege: str) -> bool:
        """Whether an event goes anywhere (a session or the history)."""
        if self.keeps_history:
            return True
        readers = self._readers.get((event, privilege))  # asked ~50 times a call: no call
        return bool(self._readers_of(event, privilege) if readers is None else readers)

    def readers(self, event: str, privilege: str) -> tuple[Subscriber, ...]:
        """The subscribers allowed to read an event (cached until sessions come or go)."""
        readers = self._readers.get((event, privilege))
        return self._readers_of(event, privilege) if readers is None else readers

    def _readers_of(self, event: str, privilege: str) -> tuple[Subscriber, ...]:
        readers = self._readers.get((event, privilege))
        if readers is None:
            classes = event_classes(privilege)
            readers = self._readers[(event, privilege)] = tuple(
                sub for sub, read, names in self._subscribers
                if self._may_read(read, classes) and names.passes(event))
        return readers

    @staticmethod
    def _may_read(read: frozenset[str], classes: frozenset[str]) -> bool:
        return "all" in read or classes <= read

    def emit(self, event: str, privilege: str, headers: Headers, *, stamped: bool = True) -> None:
        """Format and deliver one event."""
        full: Headers = [("Event", event), ("Privilege", privilege)]
        if stamped:
            full.append(("Timestamp", timestamp(self._clock)))
        full.extend(headers)
        if self.keeps_history:
            self.history.append(full)
        readers = self._readers_of(event, privilege)
        if not readers:
            return
        data = encode_event(full)
        for subscriber in readers:
            try:
                subscriber(data)
            except Exception:  # one broken session must not stop the PBX
                log.exception("AMI event subscriber failed")

    def send(
        self, readers: tuple[Subscriber, ...], event: str, privilege: str, body: str, lines: int
    ) -> bool:
        """Deliver an event given as wire text: ``body`` holds ``lines`` header lines after the
        ``Event``/``Privilege``/``Timestamp`` ones (no history is kept: see ``emit``).

        Same bytes as ``emit`` with the header list, without building the list. Returns False,
        delivering nothing, when the text does not frame as ``lines`` lines (a CR, LF or NUL
        in a value) or is not UTF-8: the caller then goes through ``emit``, whose serializer
        names the bad header.
        """
        text = (f"Event: {event}\r\nPrivilege: {privilege}\r\n"
                f"Timestamp: {self._clock.time():.6f}\r\n{body}\r\n")  # as timestamp()
        lines += 4
        if text.count("\n") != lines or text.count("\r") != lines or "\x00" in text:
            return False
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return False
        for subscriber in readers:
            try:
                subscriber(data)
            except Exception:  # one broken session must not stop the PBX
                log.exception("AMI event subscriber failed")
        return True

    def named(self, event: str) -> list[dict[str, str]]:
        """Past events called ``event`` as dicts (last value wins), oldest first; for tests."""
        return [dict(h) for h in self.history if h[0][1] == event]
