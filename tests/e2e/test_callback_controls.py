"""End to end over real sockets: the agent's call controls on a callback through the simulator.

On a callback the FastAGI session owns the agent's channel and the customer is the dialled
leg (``Local/<number>@contactcenter-outbound;1``), so hold, resume and the transfer to a number
move the customer's leg (``voice/connected_call.py``, ``callback=True``); a transfer to a queue
is refused with 409.
"""

from __future__ import annotations

from floor import Floor, login, running_floor, until
from test_call_controls import OUTSIDE, Seen, playing

from contactcenter.domain import routing_events as rev
from contactcenter.domain.interaction import CallbackRequest, Interaction
from contactcenter.sim import Phone

T = 30  # seconds: only catches hangs
CUSTOMER = "5550101"


async def _connected_callback(floor: Floor, seen: Seen, iid: str):  # type: ignore[no-untyped-def]
    """Only Alice (1001) works; a callback for CUSTOMER is offered to her and answered."""
    for agent in floor.server.routing_config.agents.values():
        if agent.id == "1001":
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=0.5, talk_for=None))
        elif floor.server.routing.agent(agent.id).state != "logged_out":
            await floor.server.routing.agent_logout(agent.id)
    floor.sim.add_phone(Phone(f"Local/{CUSTOMER}@contactcenter-outbound", answer_after=0.5,
                              talk_for=None))
    mark = len(seen.events)
    await floor.server.routing.enqueue(Interaction("voice", "sales", id=iid,
                                                   callback=CallbackRequest(CUSTOMER)))
    await seen.wait(lambda e: isinstance(e, rev.Connected) and e.interaction_id == iid, mark)
    conv = await until(lambda: floor.server.voice.callbacks.conversation(iid))
    assert conv.callback and conv.leg.startswith(f"Local/{CUSTOMER}@contactcenter-outbound-")
    return conv


async def test_callback_hold_plays_music_to_the_customer_resume_bridges_the_agent_again(tmp_path):
    async with running_floor(tmp_path) as floor:
        seen = Seen(floor)
        conv = await _connected_callback(floor, seen, "cb-hold")
        leg, agent = conv.leg, conv.agent_channel
        alice = await login(floor, "alice", "agent", "1001")
        try:
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 200, await r.text()
            await seen.wait(lambda e: isinstance(e, rev.Held) and e.interaction_id == "cb-hold")
            # The customer's leg waits in [contactcenter-hold] with music; the agent's channel
            # (the AGI's) is out of any bridge and hears nothing.
            assert await until(lambda: playing(floor, leg)) == "default"
            assert floor.sim.channels[leg].context == "contactcenter-hold"
            assert floor.sim.channels[leg].bridge is None and floor.sim.channels[agent].bridge is None
            assert playing(floor, agent) is None
            redirect = floor.sim.requests("Redirect")[-1]
            assert (redirect["Channel"], redirect["Context"], redirect["Exten"]) == (
                leg, "contactcenter-hold", "customer")
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 409  # already on hold

            async with alice.post(f"{floor.web_url}/api/panel/resume", json={}) as r:
                assert r.status == 200, await r.text()
            await seen.wait(lambda e: isinstance(e, rev.Unheld) and e.interaction_id == "cb-hold")
            await until(lambda: floor.sim.channels[agent].bridge is not None)
            assert floor.sim.channels[leg].bridge is floor.sim.channels[agent].bridge
            assert playing(floor, leg) is None  # the music stopped with the yank
            surrogates = [e["Channel"] for e in floor.sim.events.named("Hangup")
                          if e["Channel"].startswith("Surrogate/")]
            assert surrogates == [f"Surrogate/{leg}"]

            async with alice.post(f"{floor.web_url}/api/panel/hangup", json={}) as r:
                assert r.status == 200, await r.text()
            done = await seen.wait(lambda e: isinstance(e, rev.Completed))
            assert (done.interaction_id, done.agent_id) == ("cb-hold", "1001")
            await until(lambda: leg not in floor.sim.channels and agent not in floor.sim.channels)
        finally:
            await alice.close()
        await floor.server.routing.flush()
        kinds = [r["kind"] for r in await floor.server.routing.log.events(interaction_id="cb-hold")]
        assert [k for k in kinds if k in ("connect", "hold", "unhold", "complete")] == [
            "connect", "hold", "unhold", "complete"]
        assert floor.server.voice.callbacks.conversation("cb-hold") is None


async def test_callback_transfer_to_a_number_moves_the_customer_a_queue_is_refused(tmp_path):
    async with running_floor(tmp_path) as floor:
        floor.sim.add_phone(Phone(OUTSIDE, answer_after=0.5, talk_for=None))
        seen = Seen(floor)
        conv = await _connected_callback(floor, seen, "cb-xfer")
        leg, agent = conv.leg, conv.agent_channel
        alice = await login(floor, "alice", "agent", "1001")
        try:
            async with alice.post(f"{floor.web_url}/api/panel/transfer",
                                  json={"queue": "billing"}) as r:
                assert r.status == 409
                assert "callback" in (await r.json())["error"]
            assert floor.server.routing.state_of("cb-xfer").value == "connected"
            assert floor.sim.channels[leg].bridge is floor.sim.channels[agent].bridge

            mark = len(seen.events)
            async with alice.post(f"{floor.web_url}/api/panel/transfer",
                                  json={"number": "5550100"}) as r:
                assert r.status == 200, await r.text()
        finally:
            await alice.close()
        out = await seen.wait(lambda e: isinstance(e, rev.Transferred), mark)
        assert (out.interaction_id, out.to_number, out.agent_id) == ("cb-xfer", "5550100", "1001")
        await seen.wait(lambda e: isinstance(e, rev.Completed) and e.interaction_id == "cb-xfer",
                        mark)
        # The customer's own leg dials the number (no dead air: it rings from the Redirect on)
        # and stays up with that call; the agent's channel is hung up by its AGI.
        begin = await until(lambda: [e for e in floor.sim.events.named("DialBegin")
                                     if e.get("Channel") == leg])
        assert begin[0]["DestChannel"].startswith(OUTSIDE + "-")
        await until(lambda: agent not in floor.sim.channels)
        await until(lambda: floor.sim.channels[leg].bridge is not None)  # the outside answered
        await until(lambda: floor.server.routing.agent("1001").state in ("wrapup", "available"))
        redirect = floor.sim.requests("Redirect")[-1]
        assert (redirect["Channel"], redirect["Context"], redirect["Exten"]) == (
            leg, "contactcenter-outbound", "5550100")
        await floor.sim.hangup_channel(leg)
        await until(lambda: leg not in floor.sim.channels)
        audits = await floor.server.audit.list(action_prefix="call.transfer")
        assert sorted(a.outcome for a in audits) == ["ok", "refused"]


async def test_customer_or_agent_leaving_while_the_customer_is_on_hold(tmp_path):
    async with running_floor(tmp_path) as floor:
        seen = Seen(floor)
        alice = await login(floor, "alice", "agent", "1001")
        try:
            # 1. The customer hangs up on hold: the call completes, the agent's channel ends.
            conv = await _connected_callback(floor, seen, "cb-gone")
            leg, agent = conv.leg, conv.agent_channel
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 200, await r.text()
            await until(lambda: playing(floor, leg))
            mark = len(seen.events)
            await floor.sim.hangup_channel(leg)
            done = await seen.wait(lambda e: isinstance(e, rev.Completed), mark)
            assert done.interaction_id == "cb-gone"
            await until(lambda: agent not in floor.sim.channels)
            await until(lambda: floor.server.routing.agent("1001").state == "available")

            # 2. The agent hangs up while the customer is on hold: the customer's leg is hung up.
            conv = await _connected_callback(floor, seen, "cb-left")
            leg, agent = conv.leg, conv.agent_channel
            async with alice.post(f"{floor.web_url}/api/panel/hold", json={}) as r:
                assert r.status == 200, await r.text()
            await until(lambda: playing(floor, leg))
            mark = len(seen.events)
            async with alice.post(f"{floor.web_url}/api/panel/hangup", json={}) as r:
                assert r.status == 200, await r.text()
            done = await seen.wait(lambda e: isinstance(e, rev.Completed), mark)
            assert done.interaction_id == "cb-left"
            await until(lambda: leg not in floor.sim.channels and agent not in floor.sim.channels)
        finally:
            await alice.close()
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(limit=1000)
        assert [r["kind"] for r in rows].count("unhold") == 2  # each hold closed with the call
