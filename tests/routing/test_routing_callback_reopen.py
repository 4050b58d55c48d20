"""A callback asked for right after an exit re-opens the interaction with its original key."""

from __future__ import annotations

import pytest
from routing_helpers import agent, engine, of

from contactcenter.domain.interaction import Interaction, InteractionState
from contactcenter.domain.queue import Destination, QueueConfig
from contactcenter.domain.routing_events import CallbackRequested, Connected, Exited, Offered
from contactcenter.routing.engine_state import REOPEN_WINDOW_S
from contactcenter.routing.errors import Conflict, NotFound

T = 1_000_000.0


def call(iid: str, priority: int = 0) -> Interaction:
    return Interaction("voice", "q", priority, {}, id=iid)


def test_withdrawn_caller_asking_for_a_callback_keeps_the_original_place():
    e = engine([QueueConfig("q")], [agent("a")])
    e.enqueue(call("c1"), T)
    e.enqueue(call("c2"), T + 10)
    exited = of(e.withdraw("c1", "flow-max-wait", T + 300), Exited)[0]
    assert exited.reason == "flow-max-wait"
    e.enqueue(call("c3"), T + 320)
    assert e.stats["q"].exited == 1

    events = e.request_callback("c1", "+15551234", T + 340, {"callback_name_file": "/m/c1.wav"})
    assert [ev.kind for ev in events if ev.interaction_id == "c1"] == ["callback-request"]
    assert of(events, CallbackRequested)[0].number == "+15551234"
    assert e.position("c1", T + 340).position == 1  # ahead of c2 and c3, who came later
    assert e.position("c2", T + 340).position == 2
    assert e.stats["q"].exited == 0

    offer = of(e.agent_login("a", None, T + 400), Offered)[0]
    assert (offer.interaction_id, offer.callback_number) == ("c1", "+15551234")
    connected = of(e.offer_answered(offer.offer_id, T + 420), Connected)[0]
    assert connected.wait_s == 420  # counted from the first arrival
    assert connected.data == {"callback_name_file": "/m/c1.wav", "callback_number": "+15551234"}


def test_queue_exit_of_type_callback_can_be_reopened_and_offered_at_once():
    q = QueueConfig("q", max_wait_s=60, exit=Destination("callback"))
    e = engine([q], [agent("a")])
    e.enqueue(call("c1"), T)
    ex = of(e.tick(T + 60), Exited)[0]
    assert ex.destination == {"type": "callback", "target": None}
    e.agent_login("a", None, T + 61)  # nobody waits: the agent stays free
    events = e.request_callback("c1", "5551234", T + 62)
    assert [ev.kind for ev in events][:2] == ["callback-request", "offer"]
    assert e.live["c1"].state is InteractionState.OFFERED


def test_reopen_is_refused_when_unknown_too_old_or_not_an_exit():
    e = engine([QueueConfig("q")], [agent("a")])
    with pytest.raises(NotFound):
        e.request_callback("nobody", "5551234", T)
    e.enqueue(call("c1"), T)
    e.withdraw("c1", "flow-max-wait", T + 1)
    with pytest.raises(NotFound):
        e.request_callback("c1", "5551234", T + 2 + REOPEN_WINDOW_S)
    e.agent_login("a", None, T + 2 + REOPEN_WINDOW_S)
    o = of(e.enqueue(call("c2"), T + 3 + REOPEN_WINDOW_S), Offered)[0]
    e.abandon("c2", T + 4 + REOPEN_WINDOW_S)  # abandoned, not exited: no way back
    with pytest.raises(NotFound):
        e.request_callback("c2", "5551234", T + 5 + REOPEN_WINDOW_S)
    assert o.interaction_id == "c2"
    with pytest.raises(ValueError):
        e.request_callback("c2", "555\r\n1234", T + 6 + REOPEN_WINDOW_S)


def test_second_request_only_adds_data():
    e = engine([QueueConfig("q")], [agent("a")])
    e.enqueue(call("c1"), T)
    e.request_callback("c1", "5551234", T + 1)
    assert e.request_callback("c1", "5559999", T + 2, {"callback_name_file": "x.wav"}) == []
    assert e.live["c1"].callback.number == "5551234"
    assert e.live["c1"].data["callback_name_file"] == "x.wav"


def test_an_offered_call_is_refused_and_a_new_entry_wins_over_the_exited_one():
    e = engine([QueueConfig("q")], [agent("a")])
    e.agent_login("a", None, T)
    e.enqueue(call("c1"), T + 1)  # offered to a at once
    with pytest.raises(Conflict):
        e.request_callback("c1", "5551234", T + 2)
    e.enqueue(call("c2"), T + 3)
    e.withdraw("c2", "flow-max-wait", T + 4)
    e.enqueue(call("c2"), T + 5)  # the caller chose to keep waiting: a new interaction
    assert e.request_callback("c2", "5552222", T + 6)[0].kind == "callback-request"
    assert e.live["c2"].arrived_at == T + 5  # the open one, not the exited one


def test_a_restart_keeps_the_recent_exits_so_a_callback_still_keeps_the_place():
    e = engine([QueueConfig("q")], [agent("a")])
    e.enqueue(call("c1"), T)
    e.enqueue(call("c2"), T + 10)
    e.enqueue(call("old"), T + 20)
    e.withdraw("old", "flow-max-wait", T + 30)
    first, _ = e.take_changes()  # rows are taken after every change (stamped then)
    e.withdraw("c1", "flow-max-wait", T + 300 + REOPEN_WINDOW_S - 100)
    rows, agents = e.take_changes()
    rows = [r for r in first if r.id not in {x.id for x in rows}] + rows
    open_rows = [r for r in rows if r.state == "waiting"]
    exited = [r for r in rows if r.state == "exited"]
    assert {r.id for r in exited} == {"c1", "old"}

    now = T + 300 + REOPEN_WINDOW_S - 50
    new = engine([QueueConfig("q")], [agent("a")])
    new.restore(agents, open_rows, now, exited=exited)
    new.request_callback("c1", "+15551234", now + 10)
    assert new.position("c1", now + 10).position == 1  # ahead of c2: its original key
    with pytest.raises(NotFound):  # that one left too long ago
        new.request_callback("old", "+15551234", now + 10)
