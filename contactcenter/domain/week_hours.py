"""Opening hours written as the IVR's ``hours`` node writes them, read for chat and tickets.

``weekly`` maps a day or a range of days (``mon``, ``mon-fri``) to ``"08:00-18:00"``, several
ranges separated by commas, or ``closed``; ``holidays`` are dates (``YYYY-MM-DD``). ``what``
names the setting in every error (``chat hours``, ``tickets.sla.calendar``).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = re.compile(r"([a-z]{3})(?:-([a-z]{3}))?")
_RANGE = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")


def check_timezone(name: str, what: str) -> None:
    """ValueError unless ``name`` is a time zone this machine knows."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{what}: unknown time zone {name!r}") from None


def holiday_dates(items: Iterable[Any], what: str) -> list[dt.date]:
    """The holidays as dates (YAML gives ``datetime.date``, a variable gives text)."""
    days = []
    for item in items:
        try:
            days.append(item if isinstance(item, dt.date) else dt.date.fromisoformat(str(item)))
        except ValueError:
            raise ValueError(f"{what}: holiday {item!r} is not a date (YYYY-MM-DD)") from None
    return days


def weekly_ranges(weekly: Mapping[str, Any], what: str
                  ) -> dict[int, tuple[tuple[int, int], ...]]:
    """Opening ranges per weekday (0 = Monday), minutes since midnight, end exclusive; a day
    not named is closed."""
    out: dict[int, tuple[tuple[int, int], ...]] = {}
    for key, value in weekly.items():
        mt = _DAY.fullmatch(str(key))
        if not mt or mt.group(1) not in DAYS or (mt.group(2) and mt.group(2) not in DAYS):
            raise ValueError(f"{what}: day {key!r} must be mon..sun or a range like mon-fri")
        first = DAYS.index(mt.group(1))
        last = DAYS.index(mt.group(2)) if mt.group(2) else first
        ranges = []
        text = str(value).strip()
        for part in [] if text == "closed" else text.split(","):
            rt = _RANGE.fullmatch(part.strip())
            if not rt:
                raise ValueError(f"{what}: {value!r} must look like \"08:00-18:00\" or 'closed'")
            h1, m1, h2, m2 = map(int, rt.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
                raise ValueError(f"{what}: bad time range {part.strip()!r}")
            ranges.append((start, end))
        for day in range(first, last + 1):
            out[day] = tuple(sorted(ranges))
    return out
