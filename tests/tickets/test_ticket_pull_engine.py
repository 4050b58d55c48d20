"""The queue engine's ``pull`` (what "Next ticket" asks): the waiting interaction the agent
would be offered next, also while paused, never past capacity, never without the skills."""

from __future__ import annotations

import pytest

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import Offered
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.engine import Engine
from contactcenter.routing.errors import Conflict

T = 1_000_000.0


def ticket(iid: str, priority: int = 0, skills: dict[str, int] | None = None) -> Interaction:
    return Interaction("ticket", "q", priority, skills or {}, id=iid)


def engine(capacity: int = 2) -> Engine:
    agent = AgentConfig("a", name="a", dial_string="PJSIP/a", skills={"en": 1},
                        capacity={"voice": 1, "chat": 0, "ticket": capacity}, queues=("q",))
    return Engine(RoutingConfig({"q": QueueConfig("q")}, {"a": agent}), rng_seed=1)


def test_a_paused_agent_pulls_by_priority_then_age_within_capacity_and_skills():
    e = engine()
    with pytest.raises(Conflict, match="logged out"):
        e.pull("a", "ticket", T)
    e.agent_login("a", None, T)
    e.agent_pause("a", "tickets", T)
    for i, (iid, prio, skills) in enumerate((("old", 0, None), ("french", 20, {"fr": 1}),
                                             ("urgent", 20, None), ("young", 0, None))):
        e.enqueue(ticket(iid, prio, skills), T + 1 + i)
    assert not e.agents["a"].slots  # paused: nothing pushed

    first = [ev for ev in e.pull("a", "ticket", T + 10) if isinstance(ev, Offered)]
    assert [ev.interaction_id for ev in first] == ["urgent"]
    second = [ev for ev in e.pull("a", "ticket", T + 11) if isinstance(ev, Offered)]
    assert [ev.interaction_id for ev in second] == ["old"]
    assert e.agents["a"].presence.value == "paused"
    with pytest.raises(Conflict, match="no free ticket slot"):
        e.pull("a", "ticket", T + 12)
    assert e.line.count("q") == 2  # french (no skill) and young still wait

    # An offer pulled and not taken goes back to its place, as any unanswered offer.
    e.offer_failed(first[0].offer_id, "no-answer", T + 13)
    again = [ev for ev in e.pull("a", "ticket", T + 14) if isinstance(ev, Offered)]
    assert [ev.interaction_id for ev in again] == ["urgent"]


def test_nothing_waiting_is_no_event_and_an_available_agent_was_already_given_all():
    e = engine(capacity=1)
    e.agent_login("a", None, T)
    assert e.pull("a", "ticket", T + 1) == []
    offered = [ev for ev in e.enqueue(ticket("t1"), T + 2) if isinstance(ev, Offered)]
    assert [ev.agent_id for ev in offered] == ["a"]  # pushed: pull only serves who asks
    with pytest.raises(Conflict):
        e.pull("a", "ticket", T + 3)
