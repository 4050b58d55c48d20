"""What the live websocket tells about an inbound call, end to end: the screen pop carries what
the IVR gathered, and an offered agent shows ``ringing`` while their phone rings.

Real server, real simulator, real sockets (tests/e2e/floor.py); a real websocket client reads
``/api/live`` as the panel does. Only the agent a test means to use stays logged in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from floor import Arrivals, Floor, login, running_floor

from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.sim.calls import SimCall
from contactcenter.storage.customers import CustomerRecord, CustomerStore

T = 30.0  # real seconds: only catches hangs
SPEED = 10.0
SUPPORT = [Press("2", after=0.5), Press("12345#", after=0.5)]  # demo flow: support + account


class Live(Arrivals):
    """A websocket on ``/api/live``: every event message kept, with waits on them."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        super().__init__()
        self.ws = ws

    async def subscribe(self, *topics: str) -> None:
        assert (await self.ws.receive_json(timeout=T))["type"] == "hello"
        await self.ws.send_json({"type": "subscribe", "topics": list(topics)})
        reply = await self.ws.receive_json(timeout=T)
        assert reply["type"] == "subscribed" and reply["refused"] == [], reply

    async def read(self) -> None:
        async for msg in self.ws:
            data = msg.json()
            if data.get("type") == "event":
                self.add(data)

    def agent_states(self, agent_id: str) -> list[str]:
        """The agent's state in each message of their own topic, repeats folded."""
        states: list[str] = []
        for e in self.events:
            if e["topic"] == f"agent.{agent_id}" and e["data"].get("type") == "agent":
                state = e["data"]["agent"]["state"]
                if not states or states[-1] != state:
                    states.append(state)
        return states

    def wallboard_states(self, agent_id: str) -> list[str]:
        """The agent's state in each wallboard document, repeats folded."""
        states: list[str] = []
        for e in self.events:
            if e["topic"] == "wallboard":
                state = next(a["state"] for a in e["data"]["agents"] if a["id"] == agent_id)
                if not states or states[-1] != state:
                    states.append(state)
        return states


@contextlib.asynccontextmanager
async def live(http: aiohttp.ClientSession, floor: Floor, *topics: str) -> AsyncIterator[Live]:
    async with http.ws_connect(f"{floor.web_url}/api/live") as ws:
        client = Live(ws)
        await client.subscribe(*topics)
        reader = asyncio.ensure_future(client.read())
        try:
            yield client
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def hang_up(floor: Floor, call: SimCall) -> None:
    await floor.sim.hangup_channel(call.caller_channel)
    await asyncio.wait_for(call.ended(), T)


async def only(floor: Floor, agent_id: str, phone: Phone) -> None:
    """Log every other agent out; ``agent_id``'s phone is ``phone``."""
    for agent in floor.server.routing_config.agents.values():
        if agent.id != agent_id:
            await floor.server.routing.agent_logout(agent.id)
    floor.sim.add_phone(phone)


async def test_screen_pop_carries_the_ivr_path_inputs_and_lookup(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        await only(floor, "1003", Phone("PJSIP/1003", answer_after=1.0, talk_for=None))
        await CustomerStore(floor.server.db).upsert(CustomerRecord(
            phone="5551234", name="Ada Lovelace", account="12345", tier="gold"))
        http = await login(floor, "carla", "agent", "1003")
        try:
            async with live(http, floor, "agent.1003") as ws:
                call = await floor.sim.place_call(CallerScript(
                    caller_id="5551234", exten="200", hangup_after=None, steps=SUPPORT))
                event = await ws.wait(lambda e: e["data"].get("type") == "screen-pop")
                pop = event["data"]
                assert event["topic"] == "agent.1003"
                assert pop["agent_id"] == "1003" and pop["queue"] == "support"
                data = pop["data"]
                # What the caller did in the IVR before the queue, not an empty dict.
                assert data["flow"] == "demo" and data["caller_id"] == "5551234"
                assert data["ivr_path"].endswith("welcome/main_menu/support_account")
                assert data["account"] == "12345"  # typed on the keypad (input node)
                assert data["customer.name"] == "Ada Lovelace"  # the lookup by caller id

                # The same data the panel's second request gets: one shape, both ways.
                async with http.get(f"{floor.web_url}/api/panel/current") as r:
                    current = await r.json()
                [work] = current["work"]
                assert work["interaction_id"] == pop["interaction_id"]
                assert work["data"] == data
                await floor.server.routing.flush()
                rows = await floor.server.routing.log.events(
                    interaction_id=pop["interaction_id"])
                [connect] = [r for r in rows if r["kind"] == "connect"]
                assert connect["agent_id"] == "1003"
            await hang_up(floor, call)
        finally:
            await http.close()


async def test_agent_shows_ringing_while_the_phone_rings_then_busy(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        # Eight clock seconds of ringing: 0.8 real seconds, many wallboard publishes long.
        await only(floor, "1003", Phone("PJSIP/1003", answer_after=8.0, talk_for=None))
        sup = await login(floor, "sup", "supervisor")
        agent = await login(floor, "carla", "agent", "1003")
        try:
            async with live(sup, floor, "wallboard") as board, \
                    live(agent, floor, "agent.1003") as mine:
                call = await floor.sim.place_call(CallerScript(
                    caller_id="5551234", exten="200", hangup_after=None, steps=SUPPORT))
                await board.wait(lambda e: any(
                    a["id"] == "1003" and a["state"] == "ringing" for a in e["data"]["agents"]))
                await mine.wait(lambda e: e["data"].get("type") == "agent"
                                and e["data"]["agent"]["state"] == "busy")
                await board.wait(lambda e: any(
                    a["id"] == "1003" and a["state"] == "busy" for a in e["data"]["agents"]))
                assert call.connected_to == "PJSIP/1003"
                for states in (mine.agent_states("1003"), board.wallboard_states("1003")):
                    assert "ringing" in states and "busy" in states, states
                    ring = states.index("ringing")
                    assert states.index("busy") == ring + 1, states  # answered from ringing
                    assert set(states[:ring]) <= {"available", "reserved"}, states
            await floor.server.routing.flush()
            at = {r["kind"]: r["at"] for r in await floor.server.routing.log.events(limit=1000)}
            # Reported as the phone began to ring, not at the answer the phone gave eight
            # seconds later (half of it is slack for a loaded machine).
            assert at["offer"] <= at["ringing"]
            assert at["connect"] - at["ringing"] >= 4.0
            await hang_up(floor, call)
        finally:
            await sup.close()
            await agent.close()


async def test_agent_who_does_not_answer_goes_ringing_then_paused_for_no_answer(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        await only(floor, "1003", Phone("PJSIP/1003", answer_after=None))  # rings and rings
        agent = await login(floor, "carla", "agent", "1003")
        try:
            async with live(agent, floor, "agent.1003") as mine:
                call = await floor.sim.place_call(CallerScript(
                    caller_id="5551234", exten="200", hangup_after=None, steps=SUPPORT))
                paused = await mine.wait(lambda e: e["data"].get("type") == "agent"
                                         and e["data"]["agent"]["state"] == "paused")
                assert paused["data"]["agent"]["pause_reason"] == "no answer"
                states = mine.agent_states("1003")
                ring = states.index("ringing")
                assert states[ring + 1:] == ["paused"], states  # never answered
                assert "busy" not in states
            await floor.server.routing.flush()
            rows = await floor.server.routing.log.events(limit=1000)
            kinds = [r["kind"] for r in rows]
            assert kinds.index("ringing") < kinds.index("ring-no-answer")
            assert "connect" not in kinds
            assert call.connected_to is None
            await hang_up(floor, call)
        finally:
            await agent.close()
