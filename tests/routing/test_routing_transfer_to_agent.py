"""Transfer to one named colleague (``Engine.transfer_to_agent``): offered to that agent only."""

from __future__ import annotations

import pytest
from routing_helpers import agent, engine, kinds, of

from contactcenter.domain.interaction import Interaction, InteractionState
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import Offered, RingNoAnswer, Transferred
from contactcenter.routing.errors import Conflict, NotFound

T = 1_000_000.0


def chat(iid: str) -> Interaction:
    return Interaction(channel="chat", queue="q", id=iid)


def connected_to_a(wrapup_s: float = 30.0):
    """Agents a, b, c with 2 chat slots each, all logged in; chat c1 connected to a."""
    e = engine([QueueConfig("q", wrapup_s=wrapup_s)],
               [agent(x, voice=0, chat=2) for x in ("a", "b", "c")])
    e.agent_login("a", None, T)
    offer = of(e.enqueue(chat("c1"), T), Offered)[0]
    assert offer.agent_id == "a"
    e.offer_answered(offer.offer_id, T)
    e.agent_login("b", None, T + 1)
    e.agent_login("c", None, T + 1)
    return e


def test_offered_to_the_named_agent_only_and_the_first_goes_to_wrapup():
    e = connected_to_a()
    events = e.transfer_to_agent("c1", "c", T + 2)
    assert kinds(events)[:2] == ["transfer", "offer"]
    moved = of(events, Transferred)[0]
    assert (moved.agent_id, moved.to_agent, moved.to_queue) == ("a", "c", "q")
    assert moved.payload()["to_agent"] == "c"
    offer = of(events, Offered)[0]
    assert offer.agent_id == "c"  # not b, who has been free longer
    assert e.live["c1"].state is InteractionState.OFFERED
    assert e.agents["a"].shown_state().value == "wrapup"
    e.offer_answered(offer.offer_id, T + 3)
    assert e.live["c1"].agent_id == "c"
    assert e.live["c1"].state is InteractionState.CONNECTED


def test_a_wrapup_of_zero_frees_the_first_agent_for_the_next_chat():
    e = connected_to_a(wrapup_s=0)
    events = e.transfer_to_agent("c1", "c", T + 2)
    assert kinds(events).index("offer") < kinds(events).index("wrapup-done")
    assert of(events, Offered)[0].agent_id == "c"
    assert not e.agents["a"].slots
    offer = of(e.enqueue(chat("c2"), T + 3), Offered)[0]
    assert offer.agent_id in ("a", "b")  # a is free again: c1 no longer holds a slot


def test_refused_when_the_colleague_cannot_take_it_and_nothing_changes():
    e = connected_to_a()
    e.agent_pause("c", "lunch", T + 2)
    with pytest.raises(Conflict):
        e.transfer_to_agent("c1", "c", T + 3)  # paused
    with pytest.raises(Conflict):
        e.transfer_to_agent("c1", "a", T + 3)  # already theirs
    with pytest.raises(NotFound):
        e.transfer_to_agent("c1", "zz", T + 3)
    e.agent_logout("b", T + 3)
    with pytest.raises(Conflict):
        e.transfer_to_agent("c1", "b", T + 4)  # logged out
    assert e.live["c1"].state is InteractionState.CONNECTED
    assert e.live["c1"].agent_id == "a"
    assert e.agents["a"].shown_state().value == "busy"


def test_refused_when_the_colleague_is_full():
    e = connected_to_a()
    for iid in ("c2", "c3", "c4"):  # b, c, then b again: b and c hold 2 and 1
        e.enqueue(chat(iid), T + 2)
    e.enqueue(chat("c5"), T + 2)
    with pytest.raises(Conflict):
        e.transfer_to_agent("c1", "b", T + 3)


def test_not_answered_it_waits_in_its_queue_for_anyone():
    e = connected_to_a()
    offer = of(e.transfer_to_agent("c1", "c", T + 2), Offered)[0]
    events = e.offer_failed(offer.offer_id, "no-answer", T + 20)
    assert of(events, RingNoAnswer)[0].agent_id == "c"
    assert e.agents["c"].shown_state().value == "paused"
    again = of(events, Offered)[0]  # back in line: the next free agent, not c
    assert again.agent_id in ("a", "b")
    assert e.live["c1"].state is InteractionState.OFFERED


def test_only_a_connected_interaction_is_transferred():
    e = engine([QueueConfig("q")], [agent("a", voice=0, chat=1), agent("b", voice=0, chat=1)])
    e.agent_login("a", None, T)
    e.agent_login("b", None, T)
    e.enqueue(chat("c1"), T)
    with pytest.raises(Conflict):
        e.transfer_to_agent("c1", "b", T + 1)  # offered, not connected


def test_not_answered_its_queue_timers_count_from_the_transfer():
    e = engine([QueueConfig("q", max_wait_s=60)],
               [agent("a", voice=0, chat=1), agent("b", voice=0, chat=1)])
    e.agent_login("a", None, T)
    e.offer_answered(of(e.enqueue(chat("c1"), T), Offered)[0].offer_id, T)
    e.agent_login("b", None, T + 1)
    offer = of(e.transfer_to_agent("c1", "b", T + 100), Offered)[0]
    e.offer_failed(offer.offer_id, "no-answer", T + 110)  # a is in wrap-up, b paused
    assert e.live["c1"].state is InteractionState.WAITING  # not past max wait at once
    assert "exit" in kinds(e.tick(T + 161))
