"""15-minute intervals cut in the center's time zone, keyed by their start in UTC.

Design note: rows are keyed by the interval's start as UTC epoch seconds, never by a local
time, so a day with a DST change simply has 92 or 100 intervals and the repeated autumn hour
is two distinct keys (shown with their UTC offsets). Every offset in use today is a multiple
of 15 minutes, so local and UTC interval boundaries coincide; the arithmetic below does not
rely on it. Each row also carries its local hour's start (UTC epoch) and its local date, so
reports group by hour or day in SQL with no time-zone function (SQLite has none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

INTERVAL_S = 900
_UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class Bucket:
    """One interval: ``[start, end)`` in UTC epoch seconds, its local hour and local day."""

    start: int
    end: int
    hour: int  # UTC epoch of the start of the local hour it lies in
    day: str  # local date, YYYY-MM-DD


class Calendar:
    """Intervals, hours and days of one time zone (caches the last interval it found)."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.tz = ZoneInfo(zone)
        self._last: Bucket | None = None

    def _offset(self, at: float) -> int:
        off = dt.datetime.fromtimestamp(at, _UTC).astimezone(self.tz).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def bucket(self, at: float) -> Bucket:
        """The interval ``at`` (epoch seconds) lies in."""
        last = self._last
        if last is not None and last.start <= at < last.end:
            return last
        off = self._offset(at)
        local = int(at // 1) + off
        start = local - local % INTERVAL_S - off
        hour_local = local - local % 3600
        day = dt.datetime.fromtimestamp(start, _UTC).astimezone(self.tz).date().isoformat()
        found = Bucket(start, start + INTERVAL_S, hour_local - off, day)
        self._last = found
        return found

    def split(self, t0: float, t1: float) -> Iterator[tuple[Bucket, float]]:
        """The intervals ``[t0, t1)`` overlaps, each with the seconds of it inside."""
        at = t0
        while at < t1:
            b = self.bucket(at)
            end = min(float(b.end), t1)
            yield b, end - at
            at = end

    def midnight(self, day: dt.date) -> int:
        """UTC epoch seconds of the local midnight that starts ``day``."""
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp())

    def day_range(self, first: dt.date, last: dt.date) -> tuple[int, int]:
        """``[start, end)`` in UTC epoch seconds of the local days ``first`` to ``last``."""
        return self.midnight(first), self.midnight(last + dt.timedelta(days=1))

    def today(self, now: float) -> dt.date:
        """The local date at ``now``."""
        return dt.datetime.fromtimestamp(now, _UTC).astimezone(self.tz).date()

    def label(self, start: float) -> str:
        """``start`` as local ISO 8601 with its offset (two repeated-hour intervals differ)."""
        return dt.datetime.fromtimestamp(start, _UTC).astimezone(self.tz).isoformat()


@dataclass(frozen=True, slots=True)
class Period:
    """One row period of a report counted on read: its key (interval or hour start, local
    day, "total"), its start, and when what is open is counted (its end, or now)."""

    key: Any
    start: int
    snap: float


def periods(calendar: Calendar, by: str, start: int, end: int, now: float) -> list[Period]:
    """The periods of ``[start, end)`` that have begun by ``now``, in order."""
    if by == "total":
        return [Period("total", start, min(float(end), now))] if start <= now else []
    out: list[Period] = []
    at = start
    while at < end and at <= now:
        b = calendar.bucket(at)
        key = b.start if by == "interval" else b.hour if by == "hour" else b.day
        if out and out[-1].key == key:
            out[-1] = Period(key, out[-1].start, min(float(b.end), now))
        else:
            out.append(Period(key, b.start, min(float(b.end), now)))
        at = b.end
    return out


def period_label(calendar: Calendar, by: str, first: dt.date, last: dt.date, p: Period) -> str:
    """How a report shows the period ``p`` (as the interval tables' reports do)."""
    if by in ("interval", "hour"):
        return calendar.label(p.start if by == "interval" else int(p.key))
    if by == "day":
        return str(p.key)
    return f"{first.isoformat()}/{last.isoformat()}"
