"""Fault injection for reconnect tests: a cut AMI link and a half-open (silent) one."""

from __future__ import annotations

import asyncio

import pytest
from sim_conformance import RawAmi

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, SimConfig, Simulator
from contactcenter.sim.model import Press


@pytest.fixture
async def sim():
    s = Simulator(SimConfig(clock=Clock(speed=20), agi_url="agi://127.0.0.1:1/nothing"))
    await s.start()
    yield s
    await s.stop()


async def login(sim: Simulator) -> RawAmi:
    ami = await RawAmi.connect(sim.ami_port)
    await ami.banner()
    ami.send_raw("Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\nActionID: l\r\n\r\n")
    assert (await ami.next()).get("Response") == "Success"
    return ami


async def test_cut_mid_message_leaves_half_an_event_then_eof(sim):
    ami = await login(sim)
    await ami.next(), await ami.next()  # FullyBooted, SuccessfulAuth
    await sim.cut_ami(mid_message=True)
    assert await ami.next() is None
    assert ami.parser.buffered > 0  # half a message was written before the close
    again = await login(sim)  # the listener survives: a client can reconnect
    again.close()


async def test_silenced_link_answers_nothing_until_released(sim):
    ami = await login(sim)
    await ami.next(), await ami.next()
    sim.silence_ami(True)
    ami.send_raw("Action: Ping\r\nActionID: p1\r\n\r\n")
    with pytest.raises(asyncio.TimeoutError):
        await ami.next(timeout=0.3)
    sim.silence_ami(False)
    msg = await ami.next_reply()
    assert msg.get("ActionID") == "p1" and msg.get("Ping") == "Pong"
    ami.close()


async def test_agi_server_down_hangs_the_call_up_with_agistatus_failure(sim):
    call = await sim.place_call(CallerScript(steps=[Press("1")], hangup_after=30))
    await asyncio.wait_for(call.ended(), 10)
    assert call.outcome == "agi-failed"
    status = [e["Value"] for e in sim.events.named("VarSet") if e["Variable"] == "AGISTATUS"]
    assert status == ["FAILURE"]
    assert not sim.channels


def test_unsafe_script_values_are_refused():
    with pytest.raises(ValueError):
        CallerScript(caller_id="555\r\nAction: Hangup")
    with pytest.raises(ValueError):
        Press("12x")
