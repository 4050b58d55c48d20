"""The server restarts while callers wait: nobody loses their place in line."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from floor import REPO, Floor, floor_settings, running_floor

from contactcenter.app import ContactCenter
from contactcenter.domain.interaction import Interaction
from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.sim.calls import SimCall


async def wait_until(predicate, clock, timeout_s: float) -> None:
    for _ in range(int(timeout_s * 20)):
        if predicate():
            return
        await clock.sleep(0.05 * clock.speed)
    raise AssertionError("condition not reached")


async def place_waiting_callers(floor: Floor, n: int, prefix: str,
                                gap_s: float = 0.0) -> list[SimCall]:
    """``n`` callers who press 0 (operator) and stay on the line."""
    calls = []
    for i in range(n):
        calls.append(await floor.sim.place_call(CallerScript(
            caller_id=f"{prefix}{i}", exten="200", steps=[Press("0", after=0.3)],
            hangup_after=2000)))
        if gap_s:
            await floor.clock.sleep(gap_s)
    return calls


async def callers_waiting_for_nobody(floor: Floor, n: int, prefix: str) -> tuple[list[SimCall], list[str]]:
    """Every agent logged out, ``n`` callers waiting for the operator; returns the calls and
    their interaction ids in line order."""
    server = floor.server
    for agent_id in server.routing_config.agents:
        await server.routing.agent_logout(agent_id)
    calls = await place_waiting_callers(floor, n, prefix, gap_s=2.0)
    await wait_until(lambda: server.routing.snapshot().queues["operator"].waiting == n,
                     floor.clock, 20)
    return calls, [entry[3] for entry in server.routing.engine.line.entries("operator")]


async def replacement_server(floor: Floor, old: ContactCenter, agi_port: int,
                             **changes: Any) -> ContactCenter:
    """Start a new server on the old one's settings (fresh web port); the fixture stops it."""
    settings = replace(old.settings, fastagi=replace(old.settings.fastagi, port=agi_port),
                       web=replace(old.settings.web, port=0), **changes)
    new = ContactCenter(settings, clock=floor.clock)
    await new.start()
    floor.server = new
    return new


async def test_waiting_callers_keep_their_place_across_a_restart(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        old = floor.server
        calls, before = await callers_waiting_for_nobody(floor, 6, "55590")

        agi_port = old.agi_port
        await old.stop()  # the FastAGI sockets close; Asterisk's dialplan retries the AGI
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)
        assert [e[3] for e in new.routing.engine.line.entries("operator")] == before
        await wait_until(lambda: new.agi.stats.active == 6, floor.clock, 20)  # all came back

        for agent_id in new.routing_config.agents:
            await new.routing.agent_login(agent_id)
        await wait_until(lambda: all(c.connected_to for c in calls), floor.clock, 30)
        await new.routing.flush()
        rows = await new.routing.log.events(limit=10_000)
        # Agents' phones answer after different delays, so connects may finish out of order;
        # the line's order shows in whom the engine offered first.
        offered: list[str] = []
        for r in rows:
            if r["kind"] == "offer" and r["interaction_id"] not in offered:
                offered.append(r["interaction_id"])
        assert offered == before  # offered in the order they had before the restart
        assert {r["interaction_id"] for r in rows if r["kind"] == "connect"} == set(before)
        assert not any(r["kind"] == "abandon" for r in rows)
        for call in calls:
            await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), timeout=30)


async def test_callers_offered_before_their_agi_is_back_are_connected_not_lost(tmp_path):
    # The old server runs with a long operator wrap-up, the new one with the shipped 10 s: so
    # agent 1001's wrap-up has run out when the new server restores it, and the restore offers
    # the head caller to 1001 at once, before that caller's AGI has come back (it retries
    # every 2 s). The caller must be dialled to 1001 when it comes back, not closed.
    text = (REPO / "config/queues.yaml").read_text()
    assert text.count("wrapup_s: 10\n") == 1  # operator
    long_wrapup = tmp_path / "queues-long-wrapup.yaml"
    long_wrapup.write_text(text.replace("wrapup_s: 10\n", "wrapup_s: 600\n"))
    settings = floor_settings(tmp_path, 20.0)
    settings = replace(settings, routing=replace(settings.routing, queues_file=str(long_wrapup)))
    async with running_floor(tmp_path, speed=20.0, settings=settings) as floor:
        old = floor.server
        for agent_id in old.routing_config.agents:
            if agent_id != "1001":
                await old.routing.agent_logout(agent_id)
        floor.sim.add_phone(Phone("PJSIP/1001", answer_after=1.0, talk_for=5.0))
        # 1001 is busy with an interaction that has no telephony (so no call ends it), then
        # transfers it away (a Transferred, not a Completed: the demo's robot stays out of it)
        # and is in wrap-up, with three callers waiting for it.
        busy = await old.routing.enqueue(Interaction("voice", "operator", id="not-a-channel"))
        await old.routing.offer_answered(old.routing.engine.live[busy].offer_id)
        calls = await place_waiting_callers(floor, 3, "55591")
        await wait_until(lambda: old.routing.snapshot().queues["operator"].waiting == 3,
                         floor.clock, 20)
        before = [entry[3] for entry in old.routing.engine.line.entries("operator")]
        await old.routing.transfer(busy, "billing")  # nobody serves billing: it just waits
        assert old.routing.agent("1001").state == "wrapup"

        agi_port = old.agi_port
        await old.stop()
        await floor.clock.sleep(12.0)  # longer than the new server's 10 s wrap-up
        routing = replace(old.settings.routing,
                          queues_file=str(REPO / "config/queues.yaml"))
        new = await replacement_server(floor, old, agi_port, routing=routing)
        await wait_until(lambda: all(c.connected_to for c in calls), floor.clock, 60)
        await new.routing.flush()
        rows = await new.routing.log.events(limit=10_000)
        connected = [r["interaction_id"] for r in rows if r["kind"] == "connect"
                     and r["interaction_id"] in before]
        assert connected == before  # all served, in their order
        for iid in before:  # nobody was closed before talking to the agent
            ends = [r["kind"] for r in rows if r["interaction_id"] == iid
                    and r["kind"] in ("connect", "abandon", "complete")]
            assert ends[0] == "connect", (iid, ends)
        for call in calls:
            await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), timeout=30)


async def test_a_caller_who_hangs_up_before_the_agi_retry_is_not_left_in_line(tmp_path):
    # The restarted server listens for FastAGI on another port, so the dialplan's retries
    # (music, Wait, AGI) keep failing: these callers have no session. One hangs up: the AMI
    # Hangup alone must end their interaction, or each offer of it would ring nobody and
    # pause an agent for "no answer".
    async with running_floor(tmp_path, speed=20.0) as floor:
        old = floor.server
        calls, ids = await callers_waiting_for_nobody(floor, 3, "55592")

        await old.stop()
        new = await replacement_server(floor, old, 0)  # not where the dialplan retries
        await new.pool["sim"].wait_ready(10)
        await wait_until(lambda: new.routing.snapshot().queues["operator"].waiting == 3,
                         floor.clock, 20)  # the resync found all three still there

        gone = next(c for c in calls if floor.sim.channels[c.agi_channel].uniqueid == ids[1])
        await floor.sim.hangup_channel(gone.caller_channel)
        await wait_until(lambda: new.routing.state_of(ids[1]) is None, floor.clock, 20)
        assert new.routing.state_of(ids[0]) is not None  # the others keep their places
        assert new.routing.state_of(ids[2]) is not None
        assert [e[3] for e in new.routing.engine.line.entries("operator")] == [ids[0], ids[2]]
        await new.routing.flush()
        rows = await new.routing.log.events(limit=10_000)
        assert [r["interaction_id"] for r in rows if r["kind"] == "abandon"] == [ids[1]]
        for call in calls:
            if call is not gone:
                await floor.sim.hangup_channel(call.caller_channel)


async def test_an_agent_who_answers_while_the_server_restarts_is_not_paused_nor_called_twice(
        tmp_path):
    # The server stops while the agent's phone rings: Asterisk carries on with that Dial, the
    # agent answers and talks, and the caller's AGI only comes back when the talk is over. The
    # new server must see the answer (AMI), keep the agent busy rather than pause them for "no
    # answer", never offer the caller to anyone else, and close the call when its AGI is back.
    async with running_floor(tmp_path, speed=20.0) as floor:
        old = floor.server
        for agent_id in old.routing_config.agents:
            if agent_id != "1001":
                await old.routing.agent_logout(agent_id)
        floor.sim.add_phone(Phone("PJSIP/1001", answer_after=4.0, talk_for=6.0))
        [call] = await place_waiting_callers(floor, 1, "55593")
        await wait_until(lambda: any(c.startswith("EXEC Dial PJSIP/1001")
                                     for c in call.agi_commands), floor.clock, 20)
        iid = floor.sim.channels[call.agi_channel].uniqueid
        assert old.routing.state_of(iid).value == "offered"

        agi_port = old.agi_port
        await old.stop()  # the agent's phone is still ringing
        # The Dial set the offer's variables itself (its B() subroutine), so the caller's AGI
        # will be retried (CC_RESUME) and can tell which offer that Dial was (CC_OFFER).
        variables = floor.sim.channels[call.agi_channel].variables
        assert {name: variables.get(name) for name in
                ("CC_RESUME", "CC_INTERACTION", "CC_AGENT", "CC_OFFER")} == {
            "CC_RESUME": "1", "CC_INTERACTION": iid, "CC_AGENT": "1001", "CC_OFFER": "1"}
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)
        # kept: still ringing, or already found talking by the AMI resync (never waiting)
        assert new.routing.state_of(iid).value in ("offered", "connected")
        # Either AMI shows the answer (DialEnd, or the bridge at the resync) or, if the talk
        # was over before the new server was up, the caller's AGI tells it when it is back.
        await wait_until(lambda: new.routing.state_of(iid) is None, floor.clock, 60)
        assert new.routing.agent("1001").state in ("wrapup", "available")

        await new.routing.flush()
        rows = await new.routing.log.events(limit=10_000)
        kinds = [r["kind"] for r in rows if r["interaction_id"] == iid]
        assert kinds.count("offer") == 1, kinds  # the restart made no second offer
        assert kinds.count("connect") == 1 and "complete" in kinds, kinds
        assert "ring-no-answer" not in kinds and "abandon" not in kinds, kinds
        assert not [r for r in rows if r["kind"] == "agent-pause"], "nobody was paused"
        dials = [c for c in call.agi_commands if c.startswith("EXEC Dial")]
        assert len(dials) == 1, dials  # the caller was not dialled to an agent again
        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), timeout=30)
