"""Engine side of the agent's call controls: hold / unhold, blind transfer to a number."""

from __future__ import annotations

import pytest
from routing_helpers import agent, engine, of

from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import (
    Completed,
    Held,
    Offered,
    Transferred,
    Unheld,
    WrapupDone,
)
from contactcenter.routing.engine import HOLD_KEY
from contactcenter.routing.errors import Conflict

T = 1_000_000.0


def _connected(queues=None):  # type: ignore[no-untyped-def]
    e = engine(queues or [QueueConfig("q", wrapup_s=30), QueueConfig("r")],
               [agent("a", queues=("q",)), agent("b", queues=("r",))])
    e.agent_login("a", None, T)
    offer = of(e.enqueue(Interaction("voice", "q", 0, {}, id="c1"), T + 1), Offered)[0]
    e.offer_answered(offer.offer_id, T + 2)
    return e


def test_hold_and_unhold_are_logged_with_the_time_held():
    e = _connected()
    held = of(e.hold("c1", T + 10), Held)
    assert [(h.interaction_id, h.agent_id, h.queue) for h in held] == [("c1", "a", "q")]
    assert e.live["c1"].data[HOLD_KEY] == T + 10
    with pytest.raises(Conflict):
        e.hold("c1", T + 11)
    unheld = of(e.unhold("c1", T + 25), Unheld)
    assert [(u.interaction_id, u.held_s) for u in unheld] == [("c1", 15.0)]
    assert HOLD_KEY not in e.live["c1"].data
    with pytest.raises(Conflict):
        e.unhold("c1", T + 26)


def test_ending_a_held_call_closes_the_hold_first():
    for end in (lambda e, t: e.complete("c1", t), lambda e, t: e.abandon("c1", t),
                lambda e, t: e.transfer("c1", "r", t)):
        e = _connected()
        e.hold("c1", T + 10)
        events = end(e, T + 40)
        kinds = [ev.kind for ev in events]
        assert kinds.index("unhold") < kinds.index(
            "transfer" if "transfer" in kinds else "complete")
        assert of(events, Unheld)[0].held_s == 30.0
        rec = e.live.get("c1")
        assert rec is None or HOLD_KEY not in rec.data  # the next agent does not inherit it


def test_transfer_out_logs_the_number_completes_and_wraps_up_the_agent():
    e = _connected()
    events = e.transfer_out("c1", "+15551234", T + 20)
    out = of(events, Transferred)
    assert [(t.to_number, t.to_queue, t.agent_id) for t in out] == [("+15551234", "", "a")]
    assert of(events, Completed)[0].talk_s == 18.0
    assert out[0].payload() == {"to_queue": "", "to_number": "+15551234"}
    assert "c1" not in e.live and e.agents["a"].shown_state().value == "wrapup"
    assert of(e.wrapup_done("a", "sold", None, T + 30), WrapupDone)[0].interaction_id == "c1"


@pytest.mark.parametrize("number", ["", "12a", "+", "++1", "1" * 21, "555\r\n", "#1", "1 2"])
def test_transfer_out_refuses_anything_but_digits(number):
    e = _connected()
    with pytest.raises(ValueError):
        e.transfer_out("c1", number, T + 5)
    assert e.live["c1"].state.value == "connected"


def test_controls_need_a_connected_interaction():
    e = engine([QueueConfig("q")], [agent("a")])
    e.enqueue(Interaction("voice", "q", 0, {}, id="c1"), T)  # nobody logged in: waiting
    for control in (lambda: e.hold("c1", T + 1), lambda: e.unhold("c1", T + 1),
                    lambda: e.transfer_out("c1", "5551234", T + 1)):
        with pytest.raises(Conflict):
            control()
