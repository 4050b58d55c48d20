"""The SLA timeline's next-response cycles (``tickets/sla_timeline.reply_cycles``) start as the
clock does: at a person's message after our first reply, never at an autoreply."""

from __future__ import annotations

from contactcenter.tickets.model import Change
from contactcenter.tickets.sla_timeline import reply_cycles


def _h(at: float, field: str, new: object = None) -> Change:
    return Change(1, at, "x", field, None, new)


def test_an_autoreply_starts_no_cycle_and_a_person_does():
    history = [
        _h(0, "created"),
        _h(10, "customer-reply", {"article": 2}),  # before our first reply: no cycle
        _h(20, "reply", {"article": 3}),
        _h(30, "customer-reply", {"article": 4, "automatic": True}),  # out of office
        _h(40, "reply", {"article": 5}),
        _h(50, "customer-reply", {"article": 6}),
        _h(55, "customer-reply", {"article": 7}),  # the cycle already runs from 50
        _h(60, "reply", {"article": 8}),
        _h(70, "customer-reply", {"article": 9, "automatic": True}),
        _h(80, "customer-reply", {"article": 10}),
    ]
    assert reply_cycles(history) == [{"start": 50, "met_at": 60}, {"start": 80, "met_at": None}]
