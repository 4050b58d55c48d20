"""Call behaviour of the simulator: Dial outcomes, ChanSpy, MixMonitor files, the load driver."""

from __future__ import annotations

import asyncio

import numpy as np
import soundfile
from sim_agi_helpers import AgiConn, AgiServer
from sim_conformance import RawAmi

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Phone, SimConfig, Simulator
from contactcenter.sim.traffic import run_traffic


async def _run_call(script_fn, caller: CallerScript, phones=(), speed=25.0, tmp=None):
    async with AgiServer(script_fn) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=speed), agi_url=agi.url(), recordings_dir=tmp))
        await sim.start()
        for p in phones:
            sim.add_phone(p)
        try:
            call = await sim.place_call(caller)
            await asyncio.wait_for(call.ended(), 20)
        finally:
            await sim.stop()
    assert not agi.errors, agi.errors
    return sim, call, agi.results[0]


async def test_dial_phone_that_never_answers_gives_noanswer_and_result_0():
    async def ivr(c: AgiConn):
        return [await c.cmd("EXEC Dial PJSIP/1001,5"), await c.cmd("GET VARIABLE DIALSTATUS")]

    sim, call, replies = await _run_call(
        ivr, CallerScript(hangup_after=60), [Phone("PJSIP/1001", answer_after=None)]
    )
    assert replies == ["200 result=0\n", "200 result=1 (NOANSWER)\n"]
    assert [e["DialStatus"] for e in sim.events.named("DialEnd")][-1] == "NOANSWER"
    assert call.connected_to is None and call.outcome == "agi-closed"


async def test_agent_hangs_up_after_talking_then_ivr_continues():
    # ast_bridge_call returns -1 when the bridge ended for the callee: Dial returns -1 unless
    # option g is given (app_dial.c OPT_GO_ON); the AGI carries on either way.
    async def ivr(c: AgiConn):
        return [await c.cmd("EXEC Dial Local/1001@agents,20"), await c.cmd("CHANNEL STATUS"),
                await c.cmd("EXEC Dial Local/1001@agents,20,g"), await c.cmd("CHANNEL STATUS")]

    phone = Phone("Local/1001@agents", answer_after=1.0, talk_for=3.0)
    sim, call, replies = await _run_call(ivr, CallerScript(hangup_after=60), [phone])
    assert replies == ["200 result=-1\n", "200 result=6\n", "200 result=0\n", "200 result=6\n"]
    assert call.connected_to == "Local/1001@agents" and call.outcome == "dial-answered"
    names = [h[0][1] for h in sim.events.history]
    assert names.index("DialBegin") < names.index("BridgeEnter") < names.index("BridgeDestroy")
    assert not sim.channels


async def test_caller_hangs_up_while_bridged_and_unknown_target_is_chanunavail():
    async def ivr(c: AgiConn):
        first = await c.cmd("EXEC Dial PJSIP/9999,20")
        status = await c.cmd("GET VARIABLE DIALSTATUS")
        dial = await c.cmd("EXEC Dial PJSIP/1001,20")
        return [first, status, dial, await c.line()]

    _sim, call, replies = await _run_call(
        ivr, CallerScript(hangup_after=4.0), [Phone("PJSIP/1001", answer_after=0.5, talk_for=None)]
    )
    assert replies == [
        "200 result=0\n",
        "200 result=1 (CHANUNAVAIL)\n",
        "200 result=-1\n",
        "HANGUP\n",
    ]
    assert call.outcome == "dial-answered"
    assert call.agi_commands[0] == "EXEC Dial PJSIP/9999,20"


async def test_mixmonitor_writes_a_wav_as_long_as_the_recording(tmp_path):
    async def ivr(c: AgiConn):
        await c.cmd("EXEC MixMonitor calls/rec1.wav")
        await c.cmd("EXEC Wait 2")
        return await c.cmd("EXEC Dial PJSIP/1001,20")

    sim, _call, _reply = await _run_call(
        ivr,
        CallerScript(hangup_after=6.0),
        [Phone("PJSIP/1001", answer_after=0.0, talk_for=None)],
        tmp=tmp_path,
    )
    data, rate = soundfile.read(str(tmp_path / "calls/rec1.wav"), dtype="int16")
    assert rate == 8000
    seconds = len(data) / rate
    assert 4.5 < seconds < 7.5  # MixMonitor started ~0.5 s after answer, caller left at 6 s
    assert np.abs(data[:rate]).max() == 0  # not bridged yet: silence
    assert np.abs(data[-rate:]).max() > 1000  # bridged: audio
    assert sim.events.named("MixMonitorStop") == []


async def test_chanspy_start_and_stop_with_audio_and_silent_spyee():
    """Quirk 17: a spyer hung up on a silent call stops only when the spied-on call ends."""
    async with AgiServer(lambda c: c.cmd("EXEC Dial Local/1001@sim-agent,60")) as agi:
        clock = Clock(speed=20)
        sim = Simulator(SimConfig(clock=clock, agi_url=agi.url()))
        await sim.start()
        try:
            call = await sim.place_call(CallerScript(hangup_after=None))
            for _ in range(200):
                if sim.pbx.bridges:
                    break
                await asyncio.sleep(0.02)
            ami = await RawAmi.connect(sim.ami_port)
            await ami.banner()
            ami.send_raw("Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\n\r\n")
            ami.send_raw(
                f"Action: Originate\r\nChannel: Local/2001@sim-agent\r\nApplication: ChanSpy\r\n"
                f'Data: {call.agi_channel},qB\r\nCallerID: "Supervisor" <2001>\r\nAsync: true\r\n'
                f"ActionID: spy-1\r\n\r\n"
            )
            seen = []
            while "ChanSpyStart" not in seen:
                msg = await ami.next()
                seen.append(msg.get("Event") or msg.get("Response"))
            assert seen.index("OriginateResponse") < seen.index("ChanSpyStart")
            spyer = next(
                n for n in sim.channels if n.startswith("Local/2001@sim-agent") and n.endswith(";1")
            )
            ami.send_raw(f"Action: Hangup\r\nChannel: {spyer}\r\nActionID: h1\r\n\r\n")
            assert (await ami.next_reply()).get("Message") == "Channel Hungup"
            # Four clock seconds with the spyer hung up; then the call ends. ChanSpy must stop
            # only then, which the clock's own timestamps tell (a stop that merely came late
            # would still carry a time before the call's end).
            await clock.sleep(4)
            call_ended_at = clock.time()
            await sim.hangup_channel(call.caller_channel)
            await asyncio.wait_for(call.ended(), 10)
            for _ in range(100):
                if sim.events.named("ChanSpyStop"):
                    break
                await asyncio.sleep(0.02)
            stop = sim.events.named("ChanSpyStop")
            assert len(stop) == 1 and stop[0]["SpyeeChannel"] == call.agi_channel
            assert float(stop[0]["Timestamp"]) >= call_ended_at, (stop, call_ended_at)
            assert [h["Cause"] for h in sim.events.named("Hangup") if "2001" in h["Channel"]] == [
                "0",
                "0",
            ]
            ami.close()
        finally:
            await sim.stop()


async def test_traffic_driver_places_mixed_calls():
    async def ivr(c: AgiConn):
        await c.cmd("ANSWER")
        await c.cmd("WAIT FOR DIGIT 3000")
        await c.cmd("GET DATA beep 2000 8")
        return await c.cmd("EXEC Dial Local/1001@sim-agent,20")

    async with AgiServer(ivr) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=50), agi_url=agi.url()))
        await sim.start()
        try:
            stats = await run_traffic(
                sim, calls_per_minute=120, scenario_mix=None, duration=20, seed=7
            )
            # The last calls placed may not have reached the AGI server yet on a busy machine:
            # hang up only calls whose script has begun, or the check below reads a call that
            # never had the chance to answer.
            async def begun() -> None:
                while not all(c.agi_commands for c in stats.calls):
                    await asyncio.sleep(0.02)
            await asyncio.wait_for(begun(), 20)
            for call in stats.calls:
                await sim.hangup_channel(call.caller_channel)
            await asyncio.wait_for(asyncio.gather(*(c.ended() for c in stats.calls)), 20)
        finally:
            await sim.stop()
    assert stats.placed >= 10
    assert sum(stats.by_scenario.values()) == stats.placed
    assert any(c.digits_pressed for c in stats.calls)
    assert all(c.agi_commands and c.agi_commands[0] == "ANSWER" for c in stats.calls)
