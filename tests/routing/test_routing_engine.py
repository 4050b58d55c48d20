"""Engine behaviour, one rule per test, driven with explicit virtual time."""

from __future__ import annotations

import pytest
from routing_helpers import agent, engine, of

from contactcenter.domain.interaction import CallbackRequest, Interaction, InteractionState
from contactcenter.domain.queue import (
    CallbackPolicy,
    Destination,
    OverflowRule,
    QueueConfig,
    RelaxStep,
    Strategy,
)
from contactcenter.domain.routing_events import (
    Abandoned,
    AgentPaused,
    CallbackScheduled,
    Completed,
    Connected,
    Exited,
    Offered,
    Overflowed,
    Position,
    Relaxed,
    RingNoAnswer,
    WrapupDone,
)
from contactcenter.routing.errors import Conflict, NotFound

T = 1_000_000.0


def call(iid: str, queue: str = "q", priority: int = 0, skills=None, channel="voice", **kw):
    return Interaction(channel, queue, priority, skills or {}, id=iid, **kw)


def test_arrival_offers_to_free_agent_with_skills():
    e = engine([QueueConfig("q")], [agent("a", {"en": 1}), agent("b", {"en": 3})])
    e.agent_login("a", None, T)
    e.agent_login("b", None, T + 1)
    offers = of(e.enqueue(call("c1", skills={"en": 2}), T + 2), Offered)
    assert [(o.agent_id, o.dial_string) for o in offers] == [("b", "PJSIP/b")]


def test_longest_idle_picks_agent_free_longest():
    e = engine([QueueConfig("q")], [agent("a"), agent("b")])
    e.agent_login("b", None, T)
    e.agent_login("a", None, T + 1)
    assert of(e.enqueue(call("c1"), T + 2), Offered)[0].agent_id == "b"
    assert of(e.enqueue(call("c2"), T + 3), Offered)[0].agent_id == "a"


def test_round_robin_cycles_in_config_order():
    e = engine([QueueConfig("q", strategy=Strategy.ROUND_ROBIN, wrapup_s=0)],
               [agent("a"), agent("b"), agent("c")])
    for aid in ("c", "b", "a"):
        e.agent_login(aid, None, T)
    picked = []
    for i in range(6):
        o = of(e.enqueue(call(f"c{i}"), T + i), Offered)[0]
        picked.append(o.agent_id)
        e.offer_answered(o.offer_id, T + i)
        e.complete(o.interaction_id, T + i)
    assert picked == ["a", "b", "c", "a", "b", "c"]


def test_fewest_today_and_most_skilled():
    e = engine([QueueConfig("f", strategy=Strategy.FEWEST_TODAY, wrapup_s=0),
                QueueConfig("m", strategy=Strategy.MOST_SKILLED, wrapup_s=0)],
               [agent("a", {"x": 1}, ("f", "m")), agent("b", {"x": 4}, ("f", "m"))])
    e.agent_login("a", None, T)
    e.agent_login("b", None, T)
    o = of(e.enqueue(call("c1", "m", skills={"x": 1}), T), Offered)[0]
    assert o.agent_id == "b"  # most skilled
    e.offer_answered(o.offer_id, T)
    e.complete("c1", T + 1)
    # b answered one today, a none: fewest_today picks a
    o2 = of(e.enqueue(call("c2", "f"), T + 2), Offered)[0]
    assert o2.agent_id == "a"


def test_random_strategy_is_seeded():
    picks = []
    for _ in range(2):
        e = engine([QueueConfig("q", strategy=Strategy.RANDOM, wrapup_s=0)],
                   [agent(f"a{i}") for i in range(8)], seed=42)
        for i in range(8):
            e.agent_login(f"a{i}", None, T)
        picks.append(of(e.enqueue(call("c"), T), Offered)[0].agent_id)
    assert picks[0] == picks[1]


def test_priority_first_then_arrival_order():
    e = engine([QueueConfig("q")], [agent("a")])
    e.enqueue(call("low1"), T)
    e.enqueue(call("high", priority=5), T + 1)
    e.enqueue(call("low2"), T + 2)
    assert e.position("high", T + 3).position == 1
    assert e.position("low1", T + 3).position == 2
    assert of(e.agent_login("a", None, T + 3), Offered)[0].interaction_id == "high"


def test_agent_serving_many_queues_takes_oldest_across_queues():
    e = engine([QueueConfig("q1"), QueueConfig("q2")], [agent("a", queues=("q1", "q2"))])
    e.enqueue(call("late", "q1"), T + 5)
    e.enqueue(call("early", "q2"), T + 1)  # timestamps are given; the earlier one wins
    assert of(e.agent_login("a", None, T + 6), Offered)[0].interaction_id == "early"


def test_ring_no_answer_pauses_agent_and_keeps_head_place():
    e = engine([QueueConfig("q")], [agent("a"), agent("b")])
    e.agent_login("a", None, T)
    o = of(e.enqueue(call("c1"), T), Offered)[0]
    e.enqueue(call("c2"), T + 1)
    events = e.offer_failed(o.offer_id, "no-answer", T + 20)
    assert of(events, RingNoAnswer)[0].agent_id == "a"
    assert of(events, AgentPaused)[0].reason == "no answer"
    assert e.position("c1", T + 20).position == 1
    assert of(e.agent_login("b", None, T + 21), Offered)[0].interaction_id == "c1"


def test_ring_timeout_is_a_safety_net():
    e = engine([QueueConfig("q", ring_timeout_s=10)], [agent("a")])
    e.agent_login("a", None, T)
    e.enqueue(call("c1"), T)
    events = e.tick(T + 100)
    rna = of(events, RingNoAnswer)[0]
    assert rna.at == pytest.approx(T + 15)
    assert e.agents["a"].pause_reason == "no answer"


def test_abandon_while_waiting_and_while_ringing():
    e = engine([QueueConfig("q")], [agent("a")])
    e.agent_login("a", None, T)
    e.enqueue(call("c1"), T)
    e.enqueue(call("c2"), T + 1)
    ab = of(e.abandon("c2", T + 11), Abandoned)[0]
    assert (ab.stage, ab.wait_s) == ("waiting", 10)
    e.enqueue(call("c3"), T + 12)
    events = e.abandon("c1", T + 13)  # was ringing agent a: a is freed and takes c3
    assert of(events, Abandoned)[0].stage == "offered"
    assert of(events, Offered)[0].interaction_id == "c3"


def test_capacity_per_channel_never_exceeded():
    e = engine([QueueConfig("q")], [agent("a", voice=1, chat=2)])
    e.agent_login("a", None, T)
    for i in range(3):
        e.enqueue(call(f"chat{i}", channel="chat"), T + i)
    e.enqueue(call("v1"), T + 3)
    slots = e.agents["a"].slots.values()
    assert sorted(s.channel for s in slots) == ["chat", "chat", "voice"]
    assert e.line.count("q") == 1


def test_relaxation_fires_on_time_and_matches():
    q = QueueConfig("q", relaxation=(RelaxStep(30, lower_by=2),))
    e = engine([q], [agent("a", {"en": 1})])
    e.agent_login("a", None, T)
    assert not of(e.enqueue(call("c1", skills={"en": 3}), T), Offered)
    assert not of(e.tick(T + 29.9), Relaxed)
    events = e.tick(T + 30)
    assert of(events, Relaxed)[0].skills == {"en": 1}
    assert of(events, Offered)[0].agent_id == "a"


def test_overflow_moves_to_other_queue_keeping_arrival_time():
    e = engine([QueueConfig("q", overflow=(OverflowRule(60, "o"),)), QueueConfig("o")],
               [agent("b", queues=("o",))])
    e.enqueue(call("c1"), T)
    e.enqueue(call("o1", "o"), T + 10)
    events = e.tick(T + 60)
    assert of(events, Overflowed)[0].to_queue == "o"
    assert e.position("c1", T + 60).position == 1  # arrived before o1
    assert of(e.agent_login("b", None, T + 61), Offered)[0].interaction_id == "c1"


def test_max_wait_exits_to_destination():
    q = QueueConfig("q", max_wait_s=100, exit=Destination("message", "cc/sorry"))
    e = engine([q], [agent("a")])
    e.enqueue(call("c1"), T)
    ex = of(e.tick(T + 100), Exited)[0]
    assert (ex.reason, ex.destination) == ("max-wait", {"type": "message", "target": "cc/sorry"})
    assert "c1" not in e.live


def test_leave_key_goes_to_queue_destination():
    q = QueueConfig("q", leave_digit="0", leave_destination=Destination("queue", "o"))
    e = engine([q, QueueConfig("o")], [agent("a")])
    e.enqueue(call("c1"), T)
    ov = of(e.leave("c1", T + 5), Overflowed)[0]
    assert (ov.to_queue, ov.reason) == ("o", "leave-key")
    with pytest.raises(Conflict):
        e.leave("c1", T + 6)  # queue o names no leave destination


def test_callback_keeps_place_and_retries_within_limits():
    q = QueueConfig("q", callback=CallbackPolicy(max_attempts=2, retry_after_s=60))
    e = engine([q], [agent("a")])
    e.enqueue(call("c1"), T)
    e.enqueue(call("c2"), T + 1)
    e.request_callback("c1", "+15551234", T + 2)
    assert e.position("c1", T + 2).position == 1
    o = of(e.agent_login("a", None, T + 3), Offered)[0]
    assert (o.interaction_id, o.callback_number) == ("c1", "+15551234")
    events = e.offer_failed(o.offer_id, "callback-no-answer", T + 30)
    assert of(events, CallbackScheduled)[0].retry_at == T + 90
    assert of(events, Offered)[0].interaction_id == "c2"  # agent not paused: not their fault
    assert e.live["c1"].state is InteractionState.SCHEDULED
    c2 = of(e.offer_answered(e.live["c2"].offer_id, T + 31), Connected)[0]
    assert c2.agent_id == "a"
    e.complete("c2", T + 40)
    events = e.wrapup_done("a", "ok", None, T + 41)
    assert not of(events, Offered)  # c1 not due until T+90
    o3 = of(e.tick(T + 90), Offered)[0]
    assert (o3.interaction_id, o3.attempt) == ("c1", 1)
    ex = of(e.offer_failed(o3.offer_id, "callback-no-answer", T + 100), Exited)[0]
    assert ex.reason == "callback-failed"


def test_wrapup_timer_and_disposition():
    e = engine([QueueConfig("q", wrapup_s=30)], [agent("a")])
    e.agent_login("a", None, T)
    o = of(e.enqueue(call("c1"), T), Offered)[0]
    e.offer_answered(o.offer_id, T + 5)
    assert of(e.complete("c1", T + 65), Completed)[0].talk_s == 60
    assert e.agents["a"].shown_state().value == "wrapup"
    done = of(e.wrapup_done("a", "sold", "nice", T + 70), WrapupDone)[0]
    assert (done.disposition, done.handle_s) == ("sold", 65)
    o2 = of(e.enqueue(call("c2"), T + 71), Offered)[0]
    e.offer_answered(o2.offer_id, T + 71)
    e.complete("c2", T + 80)
    timed = of(e.tick(T + 110), WrapupDone)[0]
    assert timed.disposition is None and timed.at == T + 110


def test_transfer_requeues_and_puts_agent_in_wrapup():
    e = engine([QueueConfig("q"), QueueConfig("o")], [agent("a"), agent("b", queues=("o",))])
    e.agent_login("a", None, T)
    o = of(e.enqueue(call("c1"), T), Offered)[0]
    e.offer_answered(o.offer_id, T)
    events = e.agent_login("b", None, T + 1) + e.transfer("c1", "o", T + 2)
    assert of(events, Offered)[-1].agent_id == "b"
    assert e.agents["a"].shown_state().value == "wrapup"


def test_pause_unpause_logout_rules():
    e = engine([QueueConfig("q")], [agent("a")])
    with pytest.raises(Conflict):
        e.agent_pause("a", "break", T)  # logged out
    e.agent_login("a", None, T)
    e.agent_pause("a", "break", T)
    assert not of(e.enqueue(call("c1"), T + 1), Offered)
    o = of(e.agent_unpause("a", T + 2), Offered)[0]
    with pytest.raises(Conflict):
        e.agent_logout("a", T + 3)
    e.abandon(o.interaction_id, T + 4)
    e.agent_logout("a", T + 5)
    assert e.agents["a"].shown_state().value == "logged_out"
    with pytest.raises(NotFound):
        e.agent_login("zz", None, T)


def test_position_and_expected_wait():
    e = engine([QueueConfig("q", aht_default_s=120)], [agent("a"), agent("b")])
    e.agent_login("a", None, T)
    e.agent_login("b", None, T)
    for i in range(5):
        e.enqueue(call(f"c{i}"), T + i)
    p = e.position("c4", T + 5)
    assert isinstance(p, Position) and p.position == 3 and p.ewt_s == pytest.approx(180)


@pytest.mark.parametrize("bad", ["a\r\nAction: Originate", "x\x00", "line\n"])
def test_values_with_cr_lf_nul_are_refused(bad):
    e = engine([QueueConfig("q")], [agent("a")])
    e.agent_login("a", None, T)
    with pytest.raises(ValueError):
        e.agent_pause("a", bad, T)
    with pytest.raises(ValueError):
        Interaction("voice", "q", data={"name": bad})
    with pytest.raises(ValueError):
        CallbackRequest(bad)
    with pytest.raises(ValueError):
        agent("x").__class__("x", dial_string="PJSIP/1" + bad)
