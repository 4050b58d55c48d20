"""Calls that span a server restart are logged with the times the customer lived."""

from __future__ import annotations

import asyncio

from floor import running_floor
from restart_reports import log_of, one, operator_row
from test_floor_restart import place_waiting_callers, replacement_server, wait_until

from contactcenter.sim import Phone

TOLERANCE_S = 1.0  # clock seconds: 50 ms of real latency at speed 20


def _answered(floor) -> float:  # type: ignore[no-untyped-def]
    """When agent 1001's phone answered, as the simulator's channel recorded it (clock time)."""
    [leg] = [ch for ch in floor.sim.channels.values()
             if ch.name.startswith("PJSIP/1001-") and not ch.gone]
    assert leg.answered_at is not None
    return leg.answered_at + floor.clock.time() - floor.clock.monotonic()


async def _talking_to_1001(floor, caller_prefix: str):  # type: ignore[no-untyped-def]
    """One caller talking to agent 1001 (the only one logged in; the phone talks until hung
    up): the call, its interaction id and when the agent answered."""
    for agent_id in floor.server.routing_config.agents:
        if agent_id != "1001":
            await floor.server.routing.agent_logout(agent_id)
    floor.sim.add_phone(Phone("PJSIP/1001", answer_after=1.0, talk_for=None))
    [call] = await place_waiting_callers(floor, 1, caller_prefix)
    await wait_until(lambda: call.connected_to, floor.clock, 30)
    return call, floor.sim.channels[call.agi_channel].uniqueid, _answered(floor)


async def test_a_call_answered_before_a_restart_keeps_its_answer_time_and_talk(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        old, clock = floor.server, floor.clock
        call, iid, answered = await _talking_to_1001(floor, "55594")
        agi_port = old.agi_port
        await old.stop()
        await clock.sleep(5.0)
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)
        await clock.sleep(5.0)  # talking on after the restart
        hung_up = clock.time()
        await floor.sim.hangup_channel(call.caller_channel)
        await wait_until(lambda: new.routing.state_of(iid) is None, clock, 30)
        rows = await log_of(new, iid)
        connect, complete = one(rows, "connect"), one(rows, "complete")
        assert abs(connect["at"] - answered) <= TOLERANCE_S, (connect, answered)
        assert abs(complete["at"] - hung_up) <= TOLERANCE_S, (complete, hung_up)
        assert abs(complete["talk_s"] - (hung_up - answered)) <= 2 * TOLERANCE_S, complete
        await asyncio.wait_for(call.ended(), timeout=30)

        # The reports count what the log says: the wrap-up over, the talk is the real one.
        row = await operator_row(new, clock, answered, 30)
        assert abs(row["asa_s"] - connect["wait_s"]) <= 0.1, row
        assert abs(row["avg_talk_s"] - complete["talk_s"]) <= 0.1, row


async def test_an_agent_who_hangs_up_after_a_restart_ends_the_talk_then(tmp_path):
    # The agent ends the call: the caller's Dial returns, and their AGI comes back only after
    # the dialplan's retry (music, 2 s): the talk ended when the caller left the agent's
    # bridge, which AMI showed, not when the AGI came back.
    async with running_floor(tmp_path, speed=20.0) as floor:
        old, clock = floor.server, floor.clock
        call, iid, answered = await _talking_to_1001(floor, "55596")
        agi_port = old.agi_port
        await old.stop()
        await clock.sleep(3.0)
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)
        await clock.sleep(3.0)
        [leg] = [ch.name for ch in floor.sim.channels.values()
                 if ch.name.startswith("PJSIP/1001-") and not ch.gone]
        hung_up = clock.time()
        await floor.sim.hangup_channel(leg)
        await wait_until(lambda: new.routing.state_of(iid) is None, clock, 30)
        rows = await log_of(new, iid)
        connect, complete = one(rows, "connect"), one(rows, "complete")
        assert abs(connect["at"] - answered) <= TOLERANCE_S, (connect, answered)
        assert abs(complete["at"] - hung_up) <= TOLERANCE_S, (complete, hung_up)
        assert abs(complete["talk_s"] - (hung_up - answered)) <= 2 * TOLERANCE_S, complete
        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), timeout=30)


async def test_an_agent_who_hangs_up_while_the_server_is_down_ends_the_talk_then(tmp_path):
    # Nothing showed the end: the caller's Dial left DIALEDTIME_MS, which with the channel's
    # age (AMI Status, whole seconds) dates it to within a second.
    async with running_floor(tmp_path, speed=20.0) as floor:
        old, clock = floor.server, floor.clock
        call, iid, answered = await _talking_to_1001(floor, "55597")
        agi_port = old.agi_port
        await old.stop()
        await clock.sleep(2.0)
        [leg] = [ch.name for ch in floor.sim.channels.values()
                 if ch.name.startswith("PJSIP/1001-") and not ch.gone]
        hung_up = clock.time()
        await floor.sim.hangup_channel(leg)
        await clock.sleep(5.0)  # the caller's AGI retries find nobody meanwhile
        new = await replacement_server(floor, old, agi_port)
        await wait_until(lambda: new.routing.state_of(iid) is None, clock, 30)
        complete = one(await log_of(new, iid), "complete")
        assert abs(complete["at"] - hung_up) <= 1.0 + TOLERANCE_S, (complete, hung_up)
        assert abs(complete["talk_s"] - (hung_up - answered)) <= 1.0 + 2 * TOLERANCE_S, complete
        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), timeout=30)


async def test_a_caller_waiting_across_a_restart_keeps_their_wait(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        old, clock = floor.server, floor.clock
        for agent_id in old.routing_config.agents:
            await old.routing.agent_logout(agent_id)
        [call] = await place_waiting_callers(floor, 1, "55595")
        await wait_until(lambda: old.routing.snapshot().queues["operator"].waiting == 1,
                         clock, 20)
        iid = floor.sim.channels[call.agi_channel].uniqueid
        arrived = one(await log_of(old, iid), "enter")["at"]
        agi_port = old.agi_port
        await old.stop()
        await clock.sleep(5.0)
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)
        await wait_until(lambda: new.agi.stats.active == 1, clock, 20)
        floor.sim.add_phone(Phone("PJSIP/1001", answer_after=1.0, talk_for=None))
        await new.routing.agent_login("1001")
        await wait_until(lambda: call.connected_to, clock, 30)
        answered = _answered(floor)
        await clock.sleep(3.0)
        hung_up = clock.time()
        await floor.sim.hangup_channel(call.caller_channel)
        await wait_until(lambda: new.routing.state_of(iid) is None, clock, 30)
        rows = await log_of(new, iid)
        connect, complete = one(rows, "connect"), one(rows, "complete")
        assert abs(connect["at"] - answered) <= TOLERANCE_S, (connect, answered)
        assert abs(connect["wait_s"] - (answered - arrived)) <= TOLERANCE_S, (connect, arrived)
        assert abs(complete["talk_s"] - (hung_up - answered)) <= 2 * TOLERANCE_S, complete
