"""The simulator's FastAGI side answers like Asterisk 22 (transcripts 02, 03, 03b, 03c replayed)."""

from __future__ import annotations

import asyncio
import re

from sim_agi_helpers import AgiConn, AgiServer
from sim_conformance import records

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Press, Silence, SimConfig, Simulator

_VARYING = [
    (re.compile(r"endpos=\d+"), "endpos=N"),
    (re.compile(r"-[0-9a-f]{8};"), "-SEQ;"),
    (re.compile(r"^agi_uniqueid: .*", re.MULTILINE), "agi_uniqueid: U"),
    (re.compile(r"^agi_threadid: .*", re.MULTILINE), "agi_threadid: T"),
    (re.compile(r"^agi_dnid: .*", re.MULTILINE), "agi_dnid: D"),  # we report the dialled number
    (
        re.compile(r"^agi_request: agi://127\.0\.0\.1:\d+/", re.MULTILINE),
        "agi_request: agi://HOST/",
    ),
]


def norm(line: str) -> str:
    for pattern, repl in _VARYING:
        line = pattern.sub(repl, line)
    return line


def script_for(name: str):
    """A FastAGI server script replaying the transcript's 'out' lines and checking replies."""
    recs = [r for r in records(name) if not r.get("eof")]
    first_out = next(i for i, r in enumerate(recs) if r["dir"] == "out")
    env = [r["data"] for r in recs[:first_out]]
    mismatches: list[tuple[str, str, str]] = []

    async def run(conn: AgiConn) -> int:
        assert [norm(x) for x in conn.env_lines] == [norm(x) for x in env]
        checked = 0
        i = first_out
        while i < len(recs):
            out = recs[i]["data"]
            i += 1
            conn.writer.write(out.encode())
            while i < len(recs) and recs[i]["dir"] == "in":
                want = recs[i]["data"]
                got = await conn.line(timeout=10)
                if norm(got) != norm(want):
                    mismatches.append((out, want, got))
                checked += 1
                i += 1
        return checked

    return run, mismatches


async def run_replay(name: str, script: CallerScript, phones=()) -> tuple[int, list, Simulator]:
    run, mismatches = script_for(name)
    async with AgiServer(run) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=25), agi_url=agi.url()))
        await sim.start()
        for p in phones:
            sim.add_phone(p)
        try:
            script.agi_url = agi.url()
            call = await sim.place_call(script)
            await asyncio.wait_for(call.ended(), 20)
        finally:
            await sim.stop()
    assert not agi.errors, agi.errors
    return agi.results[0], mismatches, sim


async def test_ivr_dtmf_dial_hangup_like_02():
    checked, bad, sim = await run_replay(
        "02-ivr-dtmf-dial-hangup.agi.jsonl",
        CallerScript(
            caller_id="5551234",
            caller_name="Trace Caller",
            steps=[Silence(), Press("1", 1.3)],
            hangup_after=9.5,
        ),
    )
    assert bad == []
    assert checked == 12
    hangups = sim.events.named("Hangup")
    assert [h["Cause"] for h in hangups] == ["16"] * 4
    assert sim.events.named("MixMonitorStop") == []  # quirk 12


async def test_agi_edge_cases_like_03():
    checked, bad, sim = await run_replay(
        "03-agi-edge-cases.agi.jsonl",
        CallerScript(steps=[Press("42#", 1.0)], hangup_after=14.0),
    )
    assert bad == []
    assert checked > 40
    status = [e["Value"] for e in sim.events.named("VarSet") if e["Variable"] == "AGISTATUS"]
    assert status == ["FAILURE"]


async def test_self_hangup_like_03b():
    checked, bad, _sim = await run_replay(
        "03b-agi-self-hangup.agi.jsonl", CallerScript(steps=[Press("5", 0.7)], hangup_after=60)
    )
    assert bad == []
    assert checked == 7


async def test_script_exit_on_live_channel_like_03c():
    _checked, bad, sim = await run_replay(
        "03c-agi-script-exits.agi.jsonl", CallerScript(hangup_after=60)
    )
    assert bad == []
    status = [e["Value"] for e in sim.events.named("VarSet") if e["Variable"] == "AGISTATUS"]
    assert status == ["SUCCESS"]
    assert [e["Channel"][-2:] for e in sim.events.named("Hangup")] == [";2", ";1"]
