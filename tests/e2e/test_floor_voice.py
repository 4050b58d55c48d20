"""End to end over real sockets: simulated callers -> FastAGI IVR -> queue -> agent phones."""

from __future__ import annotations

import asyncio

import aiohttp
from floor import running_floor

from contactcenter.sim import CallerScript, Press
from contactcenter.telephony import events as ev


async def test_call_through_ivr_queue_to_agent_and_call_model(tmp_path):
    async with running_floor(tmp_path) as floor:
        seen: list = []
        floor.server.pool["sim"].subscribe(seen.append)
        call = await floor.sim.place_call(CallerScript(
            caller_id="5551234", caller_name="Ada", exten="200",
            steps=[Press("1", after=0.5)], hangup_after=400))
        await asyncio.wait_for(call.ended(), timeout=60)

        # The IVR answered, played the welcome (interrupted by the key), and queued to sales.
        assert call.agi_commands[0] == "ANSWER"
        assert call.agi_commands[1] == 'STREAM FILE cc/welcome "01234"'
        dial = [c for c in call.agi_commands if c.startswith("EXEC Dial ")]
        sales_agents = {a.dial_string for a in floor.server.routing_config.agents.values()
                        if "sales" in a.skills}
        assert call.connected_to in sales_agents
        assert dial and dial[-1].split()[2].split(",")[0] == call.connected_to

        # The AMI call model followed the call from its first channel to its last hangup.
        started = [e for e in seen if isinstance(e, ev.CallStarted) and e.linkedid == call.linkedid]
        ended = [e for e in seen if isinstance(e, ev.CallEnded) and e.linkedid == call.linkedid]
        assert len(started) == 1 and len(ended) == 1
        assert any(isinstance(e, ev.DtmfReceived) and e.digit == "1" for e in seen)
        assert call.linkedid not in floor.server.pool["sim"].model.calls

        # The interaction log has the call's whole life, from entry to completion.
        # Its id is the uniqueid of the channel running the IVR (the ";2" half here).
        agi_uid = floor.sim.channels[call.agi_channel].uniqueid if call.agi_channel in \
            floor.sim.channels else None
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(limit=1000)
        iids = {r["interaction_id"] for r in rows if r["kind"] == "enter"}
        assert len(iids) == 1 and (agi_uid is None or iids == {agi_uid})
        kinds = [r["kind"] for r in rows if r["interaction_id"] in iids]
        assert kinds[0] == "enter" and {"offer", "connect", "complete"} <= set(kinds)


async def test_health_and_metrics_show_the_live_wires(tmp_path):
    async with running_floor(tmp_path) as floor:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{floor.web_url}/api/health") as r:
                body = await r.json()
            assert r.status == 200 and body["status"] == "ok"
            assert body["ami"][0]["name"] == "sim" and body["ami"][0]["state"] == "connected"
            assert set(body["flows"]["loaded"]) >= {"main", "demo"}
            # The shipped flows name only queues and skills the shipped routing config has.
            assert body["flows"]["warnings"] == {}
            assert body["routing"] == {"suspended": {}}
            async with http.get(f"{floor.web_url}/metrics") as r:
                text = await r.text()
        assert 'cc_ami_link_up{pbx="sim"} 1.0' in text
        assert 'cc_agents{state="available"} 10.0' in text
        assert "cc_fastagi_sessions_active 0.0" in text
        assert "cc_flow_files_with_warnings 0.0" in text
        assert "cc_routing_entries_suspended 0.0" in text
        assert 'cc_queue_waiting{queue="sales"} 0.0' in text
