"""Live monitoring end to end: a supervisor's REST request -> Originate ChanSpy in the simulator.

Checks what the simulated Asterisk received (the Originate's Channel, Data and ChannelId) and
what it reported (ChanSpyStart's Spyee is the exact agent channel), mode switches, stop, the
audit trail, an agent's refused attempt, and stop on a silent call (transcript 04b), where
ChanSpy ignores the hangup of its own leg until the spied-on call ends.
"""

from __future__ import annotations

import asyncio

from floor import PASSWORD, login, running_floor

from contactcenter.sim import CallerScript, Phone, Press

OPTIONS = {"listen": "qEu", "whisper": "qwEu", "barge": "qBEu"}


_login = login


async def _until(predicate, timeout: float = 20.0):
    async def loop():
        while not (value := predicate()):
            await asyncio.sleep(0.02)
        return value
    return await asyncio.wait_for(loop(), timeout)


async def _connected_call(floor, audio: bool):
    """Place a sales call to phones that stay on the line; returns the server's LiveCall."""
    for agent in floor.server.routing_config.agents.values():
        if "sales" in agent.skills:
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=1.0, talk_for=600, audio=audio))
    before = {c.interaction_id for c in floor.server.monitor.live_calls()}
    await floor.sim.place_call(CallerScript(caller_id="5551234", exten="200",
                                            steps=[Press("1", after=0.5)], hangup_after=900))
    return await _until(lambda: next((c for c in floor.server.monitor.live_calls()
                                      if c.interaction_id not in before), None))


def _spy_starts(floor, spyee: str) -> list[dict[str, str]]:
    return [e for e in floor.sim.events.named("ChanSpyStart") if e["SpyeeChannel"] == spyee]


async def _spying(floor, session_id: str) -> dict:
    session = await _until(lambda: (s := floor.server.monitor.session(session_id))
                           and s.leg.state.value == "spying" and s)
    return session.as_json() | {"channel_id": session.leg.channel_id}


async def _monitor_audit(floor) -> list[tuple[str, str, str]]:
    rows = await floor.server.audit.list(action_prefix="monitor.")
    return [(a.actor, a.action, a.outcome) for a in reversed(rows)]


async def test_listen_whisper_barge_on_the_exact_agent_channel(tmp_path):
    async with running_floor(tmp_path, speed=20) as floor:
        call = await _connected_call(floor, audio=True)
        sup = await _login(floor, "sup", "supervisor", "1010")  # dial string Local/1010@agents
        agent = await _login(floor, "agent", "agent", call.agent_id)
        url = f"{floor.web_url}/api/monitoring"
        try:
            # Agents can never monitor: refused at the service, audited.
            async with agent.post(f"{url}/sessions", json={
                    "interaction_id": call.interaction_id, "mode": "listen"}) as r:
                assert r.status == 403
            async with agent.get(f"{url}/calls") as r:
                assert r.status == 403
            assert floor.sim.requests("Originate") == [] or all(
                o.get("Application") != "ChanSpy" for o in floor.sim.requests("Originate"))

            async with sup.get(f"{url}/calls") as r:
                assert r.status == 200
                listed = [c["interaction_id"] for c in (await r.json())["calls"]]
            assert call.interaction_id in listed

            async with sup.post(f"{url}/sessions", json={
                    "interaction_id": call.interaction_id, "mode": "listen"}) as r:
                assert r.status == 201, await r.text()
                session_id = (await r.json())["session_id"]
            spyers = []
            for mode in ("listen", "whisper", "barge"):
                if mode != "listen":
                    async with sup.patch(f"{url}/sessions/{session_id}", json={"mode": mode}) as r:
                        assert r.status == 200, await r.text()
                        assert (await r.json())["mode"] == mode
                state = await _spying(floor, session_id)
                spies = [o for o in floor.sim.requests("Originate") if o.get("Application") == "ChanSpy"]
                assert len(spies) == len(spyers) + 1
                orig = spies[-1]
                assert orig["Channel"] == "Local/1010@agents"
                assert orig["Data"] == f"{call.agent_channel},{OPTIONS[mode]}"
                assert orig["ChannelId"] == state["channel_id"]
                start = _spy_starts(floor, call.agent_channel)[-1]
                assert start["SpyerUniqueid"] == state["channel_id"]
                assert start["SpyerChannel"] == state["spyer"]
                assert state["target"] == call.agent_channel and state["mode"] == mode
                if spyers:  # the previous leg was stopped and is gone
                    stops = [e["SpyerChannel"] for e in floor.sim.events.named("ChanSpyStop")]
                    assert spyers[-1] in stops and spyers[-1] not in floor.sim.channels
                spyers.append(state["spyer"])
            assert len(set(spyers)) == 3

            async with sup.delete(f"{url}/sessions/{session_id}") as r:
                assert r.status == 200
                assert (await r.json())["confirmed"] is True
            await _until(lambda: spyers[-1] not in floor.sim.channels)
            assert spyers[-1] in [e["SpyerChannel"] for e in floor.sim.events.named("ChanSpyStop")]
            assert floor.server.monitor.sessions() == []
            # Every ChanSpy of this test watched the agent's channel and nothing else.
            assert {e["SpyeeChannel"] for e in floor.sim.events.named("ChanSpyStart")} == {
                call.agent_channel}

            assert await _monitor_audit(floor) == [
                ("agent", "monitor.start", "refused"),
                ("sup", "monitor.start", "ok"),
                ("sup", "monitor.switch", "ok"),
                ("sup", "monitor.switch", "ok"),
                ("sup", "monitor.stop", "ok"),
            ]
            start_row = (await floor.server.audit.list(action_prefix="monitor.start", limit=1))[0]
            assert start_row.detail["channel"] == call.agent_channel
        finally:
            await sup.close()
            await agent.close()


async def test_stop_always_ends_on_a_silent_call(tmp_path):
    async with running_floor(tmp_path, speed=20) as floor:
        call = await _connected_call(floor, audio=False)
        local_sup = await _login(floor, "sup-local", "supervisor", "1010")  # Local/1010@agents
        pjsip_sup = await _login(floor, "sup-pjsip", "supervisor", "1003")  # PJSIP/1003
        url = f"{floor.web_url}/api/monitoring"
        try:
            results = {}
            for name, http in (("local", local_sup), ("pjsip", pjsip_sup)):
                async with http.post(f"{url}/sessions", json={
                        "interaction_id": call.interaction_id, "mode": "listen"}) as r:
                    assert r.status == 201, await r.text()
                    session_id = (await r.json())["session_id"]
                state = await _spying(floor, session_id)
                async with http.delete(f"{url}/sessions/{session_id}") as r:
                    assert r.status == 200
                    results[name] = (state["spyer"], await r.json())
                assert floor.server.monitor.session(session_id) is None

            # ChanSpy itself is still stuck on both legs (no audio on the call: 04b) ...
            stops = [e["SpyerChannel"] for e in floor.sim.events.named("ChanSpyStop")]
            local_spyer, local = results["local"]
            pjsip_spyer, pjsip = results["pjsip"]
            assert local_spyer not in stops and pjsip_spyer not in stops
            # ... but the Local leg's ";2" half, the supervisor's phone, was released at once,
            # which confirms the stop; a PJSIP leg cannot be confirmed, the session ends anyway.
            assert local["confirmed"] is True
            assert local_spyer[:-1] + "2" not in floor.sim.channels
            assert pjsip["confirmed"] is False and pjsip["reason"] == "stopped-unconfirmed"
            hangups = [h["Channel"] for h in floor.sim.requests("Hangup")]
            assert pjsip_spyer in hangups and local_spyer in hangups

            # When the call ends, ChanSpy wakes and both legs go; nothing more is audited.
            await floor.sim.hangup_channel(call.agent_channel)
            await _until(lambda: local_spyer not in floor.sim.channels
                         and pjsip_spyer not in floor.sim.channels)
            stops = [e["SpyerChannel"] for e in floor.sim.events.named("ChanSpyStop")]
            assert local_spyer in stops and pjsip_spyer in stops
            # The server has read the legs' hangups (its call model dropped them) and finished
            # what they started (the monitor's background writes): only then is "nothing more
            # audited" a fact rather than "nothing yet".
            model = floor.server.pool["sim"].model
            await _until(lambda: not {local_spyer, pjsip_spyer} & {
                ch.name for ch in model.channels.values()})
            await _until(lambda: not floor.server.monitor._tasks)
            assert await _monitor_audit(floor) == [
                ("sup-local", "monitor.start", "ok"),
                ("sup-local", "monitor.stop", "ok"),
                ("sup-pjsip", "monitor.start", "ok"),
                ("sup-pjsip", "monitor.stop", "unconfirmed"),
            ]
        finally:
            await local_sup.close()
            await pjsip_sup.close()


async def test_supervisor_with_own_phone_monitors_without_being_an_agent(tmp_path):
    """The spy leg rings the user's own phone (set over the users API), not an agent's."""
    async with running_floor(tmp_path, speed=20) as floor:
        call = await _connected_call(floor, audio=True)
        floor.sim.add_phone(Phone("PJSIP/2001", answer_after=0.5, talk_for=None))
        floor.sim.add_phone(Phone("PJSIP/2002", answer_after=0.5, talk_for=None))
        admin = await _login(floor, "root", "admin")
        url = f"{floor.web_url}/api/monitoring"
        sue = bare = None
        try:
            async with admin.post(f"{floor.web_url}/api/users", json={
                    "username": "sue", "role": "supervisor", "password": PASSWORD,
                    "phone": "PJSIP/2001"}) as r:
                assert r.status == 201, await r.text()
                sue_id = (await r.json())["id"]
            sue = await _login(floor, "sue", "supervisor")
            assert "sue" not in floor.server.routing_config.agents  # not routable

            async with sue.post(f"{url}/sessions", json={
                    "interaction_id": call.interaction_id, "mode": "listen"}) as r:
                assert r.status == 201, await r.text()
                session_id = (await r.json())["session_id"]
            state = await _spying(floor, session_id)
            [orig] = [o for o in floor.sim.requests("Originate") if o.get("Application") == "ChanSpy"]
            assert orig["Channel"] == "PJSIP/2001"
            assert orig["Data"] == f"{call.agent_channel},qEu"
            start = _spy_starts(floor, call.agent_channel)[-1]
            assert start["SpyerChannel"] == state["spyer"] and state["spyer"].startswith("PJSIP/2001-")
            async with sue.delete(f"{url}/sessions/{session_id}") as r:
                assert r.status == 200 and (await r.json())["confirmed"] is True

            # A new phone is used from the next session on, without logging sue out.
            async with admin.patch(f"{floor.web_url}/api/users/{sue_id}",
                                   json={"phone": "PJSIP/2002"}) as r:
                assert r.status == 200
            async with sue.post(f"{url}/sessions", json={
                    "interaction_id": call.interaction_id, "mode": "whisper"}) as r:
                assert r.status == 201, await r.text()
                session_id = (await r.json())["session_id"]
            await _spying(floor, session_id)
            spies = [o for o in floor.sim.requests("Originate") if o.get("Application") == "ChanSpy"]
            assert [o["Channel"] for o in spies] == ["PJSIP/2001", "PJSIP/2002"]
            async with sue.delete(f"{url}/sessions/{session_id}") as r:
                assert r.status == 200

            # A supervisor with neither a phone nor an agent id is refused, and it is audited.
            bare = await _login(floor, "bare", "supervisor")
            async with bare.post(f"{url}/sessions", json={
                    "interaction_id": call.interaction_id, "mode": "listen"}) as r:
                assert r.status == 409
            starts = await floor.server.audit.list(action_prefix="monitor.start")
            assert [(a.actor, a.outcome, (a.detail or {}).get("dial_string")) for a in reversed(starts)] == [
                ("sue", "ok", "PJSIP/2001"), ("sue", "ok", "PJSIP/2002"), ("bare", "refused", None)]
        finally:
            for http in (admin, sue, bare):
                if http is not None:
                    await http.close()
