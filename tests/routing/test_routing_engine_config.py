"""Applying a new configuration to a running engine: one rule per test, explicit virtual time."""

from __future__ import annotations

from dataclasses import replace

import pytest
from routing_helpers import agent, engine, make_config, of

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.interaction import InteractionState as IS
from contactcenter.domain.queue import (
    Announcements,
    Destination,
    OverflowRule,
    QueueConfig,
    RelaxStep,
    Strategy,
)
from contactcenter.domain.routing_events import (
    AgentLoggedOut,
    Exited,
    Offered,
    Overflowed,
    Position,
)
from contactcenter.routing.engine_config import AgentReconfigured, ConfigApplied, ConfigRefused
from contactcenter.routing.errors import NotFound

T = 1_000_000.0
Q = QueueConfig("q", wrapup_s=0, ring_timeout_s=10)


def call(iid: str, queue: str = "q", skills=None, channel: str = "voice") -> Interaction:
    return Interaction(channel, queue, 0, skills or {}, id=iid)


def test_new_queue_and_new_agent_are_usable_at_once():
    e = engine([Q], [agent("a", queues=("q",))])
    events = e.apply_config(make_config([Q, QueueConfig("new")],
                                        [agent("a"), agent("b", queues=("new",))]), T)
    applied = of(events, ConfigApplied)[0]
    assert (applied.queues_added, applied.agents_added) == (("new",), ("b",))
    e.enqueue(call("c1", "new"), T + 1)
    offers = of(e.agent_login("b", None, T + 2), Offered)
    assert [(o.interaction_id, o.agent_id) for o in offers] == [("c1", "b")]


def test_changed_queue_skills_rekey_waiting_and_keep_their_order():
    e = engine([QueueConfig("q", skills={"fr": 1})], [agent("a", {"en": 2}), agent("b", {"en": 2})])
    for aid in ("a", "b"):
        e.agent_login(aid, None, T)
    e.enqueue(call("old"), T + 1)
    e.enqueue(call("new"), T + 2)
    assert e.line.position("old") == 1 and e.line.position("new") == 2
    e.agent_pause("b", "break", T + 3)
    offers = of(e.apply_config(make_config([QueueConfig("q", skills={"en": 1})],
                                           [agent("a", {"en": 2}), agent("b", {"en": 2})]), T + 4),
                Offered)
    assert [(o.interaction_id, o.agent_id) for o in offers] == [("old", "a")]
    assert e.live["new"].req == (("en", 1),) and e.line.position("new") == 1


def test_due_relaxation_applies_at_once_and_timers_count_from_queue_entry():
    e = engine([QueueConfig("q", skills={"en": 3})], [agent("a", {"en": 1})])
    e.agent_login("a", None, T)
    e.enqueue(call("c1"), T)
    relaxed = QueueConfig("q", skills={"en": 3},
                          relaxation=(RelaxStep(30, lower_by=1), RelaxStep(60, lower_by=2)))
    e.apply_config(make_config([relaxed], [agent("a", {"en": 1})]), T + 45)
    assert (e.live["c1"].relax_step, e.live["c1"].req) == (0, (("en", 2),))
    offers = of(e.tick(T + 60), Offered)  # the second step, counted from entry, not the change
    assert [o.agent_id for o in offers] == ["a"]


def test_shortened_max_wait_and_new_overflow_act_when_already_due():
    queues = [QueueConfig("q"), QueueConfig("r"), QueueConfig("s")]
    e = engine(queues, [agent("a", queues=("s",))])
    e.enqueue(call("c1", "q"), T)
    e.enqueue(call("c2", "r"), T)
    new = [QueueConfig("q", max_wait_s=60, exit=Destination("message", "cc/bye")),
           QueueConfig("r", overflow=(OverflowRule(30, "s"),)), QueueConfig("s")]
    events = e.apply_config(make_config(new, [agent("a", queues=("s",))]), T + 100)
    assert [(x.interaction_id, x.reason) for x in of(events, Exited)] == [("c1", "max-wait")]
    assert [(x.interaction_id, x.to_queue) for x in of(events, Overflowed)] == [("c2", "s")]


def test_announcements_follow_the_new_interval():
    e = engine([QueueConfig("q", announce=Announcements(interval_s=30))], [agent("a")])
    e.enqueue(call("c1"), T)
    e.apply_config(make_config([QueueConfig("q", announce=Announcements(interval_s=5))],
                               [agent("a")]), T + 1)
    assert [p.at for p in of(e.tick(T + 11), Position)] == [T + 6, T + 11]


def test_removing_a_queue_is_refused_while_in_use_and_changes_nothing():
    e = engine([Q, QueueConfig("r")], [agent("a", queues=("r",)), agent("b", queues=("q",))])
    e.enqueue(call("c1", "r"), T)
    e.agent_login("a", None, T)  # takes c1
    without_r = make_config([Q], [agent("a", queues=()), agent("b", queues=("q",))])
    with pytest.raises(ConfigRefused) as refused:
        e.apply_config(without_r, T + 1)
    assert any("queue r: 1 interaction(s) still in it (c1)" in p for p in refused.value.problems)
    assert any("agent(s) a logged in to it" in p for p in refused.value.problems)
    assert set(e.queues) == {"q", "r"} and e.config.agents["a"].queues == ("r",)
    e.offer_answered(e.live["c1"].offer_id, T + 2)
    e.complete("c1", T + 3)
    e.agent_logout("a", T + 4)
    assert of(e.apply_config(without_r, T + 5), ConfigApplied)[0].queues_removed == ("r",)
    with pytest.raises(NotFound):
        e.enqueue(call("c2", "r"), T + 6)


def test_agent_gaining_a_skill_takes_a_waiting_interaction_at_once():
    e = engine([Q], [agent("a", {"en": 1})])
    e.agent_login("a", None, T)
    e.enqueue(call("c1", skills={"fr": 1}), T)
    events = e.apply_config(make_config([Q], [agent("a", {"en": 1, "fr": 2})]), T + 1)
    assert [(o.interaction_id, o.agent_id) for o in of(events, Offered)] == [("c1", "a")]
    assert [x.agent_id for x in of(events, AgentReconfigured)] == ["a"]


def test_agent_losing_a_skill_gets_no_more_of_that_work():
    # The agent's cached "groups I can serve" must not outlive their skills.
    e = engine([Q], [agent("a", {"en": 2})])
    e.agent_login("a", None, T)
    e.enqueue(call("c1", skills={"en": 1}), T)
    for iid in ("c2", "c3"):
        e.enqueue(call(iid, skills={"en": 2}), T + 1)
    e.offer_answered(e.live["c1"].offer_id, T + 2)
    e.complete("c1", T + 3)  # no wrap-up: takes c2 (and caches the en-2 group)
    e.apply_config(make_config([Q], [agent("a", {"en": 1})]), T + 4)
    e.offer_answered(e.live["c2"].offer_id, T + 5)
    assert of(e.complete("c2", T + 6), Offered) == []
    assert e.live["c3"].state is IS.WAITING


def test_lower_capacity_keeps_work_in_hand_and_stops_new_offers():
    chat = QueueConfig("q", wrapup_s=0)
    e = engine([chat], [agent("a", chat=3)])
    e.agent_login("a", None, T)
    for i in range(3):
        e.enqueue(call(f"c{i}", channel="chat"), T)
    e.apply_config(make_config([chat], [agent("a", chat=1)]), T + 1)
    assert e.agents["a"].used["chat"] == 3  # nothing cut
    e.enqueue(call("c3", channel="chat"), T + 2)
    for i in range(2):
        e.offer_answered(e.live[f"c{i}"].offer_id, T + 3)
        assert of(e.complete(f"c{i}", T + 4), Offered) == []  # still at or over 1
    e.offer_answered(e.live["c2"].offer_id, T + 5)
    assert [o.interaction_id for o in of(e.complete("c2", T + 6), Offered)] == ["c3"]


def test_new_dial_string_applies_to_the_next_offer_not_the_ringing_one():
    e = engine([Q], [agent("a")])
    e.agent_login("a", None, T)
    first = of(e.enqueue(call("c1"), T), Offered)[0]
    e.offer_ringing(first.offer_id, T + 1)
    e.apply_config(make_config([Q], [replace(agent("a"), dial_string="PJSIP/new")]), T + 2)
    assert e.live["c1"].state is IS.OFFERED
    e.offer_answered(first.offer_id, T + 3)
    assert first.dial_string == "PJSIP/a"
    e.enqueue(call("c2"), T + 4)
    assert of(e.complete("c1", T + 5), Offered)[0].dial_string == "PJSIP/new"


def test_agents_on_their_configured_queues_follow_a_change_others_keep_theirs():
    queues = [Q, QueueConfig("r"), QueueConfig("s")]
    e = engine(queues, [agent("a", queues=("q",)), agent("b", queues=("q",))])
    e.agent_login("a", None, T)  # the configured list
    e.agent_login("b", ["q", "s"], T)  # chosen
    e.apply_config(make_config(queues, [agent("a", queues=("r",)), agent("b", queues=("r",))]),
                   T + 1)
    assert (e.agents["a"].queues, e.agents["b"].queues) == (("r",), ("q", "s"))
    assert e.staffed[("r", "voice")] == 1 and e.staffed[("q", "voice")] == 1


def test_removed_agent_is_logged_out_when_idle_refused_with_work():
    e = engine([Q], [agent("a"), agent("b")])
    e.agent_login("a", None, T)
    e.agent_login("b", None, T + 1)
    e.enqueue(call("c1"), T + 2)  # to a (longest idle)
    with pytest.raises(ConfigRefused, match="agent a: has work in progress"):
        e.apply_config(make_config([Q], [agent("b")]), T + 3)
    e.take_changes()
    events = e.apply_config(make_config([Q], [agent("a")]), T + 4)
    assert [x.agent_id for x in of(events, AgentLoggedOut)] == ["b"]
    assert "b" not in e.agents and e.ready.count("q", "voice") == 0
    _rows, agents = e.take_changes()
    assert [(r.agent_id, r.presence) for r in agents if r.agent_id == "b"] == [
        ("b", AgentState.LOGGED_OUT.value)]
    with pytest.raises(NotFound):
        e.agent_login("b", None, T + 5)


def test_cross_reference_errors_are_refused():
    e = engine([Q], [agent("a")])
    bad = make_config([replace(Q, overflow=(OverflowRule(10, "nowhere"),))], [agent("a")])
    assert e.check_config(bad) == ["queue q: overflow to unknown queue 'nowhere'"]
    with pytest.raises(ConfigRefused):
        e.apply_config(bad, T)
    assert e.queues["q"] == Q


def test_strategy_change_applies_to_the_next_decision():
    e = engine([QueueConfig("q", strategy=Strategy.LONGEST_IDLE, wrapup_s=0)],
               [agent("a", {"en": 1}), agent("b", {"en": 5})])
    e.agent_login("a", None, T)
    e.agent_login("b", None, T + 1)
    e.apply_config(make_config([QueueConfig("q", strategy=Strategy.MOST_SKILLED, wrapup_s=0)],
                               [agent("a", {"en": 1}), agent("b", {"en": 5})]), T + 2)
    assert of(e.enqueue(call("c1", skills={"en": 1}), T + 3), Offered)[0].agent_id == "b"
