"""The injection corpus through a phone call: caller id and name, DTMF, IVR input, panel fields.

A whole floor runs (the server and the PBX simulator over real sockets). Each payload calls in
as caller id and caller name (those with CR, LF or NUL excepted: no telephone network carries
them to Asterisk, and the simulator refuses them as Asterisk's channel drivers do; the wire
codecs' refusal of them is fuzzed in tests/fuzz), picks sales, waits in line or talks to an
agent, and hangs up; DTMF inputs go into the account-number input of the support branch. Then
the same payloads go through the panel's fields that reach the PBX or the log: wrap-up
disposition and notes, pause reason, transfer number, hangup/hold interaction ids. The
simulator's record of every AMI action and AGI command must hold none of them outside the one
value it was given in (``injection_checks``), and the server must answer no request with a 5xx.
"""

from __future__ import annotations

import asyncio

import pytest
from corpus import DTMF_INPUTS, PAYLOADS, Payload, quick
from floor import login, running_floor
from injection_checks import agi_injections, ami_injections

from contactcenter.sim import CallerScript, Press

SALES = ["1001", "1002", "1006", "1009"]


def _callable(p: Payload) -> bool:
    return not p.framing and p.utf8


async def _run(tmp_path, payloads: list[Payload], dtmf: list[str]) -> None:
    async with running_floor(tmp_path) as floor:
        calls = []
        for p in payloads:
            if _callable(p):
                calls.append(await floor.sim.place_call(CallerScript(
                    caller_id=p.text, caller_name=p.text, exten="200",
                    steps=[Press("1", after=0.5)], hangup_after=40)))
        for digits in dtmf:
            calls.append(await floor.sim.place_call(CallerScript(
                caller_id="5550100", exten="200",
                steps=[Press("2", after=0.5), Press(digits, after=1.0)], hangup_after=30)))
        await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), timeout=300)

        admin = await login(floor, "inj-admin", "admin")
        statuses = []
        try:
            for i, p in enumerate(payloads):
                agent = SALES[i % len(SALES)]
                for method, path, body in (
                    ("POST", f"/api/agents/{agent}/wrapup", {"disposition": p.text, "notes": p.text}),
                    ("POST", f"/api/agents/{agent}/pause", {"reason": p.text}),
                    ("POST", f"/api/agents/{agent}/unpause", None),
                    ("POST", "/api/panel/transfer", {"number": p.text}),
                    ("POST", "/api/panel/transfer", {"queue": p.text}),
                    ("POST", "/api/panel/hangup", {"interaction_id": p.text}),
                    ("POST", "/api/panel/hold", {"interaction_id": p.text}),
                ):
                    async with admin.request(method, f"{floor.web_url}{path}", json=body) as r:
                        await r.read()
                        statuses.append((r.status, path, p.name))
        finally:
            await admin.close()

        assert [s for s in statuses if s[0] >= 500] == []
        received = list(floor.sim.actions.received)
        lines = [line for c in calls for line in c.agi_commands]
        assert lines, "no AGI command was recorded: the calls did not reach the server"
        assert ami_injections(received, payloads) == []
        assert agi_injections(lines, payloads) == []
        # The calls really carried the payloads to the server (not refused before the IVR).
        answered = sum(1 for c in calls if c.agi_commands[:1] == ["ANSWER"])
        assert answered >= len(calls) // 2


async def test_injection_corpus_through_calls_and_panel_quick(tmp_path):
    await _run(tmp_path, quick(1), DTMF_INPUTS[:3])


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_injection_corpus_through_calls_and_panel(tmp_path):
    await _run(tmp_path, PAYLOADS, DTMF_INPUTS)
