"""End to end over real sockets: an agent's call controls on a live call through the simulator.

Transfer to a queue (the same caller reaches a second agent), transfer to a number (the caller's
channel dials the outbound Local channel), hold (the caller hears music, the agent's leg waits in
[contactcenter-hold]) and resume (Bridge() joins them again), and the refusals.
"""

from __future__ import annotations

import asyncio
from typing import Any

from floor import (
    Arrivals,
    Floor,
    floor_settings,
    login,
    overlaps,
    running_floor,
    silences_match,
    until,
)

from contactcenter.domain import routing_events as rev
from contactcenter.recording.metadata import silent_spans
from contactcenter.sim import CallerScript, Phone, Press

T = 30  # seconds: only catches hangs
SALES_ONLY = {"1001"}  # Alice: sales + operator
OUTSIDE = "Local/5550100@contactcenter-outbound"


class Seen(Arrivals):
    """Routing events as they happen, with waits on them."""

    def __init__(self, floor: Floor) -> None:
        super().__init__()
        floor.server.routing.subscribe(self.add)


def playing(floor: Floor, channel: str) -> str | None:
    """The music class the simulator plays on ``channel`` now (None: no music)."""
    state = None
    for h in floor.sim.events.history:
        event, fields = h[0][1], dict(h)
        if fields.get("Channel") == channel and event in ("MusicOnHoldStart", "MusicOnHoldStop"):
            state = fields.get("Class") if event == "MusicOnHoldStart" else None
    return state


async def _staff(floor: Floor, keep: set[str]) -> None:
    """Only ``keep`` stay logged in; their phones answer quickly and talk until hung up."""
    for agent in floor.server.routing_config.agents.values():
        if agent.id in keep:
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=0.5, talk_for=None))
        else:
            await floor.server.routing.agent_logout(agent.id)


async def _connected_sales_call(floor: Floor, seen: Seen, agent: str = "1001"):  # type: ignore[no-untyped-def]
    mark = len(seen.events)
    call = await floor.sim.place_call(CallerScript(
        caller_id="5551234", exten="200", steps=[Press("1", after=0.5)], hangup_after=None))
    conn = await seen.wait(lambda e: isinstance(e, rev.Connected) and e.agent_id == agent, mark)
    await until(lambda: floor.server.voice.queue.conversation(conn.interaction_id))
    return call, conn.interaction_id


def _agent_channel(floor: Floor, iid: str) -> str:
    return floor.server.voice.queue.conversation(iid).agent_channel


async def test_transfer_to_queue_reaches_a_second_agent_with_the_skills(tmp_path):
    async with running_floor(tmp_path) as floor:
        # Bob has billing and the caller's own skill (sales: 1, from the flow's queue node).
        await _staff(floor, SALES_ONLY | {"1002"})
        await floor.server.routing.agent_login("1002", ["billing"])
        seen = Seen(floor)
        call, iid = await _connected_sales_call(floor, seen)
        first_leg = _agent_channel(floor, iid)
        alice = await login(floor, "alice", "agent", "1001")
        try:
            mark = len(seen.events)
            async with alice.post(f"{floor.web_url}/api/panel/transfer",
                                  json={"queue": "billing"}) as r:
                assert r.status == 200, await r.text()
                assert await r.json() == {"interaction_id": iid, "queue": "billing"}
        finally:
            await alice.close()

        # The same interaction is answered by Bob; Alice's leg was hung up, she wraps up.
        second = await seen.wait(lambda e: isinstance(e, rev.Connected), mark)
        assert (second.interaction_id, second.agent_id, second.queue) == (iid, "1002", "billing")
        kinds = [(type(e).__name__, getattr(e, "agent_id", None)) for e in seen.events[mark:]]
        assert kinds.index(("Transferred", "1001")) < kinds.index(("Connected", "1002"))
        assert first_leg not in floor.sim.channels
        dials = [c for c in call.agi_commands if c.startswith("EXEC Dial ")]
        # The sales queue records: its offer's variables went in an MSet before MixMonitor.
        # The transfer keeps that recording, so billing's Dial carries them itself (B()).
        # Each stamps its answer on the caller (U(), voice/answer_stamp.py).
        assert dials == [f"EXEC Dial PJSIP/1001,20,gU(contactcenter-answered^{iid}^1)",
                         (f"EXEC Dial PJSIP/1002,15,gB(contactcenter-subs^offer^1({iid}^1002^2))"
                          f"U(contactcenter-answered^{iid}^2)")]
        assert floor.sim.channels[call.agi_channel].variables["CC_OFFER"] == "2"
        assert call.connected_to == "PJSIP/1002"
        assert floor.server.routing.agent("1001").state in ("wrapup", "available")

        await floor.sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), T)
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(interaction_id=iid)
        transfer = [r for r in rows if r["kind"] == "transfer"]
        assert [(t["to_queue"], t["to_number"], t["agent_id"]) for t in transfer] == [
            ("billing", None, "1001")]
        assert [r["kind"] for r in rows].count("connect") == 2
        audits = await floor.server.audit.list(action_prefix="call.transfer")
        assert [(a.actor, a.target, a.outcome) for a in audits] == [("alice", iid, "ok")]


async def test_transfer_to_number_dials_the_outbound_channel_and_ends_the_interaction(tmp_path):
    async with running_floor(tmp_path) as floor:
        await _staff(floor, SALES_ONLY)
        floor.sim.add_phone(Phone(OUTSIDE, answer_after=0.5, talk_for=2.0))
        seen = Seen(floor)
        call, iid = await _connected_sales_call(floor, seen)
        alice = await login(floor, "alice", "agent", "1001")
        try:
            mark = len(seen.events)
            async with alice.post(f"{floor.web_url}/api/panel/transfer",
                                  json={"number": "5550100", "interaction_id": iid}) as r:
                assert r.status == 200, await r.text()
        finally:
            await alice.close()

        # Recorded at once: the interaction ends here, Alice goes to wrap-up.
        out = await seen.wait(lambda e: isinstance(e, rev.Transferred), mark)
        assert (out.to_number, out.to_queue, out.agent_id) == ("5550100", "", "1001")
        done = await seen.wait(lambda e: isinstance(e, rev.Completed), mark)
        assert done.interaction_id == iid and floor.server.routing.state_of(iid) is None
        # The caller's own AGI dials the outside number and ends with that call.
        await asyncio.wait_for(call.ended(), T)
        assert f"EXEC Dial {OUTSIDE},45,g" in call.agi_commands
        # Not brought back to the IVR should the server go away during the outside call (seen
        # on a real Asterisk: the dialplan retried the AGI and the caller was queued again).
        outside = call.agi_commands.index(f"EXEC Dial {OUTSIDE},45,g")
        assert "SET VARIABLE CC_RESUME 0" in call.agi_commands[:outside]
        assert call.connected_to == OUTSIDE
        begins = [e for e in floor.sim.events.named("DialBegin")
                  if e.get("DestChannel", "").startswith(OUTSIDE + "-")]
        assert len(begins) == 1 and begins[0]["Channel"] == call.agi_channel

        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(interaction_id=iid)
        kinds = [r["kind"] for r in rows]
        assert kinds.index("transfer") < kinds.index("complete")
        assert [r["to_number"] for r in rows if r["kind"] == "transfer"] == ["5550100"]


async def test_hold_plays_music_resume_bridges_again_then_hangup_wraps_up(tmp_path):
    async with running_floor(tmp_path) as floor:
        await _staff(floor, SALES_ONLY)
        seen = Seen(floor)
        call, iid = await _connected_sales_call(floor, seen)
        leg = _agent_channel(floor, iid)
        agi = call.agi_channel
        alice = await login(floor, "alice", "agent", "1001")
        try:
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 200, await r.text()
            await seen.wait(lambda e: isinstance(e, rev.Held) and e.interaction_id == iid)
            # The caller hears the queue's music; the agent's leg waits in the hold context.
            assert await until(lambda: playing(floor, agi)) == "default"
            await until(lambda: floor.sim.channels[leg].context == "contactcenter-hold")
            assert floor.sim.channels[leg].bridge is None and floor.sim.channels[agi].bridge is None
            async with alice.get(f"{floor.web_url}/api/panel/current") as r:
                work = (await r.json())["work"]
                assert work[0]["data"]["on_hold_since"] > 0
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 409  # already on hold

            async with alice.post(f"{floor.web_url}/api/panel/resume", json={}) as r:
                assert r.status == 200, await r.text()
            unheld = await seen.wait(lambda e: isinstance(e, rev.Unheld))
            assert unheld.interaction_id == iid and unheld.held_s >= 0
            # Bridge() took the leg back (a Surrogate channel came and went), the music stopped.
            await until(lambda: floor.sim.channels[agi].bridge is not None)
            assert floor.sim.channels[leg].bridge is floor.sim.channels[agi].bridge
            assert playing(floor, agi) is None
            assert f"EXEC Bridge {leg},x" in call.agi_commands
            surrogates = [e["Channel"] for e in floor.sim.events.named("Hangup")
                          if e["Channel"].startswith("Surrogate/")]
            assert surrogates == [f"Surrogate/{leg}"]

            async with alice.post(f"{floor.web_url}/api/panel/hangup", json={}) as r:
                assert r.status == 200, await r.text()
            done = await seen.wait(lambda e: isinstance(e, rev.Completed))
            assert (done.interaction_id, done.agent_id) == (iid, "1001")
            await asyncio.wait_for(call.ended(), T)
        finally:
            await alice.close()
        await floor.server.routing.flush()
        kinds = [r["kind"] for r in await floor.server.routing.log.events(interaction_id=iid)]
        assert [k for k in kinds if k in ("connect", "hold", "unhold", "complete")] == [
            "connect", "hold", "unhold", "complete"]
        audits = await floor.server.audit.list(action_prefix="call.")
        assert {(a.action, a.outcome) for a in audits} >= {
            ("call.hold", "ok"), ("call.resume", "ok"), ("call.hangup", "ok")}


async def test_caller_or_agent_leaving_while_on_hold(tmp_path):
    async with running_floor(tmp_path) as floor:
        await _staff(floor, SALES_ONLY)
        seen = Seen(floor)
        alice = await login(floor, "alice", "agent", "1001")
        try:
            # 1. The caller hangs up while held: the agent's leg is hung up, the call completes.
            call, iid = await _connected_sales_call(floor, seen)
            leg = _agent_channel(floor, iid)
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 200, await r.text()
            await until(lambda: playing(floor, call.agi_channel))
            mark = len(seen.events)
            await floor.sim.hangup_channel(call.caller_channel)
            done = await seen.wait(lambda e: isinstance(e, rev.Completed), mark)
            assert done.interaction_id == iid
            await until(lambda: leg not in floor.sim.channels)
            await asyncio.wait_for(call.ended(), T)
            await until(lambda: floor.server.routing.agent("1001").state == "available")

            # 2. The agent hangs up while holding: the call completes, the caller hears goodbye.
            mark = len(seen.events)
            call, iid = await _connected_sales_call(floor, seen)
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 200, await r.text()
            await until(lambda: playing(floor, call.agi_channel))
            async with alice.post(f"{floor.web_url}/api/panel/hangup", json={}) as r:
                assert r.status == 200, await r.text()
            done = await seen.wait(lambda e: isinstance(e, rev.Completed), mark)
            assert done.interaction_id == iid
            await asyncio.wait_for(call.ended(), T)
            assert call.agi_commands[-2:] == ["STREAM FILE vm-goodbye \"\"", "HANGUP"]
        finally:
            await alice.close()
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(limit=1000)
        assert [r["kind"] for r in rows].count("unhold") == 2  # each hold closed with the call


async def test_refusals_not_my_call_bad_number_wrong_state(tmp_path):
    async with running_floor(tmp_path) as floor:
        await _staff(floor, SALES_ONLY)
        seen = Seen(floor)
        alice = await login(floor, "alice", "agent", "1001")
        bob = await login(floor, "bob", "agent", "1002")
        url = floor.web_url
        try:
            async with alice.post(f"{url}/api/panel/hold", json={}) as r:
                assert r.status == 409  # no call yet
            call, iid = await _connected_sales_call(floor, seen)
            for path, body in (("hold", {}), ("resume", {}), ("hangup", {}),
                               ("transfer", {"queue": "billing"}),
                               ("transfer", {"number": "5550100"})):
                async with bob.post(f"{url}/api/panel/{path}",
                                    json={**body, "interaction_id": iid}) as r:
                    assert r.status == 403, (path, r.status)
            for body in ({"number": "12ab"}, {"number": "+" + "1" * 21}, {"number": "555\r\n1"},
                         {"number": 5550100}, {"queue": "nope"}, {"queue": "billing", "number": "1"},
                         {}, {"number": "5550100", "interaction_id": 7}):
                async with alice.post(f"{url}/api/panel/transfer", json=body) as r:
                    # a queue of the declared form that is not configured: 422
                    assert r.status == (422 if body == {"queue": "nope"} else 400), (body, r.status)
            async with alice.post(f"{url}/api/panel/resume", json={}) as r:
                assert r.status == 409  # not on hold
            assert floor.server.routing.state_of(iid).value == "connected"
            assert call.connected_to == "PJSIP/1001" and floor.sim.channels[call.agi_channel].bridge
            async with bob.post(f"{url}/api/panel/hold", json={}) as r:
                assert r.status == 409  # bob has no call of his own
            async with bob.get(f"{url}/api/openapi.json") as r:
                paths = (await r.json())["paths"]
            for path in ("hangup", "transfer", "hold", "resume"):
                op = paths[f"/api/panel/{path}"]["post"]
                assert op["x-roles"] == ["admin", "agent", "supervisor"] and op["requestBody"]
        finally:
            await alice.close()
            await bob.close()
        # Refused on the request itself: nothing to audit. Refused by the call's state: audited.
        audits = await floor.server.audit.list(action_prefix="call.")
        assert [(a.actor, a.action, a.target, a.outcome) for a in audits] == [
            ("alice", "call.resume", iid, "refused")]


async def test_transfer_to_a_number_stops_the_recording_at_the_transfer(tmp_path):
    async with running_floor(tmp_path) as floor:
        await _staff(floor, SALES_ONLY)  # sales: recording "always"
        floor.sim.add_phone(Phone(OUTSIDE, answer_after=0.5, talk_for=6.0))
        seen = Seen(floor)
        call, iid = await _connected_sales_call(floor, seen)
        rec_svc = floor.server.recording
        rec_id = rec_svc.active_recording_id(iid)
        assert rec_id is not None
        await floor.clock.sleep(4)  # some conversation is recorded
        alice = await login(floor, "alice", "agent", "1001")
        try:
            async with alice.post(f"{floor.web_url}/api/panel/transfer",
                                  json={"number": "5550100"}) as r:
                assert r.status == 200, await r.text()
        finally:
            await alice.close()
        await asyncio.wait_for(call.ended(), T)  # the outside call (6 s, bridged) is over

        async def closed() -> Any:
            while (rec := await rec_svc.index.get(rec_id)).duration_s is None:
                await asyncio.sleep(0.05)
            return rec
        rec = await asyncio.wait_for(closed(), T)
        assert rec.status == "complete", rec
        # Muted before the agent's leg was hung up: the outside call is silence in the file.
        assert [(p.kind, p.by) for p in rec.pauses] == [("stopped", "alice")]
        stop = rec.pauses[0]
        assert stop.end is not None and rec.duration_s - stop.start > 5  # the outside call
        path = rec_svc.paths.resolve(rec.file)
        spans = await asyncio.to_thread(silent_spans, path)
        assert silences_match(spans, floor.sim, path), (spans, floor.sim.silences(path))
        # Silent to the end of the file (duration_s is kept to the millisecond).
        assert abs(spans[-1][1] - rec.duration_s) <= 0.001
        assert overlaps(spans[-1], stop.start, stop.end)
        assert rec.recorded()[-1][1] == stop.start  # the recorded audio ends at the transfer
        assert [m["State"] for m in floor.sim.requests("MixMonitorMute")] == ["1"]


async def test_flow_transfer_node_dials_with_g_then_hangs_up_when_that_call_ends(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "main.yaml").write_text(
        "entry: xfer\nnodes:\n  xfer: {type: transfer, number: \"'5550100'\", timeout: 15}\n")
    settings = floor_settings(tmp_path, 20.0, flows_dir=str(flows))
    async with running_floor(tmp_path, settings=settings) as floor:
        floor.sim.add_phone(Phone(OUTSIDE, answer_after=0.5, talk_for=2.0))
        call = await floor.sim.place_call(CallerScript(caller_id="5551234", exten="100",
                                                       steps=[], hangup_after=None))
        await asyncio.wait_for(call.ended(), T)
        assert call.connected_to == OUTSIDE
        # g: Dial returns 0 when the outside party hangs up, the flow reads DIALSTATUS and
        # ends the caller's call itself (nothing left to do once the transferred call is over).
        at = call.agi_commands.index(f"EXEC Dial {OUTSIDE},15,g")
        assert call.agi_commands[at + 1:] == ["GET VARIABLE DIALSTATUS", "HANGUP"]
        hangups = [e for e in floor.sim.events.named("Hangup")
                   if e["Channel"] == call.agi_channel]
        assert len(hangups) == 1
