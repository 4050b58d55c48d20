"""Log lines that anybody on the network can cause, capped so they cannot flood the log.

Design note: a warning per refused or timed-out connection is useful while there are a few, and
a disk filler when a scanner opens thousands. ``LogThrottle`` lets ``burst`` lines of one kind
through per ``period`` seconds; past that it counts them, and the first line of the next period
says how many were left out. Nothing is lost from the counters the lines describe (those are
in the metrics); only the repetition is. Periods are real seconds (``time.monotonic``), not the
Clock's: they protect a real disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class LogThrottle:
    """``warning(kind, msg, *args)``: at most ``burst`` lines of each kind per ``period``."""

    def __init__(self, logger: logging.Logger, period: float = 60.0, burst: int = 10,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.period = period
        self.burst = burst
        self._now = now
        self._windows: dict[str, tuple[float, int]] = {}  # kind -> (period start, lines seen)

    def warning(self, kind: str, msg: str, *args: object) -> None:
        """Log ``msg % args`` at WARNING unless this kind is over its budget for the period."""
        now = self._now()
        start, seen = self._windows.get(kind, (now, 0))
        if now - start >= self.period:
            dropped = seen - self.burst
            if dropped > 0:
                self.logger.warning("%d more %r line(s) left out in the last %.0f s",
                                    dropped, kind, now - start)
            start, seen = now, 0
        seen += 1
        self._windows[kind] = (start, seen)
        if seen <= self.burst:
            self.logger.warning(msg, *args)
        elif seen == self.burst + 1:
            self.logger.warning("further %r lines are left out for up to %.0f s (counted)",
                                kind, self.period - (now - start))
