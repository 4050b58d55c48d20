"""The server restarts while callers wait: nobody loses their place in line."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from floor import running_floor

from contactcenter.app import ContactCenter
from contactcenter.sim import CallerScript, Press


async def wait_until(predicate, clock, timeout_s: float) -> None:
    for _ in range(int(timeout_s * 20)):
        if predicate():
            return
        await clock.sleep(0.05 * clock.speed)
    raise AssertionError("condition not reached")


async def test_waiting_callers_keep_their_place_across_a_restart(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        old = floor.server
        for agent_id in old.routing_config.agents:
            await old.routing.agent_logout(agent_id)
        calls = []
        for n in range(6):
            calls.append(await floor.sim.place_call(CallerScript(
                caller_id=f"55590{n}", exten="200", steps=[Press("0", after=0.3)],
                hangup_after=2000)))
            await floor.clock.sleep(2.0)
        await wait_until(lambda: old.routing.snapshot().queues["operator"].waiting == 6,
                         floor.clock, 20)
        before = [entry[3] for entry in old.routing.engine.line.entries("operator")]

        agi_port = old.agi_port
        await old.stop()  # the FastAGI sockets close; Asterisk's dialplan retries the AGI
        new = ContactCenter(replace(old.settings,
                                    fastagi=replace(old.settings.fastagi, port=agi_port),
                                    web=replace(old.settings.web, port=0)), clock=floor.clock)
        await new.start()
        floor.server = new  # the fixture stops it
        await new.pool["sim"].wait_ready(10)
        assert [e[3] for e in new.routing.engine.line.entries("operator")] == before
        await wait_until(lambda: new.agi.stats.active == 6, floor.clock, 20)  # all came back

        for agent_id in new.routing_config.agents:
            await new.routing.agent_login(agent_id)
        await wait_until(lambda: all(c.connected_to for c in calls), floor.clock, 30)
        await new.routing.flush()
        rows = await new.routing.log.events(limit=10_000)
        connected = [r["interaction_id"] for r in rows if r["kind"] == "connect"]
        assert connected == before  # served in the order they had before the restart
        assert not any(r["kind"] == "abandon" for r in rows)
        for call in calls:
            await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), timeout=30)
