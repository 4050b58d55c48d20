"""The server restarts while a callback is connected: the callback is completed, never left open.

A connected callback has no caller's AGI to come back (its agent leg's AGI session died with the
old server while Asterisk's Dial went on), so the new server finds it from the first AMI resync:
its agent leg gone -> completed at once; still up -> completed when it hangs up. Either way the
agent goes to wrap-up instead of staying busy for ever.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from floor import running_floor
from test_callback_e2e import LIMIT, SPEED, Seen, kinds, pause_all_but

from contactcenter.app import ContactCenter
from contactcenter.callback_dialer import leg_prefix
from contactcenter.domain import routing_events as rev
from contactcenter.domain.interaction import CallbackRequest, Interaction
from contactcenter.sim import Phone

NUMBER = "5550808"


async def _connected_callback(floor, iid: str) -> tuple[str, str]:
    """A callback connected between agent 1001 and the customer; (agent leg, customer leg)."""
    routing, sim = floor.server.routing, floor.sim
    seen = Seen(routing)
    await pause_all_but(floor, "1001")
    sim.add_phone(Phone("PJSIP/1001", answer_after=1.0, talk_for=None))
    sim.add_phone(Phone(f"Local/{NUMBER}@contactcenter-outbound", answer_after=1.0,
                        talk_for=None))  # nobody hangs up until the test says so
    await routing.enqueue(Interaction("voice", "sales", id=iid,
                                      callback=CallbackRequest(NUMBER)))
    connected = await seen.until(rev.Connected, iid)
    agent_leg = next(ch for ch in sim.channels.values()
                     if ch.uniqueid.startswith(leg_prefix(connected.offer_id)))
    customer_leg = next(ch for ch in sim.channels.values()
                        if ch.name.startswith(f"Local/{NUMBER}@"))
    return agent_leg.name, customer_leg.name


async def _restart(floor) -> ContactCenter:
    """Start a new server in place of the stopped one; returns once AMI has resynced."""
    old = floor.server
    new = ContactCenter(replace(old.settings,
                                fastagi=replace(old.settings.fastagi, port=old.agi_port),
                                web=replace(old.settings.web, port=0)), clock=floor.clock)
    await new.start()
    floor.server = new  # the fixture stops it
    await new.pool["sim"].wait_ready(10)
    return new


async def _completed_to_wrapup(server, iid: str) -> None:
    """Wait for the callback's completion, then check the agent went to wrap-up."""
    async def closed() -> None:
        while server.routing.state_of(iid) is not None:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(closed(), LIMIT)
    await server.routing.flush()
    rows = await server.routing.log.events(interaction_id=iid)
    assert kinds(rows, lambda r: r["kind"] in {"offer", "connect", "complete", "abandon"}) == [
        "offer", "connect", "complete"]
    agent_rows = await server.routing.log.events(agent_id="1001")
    done = max(i for i, r in enumerate(agent_rows) if r["kind"] == "complete")
    assert any(r["kind"] == "agent-state" and r["state"] == "wrapup"
               for r in agent_rows[done:])
    assert server.routing.agent("1001").state in ("wrapup", "available")


async def test_a_callback_that_ended_while_the_server_was_down_is_completed(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        agent_leg, _customer = await _connected_callback(floor, "cb-ended")
        await floor.server.stop()
        assert await floor.sim.hangup_channel(agent_leg)  # the agent hangs up meanwhile

        async def gone() -> None:
            while agent_leg in floor.sim.channels:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(gone(), LIMIT)
        new = await _restart(floor)
        await _completed_to_wrapup(new, "cb-ended")


async def test_a_callback_still_up_after_the_restart_is_completed_when_it_hangs_up(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        agent_leg, customer_leg = await _connected_callback(floor, "cb-up")
        await floor.server.stop()
        new = await _restart(floor)

        async def watched() -> None:
            while "cb-up" not in new.callback_dialer.orphans.values():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(watched(), LIMIT)
        assert new.routing.state_of("cb-up").value == "connected"  # still talking
        assert new.routing.agent("1001").state == "busy"
        assert await floor.sim.hangup_channel(customer_leg)  # the customer hangs up
        await _completed_to_wrapup(new, "cb-up")
        assert agent_leg not in floor.sim.channels  # the agent's leg ended with the call
