"""The server restarts while an agent has a caller on hold (seen on Asterisk 23.4.1, T3e).

The hold moved the agent's leg to [contactcenter-hold] and the caller's Dial returned, so when
the server goes away the caller's AGI ends and the dialplan retries it (CC_RESUME). The new
server must take the held call up again (music, the panel's controls), end it cleanly if the
agent's leg went away meanwhile, and free the agent's parked leg if the caller left meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from floor import Floor, login, running_floor, until
from test_floor_restart import replacement_server

from contactcenter.app import ContactCenter
from contactcenter.domain import routing_events as rev
from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.sim.calls import SimCall

T = 30  # seconds: only catches hangs
MUSIC = "SET MUSIC ON default"


async def _held_sales_call(floor: Floor, agents: set[str]) -> tuple[SimCall, str, str]:
    """A sales caller connected to Alice (1001), then put on hold from her panel; returns
    the call, its interaction id and the agent's leg (parked in the hold context)."""
    server = floor.server
    for agent in server.routing_config.agents.values():
        if agent.id in agents:
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=0.5, talk_for=None))
        else:
            await server.routing.agent_logout(agent.id)
    call = await floor.sim.place_call(CallerScript(
        caller_id="5551234", exten="200", steps=[Press("1", after=0.5)], hangup_after=None))
    iid = await until(lambda: next((i for i, c in server.voice.queue.conversations.items()
                                    if c.agent_id == "1001"), None))
    leg = server.voice.queue.conversation(iid).agent_channel
    alice = await login(floor, "alice", "agent", "1001")
    try:
        async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
            assert r.status == 200, await r.text()
    finally:
        await alice.close()
    await until(lambda: floor.sim.channels[leg].context == "contactcenter-hold")
    await until(lambda: MUSIC in call.agi_commands)
    assert server.routing.on_hold_since(iid) is not None
    return call, iid, leg


async def _restart(floor: Floor, agi_port: int | None = None,
                   while_down: Callable[[], Any] | None = None) -> ContactCenter:
    """Stop the server (the caller's FastAGI socket closes), optionally do something while
    it is down, then start a new one (on the old FastAGI port unless told otherwise)."""
    old = floor.server
    port = old.agi_port if agi_port is None else agi_port
    await old.stop()
    if while_down is not None:
        await while_down()
    await floor.clock.sleep(1.0)
    new = await replacement_server(floor, old, port)
    await new.pool["sim"].wait_ready(10)
    return new


async def _kinds(server: ContactCenter, iid: str) -> list[str]:
    await server.routing.flush()
    return [r["kind"] for r in await server.routing.log.events(interaction_id=iid)]


async def test_a_caller_on_hold_across_a_restart_is_held_again_and_resumed(tmp_path):
    async with running_floor(tmp_path) as floor:
        call, iid, leg = await _held_sales_call(floor, {"1001"})
        agi = call.agi_channel
        music_before = call.agi_commands.count(MUSIC)

        new = await _restart(floor)
        # The caller's AGI is back: the same held conversation, music again, nothing closed.
        conv = await until(lambda: new.voice.queue.conversation(iid))
        assert (conv.state, conv.agent_id, conv.agent_channel) == ("held", "1001", leg)
        await until(lambda: call.agi_commands.count(MUSIC) > music_before)
        assert new.routing.state_of(iid).value == "connected"
        assert new.routing.agent("1001").state == "busy"
        assert floor.sim.channels[leg].context == "contactcenter-hold"
        assert "SET VARIABLE CC_RESUME 0" not in call.agi_commands  # still brought back

        seen: list[rev.RoutingEvent] = []
        new.routing.subscribe(seen.append)
        alice = await login(floor, "alice", "agent", "1001")
        try:
            async with alice.get(f"{floor.web_url}/api/panel/current") as r:
                assert (await r.json())["work"][0]["data"]["on_hold_since"] > 0
            async with alice.post(f"{floor.web_url}/api/panel/resume", json={}) as r:
                assert r.status == 200, await r.text()
            # Bridge() takes the parked leg back: caller and agent talk again.
            await until(lambda: floor.sim.channels[agi].bridge is not None)
            assert floor.sim.channels[leg].bridge is floor.sim.channels[agi].bridge
            assert f"EXEC Bridge {leg},x" in call.agi_commands
            async with alice.post(f"{floor.web_url}/api/panel/hangup", json={}) as r:
                assert r.status == 200, await r.text()
        finally:
            await alice.close()
        await asyncio.wait_for(call.ended(), T)
        await until(lambda: any(isinstance(e, rev.Completed) for e in seen))
        kinds = await _kinds(new, iid)
        assert [k for k in kinds if k in ("connect", "hold", "unhold", "complete", "abandon")] \
            == ["connect", "hold", "unhold", "complete"]
        assert new.routing.agent("1001").state in ("wrapup", "available")


async def test_a_held_call_restored_after_a_restart_can_be_transferred_to_a_queue(tmp_path):
    async with running_floor(tmp_path) as floor:
        call, iid, leg = await _held_sales_call(floor, {"1001", "1002"})
        await floor.server.routing.agent_login("1002", ["billing"])
        new = await _restart(floor)
        await until(lambda: new.voice.queue.conversation(iid))
        alice = await login(floor, "alice", "agent", "1001")
        try:
            async with alice.post(f"{floor.web_url}/api/panel/transfer",
                                  json={"queue": "billing"}) as r:
                assert r.status == 200, await r.text()
        finally:
            await alice.close()
        # The caller's restored session goes on as the queue loop: Bob (billing) gets them.
        await until(lambda: call.connected_to == "PJSIP/1002")
        assert leg not in floor.sim.channels
        conv = await until(lambda: new.voice.queue.conversation(iid))
        assert conv.agent_id == "1002"
        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), T)
        await until(lambda: new.routing.state_of(iid) is None)
        kinds = await _kinds(new, iid)
        assert kinds.count("connect") == 2 and kinds.count("transfer") == 1, kinds


async def test_an_agent_leg_gone_while_the_server_was_away_ends_the_held_call(tmp_path):
    async with running_floor(tmp_path) as floor:
        call, iid, leg = await _held_sales_call(floor, {"1001"})

        async def agent_hangs_up() -> None:
            await floor.sim.hangup_channel(leg)

        new = await _restart(floor, while_down=agent_hangs_up)
        # As when the agent's leg ends on hold with the server up: goodbye, hang up, wrap-up.
        await asyncio.wait_for(call.ended(), T)
        assert call.agi_commands[-2:] == ['STREAM FILE vm-goodbye ""', "HANGUP"]
        await until(lambda: new.routing.state_of(iid) is None)
        assert new.routing.agent("1001").state in ("wrapup", "available")
        kinds = await _kinds(new, iid)
        assert kinds[-2:] == ["unhold", "complete"] and "abandon" not in kinds, kinds


@pytest.mark.parametrize("when", ["server down", "before its AGI is back"])
async def test_a_caller_who_leaves_on_hold_during_a_restart_frees_the_agent_leg(tmp_path, when):
    # "server down": the AMI resync of the new server finds the caller gone (reconcile).
    # "before its AGI is back": the new server listens for FastAGI where the dialplan does
    # not retry, so the caller's hangup is only an AMI Hangup (UnattendedCalls).
    async with running_floor(tmp_path) as floor:
        call, iid, leg = await _held_sales_call(floor, {"1001"})

        async def caller_hangs_up() -> None:
            await floor.sim.hangup_channel(call.caller_channel)

        if when == "server down":
            new = await _restart(floor, while_down=caller_hangs_up)
        else:
            new = await _restart(floor, agi_port=0)
            assert new.routing.state_of(iid).value == "connected"
            await caller_hangs_up()
        await asyncio.wait_for(call.ended(), T)
        # The agent's parked leg is hung up (AMI), the agent's phone is free: wrap-up.
        await until(lambda: leg not in floor.sim.channels)
        assert leg in [r.get("Channel") for r in floor.sim.requests("Hangup")]
        await until(lambda: new.routing.state_of(iid) is None)
        assert new.routing.agent("1001").state in ("wrapup", "available")
        kinds = await _kinds(new, iid)
        # The wrap-up counts from the real end of the talk, so it may be over already.
        call_kinds = [k for k in kinds if k != "wrapup-done"]
        assert call_kinds[-2:] == ["unhold", "complete"], kinds


async def test_a_connected_call_not_on_hold_at_the_restart_is_still_closed(tmp_path):
    # Not on hold: the caller's Dial goes on while the server is away and returns only when
    # the talk is over, so the caller's AGI, back then, closes the call (as before).
    async with running_floor(tmp_path) as floor:
        server = floor.server
        for agent in server.routing_config.agents.values():
            if agent.id != "1001":
                await server.routing.agent_logout(agent.id)
        floor.sim.add_phone(Phone("PJSIP/1001", answer_after=0.5, talk_for=6.0))
        call = await floor.sim.place_call(CallerScript(
            caller_id="5551234", exten="200", steps=[Press("1", after=0.5)],
            hangup_after=None))
        iid = await until(lambda: next(iter(server.voice.queue.conversations), None))
        new = await _restart(floor)
        await asyncio.wait_for(call.ended(), T)
        await until(lambda: new.routing.state_of(iid) is None)
        assert new.voice.queue.conversation(iid) is None
        kinds = await _kinds(new, iid)
        # The wrap-up counts from the real end of the talk, so it may be over already.
        call_kinds = [k for k in kinds if k != "wrapup-done"]
        assert call_kinds[-1] == "complete" and "hold" not in kinds, kinds
