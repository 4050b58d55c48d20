"""A user an admin disables (or links to another agent) can no longer work as their agent, so
the agent leaves its queues: no call, chat or ticket is offered to a phone nobody answers for.
Idle, the agent is logged out (the tickets' hand-back runs as for any logout); on a call, it is
paused "user disabled" and keeps the call; the audit entry says which."""

from __future__ import annotations

import asyncio

from floor import login, running_floor, until

from contactcenter.sim import CallerScript, Press


async def _patch(admin, floor, user_id: int, body: dict) -> dict:
    async with admin.patch(f"{floor.web_url}/api/users/{user_id}", json=body) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def _user(admin, floor, username: str, agent_id: str) -> int:
    async with admin.post(f"{floor.web_url}/api/users", json={
            "username": username, "password": "a long enough password", "role": "agent",
            "agent_id": agent_id}) as r:
        assert r.status == 201, await r.text()
        return (await r.json())["id"]


async def _released(admin, floor, username: str) -> str:
    async with admin.get(f"{floor.web_url}/api/audit?action=users.update") as r:
        entries = (await r.json())["entries"]
    return next(e["detail"].get("agent_released") for e in entries if e["target"] == username)


async def test_an_idle_agent_is_logged_out_and_a_talking_one_paused(tmp_path):
    async with running_floor(tmp_path) as floor:
        routing = floor.server.routing
        admin = await login(floor, "boss", "admin")
        try:
            # Idle: disabling the user logs the agent out of every queue.
            assert routing.agent("1001").presence == "available"
            ann = await _user(admin, floor, "ann", "1001")
            await _patch(admin, floor, ann, {"disabled": True})
            assert routing.agent("1001").presence == "logged_out"
            assert routing.agent("1001").queues == []
            assert await _released(admin, floor, "ann") == "1001: logged out"
            # Enabling the user again does not log the agent back in (the agent chooses).
            await _patch(admin, floor, ann, {"disabled": False})
            assert routing.agent("1001").presence == "logged_out"

            # Linked to another agent: the one the user worked as leaves its queues too.
            bob = await _user(admin, floor, "bob", "1002")
            await _patch(admin, floor, bob, {"agent_id": "1001"})
            assert routing.agent("1002").presence == "logged_out"
            assert await _released(admin, floor, "bob") == "1002: logged out"

            # Talking: the call goes on, the agent is paused and gets nothing new after it.
            call = await floor.sim.place_call(CallerScript(
                caller_id="5551234", exten="200", steps=[Press("1", after=0.5)],
                hangup_after=None))
            talking = await until(lambda: next(
                (a.id for a in routing.snapshot().agents.values() if a.state == "busy"), None))
            cid = await _user(admin, floor, "cid", talking)
            await _patch(admin, floor, cid, {"disabled": True})
            view = routing.agent(talking)
            assert view.state == "busy" and view.presence == "paused"
            assert view.pause_reason == "user disabled"
            assert await _released(admin, floor, "cid") == (
                f"{talking}: paused (user disabled): an interaction is in progress")
            assert call.connected_to is not None and not call.is_ended
            await floor.sim.hangup_channel(call.caller_channel)
            await asyncio.wait_for(call.ended(), 30)
            await until(lambda: routing.agent(talking).state != "busy")
            assert routing.agent(talking).presence == "paused"
        finally:
            await admin.close()
