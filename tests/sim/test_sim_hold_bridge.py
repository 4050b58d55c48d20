"""Redirect of a bridged callee and the Bridge() application, as Asterisk 22's source does them
(no transcript covers these): the caller's Dial returns, the callee runs its new location, and
Bridge() yanks it back through a Surrogate channel; with ``x`` it is hung up afterwards."""

from __future__ import annotations

import asyncio

from sim_agi_helpers import AgiConn, AgiServer
from sim_conformance import RawAmi

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Phone, SimConfig, Simulator


async def _until(check):  # type: ignore[no-untyped-def]
    async def loop():  # type: ignore[no-untyped-def]
        while not (value := check()):
            await asyncio.sleep(0.01)
        return value
    return await asyncio.wait_for(loop(), 10)


def _leg(sim: Simulator):  # type: ignore[no-untyped-def]
    return next((c for c in sim.channels.values() if c.name.startswith("PJSIP/1001-")), None)


async def _response(ami: RawAmi):  # type: ignore[no-untyped-def]
    while True:
        msg = await ami.next()
        if msg is None or msg.get("Response"):
            return msg


async def _ami(sim: Simulator) -> RawAmi:
    ami = await RawAmi.connect(sim.ami_port)
    await ami.banner()
    ami.send_raw("Action: Login\r\nUsername: cc\r\nSecret: pw\r\nEvents: off\r\n\r\n")
    assert (await _response(ami)).get("Response") == "Success"
    return ami


async def test_redirect_bridged_callee_then_bridge_it_back_and_hang_it_up_with_x():
    state: dict[str, str] = {}
    dial_back = asyncio.Event()

    async def ivr(c: AgiConn):  # type: ignore[no-untyped-def]
        out = [await c.cmd("EXEC Dial PJSIP/1001,20,g"), await c.cmd("GET VARIABLE DIALSTATUS")]
        dial_back.set()
        out.append(await c.cmd("EXEC Bridge PJSIP/nobody-00000001"))
        out.append(await c.cmd("GET VARIABLE BRIDGERESULT"))
        await _until(lambda: state.get("parked"))
        out.append(await c.cmd(f"EXEC Bridge {state['leg']},x", timeout=20))
        out.append(await c.cmd("GET VARIABLE BRIDGERESULT"))
        out.append(await c.line())  # the pushed HANGUP
        return out

    async with AgiServer(ivr) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=25.0), agi_url=agi.url(), ami_port=0,
                                  ami_users={"cc": "pw"}))
        await sim.start()
        sim.add_phone(Phone("PJSIP/1001", answer_after=0.5, talk_for=None))
        ami = await _ami(sim)
        try:
            call = await sim.place_call(CallerScript(hangup_after=None))
            leg = await _until(lambda: (ch := _leg(sim)) is not None and ch.bridge and ch)
            state["leg"] = leg.name
            ami.send_raw(f"Action: Redirect\r\nChannel: {leg.name}\r\nContext: contactcenter-hold"
                         "\r\nExten: agent\r\nPriority: 1\r\n\r\n")
            assert (await _response(ami)).get("Message") == "Redirect successful"
            await asyncio.wait_for(dial_back.wait(), 10)
            await _until(lambda: leg.context == "contactcenter-hold" and leg.application == "Wait")
            assert leg.bridge is None and not leg.gone
            state["parked"] = "yes"
            await _until(lambda: leg.bridge is not None)  # Bridge() took it back
            await sim.hangup_channel(call.caller_channel)
            await asyncio.wait_for(call.ended(), 10)
        finally:
            ami.close()
            await sim.stop()
    assert not agi.errors, agi.errors
    replies = agi.results[0]
    assert replies == ["200 result=0\n", "200 result=1 (ANSWER)\n",
                       "200 result=0\n", "200 result=1 (NONEXISTENT)\n",
                       "200 result=0\n", "200 result=1 (SUCCESS)\n", "HANGUP\n"]

    events = [(h[0][1], dict(h)) for h in sim.events.history]

    def at(name: str, channel: str, start: int = 0, **fields: str) -> int:
        return next(i for i, (n, f) in enumerate(events) if i >= start and n == name and
                    f.get("Channel") == channel and all(f.get(k) == v for k, v in fields.items()))

    agi_ch = call.agi_channel
    # The redirect: Newexten (old application), the callee leaves, the bridge dissolves.
    assert at("Newexten", leg.name, Context="contactcenter-hold") < at("BridgeLeave", leg.name) \
        < at("BridgeLeave", agi_ch) < [n for n, _ in events].index("BridgeDestroy")
    assert at("BridgeLeave", agi_ch) < at("Newexten", leg.name, Application="NoOp", Priority="1") \
        < at("Newexten", leg.name, Application="Wait", Priority="2")
    # Bridge(): the surrogate comes and goes, then the leg and the caller enter a new bridge.
    sur = f"Surrogate/{leg.name}"
    gone = at("Hangup", sur)
    assert at("Newchannel", sur) < gone < at("BridgeEnter", leg.name, gone) \
        < at("BridgeEnter", agi_ch, gone)
    assert [f["Uniqueid"] for n, f in events if n == "Hangup" and f["Channel"] == leg.name] == [
        leg.uniqueid]  # x: hung up once the caller left, keeping its name and uniqueid
