"""The async service over a real database: update streams, timers on a fast Clock,
the interaction log, and rebuilding waiting lines and agents after a restart."""

from __future__ import annotations

import asyncio

import pytest
from routing_helpers import agent, make_config

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import Connected, Offered, Position, RingNoAnswer
from contactcenter.routing.errors import Conflict
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService

CONFIG = make_config(
    [QueueConfig("q", wrapup_s=2, ring_timeout_s=1, announce=__import__(
        "contactcenter.domain.queue", fromlist=["Announcements"]).Announcements(interval_s=5))],
    [agent("a", {"en": 2}), agent("b", {"en": 1})],
)


async def next_of(stream, cls, timeout=5.0):
    """The next update of type ``cls`` from an async iterator."""
    async def find():
        async for ev in stream:
            if isinstance(ev, cls):
                return ev
    return await asyncio.wait_for(find(), timeout)


async def test_update_stream_and_log(database):
    log = InteractionLog(database)
    svc = RoutingService(CONFIG, Clock(speed=1), log, rng_seed=1)
    await svc.start()
    try:
        await svc.agent_login("a")
        iid = await svc.enqueue(Interaction("voice", "q", skills={"en": 2}, data={"ani": "555"}))
        stream = svc.updates(iid)
        offer = await next_of(stream, Offered)
        assert (offer.agent_id, offer.dial_string) == ("a", "PJSIP/a")
        await svc.offer_answered(offer.offer_id)
        connected = await next_of(stream, Connected)
        assert connected.data == {"ani": "555"}
        await svc.complete(iid)
        kinds = [ev.kind async for ev in stream]
        assert kinds == ["complete"]
        await svc.wrapup_done("a", "sold", "ok")
        await svc.flush()
        history = [r["kind"] for r in await log.events(interaction_id=iid)]
        assert history == ["enter", "offer", "connect", "complete", "wrapup-done"]
        agent_history = [r["kind"] for r in await log.events(agent_id="a")]
        assert agent_history[0] == "agent-login" and "agent-state" in agent_history
    finally:
        await svc.stop()


async def test_ring_timeout_and_announcements_run_on_the_clock():
    svc = RoutingService(CONFIG, Clock(speed=100), None)
    await svc.start()
    try:
        await svc.agent_login("a")
        first = await svc.enqueue(Interaction("voice", "q", id="c1"))
        second = await svc.enqueue(Interaction("voice", "q", id="c2"))
        rna = await next_of(svc.updates(first), RingNoAnswer)  # 1 s ring + 5 s grace, at 100x
        assert rna.reason == "no-answer"
        assert svc.agent("a").pause_reason == "no answer"
        stream = svc.updates(second)
        pos = await next_of(stream, Position)
        assert pos.position == 1  # while c1 was ringing
        async def until_second():
            async for ev in stream:
                if isinstance(ev, Position) and ev.position == 2:
                    return ev

        pos = await asyncio.wait_for(until_second(), 5)  # a later announcement:
        assert pos.at >= rna.at  # c1 went back to the head when it was not answered
    finally:
        await svc.stop()


async def test_restart_rebuilds_lines_and_agents(database):
    clock = Clock(speed=1)
    log = InteractionLog(database)
    svc = RoutingService(CONFIG, clock, log)
    await svc.start()
    await svc.agent_login("a")
    await svc.agent_pause("a", "lunch")
    ids = [await svc.enqueue(Interaction("voice", "q", priority=p, id=f"c{i}"))
           for i, p in enumerate([0, 0, 3, 0])]
    await svc.request_callback("c1", "5551234")
    before = {i: svc.position(i).position for i in ids}
    await svc.stop()

    svc2 = RoutingService(CONFIG, clock, log)
    await svc2.start()
    try:
        assert {i: svc2.position(i).position for i in ids} == before
        assert svc2.agent("a").pause_reason == "lunch"
        assert svc2.engine.live["c1"].callback.number == "5551234"
        assert await svc2.enqueue(Interaction("voice", "q", id="c0")) == "c0"  # re-attach
        with pytest.raises(Conflict):
            await svc2.agent_pause("b", "x")  # b never logged in
        gone = await svc2.reconcile({"c0", "c2"})
        assert gone == ["c3"]  # c1 is a callback: nobody is on the line to lose
        await svc2.agent_unpause("a")
        offer = await next_of(svc2.updates("c2"), Offered)  # priority 3 first
        assert offer.agent_id == "a"
    finally:
        await svc2.stop()


async def test_a_caller_who_left_the_queue_can_ask_for_a_callback_after_a_restart(database):
    clock = Clock(speed=1)
    log = InteractionLog(database)
    svc = RoutingService(CONFIG, clock, log)
    await svc.start()
    for i in range(3):
        await svc.enqueue(Interaction("voice", "q", id=f"w{i}"))
    await svc.withdraw("w0", "flow-max-wait")  # e.g. the flow sent them to a voicemail menu
    await svc.stop()

    svc2 = RoutingService(CONFIG, clock, log)
    await svc2.start()
    try:
        await svc2.request_callback("w0", "5551234")  # remembered across the restart
        assert svc2.position("w0").position == 1  # ahead of w1 and w2: its original place
        assert svc2.engine.live["w0"].callback.number == "5551234"
    finally:
        await svc2.stop()
