"""A call whose agent answered while no server was connected keeps its real wait and talk.

The server stops after the agent's phone started ringing (DialBegin); Asterisk carries on with
that Dial and the agent answers while nothing listens. The Dial's ``U()`` subroutine stamped the
answer on the caller's channel (voice/answer_stamp.py), so the restarted server logs the
connect at that moment: the wait ends at the answer, the talk starts there.
"""

from __future__ import annotations

import asyncio

from floor import running_floor
from restart_reports import log_of, one, operator_row
from test_floor_restart import place_waiting_callers, replacement_server, wait_until

from contactcenter.sim import Phone

SPEED = 10.0
TOLERANCE_S = 1.0  # clock seconds: 100 ms of real latency at speed 10
ANSWER_AFTER_S = 15.0  # rings long enough for the old server to be gone (1.5 s real)


def _agent_leg(floor):  # type: ignore[no-untyped-def]
    legs = [ch for ch in floor.sim.channels.values()
            if ch.name.startswith("PJSIP/1001-") and not ch.gone]
    return legs[0] if legs else None


def _clock_time(floor, monotonic: float) -> float:  # type: ignore[no-untyped-def]
    """A simulator channel's monotonic instant as clock time."""
    return monotonic + floor.clock.time() - floor.clock.monotonic()


async def _ringing_when_the_server_stops(floor, talk_for: float | None):  # type: ignore[no-untyped-def]
    """Agent 1001 alone; one caller dialled to them; the server stopped while it rings.
    Returns (call, interaction id, arrival, AGI port)."""
    old, clock = floor.server, floor.clock
    for agent_id in old.routing_config.agents:
        if agent_id != "1001":
            await old.routing.agent_logout(agent_id)
    floor.sim.add_phone(Phone("PJSIP/1001", answer_after=ANSWER_AFTER_S, talk_for=talk_for))
    [call] = await place_waiting_callers(floor, 1, "55598")
    await wait_until(lambda: _agent_leg(floor) is not None, clock, 30)  # DialBegin
    iid = floor.sim.channels[call.agi_channel].uniqueid
    arrived = one(await log_of(old, iid), "enter")["at"]
    agi_port = old.agi_port
    await old.stop()
    leg = _agent_leg(floor)
    assert leg is not None and leg.answered_at is None, "answered before the server stopped"
    return call, iid, arrived, agi_port


async def test_an_answer_made_while_no_server_listened_keeps_the_real_wait_and_talk(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        old, clock = floor.server, floor.clock
        call, iid, arrived, agi_port = await _ringing_when_the_server_stops(floor, None)
        await wait_until(lambda: call.connected_to, clock, 60)  # the agent answers meanwhile
        leg = _agent_leg(floor)
        answered = _clock_time(floor, leg.answered_at)
        await clock.sleep(5.0)  # talking while no server listens
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)
        # The AMI resync finds the caller bridged with the agent and reads the stamp.
        await wait_until(lambda: new.routing.state_of(iid) is not None
                         and new.routing.state_of(iid).value == "connected", clock, 30)
        await clock.sleep(3.0)  # talking on after the restart
        hung_up = clock.time()
        await floor.sim.hangup_channel(call.caller_channel)
        await wait_until(lambda: new.routing.state_of(iid) is None, clock, 30)
        rows = await log_of(new, iid)
        connect, complete = one(rows, "connect"), one(rows, "complete")
        assert abs(connect["at"] - answered) <= TOLERANCE_S, (connect, answered)
        assert abs(connect["wait_s"] - (answered - arrived)) <= TOLERANCE_S, (connect, arrived)
        assert abs(complete["talk_s"] - (hung_up - answered)) <= 2 * TOLERANCE_S, complete
        await asyncio.wait_for(call.ended(), timeout=30)

        # The report counts what the log says: the answer's wait and the whole talk.
        row = await operator_row(new, clock, arrived, 60)
        assert abs(row["asa_s"] - (answered - arrived)) <= TOLERANCE_S + 0.1, row
        assert abs(row["avg_talk_s"] - (hung_up - answered)) <= 2 * TOLERANCE_S + 0.1, row


async def test_a_talk_over_before_the_restart_keeps_its_answer_and_its_end(tmp_path):
    # Answered and ended while no server listened: the caller's AGI comes back after the Dial
    # returned; the answer is the stamp, the end the Dial's (DIALEDTIME_MS, within a second).
    async with running_floor(tmp_path, speed=SPEED) as floor:
        old, clock = floor.server, floor.clock
        call, iid, arrived, agi_port = await _ringing_when_the_server_stops(floor, 4.0)
        await wait_until(lambda: call.connected_to, clock, 60)
        leg = _agent_leg(floor)
        answered = _clock_time(floor, leg.answered_at)
        await wait_until(lambda: leg.gone, clock, 30)  # the agent hung up: the Dial returned
        ended = clock.time()
        await clock.sleep(3.0)
        new = await replacement_server(floor, old, agi_port)
        await wait_until(lambda: new.routing.state_of(iid) is None, clock, 60)
        rows = await log_of(new, iid)
        connect, complete = one(rows, "connect"), one(rows, "complete")
        assert abs(connect["at"] - answered) <= TOLERANCE_S, (connect, answered)
        assert abs(connect["wait_s"] - (answered - arrived)) <= TOLERANCE_S, (connect, arrived)
        assert abs(complete["at"] - ended) <= 1.0 + TOLERANCE_S, (complete, ended)
        assert abs(complete["talk_s"] - (ended - answered)) <= 1.0 + 2 * TOLERANCE_S, complete
        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), timeout=30)


async def test_without_the_subroutine_the_answer_counts_from_the_resync(tmp_path):
    # An Asterisk with an older extensions_contactcenter.conf: nothing stamped the answer, so
    # the call is connected when the restarted server found it talking, as before.
    async with running_floor(tmp_path, speed=SPEED) as floor:
        old, clock = floor.server, floor.clock
        floor.sim.config.without_answered_sub = True
        call, iid, _arrived, agi_port = await _ringing_when_the_server_stops(floor, None)
        await wait_until(lambda: call.connected_to, clock, 60)
        answered = _clock_time(floor, _agent_leg(floor).answered_at)
        await clock.sleep(5.0)
        restarted = clock.time()
        new = await replacement_server(floor, old, agi_port)
        await wait_until(lambda: new.routing.state_of(iid) is not None
                         and new.routing.state_of(iid).value == "connected", clock, 30)
        connect = one(await log_of(new, iid), "connect")
        assert connect["at"] >= restarted > answered + 4.0, (connect, answered)
        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), timeout=30)
