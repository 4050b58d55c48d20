"""Business hours and call-time variables: pure functions of an epoch and a time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from contactcenter.ivr.model import HoursNode

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=64)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """A cached ``ZoneInfo`` (names were validated when the flow loaded)."""
    return zoneinfo.ZoneInfo(name)


def local_time(epoch: float, tz: str) -> dt.datetime:
    """``epoch`` as an aware datetime in ``tz``."""
    return dt.datetime.fromtimestamp(epoch, zone(tz))


def hours_state(node: HoursNode, epoch: float) -> Literal["open", "closed", "holiday"]:
    """Whether the business is open at ``epoch`` according to ``node``."""
    local = local_time(epoch, node.timezone)
    if local.date() in node.holidays:
        return "holiday"
    minute = local.hour * 60 + local.minute
    for r in node.weekly.get(local.weekday(), ()):
        if r.start <= minute < r.end:
            return "open"
    return "closed"


def time_variables(epoch: float, tz: str) -> Mapping[str, Any]:
    """The time variables flows can read: now, date, time, hour, minute, weekday.

    Read-only and shared by every call in the same second (each flow step refreshes them,
    and a busy floor starts hundreds of calls a second).
    """
    return _time_variables(int(epoch), tz)


@lru_cache(maxsize=32)
def _time_variables(second: int, tz: str) -> Mapping[str, Any]:
    local = local_time(second, tz)
    return MappingProxyType({
        "now": second,
        "date": local.strftime("%Y-%m-%d"),
        "time": local.strftime("%H:%M"),
        "hour": local.hour,
        "minute": local.minute,
        "weekday": DAY_NAMES[local.weekday()],
    })
