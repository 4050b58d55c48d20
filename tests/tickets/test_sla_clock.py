"""SLA clocks in business time (``tickets/sla.py``): golden cases (a weekend, a change of
daylight saving time, a holiday), the pause, the stages that fire once, and properties:
deadlines never move backwards, a pause shifts them by exactly its business-time length,
and "open" means what the IVR's ``hours_state`` says."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.ivr.hours import hours_state
from contactcenter.tickets import sla
from contactcenter.tickets.settings import SlaCalendar, SlaPolicy

PARIS = ZoneInfo("Europe/Paris")
OFFICE = SlaCalendar(timezone="Europe/Paris", weekly={"mon-fri": "09:00-17:00"},
                     holidays=["2026-12-25"])
BT = sla.BusinessTime(sla.hours_node(OFFICE))
H = 3600.0


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> float:
    return dt.datetime(y, mo, d, h, mi, tzinfo=PARIS).timestamp()


def local(epoch: float) -> tuple[int, int, int, int, int]:
    t = dt.datetime.fromtimestamp(epoch, PARIS)
    return t.year, t.month, t.day, t.hour, t.minute


def test_golden_cases():
    # Friday 16:30 with one hour to go: half an hour on Friday, the rest on Monday morning.
    assert local(BT.add(at(2026, 12, 4, 16, 30), H)) == (2026, 12, 7, 9, 30)
    # Received on Saturday: the clock starts on Monday at 09:00.
    assert local(BT.add(at(2026, 12, 5, 11), 2 * H)) == (2026, 12, 7, 11, 0)
    # Across the change to summer time (Sunday 29 March 2026): still 09:30 local time.
    assert local(BT.add(at(2026, 3, 27, 16, 30), H)) == (2026, 3, 30, 9, 30)
    # ...and back to winter time (Sunday 25 October 2026).
    assert local(BT.add(at(2026, 10, 23, 16, 30), H)) == (2026, 10, 26, 9, 30)
    # Christmas Day (Friday) is a holiday: Thursday 24th 16:00 + 2 h ends on Monday 10:00.
    assert local(BT.add(at(2026, 12, 24, 16), 2 * H)) == (2026, 12, 28, 10, 0)
    # Exactly at closing time is still that day.
    assert local(BT.add(at(2026, 12, 4, 16), H)) == (2026, 12, 4, 17, 0)
    # Business time between two moments: Friday 16:00 to Monday 10:00 is two hours.
    assert BT.between(at(2026, 12, 4, 16), at(2026, 12, 7, 10)) == 2 * H
    # Around the clock when the calendar names no day; never when every day is closed.
    always = sla.BusinessTime(sla.hours_node(SlaCalendar()))
    assert always.add(at(2026, 12, 5, 11), H) == at(2026, 12, 5, 12)
    never = sla.BusinessTime(sla.hours_node(SlaCalendar(weekly={"mon-sun": "closed"})))
    assert never.add(at(2026, 12, 5, 11), H) is None


def test_pause_shifts_due_times_and_stages_fire_once():
    policy = SlaPolicy(name="std", first_response_s=H, resolution_s=8 * H)
    made = at(2026, 12, 7, 9)  # Monday 09:00
    clocks = sla.start(policy.name, policy.targets_for("normal"), BT, made, 0.5)
    assert local(clocks.first_response_warn or 0) == (2026, 12, 7, 9, 30)
    assert local(clocks.resolution_due or 0) == (2026, 12, 7, 17, 0)
    assert sla.next_at(clocks) == clocks.first_response_warn
    # The warning fires once; then only the breach is left.
    now = at(2026, 12, 7, 9, 40)
    assert sla.fired(clocks, now) == ["first_response:warning"]
    clocks = sla.mark(clocks, sla.fired(clocks, now))
    assert sla.fired(clocks, now) == []
    assert sla.next_at(clocks) == clocks.first_response_due
    # Answered in time: the first-response target is met and no longer fires.
    clocks = sla.respond(clocks, at(2026, 12, 7, 9, 50))
    assert sla.fired(clocks, at(2026, 12, 7, 11)) == []
    # Pending from Monday 16:00 to Tuesday 10:00 (two business hours): resolution moves on
    # by two hours; nothing fires while paused.
    clocks = sla.pause(clocks, at(2026, 12, 7, 16))
    assert sla.next_at(clocks) is None and sla.fired(clocks, at(2026, 12, 9)) == []
    clocks = sla.resume(clocks, BT, at(2026, 12, 8, 10))
    assert local(clocks.resolution_due or 0) == (2026, 12, 8, 11, 0)
    # Overdue by much: the breach fires alone (it counts as the warning too), once.
    late = at(2026, 12, 8, 12)
    assert sla.fired(clocks, late) == ["resolution:breach"]
    clocks = sla.mark(clocks, ["resolution:breach"])
    assert sla.fired(clocks, late) == [] and sla.next_at(clocks) is None
    shown = sla.view(clocks, BT, late, done=False)
    assert shown is not None and shown["overdue"] is True
    assert shown["resolution"]["state"] == "breached" and shown["resolution"]["left_s"] == -H
    assert shown["first_response"]["state"] == "met"


YEAR = (at(2026, 1, 1), at(2027, 1, 1))
moments = st.floats(min_value=YEAR[0], max_value=YEAR[1], allow_nan=False)
spans = st.floats(min_value=0, max_value=200 * H, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(moments, spans, st.lists(st.tuples(spans, spans), max_size=4))
def test_pauses_shift_deadlines_by_their_business_length_and_never_back(made, target, pauses):
    policy = SlaPolicy(name="p", resolution_s=target or 60.0)
    clocks = sla.start(policy.name, policy.targets_for("normal"), BT, made, 0.8)
    due0 = clocks.resolution_due
    assert due0 is not None and due0 >= made
    assert abs(BT.between(made, due0) - policy.resolution_s) < 1e-3
    now, paused_total = made, 0.0
    for before, length in pauses:
        now += before
        clocks = sla.pause(clocks, now)
        previous = clocks.resolution_due or 0
        now += length
        paused_total += BT.between(now - length, now)
        clocks = sla.resume(clocks, BT, now)
        assert (clocks.resolution_due or 0) >= previous  # never backwards
    # The due time is the target plus every pause, counted in business time from the start.
    assert abs(BT.between(made, clocks.resolution_due or 0)
               - (policy.resolution_s + paused_total)) < 1e-2


@settings(max_examples=200, deadline=None)
@given(moments)
def test_open_hours_are_the_ivr_hours(moment):
    moment = float(int(moment) // 60 * 60)  # whole minutes, as the ranges are
    is_open = hours_state(BT.node, moment) == "open"
    assert is_open == (BT.between(moment, moment + 60) == 60)


LONG = st.floats(min_value=0, max_value=2 * 366 * 24 * H, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(moments, LONG, LONG)
def test_business_time_over_long_spans_adds_up(start, first, second):
    # ``between`` sums whole days from running sums kept across calls: a fresh calendar
    # (sums started elsewhere) and the shared one agree, and a span is the sum of its parts.
    fresh = sla.BusinessTime(sla.hours_node(OFFICE))
    middle, end = start + first, start + first + second
    whole = BT.between(start, end)
    assert abs(whole - fresh.between(start, end)) < 1e-3
    assert abs(whole - (fresh.between(start, middle) + BT.between(middle, end))) < 1e-3


def test_business_time_counts_the_days_of_a_change_of_clock():
    always = sla.BusinessTime(sla.hours_node(SlaCalendar(timezone="Europe/Paris")))
    # 2026-03-29 has 23 hours in Paris, 2026-10-25 has 25.
    assert always.between(at(2026, 3, 28, 12), at(2026, 3, 30, 12)) == 47 * H
    assert always.between(at(2026, 10, 24, 12), at(2026, 10, 26, 12)) == 49 * H
    assert always.between(at(2026, 1, 1), at(2027, 1, 1)) == 365 * 24 * H
    # Christmas (a holiday) and the weekends are out of a year of office hours.
    assert BT.between(at(2026, 1, 1), at(2027, 1, 1)) == (261 - 1) * 8 * H
