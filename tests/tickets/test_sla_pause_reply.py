"""A reply made while a ticket's clocks are paused (``tickets/sla.py``): it used no business
time of its target, so it is met, not breached, both while the pause lasts (``view``) and
after the resume (its due time moves on by the pause up to the reply). Found by the
hypothesis property in test_sla_next_response.py: a next-response cycle started and answered
within one pause was shown as breached."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from contactcenter.tickets import sla
from contactcenter.tickets.settings import SlaCalendar, SlaTargets

PARIS = ZoneInfo("Europe/Paris")
OFFICE = SlaCalendar(timezone="Europe/Paris", weekly={"mon-fri": "09:00-17:00"})
BT = sla.BusinessTime(sla.hours_node(OFFICE))
H = 3600.0
TARGETS = SlaTargets(first_response_s=H, next_response_s=2 * H, resolution_s=16 * H)


def at(d: int, h: int, mi: int = 0) -> float:
    return dt.datetime(2026, 12, d, h, mi, tzinfo=PARIS).timestamp()


def test_a_first_response_in_a_pause_is_met_and_moves_on_by_the_pause_before_it():
    clocks = sla.start("p", TARGETS, BT, at(7, 9), 0.5)  # Monday 09:00, due 10:00
    clocks = sla.pause(clocks, at(7, 9, 30))  # pending after 30 min
    clocks = sla.respond(clocks, at(7, 11))  # answered 1 h 30 later, still pending
    shown = sla.view(clocks, BT, at(7, 11, 30), done=False)
    assert shown is not None and shown["first_response"]["state"] == "met"
    clocks = sla.resume(clocks, BT, at(7, 15))
    assert clocks.first_response_due == at(7, 11, 30)  # on by 09:30 -> 11:00 only
    shown = sla.view(clocks, BT, at(7, 16), done=False)
    assert shown is not None and shown["first_response"]["state"] == "met"
    assert clocks.resolution_due == at(9, 14, 30)  # Tue 17:00, on by the whole 5 h 30


def test_a_next_response_cycle_started_and_answered_in_one_pause_is_met():
    clocks = sla.respond(sla.start("p", TARGETS, BT, at(7, 9), 0.5), at(7, 9, 10))
    clocks = sla.pause(clocks, at(7, 9, 20))
    # The customer writes and is answered three business hours later, all within the pause.
    clocks = sla.customer_replied(clocks, TARGETS, BT, at(7, 10), 0.5)
    assert clocks.next_response_due == at(7, 11, 20)  # counted from the pause
    clocks = sla.respond(clocks, at(7, 13))
    shown = sla.view(clocks, BT, at(7, 13), done=False)
    assert shown is not None and shown["next_response"]["state"] == "met"
    clocks = sla.resume(clocks, BT, at(7, 14))
    assert clocks.next_response_due is not None and clocks.next_response_at is not None
    assert clocks.next_response_due >= clocks.next_response_at
    shown = sla.view(clocks, BT, at(7, 14), done=False)
    assert shown is not None and shown["next_response"]["state"] == "met"


def test_a_late_reply_before_the_pause_stays_breached():
    clocks = sla.start("p", TARGETS, BT, at(7, 9), 0.5)
    clocks = sla.respond(clocks, at(7, 10, 30))  # 30 min late
    clocks = sla.resume(sla.pause(clocks, at(7, 11)), BT, at(7, 15))
    assert clocks.first_response_due == at(7, 10)
    shown = sla.view(clocks, BT, at(7, 15), done=False)
    assert shown is not None and shown["first_response"]["state"] == "breached"
