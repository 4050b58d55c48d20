"""The next-response SLA target in business time (``tickets/sla.py``): golden cases (a cycle
started by the customer, met by the next public reply, over a weekend and a pause), its
stages firing once per cycle, and the property that no deadline of any target ever moves
backwards through pauses, replies and customer messages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.tickets import sla
from contactcenter.tickets.settings import SlaCalendar, SlaTargets

PARIS = ZoneInfo("Europe/Paris")
OFFICE = SlaCalendar(timezone="Europe/Paris", weekly={"mon-fri": "09:00-17:00"},
                     holidays=["2026-12-25"])
BT = sla.BusinessTime(sla.hours_node(OFFICE))
H = 3600.0
TARGETS = SlaTargets(first_response_s=H, next_response_s=2 * H, resolution_s=16 * H)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> float:
    return dt.datetime(y, mo, d, h, mi, tzinfo=PARIS).timestamp()


def local(epoch: float | None) -> tuple[int, int, int, int, int]:
    assert epoch is not None
    t = dt.datetime.fromtimestamp(epoch, PARIS)
    return t.year, t.month, t.day, t.hour, t.minute


def test_next_response_golden_cases():
    replies = SlaTargets(first_response_s=H, next_response_s=2 * H)
    clocks = sla.start("std", replies, BT, at(2026, 12, 4, 9), 0.5)  # Friday 09:00
    assert clocks.next_response_due is None  # no clock before an agent answered
    # The customer writes again before any answer: still the first response that counts.
    assert sla.customer_replied(clocks, replies, BT, at(2026, 12, 4, 9, 10), 0.5) == clocks
    clocks = sla.respond(clocks, at(2026, 12, 4, 9, 30))
    assert clocks.first_response_at == at(2026, 12, 4, 9, 30)
    # Friday 16:00 the customer answers: 1 h on Friday, 1 h on Monday -> Monday 10:00;
    # the warning at half of it, Friday 17:00 (closing time).
    clocks = sla.customer_replied(clocks, replies, BT, at(2026, 12, 4, 16), 0.5)
    assert local(clocks.next_response_due) == (2026, 12, 7, 10, 0)
    assert local(clocks.next_response_warn) == (2026, 12, 4, 17, 0)
    # A second message on Saturday does not restart it (the oldest unanswered one counts).
    assert sla.customer_replied(clocks, replies, BT, at(2026, 12, 5, 11), 0.5) == clocks
    assert sla.fired(clocks, at(2026, 12, 5, 12)) == ["next_response:warning"]
    clocks = sla.mark(clocks, ["next_response:warning"])
    assert sla.next_at(clocks) == clocks.next_response_due
    # Breached on Monday 10:00, fired once.
    assert sla.fired(clocks, at(2026, 12, 7, 10)) == ["next_response:breach"]
    clocks = sla.mark(clocks, ["next_response:breach"])
    assert sla.fired(clocks, at(2026, 12, 7, 11)) == []
    # The reply on Monday 10:30 meets it, late.
    clocks = sla.respond(clocks, at(2026, 12, 7, 10, 30))
    shown = sla.view(clocks, BT, at(2026, 12, 7, 11), done=False)
    assert shown is not None and shown["next_response"]["state"] == "breached"
    assert shown["next_response"]["met_at"] == at(2026, 12, 7, 10, 30)
    # A new cycle: its stages fire again (once each), the old cycle's marks are gone.
    clocks = sla.customer_replied(clocks, replies, BT, at(2026, 12, 7, 11), 0.5)
    assert local(clocks.next_response_due) == (2026, 12, 7, 13, 0)
    assert not any(m.startswith("next_response:") for m in clocks.marks)
    assert sla.fired(clocks, at(2026, 12, 7, 12, 30)) == ["next_response:warning"]
    # Pending from 11:30 (reply and set pending) is a reply: met in time.
    clocks = sla.respond(clocks, at(2026, 12, 7, 11, 30))
    shown = sla.view(clocks, BT, at(2026, 12, 7, 12), done=False)
    assert shown is not None and shown["next_response"]["state"] == "met"


def test_a_cycle_started_while_paused_counts_from_the_resume():
    clocks = sla.respond(sla.start("std", TARGETS, BT, at(2026, 12, 7, 9), 0.5),
                         at(2026, 12, 7, 9, 5))
    clocks = sla.pause(clocks, at(2026, 12, 7, 10))  # pending from Monday 10:00
    # The customer writes on Tuesday 14:00 while pending; the clocks run again at 15:00.
    clocks = sla.customer_replied(clocks, TARGETS, BT, at(2026, 12, 8, 14), 0.5)
    assert sla.next_at(clocks) is None and sla.fired(clocks, at(2026, 12, 9)) == []
    clocks = sla.resume(clocks, BT, at(2026, 12, 8, 15))
    assert local(clocks.next_response_due) == (2026, 12, 8, 17, 0)
    # Paused again before it is met: it moves on by the pause, like the other targets.
    clocks = sla.pause(clocks, at(2026, 12, 8, 16))
    clocks = sla.resume(clocks, BT, at(2026, 12, 9, 10))
    assert local(clocks.next_response_due) == (2026, 12, 9, 11, 0)


def test_retargeting_keeps_the_start_and_the_pauses():
    made = at(2026, 12, 7, 9)
    clocks = sla.start("normal", TARGETS, BT, made, 0.5)
    clocks = sla.pause(clocks, at(2026, 12, 7, 10))
    clocks = sla.resume(clocks, BT, at(2026, 12, 7, 12))  # two business hours pending
    assert local(clocks.resolution_due) == (2026, 12, 9, 11, 0)  # 16 h + 2 h from Monday 9:00
    urgent = SlaTargets(first_response_s=H / 2, resolution_s=4 * H)
    clocks = sla.retarget(clocks, "urgent", TARGETS, urgent, BT, made, 0.5)
    assert clocks.policy == "urgent"
    assert local(clocks.resolution_due) == (2026, 12, 7, 15, 0)  # 4 h + the 2 h paused
    assert local(clocks.first_response_due) == (2026, 12, 7, 11, 30)


HOURS = (at(2026, 1, 1), at(2027, 1, 1))
moments = st.floats(min_value=HOURS[0], max_value=HOURS[1], allow_nan=False)
gaps = st.floats(min_value=0, max_value=60 * H, allow_nan=False)
steps = st.lists(st.tuples(st.sampled_from(["pause", "resume", "customer", "reply"]), gaps),
                 max_size=12)


@settings(max_examples=150, deadline=None)
@given(moments, steps)
def test_deadlines_never_move_backwards(made, script):
    clocks = sla.start("p", TARGETS, BT, made, 0.8)
    now = made
    for step, gap in script:
        now += gap
        before = clocks
        if step == "pause":
            clocks = sla.pause(clocks, now)
        elif step == "resume":
            clocks = sla.resume(clocks, BT, now)
        elif step == "customer":
            clocks = sla.customer_replied(clocks, TARGETS, BT, now, 0.8)
        else:
            clocks = sla.respond(clocks, now)
        for target in sla.TARGETS:
            old, new = before.due(target), clocks.due(target)
            same_cycle = not (target == "next_response" and step == "customer"
                              and before.next_response_at is not None)
            if old is not None and same_cycle:
                assert new is not None and new >= old, (target, step)
            if old is not None and new is not None and not same_cycle:
                assert new >= now or clocks.paused_at is not None  # a new cycle starts now
        # A running next response was started at or after the first response (while paused
        # it counts from the pause, and the resume moves it on).
        if clocks.next_response_due is not None and clocks.paused_at is None:
            assert clocks.first_response_at is not None
            assert clocks.next_response_due >= clocks.first_response_at
