"""The server restarts while a callback is connected or ringing its agent.

A connected callback has no caller's AGI to come back (its agent leg's AGI session died with the
old server while Asterisk's Dial went on), so the new server finds it from the first AMI resync:
its agent leg gone -> completed at once; still up -> completed when it hangs up. Either way the
agent goes to wrap-up instead of staying busy for ever.

A callback whose agent leg still rings is offered again by the restore; the new server takes
that leg over instead of ringing the agent a second time (seen on Asterisk 23.4.1: two legs rang
3002 at once, the answered one was hung up as unknown), and hangs up an old leg whose callback is
no longer offered to that agent.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from floor import REPO, floor_settings, running_floor
from test_callback_e2e import LIMIT, SPEED, Seen, kinds, pause_all_but

from contactcenter.app import ContactCenter
from contactcenter.domain import routing_events as rev
from contactcenter.domain.interaction import CallbackRequest, Interaction
from contactcenter.sim import Phone
from contactcenter.voice.callback_dialer import leg_prefix

NUMBER = "5550808"


async def _connected_callback(floor, iid: str) -> tuple[str, str]:
    """A callback connected between agent 1001 and the customer; (agent leg, customer leg)."""
    routing, sim = floor.server.routing, floor.sim
    seen = Seen(routing)
    await pause_all_but(floor, "1001")
    sim.add_phone(Phone("PJSIP/1001", answer_after=1.0, talk_for=None))
    sim.add_phone(Phone(f"Local/{NUMBER}@contactcenter-outbound", answer_after=1.0,
                        talk_for=None))  # nobody hangs up until the test says so
    await routing.enqueue(Interaction("voice", "sales", id=iid,
                                      callback=CallbackRequest(NUMBER)))
    connected = await seen.until(rev.Connected, iid)
    agent_leg = next(ch for ch in sim.channels.values()
                     if ch.uniqueid.startswith(leg_prefix(connected.offer_id)))
    customer_leg = next(ch for ch in sim.channels.values()
                        if ch.name.startswith(f"Local/{NUMBER}@"))
    return agent_leg.name, customer_leg.name


async def _restart(floor, agi_port: int = 0, resynced: bool = True) -> ContactCenter:
    """Start a new server in place of the stopped one (on ``agi_port``, where the simulator
    dials AGI, when given); returns once AMI has resynced, if ``resynced``."""
    old = floor.server
    new = ContactCenter(replace(old.settings,
                                fastagi=replace(old.settings.fastagi, port=agi_port),
                                web=replace(old.settings.web, port=0)), clock=floor.clock)
    await new.start()
    floor.server = new  # the fixture stops it
    if resynced:
        await new.pool["sim"].wait_ready(10)
    return new


async def _stop(floor) -> int:
    """Stop the server (as on SIGTERM); returns its FastAGI port for the next one."""
    port = floor.server.agi_port
    await floor.server.stop()
    return port


async def _completed_to_wrapup(server, iid: str) -> None:
    """Wait for the callback's completion, then check the agent went to wrap-up."""
    async def closed() -> None:
        while server.routing.state_of(iid) is not None:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(closed(), LIMIT)
    await server.routing.flush()
    rows = await server.routing.log.events(interaction_id=iid)
    assert kinds(rows, lambda r: r["kind"] in {"offer", "connect", "complete", "abandon"}) == [
        "offer", "connect", "complete"]
    agent_rows = await server.routing.log.events(agent_id="1001")
    done = max(i for i, r in enumerate(agent_rows) if r["kind"] == "complete")
    assert any(r["kind"] == "agent-state" and r["state"] == "wrapup"
               for r in agent_rows[done:])
    assert server.routing.agent("1001").state in ("wrapup", "available")


async def test_a_callback_that_ended_while_the_server_was_down_is_completed(tmp_path):
    # A long ring time: at this speed the queue's own 20 s are half a second of real time, which
    # a busy machine can spend before the agent's phone answers (then nobody is left to answer).
    async with running_floor(tmp_path, speed=SPEED, settings=_long_ring(tmp_path)) as floor:
        agent_leg, _customer = await _connected_callback(floor, "cb-ended")
        await floor.server.stop()
        assert await floor.sim.hangup_channel(agent_leg)  # the agent hangs up meanwhile

        async def gone() -> None:
            while agent_leg in floor.sim.channels:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(gone(), LIMIT)
        new = await _restart(floor)
        await _completed_to_wrapup(new, "cb-ended")


async def test_a_callback_still_up_after_the_restart_is_completed_when_it_hangs_up(tmp_path):
    async with running_floor(tmp_path, speed=SPEED, settings=_long_ring(tmp_path)) as floor:
        agent_leg, customer_leg = await _connected_callback(floor, "cb-up")
        await floor.server.stop()
        new = await _restart(floor)

        async def watched() -> None:
            while "cb-up" not in new.voice.callback_dialer.orphans.values():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(watched(), LIMIT)
        assert new.routing.state_of("cb-up").value == "connected"  # still talking
        assert new.routing.agent("1001").state == "busy"
        assert await floor.sim.hangup_channel(customer_leg)  # the customer hangs up
        await _completed_to_wrapup(new, "cb-up")
        assert agent_leg not in floor.sim.channels  # the agent's leg ended with the call


# The agent leg must still ring when the new server is up: a long ring time (clock seconds, 15 s
# of real time at SPEED) and an answer well after the restart (3 s of real time).
LONG_RING_S = 600
ANSWER_S = 120.0


def _long_ring(tmp_path):
    text = (REPO / "config/queues.yaml").read_text()
    sales = "    wrapup_s: 15\n    ring_timeout_s: 20\n"
    assert text.count(sales) == 1
    queues = tmp_path / "queues.yaml"
    queues.write_text(text.replace(sales, f"    wrapup_s: 15\n    ring_timeout_s: {LONG_RING_S}\n"))
    settings = floor_settings(tmp_path, SPEED)
    return replace(settings, routing=replace(settings.routing, queues_file=str(queues)))


async def _ringing_callback(floor, iid: str, answer_after: float | None) -> str:
    """A callback whose agent leg rings agent 1001 (who answers ``answer_after`` clock seconds
    into the ring); returns that leg's uniqueid."""
    routing, sim = floor.server.routing, floor.sim
    seen = Seen(routing)
    await pause_all_but(floor, "1001")
    sim.add_phone(Phone("PJSIP/1001", answer_after=answer_after, talk_for=None))
    sim.add_phone(Phone(f"Local/{NUMBER}@contactcenter-outbound", answer_after=1.0,
                        talk_for=10.0))
    await routing.enqueue(Interaction("voice", "sales", id=iid,
                                      callback=CallbackRequest(NUMBER)))
    offer = await seen.until(rev.Offered, iid)
    await seen.until(rev.Ringing, iid)
    return next(ch.uniqueid for ch in sim.channels.values()
                if ch.uniqueid.startswith(leg_prefix(offer.offer_id)))


async def _until(predicate) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), LIMIT)


def _agent_originates(floor) -> list[dict[str, str]]:
    return [r for r in floor.sim.requests("Originate") if r.get("Channel") == "PJSIP/1001"]


def _agi_commands(floor, uniqueid: str) -> list[str]:
    return [h["Command"] for h in floor.sim.events.named("AGIExecStart")
            if h.get("Uniqueid") == uniqueid]


async def _talked_and_completed(server, floor, iid: str, agent_leg: str) -> None:
    """The callback went through on ``agent_leg`` and ended in wrap-up; one new offer only."""
    seen = Seen(server.routing)
    if server.routing.state_of(iid) is not None:
        await seen.until(rev.Completed, iid)
    await server.routing.flush()
    rows = await server.routing.log.events(interaction_id=iid)
    # The restore put the callback back and offered it again: two offers, one conversation.
    assert kinds(rows, lambda r: r["kind"] in {"offer", "connect", "complete"}) == [
        "offer", "offer", "connect", "complete"]
    assert [r["agent_id"] for r in rows if r["kind"] == "connect"] == ["1001"]
    assert any(c.startswith(f"EXEC Dial Local/{NUMBER}@contactcenter-outbound")
               for c in _agi_commands(floor, agent_leg))  # the customer was dialled from it


async def test_an_agent_leg_ringing_across_a_restart_is_taken_over_not_rung_again(tmp_path):
    async with running_floor(tmp_path, speed=SPEED, settings=_long_ring(tmp_path)) as floor:
        leg = await _ringing_callback(floor, "cb-ringing", answer_after=ANSWER_S)
        new = await _restart(floor, await _stop(floor))
        agent_channel = next(ch for ch in floor.sim.channels.values() if ch.uniqueid == leg)
        assert agent_channel.state == 5, "the test needs the agent still ringing here"
        await _talked_and_completed(new, floor, "cb-ringing", leg)
        assert len(_agent_originates(floor)) == 1  # the agent's phone rang once


async def test_an_old_leg_answered_before_the_new_server_resyncs_is_taken_over(tmp_path):
    # The agent answers while the new server is up but has no AMI view yet: the leg's AGI
    # reaches it before any resync could tell it about the leg.
    async with running_floor(tmp_path, speed=SPEED, settings=_long_ring(tmp_path)) as floor:
        leg = await _ringing_callback(floor, "cb-early", answer_after=ANSWER_S)
        port = await _stop(floor)
        floor.sim.silence_ami(True)
        new = await _restart(floor, port, resynced=False)
        await _until(lambda: leg in new.voice.callback_dialer.legs or _agi_commands(floor, leg))
        assert "HANGUP" not in _agi_commands(floor, leg)
        assert new.voice.callback_dialer.legs[leg].answered  # taken by its AGI session...
        assert new.pool["sim"].resyncs == 0  # ...with no AMI resync yet
        floor.sim.silence_ami(False)
        await new.pool["sim"].wait_ready(10)
        await _talked_and_completed(new, floor, "cb-early", leg)
        assert len(_agent_originates(floor)) == 1


async def test_an_agent_leg_that_stopped_ringing_during_the_restart_is_dialled_anew(tmp_path):
    async with running_floor(tmp_path, speed=SPEED, settings=_long_ring(tmp_path)) as floor:
        leg = await _ringing_callback(floor, "cb-rang-out", answer_after=None)
        port = await _stop(floor)
        name = next(ch.name for ch in floor.sim.channels.values() if ch.uniqueid == leg)
        assert await floor.sim.hangup_channel(name)  # the agent's phone gave up meanwhile
        await _until(lambda: name not in floor.sim.channels)
        floor.sim.add_phone(Phone("PJSIP/1001", answer_after=1.0, talk_for=None))
        new = await _restart(floor, port)
        # Read from the log, not from events: the new leg can connect before _restart returns.
        await _until(lambda: new.routing.state_of("cb-rang-out") is None)
        await new.routing.flush()
        rows = await new.routing.log.events(interaction_id="cb-rang-out")
        assert kinds(rows, lambda r: r["kind"] in {"offer", "connect", "complete"}) == [
            "offer", "offer", "connect", "complete"]
        connect = next(r for r in rows if r["kind"] == "connect")
        first, second = _agent_originates(floor)  # a new leg, after the old one had ended
        assert first["ChannelId"] == leg
        assert second["ChannelId"].startswith(leg_prefix(connect["offer_id"]))
        agent_rows = await new.routing.log.events(agent_id="1001")
        assert not [r for r in agent_rows if r["kind"] == rev.AgentPaused.kind]


async def test_an_old_agent_leg_whose_callback_is_not_offered_again_is_hung_up(tmp_path):
    async with running_floor(tmp_path, speed=SPEED, settings=_long_ring(tmp_path)) as floor:
        leg = await _ringing_callback(floor, "cb-paused", answer_after=ANSWER_S)
        await floor.server.routing.agent_pause("1001", "test")  # the restore offers it nobody
        new = await _restart(floor, await _stop(floor))
        await _until(lambda: all(ch.uniqueid != leg for ch in floor.sim.channels.values()))
        assert leg in [r.get("Channel") for r in floor.sim.requests("Hangup")]  # by the server
        assert not _agi_commands(floor, leg)  # before the agent could answer it
        assert new.routing.state_of("cb-paused").value == "waiting"  # at its place
        assert len(_agent_originates(floor)) == 1
