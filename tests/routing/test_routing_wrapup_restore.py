"""A wrap-up in progress survives a restart: its slot, its remaining time, its interaction."""

from __future__ import annotations

import sqlalchemy as sa
from routing_helpers import agent, engine, make_config, of

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import (
    AgentStateChanged,
    Offered,
    RingNoAnswer,
    WrapupDone,
)
from contactcenter.routing.engine_state import RING_GRACE_S, UNSEEN_RING_S
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService
from contactcenter.storage.database import Database
from contactcenter.storage.schema import upgrade

T = 1_000_000.0
Q = QueueConfig("q", wrapup_s=30)


def _in_wrapup(at: float):
    """An engine whose agent ``a`` finished talking to c1 at ``at`` (connected at ``at - 60``)."""
    e = engine([Q], [agent("a")])
    e.agent_login("a", None, at - 70)
    offer = of(e.enqueue(Interaction("voice", "q", id="c1"), at - 70), Offered)[0]
    e.offer_answered(offer.offer_id, at - 60)
    e.complete("c1", at)
    return e


def test_agent_rows_carry_the_wrapup_and_a_restart_keeps_its_remaining_time():
    old = _in_wrapup(T)
    _, agents = old.take_changes()
    (row,) = agents
    assert row.wrapups == [{"interaction_id": "c1", "channel": "voice", "queue": "q",
                            "offer_id": "c1#1", "since": T, "connected_at": T - 60}]

    new = engine([Q], [agent("a")])
    new.restore(agents, [], T + 10)
    assert new.agents["a"].shown_state().value == "wrapup"
    assert of(new.enqueue(Interaction("voice", "q", id="c2"), T + 11), Offered) == []
    assert of(new.tick(T + 29), WrapupDone) == []
    done = of(new.tick(T + 30), WrapupDone)[0]  # 30 s after the wrap-up began, not the restart
    assert (done.interaction_id, done.disposition, done.at) == ("c1", None, T + 30)
    assert new.live["c2"].agent_id == "a"  # freed: the waiting call is offered at once


def test_a_wrapup_that_ran_out_during_the_restart_ends_as_timed_out():
    old = _in_wrapup(T)
    _, agents = old.take_changes()
    new = engine([Q], [agent("a")])
    events = new.restore(agents, [], T + 500)
    done = of(events, WrapupDone)[0]
    assert (done.interaction_id, done.disposition, done.at) == ("c1", None, T + 500)
    assert done.handle_s == 90  # 60 s talk + 30 s wrap-up, not the time the server was away
    assert new.agents["a"].shown_state().value == "available"
    # The one real change is logged; what a was doing before the restart is not logged again.
    assert [(c.agent_id, c.previous, c.state) for c in of(events, AgentStateChanged)] == [
        ("a", "wrapup", "available")]


def test_a_restart_logs_no_state_change_for_what_agents_were_already_doing():
    # Seen on a real Asterisk: every restart wrote logged_out -> available -> busy per agent,
    # which the reports would read as logins and a new call.
    old = engine([Q], [agent("a"), agent("b")])
    old.agent_login("a", None, T - 100)
    old.agent_login("b", None, T - 90)
    offer = of(old.enqueue(Interaction("voice", "q", id="c1"), T - 70), Offered)[0]
    old.offer_answered(offer.offer_id, T - 60)
    rows, agents = old.take_changes()
    new = engine([Q], [agent("a"), agent("b")])
    events = new.restore(agents, rows, T + 5)
    assert of(events, AgentStateChanged) == []
    assert {a: new.agents[a].shown_state().value for a in "ab"} == {"a": "busy",
                                                                    "b": "available"}
    # Changes after the restore are logged as ever, from the state shown before it.
    (change,) = of(new.agent_pause("b", "lunch", T + 6), AgentStateChanged)
    assert (change.previous, change.state, change.reason) == ("available", "paused", "lunch")


def test_the_agent_can_close_a_restored_wrapup_with_a_disposition():
    _, agents = _in_wrapup(T).take_changes()
    new = engine([Q], [agent("a")])
    new.restore(agents, [], T + 5)
    done = of(new.wrapup_done("a", "sold", None, T + 6, interaction_id="c1"), WrapupDone)[0]
    assert (done.disposition, done.handle_s) == ("sold", 66)


async def test_restart_through_the_database_keeps_the_wrapup(database):
    config = make_config([QueueConfig("q", wrapup_s=3600)], [agent("a")])
    clock = Clock(speed=1)
    log = InteractionLog(database)
    svc = RoutingService(config, clock, log)
    await svc.start()
    await svc.agent_login("a")
    await svc.enqueue(Interaction("voice", "q", id="c1"))
    await svc.offer_answered("c1#1")
    await svc.complete("c1")
    await svc.stop()

    svc2 = RoutingService(config, clock, log)
    await svc2.start()
    try:
        assert svc2.agent("a").state == "wrapup"
        await svc2.enqueue(Interaction("voice", "q", id="c2"))
        assert svc2.position("c2").position == 1  # a still holds its slot for c1
        await svc2.wrapup_done("a", "resolved", None)
        assert svc2.state_of("c2").value == "offered"
        await svc2.flush()
        done = [r for r in await log.events(agent_id="a") if r["kind"] == "wrapup-done"]
        assert [(r["interaction_id"], r["disposition"]) for r in done] == [("c1", "resolved")]
    finally:
        await svc2.stop()


async def test_an_older_agents_table_gets_the_wrapups_column(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        async with db.engine.begin() as conn:  # routing_agents as first released
            await conn.execute(sa.text(
                "CREATE TABLE routing_agents (agent_id VARCHAR(64) PRIMARY KEY, presence "
                "VARCHAR(16), pause_reason VARCHAR(64), queues JSON, answered_today INTEGER, "
                "day INTEGER, updated_at FLOAT)"))
            await conn.execute(sa.text(
                "INSERT INTO routing_agents VALUES ('a', 'available', NULL, '[\"q\"]', 2, 1, 5.0)"))
        await upgrade(db)  # revision 0001 adopts the table made before migrations
        log = InteractionLog(db)
        (row,) = await log.agents()
        assert (row.agent_id, row.queues, row.wrapups) == ("a", ["q"], [])
        _, agents = _in_wrapup(T).take_changes()
        await log.append([], [], agents)
        (row,) = await log.agents()
        assert row.wrapups[0]["interaction_id"] == "c1"
    finally:
        await db.close()


def _ringing(channel: str, restart_at: float):
    """An engine restored at ``restart_at`` from one whose agent ``a`` was being offered c1
    (of ``channel``) at T, with agent ``b`` free too."""
    old = engine([Q], [agent("a", chat=1), agent("b", chat=1)])
    old.agent_login("a", None, T - 100)
    old.agent_login("b", None, T - 50)  # a is the longer idle: c1 goes to a
    offer = of(old.enqueue(Interaction(channel, "q", id="c1"), T), Offered)[0]
    assert offer.agent_id == "a"
    rows, agents = old.take_changes()
    new = engine([Q], [agent("a", chat=1), agent("b", chat=1)])
    events = new.restore(agents, rows, restart_at)
    return new, offer, events


def test_a_voice_call_ringing_at_the_restart_stays_offered_to_its_agent():
    # Asterisk carries on with the Dial while the server is away: the same offer is kept (the
    # telephony side learns how it ended), not re-made to another agent whom nobody would dial.
    new, offer, events = _ringing("voice", T + 3)
    assert of(events, Offered) == []
    rec = new.live["c1"]
    assert (rec.state.value, rec.agent_id, rec.offer_id) == ("offered", "a", offer.offer_id)
    assert new.agents["a"].shown_state().value != "available"  # still reserved
    assert new.agents["b"].shown_state().value == "available"
    new.offer_answered(offer.offer_id, T + 5)
    assert new.live["c1"].state.value == "connected"


def test_a_restored_ringing_offer_waits_for_the_telephony_side_then_the_plain_ring_time():
    # Nothing could be seen while the server was away, and an answered call's AGI only comes
    # back after the talk: the restored offer is not failed after a mere ring time...
    new, offer, _ = _ringing("voice", T + 3)
    ring = Q.ring_timeout_s + RING_GRACE_S
    assert of(new.tick(T + 3 + ring + 60), RingNoAnswer) == []
    assert new.live["c1"].offer_id == offer.offer_id
    assert new.agents["a"].pause_reason is None
    # ...but once the telephony side sees it still ringing (an AMI resync), the ring time
    # counts from then, and an offer nobody settles fails as any other.
    seen_at = T + 3 + ring + 60
    new.renew_offer(offer.offer_id, seen_at)
    assert of(new.tick(seen_at + ring - 0.5), RingNoAnswer) == []
    (failed,) = of(new.tick(seen_at + ring), RingNoAnswer)
    assert (failed.offer_id, failed.agent_id) == (offer.offer_id, "a")
    assert new.agents["a"].pause_reason == "no answer"
    assert new.live["c1"].agent_id == "b"  # back at its place, offered to the next agent


def test_a_restored_ringing_offer_nothing_ever_settles_fails_after_unseen_ring_s():
    new, offer, _ = _ringing("voice", T + 3)
    assert of(new.tick(T + 3 + UNSEEN_RING_S - 0.5), RingNoAnswer) == []
    (failed,) = of(new.tick(T + 3 + UNSEEN_RING_S), RingNoAnswer)
    assert failed.offer_id == offer.offer_id


def test_a_chat_offered_at_the_restart_is_offered_again():
    _new, _offer, events = _ringing("chat", T + 3)
    again = of(events, Offered)
    assert [o.interaction_id for o in again] == ["c1"]  # re-made at once, the agent freed first
