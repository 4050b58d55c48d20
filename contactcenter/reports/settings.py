"""The ``reports:`` section of the server config.

Example::

    reports:
      timezone: Europe/Paris        # empty: the IVR's ivr.timezone
      short_abandon_s: 5            # callers who hang up sooner are not counted as abandoned
      service_level: answered       # or answered_and_abandoned (docs/reports.md)
      queues:
        support: {short_abandon_s: 10, service_level: answered_and_abandoned}
        email: {first_response_s: 3600, next_response_s: 7200, resolution_s: 86400}
      first_response_s: 28800       # tickets' targets (calendar time), for every queue...
      next_response_s: 28800
      resolution_s: 259200          # ...a queue's own above overrides them
      ivr_retention_days: 90        # IVR sessions kept; older ones leave their 15-minute sums

The service-level threshold itself is each queue's ``service_level_s`` (config/queues.yaml).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

# The two ways app_queue computes a service level (docs/reports.md).
SL_ANSWERED = "answered"
SL_ANSWERED_AND_ABANDONED = "answered_and_abandoned"
SL_METHODS = (SL_ANSWERED, SL_ANSWERED_AND_ABANDONED)


def _check_method(method: str, where: str) -> None:
    if method not in SL_METHODS:
        raise ValueError(f"{where}: service_level {method!r} is not one of {', '.join(SL_METHODS)}")


def _check_short(seconds: float, where: str) -> None:
    if not 0 <= seconds <= 3600:
        raise ValueError(f"{where}: short_abandon_s {seconds} is outside 0..3600")


TARGET_MAX_S = 366 * 86400.0


def _check_target(name: str, seconds: float, where: str) -> None:
    if not 0 < seconds <= TARGET_MAX_S:
        raise ValueError(f"{where}: {name} {seconds} must be above 0 and at most "
                         f"{TARGET_MAX_S:.0f}")


@dataclass(frozen=True)
class ReportQueueSettings:
    """One queue's report rules; a value left out takes the section's default."""

    short_abandon_s: float | None = None
    service_level: str | None = None
    first_response_s: float | None = None
    resolution_s: float | None = None
    next_response_s: float | None = None

    def __post_init__(self) -> None:
        if self.short_abandon_s is not None:
            _check_short(self.short_abandon_s, "reports.queues")
        if self.service_level is not None:
            _check_method(self.service_level, "reports.queues")
        for name in ("first_response_s", "next_response_s", "resolution_s"):
            value = getattr(self, name)
            if value is not None:
                _check_target(name, value, "reports.queues")


@dataclass(frozen=True)
class ReportSettings:
    """Time zone and counting rules of the reports (docs/reports.md)."""

    timezone: str = ""  # empty: ivr.timezone
    short_abandon_s: float = 5.0
    service_level: str = SL_ANSWERED
    queues: dict[str, ReportQueueSettings] = field(default_factory=dict)
    # How often (real seconds) the running server folds new interaction-log rows into the
    # interval tables; the pages read what is folded in (an API read folds first).
    refresh_s: float = 2.0
    # Tickets' targets in calendar seconds (docs/reports.md, Tickets): the first agent reply
    # within 8 hours, the resolution within 3 days, unless the queue has its own; each next
    # response (to a customer who wrote again once answered) within 8 hours too.
    first_response_s: float = 8 * 3600.0
    resolution_s: float = 72 * 3600.0
    next_response_s: float = 8 * 3600.0
    # IVR sessions (one row each, one per node entered) are deleted this many days after their
    # start, their 15-minute sums kept for the IVR report (docs/reports.md, IVR); 0: kept for ever.
    ivr_retention_days: int = 90

    def __post_init__(self) -> None:
        if self.timezone:
            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"reports.timezone: unknown time zone {self.timezone!r}") from None
        _check_short(self.short_abandon_s, "reports")
        _check_method(self.service_level, "reports")
        if not 0.05 <= self.refresh_s <= 3600:
            raise ValueError(f"reports.refresh_s {self.refresh_s} is outside 0.05..3600")
        _check_target("first_response_s", self.first_response_s, "reports")
        _check_target("resolution_s", self.resolution_s, "reports")
        _check_target("next_response_s", self.next_response_s, "reports")
        if not 0 <= self.ivr_retention_days <= 36600:
            raise ValueError(f"reports.ivr_retention_days {self.ivr_retention_days} is outside "
                             "0..36600 (0: kept for ever)")

    def zone(self, fallback: str = "UTC") -> str:
        """The time zone intervals are cut in: this section's, else ``fallback`` (ivr's)."""
        return self.timezone or fallback or "UTC"

    def short_abandon_for(self, queue: str) -> float:
        """Seconds under which an abandon of ``queue`` is short (not counted as abandoned)."""
        own = self.queues.get(queue)
        if own is not None and own.short_abandon_s is not None:
            return own.short_abandon_s
        return self.short_abandon_s

    def method_for(self, queue: str) -> str:
        """``answered`` or ``answered_and_abandoned`` for ``queue``'s service level."""
        own = self.queues.get(queue)
        if own is not None and own.service_level is not None:
            return own.service_level
        return self.service_level

    def first_response_target(self, queue: str) -> float:
        """Seconds within which a ticket of ``queue`` should get its first agent reply."""
        own = self.queues.get(queue)
        if own is not None and own.first_response_s is not None:
            return own.first_response_s
        return self.first_response_s

    def next_response_target(self, queue: str) -> float:
        """Seconds within which each next agent reply of ``queue``'s tickets should come."""
        own = self.queues.get(queue)
        if own is not None and own.next_response_s is not None:
            return own.next_response_s
        return self.next_response_s

    def resolution_target(self, queue: str) -> float:
        """Seconds within which a ticket of ``queue`` should be solved."""
        own = self.queues.get(queue)
        if own is not None and own.resolution_s is not None:
            return own.resolution_s
        return self.resolution_s
