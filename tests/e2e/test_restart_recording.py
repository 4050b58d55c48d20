"""The server restarts while a call is recorded: its recording is never left "recording".

Asterisk (here the simulator) keeps MixMonitor running and writes the whole file when the
caller hangs up, whether or not our server is there. The new server takes the open rows back
at start-up: a call still up is closed by its Hangup as usual; a call that ended while the
server was away is closed at the AMI resync from the file on disk (real Asterisk 23.4.1, run
T5b: the row stayed ``recording`` with no agent, end or size, beside a 95,724-byte file).
"""

from __future__ import annotations

import asyncio

from floor import Floor, login, overlaps, running_floor, silences_match
from test_floor_restart import replacement_server, wait_until

from contactcenter.app import ContactCenter
from contactcenter.recording.index import Recording
from contactcenter.recording.metadata import silent_spans
from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.sim.calls import SimCall

SALES = [Press("1", after=0.5)]  # sales: always recorded
SUPPORT = [Press("2", after=0.5), Press("12345#", after=0.5)]  # support: on demand


async def _one_agent_call(floor: Floor, agent_id: str, answer_after: float, talk_for: float,
                          steps: list[Press] = SALES) -> tuple[SimCall, str]:
    """Only ``agent_id`` logged in, with a phone; one caller for them. Returns the call and its
    interaction id once the recording has started and the agent's phone rings."""
    server = floor.server
    for other in server.routing_config.agents:
        if other != agent_id:
            await server.routing.agent_logout(other)
    dial = server.routing_config.agents[agent_id].dial_string
    floor.sim.add_phone(Phone(dial, answer_after=answer_after, talk_for=talk_for))
    call = await floor.sim.place_call(CallerScript(caller_id="5551234", exten="200", steps=steps,
                                                   hangup_after=2000))
    await wait_until(lambda: any(c.startswith(f"EXEC Dial {dial}") for c in call.agi_commands),
                     floor.clock, 20)
    iid = floor.sim.channels[call.agi_channel].uniqueid
    assert server.recording.active_recording_id(iid) is not None
    return call, iid


async def _restart(floor: Floor) -> ContactCenter:
    old = floor.server
    agi_port = old.agi_port
    await old.stop()  # Asterisk carries on with the call and its MixMonitor
    new = await replacement_server(floor, old, agi_port)
    await new.pool["sim"].wait_ready(10)
    return new


async def _row(server: ContactCenter, iid: str) -> Recording:
    [rec] = await server.recording.index.for_interaction(iid)
    return rec


async def _closed(server: ContactCenter, iid: str, floor: Floor) -> Recording:
    rows: list[Recording] = []

    async def ready() -> bool:
        rows[:] = [await _row(server, iid)]
        return rows[0].status != "recording" and (rows[0].size_bytes is not None
                                                  or rows[0].error is not None)

    for _ in range(400):
        if await ready():
            return rows[0]
        await floor.clock.sleep(0.05 * floor.clock.speed)
    raise AssertionError(f"recording not closed: {rows}")


async def test_a_call_talking_across_a_restart_is_closed_by_its_hangup_with_its_pause(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        # 120 s of talk: 6 s of real time at 20x, room for a restart on a busy machine.
        call, iid = await _one_agent_call(floor, "1001", answer_after=1.0, talk_for=120.0)
        await wait_until(lambda: call.connected_to, floor.clock, 20)
        await wait_until(lambda: floor.server.recording.live_call(iid) is not None,
                         floor.clock, 20)
        await floor.clock.sleep(5)
        sup = await login(floor, "sup", "supervisor")
        try:
            async with sup.post(f"{floor.web_url}/api/calls/{iid}/recording/pause") as r:
                assert r.status == 200, await r.text()
        finally:
            await sup.close()

        new = await _restart(floor)  # paused: MixMonitor stays muted on the PBX
        assert (await _row(new, iid)).status == "recording"
        await floor.clock.sleep(5)
        sup = await login(floor, "sup", "supervisor")  # the new server's web port
        try:
            # The mute state came back with the row: a resume is not "not paused".
            async with sup.post(f"{floor.web_url}/api/calls/{iid}/recording/resume") as r:
                assert r.status == 200, await r.text()
            async with sup.post(f"{floor.web_url}/api/calls/{iid}/recording/resume") as r:
                assert r.status == 409
        finally:
            await sup.close()

        await asyncio.wait_for(call.ended(), 60)  # the agent hangs up after 120 s of talk
        rec = await _closed(new, iid, floor)
        assert rec.status == "complete", rec
        assert rec.agent_id == "1001" and rec.ended_at is not None
        path = new.recording.paths.resolve(rec.file)
        assert rec.size_bytes == path.stat().st_size
        assert abs(rec.duration_s - 120.0) < 2.5, rec.duration_s
        [pause] = rec.pauses
        assert pause.end is not None and pause.end - pause.start > 9.0, pause
        # Offsets after the restart count from the same bridge: the silence is where they say.
        spans = await asyncio.to_thread(silent_spans, path)
        assert silences_match(spans, floor.sim, path), (spans, floor.sim.silences(path))
        [span] = spans
        assert overlaps(span, pause.start, pause.end), (span, pause)


async def test_an_agent_who_answers_after_the_restart_gets_the_recording(tmp_path):
    # Run T5b: the server went down while the agent's phone rang and came back before the
    # answer; the answer is seen by AMI only (no session holds the caller until the talk ends).
    async with running_floor(tmp_path, speed=20.0) as floor:
        call, iid = await _one_agent_call(floor, "1001", answer_after=8.0, talk_for=10.0)
        new = await _restart(floor)
        await asyncio.wait_for(call.ended(), 60)  # caller's dialplan hangs up after the talk
        rec = await _closed(new, iid, floor)
        assert rec.status == "complete", rec
        assert rec.agent_id == "1001" and rec.ended_at is not None
        path = new.recording.paths.resolve(rec.file)
        assert rec.size_bytes == path.stat().st_size and abs(rec.duration_s - 10.0) < 2.5
        # The caller's resumed AGI session did not start a second MixMonitor.
        assert len(await new.recording.index.for_interaction(iid)) == 1


async def test_a_call_that_ended_while_the_server_was_down_is_closed_from_its_file(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        call, iid = await _one_agent_call(floor, "1001", answer_after=1.0, talk_for=2000.0)
        await wait_until(lambda: floor.server.recording.live_call(iid) is not None,
                         floor.clock, 20)
        await floor.clock.sleep(12)
        old = floor.server
        agi_port = old.agi_port
        await old.stop()
        await floor.sim.hangup_channel(call.caller_channel)  # nobody hears this Hangup
        await asyncio.wait_for(call.ended(), 30)
        hung_up = floor.clock.time()
        await floor.clock.sleep(20)  # the server stays away a while
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)

        rec = await _closed(new, iid, floor)
        assert rec.status == "complete", rec
        assert rec.agent_id == "1001"
        path = new.recording.paths.resolve(rec.file)
        stat = path.stat()
        assert rec.size_bytes == stat.st_size
        assert 11.5 < rec.duration_s < 25.0, rec.duration_s  # 12 s of talk, plus the stop
        # Ended when Asterisk closed the file, not when the server came back 20 s later.
        assert abs(rec.ended_at.timestamp() - hung_up) < 3.0, (rec.ended_at, hung_up)


async def test_a_file_gone_with_its_call_while_the_server_was_down_is_a_clear_failure(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        call, iid = await _one_agent_call(floor, "1001", answer_after=1.0, talk_for=2000.0)
        await wait_until(lambda: floor.server.recording.live_call(iid) is not None,
                         floor.clock, 20)
        await floor.clock.sleep(4)
        old = floor.server
        [row] = await old.recording.index.for_interaction(iid)
        path = old.recording.paths.local_path(row.file)
        agi_port = old.agi_port
        await old.stop()
        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), 30)
        await wait_until(path.exists, floor.clock, 10)
        path.unlink()  # e.g. the shared mount was not there
        new = await replacement_server(floor, old, agi_port)
        await new.pool["sim"].wait_ready(10)

        rec = await _closed(new, iid, floor)
        for _ in range(100):  # the file's state (missing) is stored first, then the verdict
            if rec.status != "missing":
                break
            await asyncio.sleep(0.05)
            rec = await _row(new, iid)
        assert rec.status == "failed", rec
        assert "file not found" in (rec.error or "") and "server was away" in (rec.error or "")
        assert rec.ended_at is not None and rec.agent_id == "1001"


async def test_an_on_demand_recording_nobody_started_is_discarded_after_a_restart(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        call, iid = await _one_agent_call(floor, "1003", answer_after=1.0, talk_for=10.0,
                                          steps=SUPPORT)
        await wait_until(lambda: floor.server.recording.live_call(iid) is not None,
                         floor.clock, 20)
        new = await _restart(floor)
        await asyncio.wait_for(call.ended(), 30)
        rec = await _closed(new, iid, floor)
        # Still muted from before Dial (not_started, stored): all silence, as without a restart.
        assert rec.status == "discarded", rec
        assert rec.error == "on-demand recording never started; file deleted"
        assert not new.recording.paths.local_path(rec.file).exists()
