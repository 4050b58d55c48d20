"""SLA clocks of tickets, counted in business time: pure functions of epochs, no I/O.

Design note.
* **One calendar language.** The business hours are an IVR ``hours`` node (``ivr.model.
  HoursNode``: a time zone, opening ranges per weekday, holidays) built from
  ``tickets.sla.calendar``, which is written in the same words as a flow's hours and the chat's;
  ``BusinessTime`` walks the same ranges ``ivr.hours.hours_state`` reads, so "open" means the
  same thing to the IVR and to a ticket's clock (a property test holds them together).
* **Due times are stored, not recomputed.** A ticket gets its policy's targets when it is made
  (``start``): the warning and due moments of its first response and its resolution are
  epochs in its row. While it waits on the customer (``pending``) or is solved/closed, its
  clocks are paused (``pause``); when it becomes active again every target not yet met moves
  on by the business time the pause lasted (``resume``), so a pause shifts a deadline by
  exactly its length in business time and a deadline never moves backwards. A target met
  during the pause (a reply while pending) moves on by the pause up to that reply: it used
  no business time then, so it is never late by the pause (``view`` judges it so already).
* **Next response: one cycle per unanswered customer message.** Once an agent answered
  (``first_response_at``), a customer's message starts the ``next_response`` clock
  (``customer_replied``) unless it already runs (it counts from the oldest unanswered
  message); the next public reply meets it (``respond``). A new cycle clears the previous
  cycle's marks, so its stages fire once per cycle; their history rows keep every cycle.
* **Policy changes re-target.** When a change of the ticket picks another policy or other
  targets (``retarget``), each running target keeps its start and the business time paused so
  far: due = start + target + paused, counted in business time.
* **Each stage fires once.** The stages are ``<target>:warning`` and ``<target>:breach``;
  ``fired`` names those reached and not yet in ``marks``, ``mark`` adds them, and ``next_at``
  is the earliest one left (the column the escalation sweep reads). The caller stores the
  marks in the same transaction as what the escalation did, so a restart fires nothing twice.

Invariants: ``add(t, s) >= t``; ``between(a, add(a, s)) == s`` for an open calendar;
``between`` is additive over adjacent spans; resume never makes a due time earlier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from contactcenter.common.yamlfile import Mark
from contactcenter.ivr.hours import local_time, zone
from contactcenter.ivr.model import HoursNode, TimeRange
from contactcenter.tickets.settings import SlaCalendar, SlaTargets

TARGETS = ("first_response", "next_response", "resolution")
MAX_DAYS = 3 * 366  # a due time further than this in business time is "never"
_NOWHERE = Mark("tickets.sla.calendar", 0, 0)


def hours_node(calendar: SlaCalendar) -> HoursNode:
    """The SLA calendar as the IVR's hours node (only its calendar parts are used)."""
    weekly = {day: tuple(TimeRange(a, b) for a, b in ranges)
              for day, ranges in calendar.week().items()}
    return HoursNode("sla-hours", _NOWHERE, calendar.timezone, weekly,
                     frozenset(calendar.holidays), "open", "closed", "holiday")


class BusinessTime:
    """Arithmetic in the open hours of one hours node."""

    def __init__(self, node: HoursNode) -> None:
        self.node = node
        self.never = not any(node.weekly.get(d) for d in range(7))
        # Each local day's open intervals, as epochs: the zone arithmetic is what costs, and a
        # list of overdue tickets asks the same days again and again (a ticket a year late
        # walks 365 of them, three times; bench/tickets.py, the overdue view).
        self._days: dict[dt.date, tuple[tuple[float, float], ...]] = {}
        self._sums: dict[int, float] = {}  # day ordinal -> _sum_before(it)
        self._known = (0, 0)  # the first and last ordinal in ``_sums``

    def _day(self, day: dt.date) -> tuple[tuple[float, float], ...]:
        found = self._days.get(day)
        if found is None:
            found = ()
            if day not in self.node.holidays:
                tz = zone(self.node.timezone)
                midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
                # Wall-clock arithmetic, then the zone's offset at that wall time: a range
                # keeps its local hours across a change of daylight saving time.
                found = tuple(
                    (a, b) for a, b in (
                        ((midnight + dt.timedelta(minutes=r.start)).timestamp(),
                         (midnight + dt.timedelta(minutes=r.end)).timestamp())
                        for r in self.node.weekly.get(day.weekday(), ()))
                    if b > a)
            self._days[day] = found
        return found

    def _intervals(self, since: float) -> Iterator[tuple[float, float]]:
        """Open intervals (epochs, end exclusive) from the local day of ``since`` on."""
        day = local_time(since, self.node.timezone).date()
        for _ in range(MAX_DAYS):
            for a, b in self._day(day):
                if b > since:
                    yield a, b
            day += dt.timedelta(days=1)

    def add(self, start: float, seconds: float) -> float | None:
        """The moment ``seconds`` of business time after ``start`` (None: never)."""
        if seconds <= 0:
            return start
        if self.never:
            return None
        left = seconds
        for a, b in self._intervals(start):
            a = max(a, start)
            if left <= b - a:
                return a + left
            left -= b - a
        return None

    def between(self, start: float, end: float) -> float:
        """Business seconds from ``start`` to ``end`` (0 when ``end`` is not later)."""
        if end <= start or self.never:
            return 0.0
        first = local_time(start, self.node.timezone).date()
        last = local_time(end, self.node.timezone).date()
        if first == last:
            return sum(min(b, end) - max(a, start) for a, b in self._day(first)
                       if b > start and a < end)
        head = sum(b - max(a, start) for a, b in self._day(first) if b > start)
        tail = sum(min(b, end) - a for a, b in self._day(last) if a < end)
        # The whole days between from running sums: a ticket a year overdue is shown on
        # every list of overdue tickets, three targets each (bench/tickets.py).
        return head + self._sum_before(last.toordinal()) \
            - self._sum_before(first.toordinal() + 1) + tail

    def _sum_before(self, ordinal: int) -> float:
        """Business seconds of the days from a fixed first day up to ``ordinal`` (excluded);
        negative before that day. Extended one day at a time from the nearest known end."""
        sums = self._sums
        if not sums:
            sums[ordinal] = 0.0
            self._known = (ordinal, ordinal)
        lo, hi = self._known
        while ordinal > hi:
            sums[hi + 1] = sums[hi] + self._open_s(hi)
            hi += 1
        while ordinal < lo:
            sums[lo - 1] = sums[lo] - self._open_s(lo - 1)
            lo -= 1
        self._known = lo, hi
        return sums[ordinal]

    def _open_s(self, ordinal: int) -> float:
        return sum(b - a for a, b in self._day(dt.date.fromordinal(ordinal)))


@dataclass(frozen=True, slots=True)
class SlaClocks:
    """A ticket's SLA: its policy, the warning and due moment of each target, when the first
    response came (and the last next response), since when it is paused, which stages fired.
    ``next_response_*`` are those of the current (or last) cycle."""

    policy: str | None = None
    first_response_due: float | None = None
    first_response_warn: float | None = None
    first_response_at: float | None = None
    resolution_due: float | None = None
    resolution_warn: float | None = None
    paused_at: float | None = None
    marks: tuple[str, ...] = ()
    next_response_due: float | None = None
    next_response_warn: float | None = None
    next_response_at: float | None = None

    def due(self, target: str) -> float | None:
        return getattr(self, f"{target}_due")

    def warn(self, target: str) -> float | None:
        return getattr(self, f"{target}_warn")

    def met_at(self, target: str) -> float | None:
        """When ``target`` was met (resolution: never here, see ``view``)."""
        if target == "resolution":
            return None
        return self.first_response_at if target == "first_response" else self.next_response_at

    def running(self, target: str) -> bool:
        """Whether ``target`` still counts (set, not met, not paused)."""
        if self.due(target) is None or self.paused_at is not None:
            return False
        return self.met_at(target) is None


def start(policy: str, targets: SlaTargets, bt: BusinessTime, now: float,
          warn_at: float) -> SlaClocks:
    """The clocks of a ticket made at ``now`` under the policy called ``policy`` (the next
    response has no clock before the customer writes again)."""
    times: dict[str, float | None] = {}
    for target in ("first_response", "resolution"):
        seconds = float(getattr(targets, f"{target}_s"))
        if seconds > 0:
            times[f"{target}_due"] = bt.add(now, seconds)
            times[f"{target}_warn"] = bt.add(now, seconds * warn_at)
    return SlaClocks(policy, **times)  # type: ignore[arg-type]


def customer_replied(clocks: SlaClocks, targets: SlaTargets, bt: BusinessTime, now: float,
                     warn_at: float) -> SlaClocks:
    """The customer wrote: the next-response clock starts if an agent answered before and it
    is not already running. While paused it starts at the pause (``resume`` then moves it by
    the pause, so it counts from the moment the clocks run again)."""
    seconds = targets.next_response_s
    if clocks.policy is None or clocks.first_response_at is None or seconds <= 0:
        return clocks
    if clocks.next_response_due is not None and clocks.next_response_at is None:
        return clocks  # already counting from an older unanswered message
    at = clocks.paused_at if clocks.paused_at is not None else now
    marks = tuple(m for m in clocks.marks if not m.startswith("next_response:"))
    return replace(clocks, next_response_due=bt.add(at, seconds),
                   next_response_warn=bt.add(at, seconds * warn_at), next_response_at=None,
                   marks=marks)


def retarget(clocks: SlaClocks, policy: str, old: SlaTargets, new: SlaTargets,
             bt: BusinessTime, created_at: float, warn_at: float) -> SlaClocks:
    """The ticket now falls under ``policy`` with ``new`` targets (it had ``old``): each
    running target keeps its start and the business time it was paused; a target the new
    targets lack stops, one they add starts at ``created_at`` (the next response waits for
    the customer's next message, and a running one keeps its cycle)."""
    out = replace(clocks, policy=policy)
    for target in ("first_response", "resolution"):
        if clocks.met_at(target) is not None:
            continue
        seconds = float(getattr(new, f"{target}_s"))
        before = float(getattr(old, f"{target}_s"))
        due = clocks.due(target)
        if seconds <= 0:
            moved: dict[str, float | None] = {"due": None, "warn": None}
        else:
            # Business time paused so far: what the due time is beyond start + old target.
            paused = max(0.0, bt.between(created_at, due) - before) if due is not None \
                else 0.0
            moved = {"due": bt.add(created_at, seconds + paused),
                     "warn": bt.add(created_at, seconds * warn_at + paused)}
        out = replace(out, **{f"{target}_{k}": v for k, v in moved.items()})  # type: ignore[arg-type]
    return out


def pause(clocks: SlaClocks, now: float) -> SlaClocks:
    """Stop the clocks (waiting on the customer, solved, closed)."""
    if clocks.policy is None or clocks.paused_at is not None:
        return clocks
    return replace(clocks, paused_at=now)


def resume(clocks: SlaClocks, bt: BusinessTime, now: float) -> SlaClocks:
    """Start the clocks again: each target not yet met moves on by the business time the
    pause lasted; one met during the pause, by the part of it before it was met (a reply in
    a pause used no business time of its target)."""
    if clocks.paused_at is None:
        return clocks
    out = replace(clocks, paused_at=None)
    for target in TARGETS:
        met = clocks.met_at(target)
        if met is not None and met < clocks.paused_at:
            continue
        length = bt.between(clocks.paused_at, now if met is None else met)
        for kind in ("due", "warn"):
            value = getattr(clocks, f"{target}_{kind}")
            if value is not None and length > 0:
                moved = bt.add(value, length)
                out = replace(out, **{f"{target}_{kind}": moved})  # type: ignore[arg-type]
    return out


def respond(clocks: SlaClocks, now: float) -> SlaClocks:
    """A public reply came: the first response, or the running next response, is met (or
    was breached)."""
    if clocks.policy is None:
        return clocks
    if clocks.first_response_at is None:
        return replace(clocks, first_response_at=now)
    if clocks.next_response_due is not None and clocks.next_response_at is None:
        return replace(clocks, next_response_at=now)
    return clocks


def fired(clocks: SlaClocks, now: float) -> list[str]:
    """Stages reached at ``now`` and not fired yet; a warning reached together with its
    breach is left out (the breach says more), ``mark`` still records it."""
    out: list[str] = []
    for target in TARGETS:
        if not clocks.running(target):
            continue
        due, warn = clocks.due(target), clocks.warn(target)
        if due is not None and due <= now and f"{target}:breach" not in clocks.marks:
            out.append(f"{target}:breach")
        elif warn is not None and warn <= now and f"{target}:warning" not in clocks.marks \
                and f"{target}:breach" not in clocks.marks:
            out.append(f"{target}:warning")
    return out


def mark(clocks: SlaClocks, stages: list[str]) -> SlaClocks:
    """``stages`` fired (a breach also counts as its warning)."""
    more = set(stages) | {s.replace(":breach", ":warning") for s in stages}
    return replace(clocks, marks=tuple(sorted(set(clocks.marks) | more)))


def next_at(clocks: SlaClocks) -> float | None:
    """The earliest stage not fired yet (None when paused or nothing is left)."""
    times = []
    for target in TARGETS:
        if not clocks.running(target):
            continue
        for kind, value in (("warning", clocks.warn(target)), ("breach", clocks.due(target))):
            if value is not None and f"{target}:{kind}" not in clocks.marks:
                times.append(value)
    return min(times, default=None)


def view(clocks: SlaClocks, bt: BusinessTime, now: float, done: bool) -> dict[str, Any] | None:
    """The clocks as the API and the page show them: per target its due time, state
    (``met``, ``breached``, ``warning``, ``ok``, ``paused``) and business seconds left
    (negative: overdue). ``done``: the ticket is solved or closed."""
    if clocks.policy is None:
        return None
    out: dict[str, Any] = {"policy": clocks.policy, "paused": clocks.paused_at is not None
                           and not done, "overdue": False}
    at = clocks.paused_at if clocks.paused_at is not None else now
    for target in TARGETS:
        due = clocks.due(target)
        if due is None:
            out[target] = None
            continue
        met_at = clocks.paused_at if target == "resolution" and done else \
            clocks.met_at(target)
        if met_at is not None:
            deadline = due
            if clocks.paused_at is not None and met_at > clocks.paused_at:
                # Met in the pause still running: the resume moves its due time on by the
                # pause up to that moment (``resume``); judge it by that already.
                deadline = bt.add(due, bt.between(clocks.paused_at, met_at)) or due
            state = "breached" if met_at > deadline else "met"
            left = None
        else:
            left = bt.between(at, due) if due > at else -bt.between(due, at)
            warn = clocks.warn(target)
            state = ("breached" if due <= at else
                     "paused" if clocks.paused_at is not None else
                     "warning" if warn is not None and warn <= at else "ok")
            out["overdue"] = out["overdue"] or state == "breached"
        out[target] = {"due": due, "warn": clocks.warn(target), "met_at": met_at,
                       "state": state, "left_s": left}
    return out
