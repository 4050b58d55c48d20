"""Simulator options the server relies on: MixMonitor ``b``, ChanSpy ``u``/``E``, ChannelId, Hangup by id."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import soundfile
from sim_agi_helpers import AgiConn, AgiServer
from sim_conformance import RawAmi

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Phone, SimConfig, Simulator


async def _until(predicate, timeout: float = 10.0):
    async def loop():
        while not (value := predicate()):
            await asyncio.sleep(0.02)
        return value
    return await asyncio.wait_for(loop(), timeout)


async def test_mixmonitor_b_keeps_only_the_bridged_part(tmp_path):
    async def ivr(c: AgiConn):
        await c.cmd("EXEC MixMonitor calls/rec-b.wav,b")
        await c.cmd("EXEC Wait 2")
        return await c.cmd("EXEC Dial PJSIP/1001,20")

    async with AgiServer(ivr) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=25), agi_url=agi.url(), recordings_dir=tmp_path))
        sim.add_phone(Phone("PJSIP/1001", answer_after=0.0, talk_for=None))
        await sim.start()
        try:
            call = await sim.place_call(CallerScript(hangup_after=6.0))
            await asyncio.wait_for(call.ended(), 20)
        finally:
            await sim.stop()
    data, rate = soundfile.read(str(tmp_path / "calls/rec-b.wav"), dtype="int16")
    assert rate == 8000
    # Answer at 0, MixMonitor ~0.5 s later, Wait 2, bridged until the caller leaves at 6 s:
    # with "b" only the ~3.5 bridged seconds are in the file, and they start at once.
    assert 2.5 < len(data) / rate < 4.5
    assert np.abs(data[: rate // 2]).max() > 1000


async def test_chanspy_prefix_vs_exact_u_e_and_channel_ids():
    dials = itertools.cycle(["PJSIP/10011", "PJSIP/1001"])  # the first name extends the second

    async def ivr(c: AgiConn):
        return await c.cmd(f"EXEC Dial {next(dials)},60", timeout=30)

    async with AgiServer(ivr) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=20), agi_url=agi.url()))
        for dial in ("PJSIP/1001", "PJSIP/10011", "PJSIP/2001"):
            sim.add_phone(Phone(dial, answer_after=0.0, talk_for=None))
        await sim.start()
        ami = None
        try:
            for bridges in (1, 2):
                await sim.place_call(CallerScript(hangup_after=None))
                await _until(lambda b=bridges: len(sim.pbx.bridges) >= b)
            wide = next(n for n in sim.channels if n.startswith("PJSIP/10011-"))
            exact = next(n for n in sim.channels if n.startswith("PJSIP/1001-"))
            ami = await RawAmi.connect(sim.ami_port)
            await ami.banner()
            ami.send_raw("Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\n\r\n")

            # A bare device name is a prefix: ChanSpy picks the OTHER call (PJSIP/10011-...).
            ami.send_raw("Action: Originate\r\nChannel: PJSIP/2001\r\nApplication: ChanSpy\r\n"
                         "Data: PJSIP/1001,q\r\nAsync: true\r\nActionID: p1\r\n\r\n")
            first = await _until(lambda: sim.events.named("ChanSpyStart"))
            assert first[0]["SpyeeChannel"] == wide

            # The exact name with u and E, our uniqueids on both halves of a Local leg.
            ami.send_raw(
                "Action: Originate\r\nChannel: Local/2002@sim-agent\r\nApplication: ChanSpy\r\n"
                f"Data: {exact},qEu\r\nChannelId: spy-a\r\nOtherChannelId: spy-b\r\n"
                "Async: true\r\nActionID: p2\r\n\r\n")
            starts = await _until(lambda: len(sim.events.named("ChanSpyStart")) == 2
                                  and sim.events.named("ChanSpyStart"))
            assert starts[1]["SpyeeChannel"] == exact and starts[1]["SpyerUniqueid"] == "spy-a"
            resp = [e for e in sim.events.named("OriginateResponse") if e.get("ActionID") == "p2"]
            assert resp[0]["Uniqueid"] == "spy-a" and resp[0]["Channel"].endswith(";1")
            two = sim.pbx.find("spy-b")
            assert two is not None and two.name == resp[0]["Channel"][:-1] + "2"

            # When the spied-on call ends: "E" ends the exact leg; the prefix leg moves on.
            await sim.hangup_channel(wide)
            moved = await _until(lambda: len(sim.events.named("ChanSpyStart")) == 3
                                 and sim.events.named("ChanSpyStart"))
            assert moved[2]["SpyeeChannel"] == exact  # the danger the server's "u" avoids
            await sim.hangup_channel(exact)
            await _until(lambda: sim.pbx.find("spy-a") is None and sim.pbx.find("spy-b") is None)

            # Hangup by uniqueid works like by name (ast_channel_get_by_name).
            await sim.place_call(CallerScript(hangup_after=None))
            ami.send_raw("Action: Originate\r\nChannel: Local/2003@sim-agent\r\nApplication: Wait\r\n"
                         "Data: 600\r\nChannelId: w-1\r\nAsync: true\r\nActionID: w\r\n\r\n")
            await _until(lambda: sim.pbx.find("w-1") is not None)
            ami.send_raw("Action: Hangup\r\nChannel: w-1\r\nActionID: h\r\n\r\n")
            await _until(lambda: sim.pbx.find("w-1") is None)
            assert [h for h in sim.events.named("Hangup") if h["Uniqueid"] == "w-1"]
        finally:
            if ami is not None:
                ami.close()
            await sim.stop()
