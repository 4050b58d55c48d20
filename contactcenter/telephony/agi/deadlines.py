"""Many long deadlines on few loop timers: entries grouped in coarse time slots.

Design note
-----------
Every FastAGI connection holds a deadline that almost never fires: the env block (5 s from
accept), then the command in flight (300 s by default). One loop timer each costs more than a
whole AGI command under uvloop (a libuv timer is allocated, started, stopped and closed: ~4 µs
on the bench machine), twice per call. Here a deadline joins the *slot* its time rounds up to,
and all entries of one slot share one loop timer: adding or dropping an entry is a dict
operation, and a loop timer is made only for the first entry of a new slot.

Rules:
* a slot fires at or after every deadline it holds (never early by more than the loop's own
  rounding), at most one resolution late;
* the resolution grows with the distance: 10 ms under 1 s, 100 ms under 10 s, 1 s beyond,
  so a deadline fires at most 10 ms or 10 % of its length late, whichever is larger (these
  are safety nets: a 300 s command deadline may fire 1 s late), and with 300 s deadlines at
  most ~300 slot timers exist, whatever the number of calls;
* an entry's ``on_deadline`` is called once per registration; it re-checks its own deadline
  (it may have moved) and registers again when it is not due yet.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

__all__ = ["DeadlineEntry", "DeadlineWheel", "slot_time"]

log = logging.getLogger(__name__)


class DeadlineEntry(Protocol):
    """Anything the wheel can call back: it re-checks its own deadline."""

    def on_deadline(self) -> None: ...


def slot_time(when: float, now: float) -> float:
    """The fire time of the slot holding deadline ``when`` (loop time), seen at ``now``."""
    delay = when - now
    res = 0.01 if delay < 1.0 else (0.1 if delay < 10.0 else 1.0)
    return (int(when / res) + 1) * res


class DeadlineWheel:
    """Deadlines grouped by slot, one loop timer per slot (see the design note)."""

    __slots__ = ("_handles", "_loop", "_slots")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._slots: dict[float, dict[DeadlineEntry, None]] = {}
        self._handles: dict[float, asyncio.TimerHandle] = {}

    def pending(self) -> int:
        """How many entries wait in the wheel (for tests and metrics)."""
        return sum(len(b) for b in self._slots.values())

    def add(self, at: float, entry: DeadlineEntry) -> float:
        """Register ``entry`` in the slot firing at ``at`` (from ``slot_time``); returns ``at``."""
        bucket = self._slots.get(at)
        if bucket is None:
            bucket = self._slots[at] = {}
            self._handles[at] = self._loop.call_at(at, self._fire, at)
        bucket[entry] = None
        return at

    def discard(self, at: float, entry: DeadlineEntry) -> None:
        """Drop ``entry`` from the slot firing at ``at``; no-op when it is not there."""
        bucket = self._slots.get(at)
        if bucket is not None:
            bucket.pop(entry, None)

    def close(self) -> None:
        """Cancel every pending slot timer and forget all entries."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        self._slots.clear()

    def _fire(self, at: float) -> None:
        self._handles.pop(at, None)
        bucket = self._slots.pop(at, None)
        if not bucket:
            return
        # The bucket is already detached: discards made by the callbacks find nothing, and
        # re-registrations go to fresh slots.
        for entry in bucket:
            try:
                entry.on_deadline()
            except Exception:  # one broken entry must not starve the others of their deadline
                log.exception("deadline callback failed for %r", entry)
