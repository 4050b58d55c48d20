"""Facts the telephony side learns late (across a restart) are logged at the time they really
happened: the connect and its wait, the end and its talk, the wrap-up counted from that end;
never before what preceded them and never after now, and the engine's own clock never goes
back."""

from __future__ import annotations

from routing_helpers import agent, engine, of

from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import (
    Abandoned,
    AgentStateChanged,
    Completed,
    Connected,
    Offered,
    WrapupDone,
)

T = 1_000_000.0


def _offered(wrapup_s: float = 30.0):  # type: ignore[no-untyped-def]
    e = engine([QueueConfig("q", wrapup_s=wrapup_s, ring_timeout_s=60)], [agent("a")])
    e.agent_login("a", None, T)
    [offer] = of(e.enqueue(Interaction("voice", "q", id="c1"), T + 10), Offered)
    return e, offer.offer_id


def test_an_answer_and_an_end_learned_late_are_logged_when_they_happened():
    e, offer = _offered()
    events = e.offer_answered(offer, T + 40, at=T + 14)
    [connected] = of(events, Connected)
    assert (connected.at, connected.wait_s) == (T + 14, 4.0)
    # The agent's shown state changes when the engine learns it: the state history is never
    # rewritten.
    assert [s.at for s in of(events, AgentStateChanged)] == [T + 40]
    [completed] = of(e.complete("c1", T + 60, at=T + 50), Completed)
    assert (completed.at, completed.talk_s) == (T + 50, 36.0)
    # The wrap-up started at the real end: its 30 s run out at T + 80, handle 66 s.
    assert of(e.tick(T + 79.9), WrapupDone) == []
    [done] = of(e.tick(T + 80), WrapupDone)
    assert done.handle_s == 66.0


def test_late_times_stay_between_what_came_before_and_now():
    e, offer = _offered()
    [connected] = of(e.offer_answered(offer, T + 40, at=T + 2), Connected)
    assert connected.at == T + 10 and connected.wait_s == 0.0  # not before the offer
    [completed] = of(e.complete("c1", T + 60, at=T + 99), Completed)
    assert completed.at == T + 60 and completed.talk_s == 50.0  # not after now
    assert of(e.tick(T + 89.9), WrapupDone) == []
    assert of(e.tick(T + 90), WrapupDone)[0].handle_s == 80.0


def test_an_abandon_learned_late_keeps_the_wait_the_caller_lived():
    e = engine([QueueConfig("q")], [agent("a")])
    e.enqueue(Interaction("voice", "q", id="c2"), T)
    [left] = of(e.abandon("c2", T + 30, at=T + 12), Abandoned)
    assert (left.at, left.wait_s) == (T + 12, 12.0)


def test_without_a_late_time_everything_is_now():
    e, offer = _offered()
    assert of(e.offer_answered(offer, T + 40), Connected)[0].at == T + 40
    assert of(e.abandon("c1", T + 45), Completed)[0].talk_s == 5.0


def test_a_ringing_offer_restored_after_a_restart_takes_an_answer_from_before_the_restart():
    # The agent answered while no server listened (T + 14); the new server, restored at T + 40,
    # learns it at T + 45 from the stamp on the caller's channel: connected at T + 14, not at
    # the restart.
    e, _offer = _offered()
    rows, agents = e.take_changes()
    new = engine([QueueConfig("q", wrapup_s=30.0, ring_timeout_s=60)], [agent("a")])
    new.restore(agents, [r for r in rows if r.state == "offered"], T + 40)
    [offer_id] = list(new.offers)
    [connected] = of(new.offer_answered(offer_id, T + 45, at=T + 14), Connected)
    assert (connected.at, connected.wait_s) == (T + 14, 4.0)
    # Still never before the offer itself.
    e2, _ = _offered()
    rows, agents = e2.take_changes()
    again = engine([QueueConfig("q", wrapup_s=30.0, ring_timeout_s=60)], [agent("a")])
    again.restore(agents, [r for r in rows if r.state == "offered"], T + 40)
    [offer_id] = list(again.offers)
    assert of(again.offer_answered(offer_id, T + 45, at=T + 1), Connected)[0].at == T + 10
