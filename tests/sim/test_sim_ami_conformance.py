"""The simulator's AMI replies have the shape of real Asterisk 22's (transcripts 01 and 05)."""

from __future__ import annotations

import asyncio

import pytest
from sim_agi_helpers import AgiConn, AgiServer
from sim_conformance import RawAmi, is_reply, parse, records, shape

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Press, SimConfig, Simulator


@pytest.fixture
async def sim():
    # The transcripts were captured with an AMI user whose write classes are "all".
    s = Simulator(SimConfig(clock=Clock(speed=20), ami_write={"cc": "all"}))
    await s.start()
    yield s
    await s.stop()


async def replay(
    sim: Simulator, name: str, subst: dict[str, str] | None = None, skip: tuple[str, ...] = ()
) -> int:
    """Send a transcript's client messages; compare each reply with the recorded one."""
    recs = records(name)
    ami = await RawAmi.connect(sim.ami_port)
    assert await ami.banner() == b"Asterisk Call Manager/11.0.0\r\n"
    compared = 0
    i = 0
    while i < len(recs):
        rec = recs[i]
        i += 1
        if rec["dir"] != "out" or rec.get("eof"):
            continue
        data = rec["data"]
        expected = []
        while i < len(recs) and recs[i]["dir"] == "in":
            if recs[i]["data"] and not recs[i]["data"].startswith("Asterisk Call Manager"):
                msg = parse(recs[i]["data"])
                if is_reply(msg) and msg.get("Event") != "InvalidPassword":
                    expected.append(msg)
            i += 1
        if any(s in data for s in skip):
            continue
        for old, new in (subst or {}).items():
            data = data.replace(old, new)
        ami.send_raw(data)
        for want in expected:
            got = await ami.next_reply()
            assert got is not None, f"no reply to {data!r}"
            assert shape(got) == shape(want), f"reply to {data!r}"
            compared += 1
    ami.close()
    return compared


async def test_login_ping_logoff_like_transcript_01(sim):
    assert await replay(sim, "01-ami-login-ping.ami.jsonl") == 7


async def test_actions_before_login_are_denied_like_01_prelogin(sim):
    assert await replay(sim, "01-ami-login-ping.prelogin.jsonl") == 6


async def test_bad_login_fails_late_then_closes_and_warns_other_sessions(sim):
    watcher = await RawAmi.connect(sim.ami_port)
    await watcher.banner()
    watcher.send_raw("Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\n\r\n")
    assert (await watcher.next()).get("Message") == "Authentication accepted"
    assert await replay(sim, "01-ami-login-ping.badlogin.jsonl") == 1
    while True:
        msg = await watcher.next()
        if msg.get("Event") == "InvalidPassword":
            break
    want = next(
        parse(r["data"])
        for r in records("01-ami-login-ping.ami.jsonl")
        if r["data"].startswith("Event: InvalidPassword")
    )
    assert [k for k, _ in msg.headers] == [k for k, _ in want.headers]
    watcher.close()


async def test_actions_on_a_bridged_call_like_transcript_05(sim, tmp_path):
    sim.config.recordings_dir = tmp_path
    sim.pbx.recorder._dir = tmp_path

    async def ivr(conn: AgiConn) -> None:
        await conn.cmd("ANSWER")
        await conn.cmd("WAIT FOR DIGIT 5000")
        await conn.cmd("SET VARIABLE CC_CHOICE 1")
        await conn.cmd("EXEC Dial Local/1001@sim-agent,60")
        await conn.line()  # HANGUP pushed after the redirect
        await conn.cmd("GET VARIABLE CC_CHOICE")

    async with AgiServer(ivr) as agi:
        call = await sim.place_call(
            CallerScript(exten="100", agi_url=agi.url(), steps=[Press("1", 0.5)], hangup_after=None)
        )
        for _ in range(200):
            if len(sim.pbx.bridges) == 1 and len(sim.channels) == 4:
                break
            await asyncio.sleep(0.02)
        bridge = next(iter(sim.pbx.bridges))
        agent = next(n for n in sim.channels if n.startswith("Local/1001@sim-agent"))
        subst = {
            "Local/100@cc-inbound-0000002c": call.agi_channel[:-2],
            "Local/1001@sim-agent-0000002d": agent[:-2],
            "fa9a83f8-16fa-478f-840d-d060294b8fbe": bridge,
        }
        compared = await replay(sim, "05-ami-actions.ami.jsonl", subst, skip=("orig-caller",))
        await asyncio.wait_for(call.ended(), 10)
    assert compared > 60
    assert not agi.errors
    assert (tmp_path / "var/spool/asterisk/monitor/trace-ami-rec.wav").exists()
