"""The live panel on a standby (issue 19, item 4): two nodes in one process on a real PostgreSQL.

A supervisor logged in through the standby (its requests passed to the leader) keeps a live
websocket on the standby, which gets the leader's events over LISTEN/NOTIFY; writes made
through the standby reach the leader.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import aiohttp
import pytest
from cluster_floor import PASSWORD
from test_node import cluster_node, health, running, settings_for, until

from contactcenter.app import standby_panel
from contactcenter.cluster.live_wire import (
    PAYLOAD_LIMIT,
    Beacon,
    Event,
    Interest,
    Joiner,
    encode_beacon,
    encode_event,
    encode_interest,
)
from contactcenter.domain.clock import Clock
from contactcenter.sim import SimConfig, Simulator
from contactcenter.storage.database import Database
from contactcenter.storage.schema import ensure_schema
from contactcenter.web.auth import hash_password
from contactcenter.web.users import UserStore

pytestmark = pytest.mark.timeout(120)


def test_wire_messages_round_trip_and_large_events_come_back_whole():
    joiner = Joiner()
    assert joiner.feed(encode_beacon(Beacon("a", 3, "http://10.0.0.1:8080"))) == Beacon(
        "a", 3, "http://10.0.0.1:8080")
    big = json.dumps({"rows": ["é\"\\" * 40 for _ in range(2000)]})  # escapes grow it
    parts = encode_event(Event(3, "wallboard", big), message_id=7)
    assert len(parts) > 1 and all(len(p.encode()) <= PAYLOAD_LIMIT for p in parts)
    assert [joiner.feed(p) for p in parts[:-1]] == [None] * (len(parts) - 1)
    assert joiner.feed(parts[-1]) == Event(3, "wallboard", big)
    small = encode_event(Event(3, "agent.1001", '{"a":1}'), message_id=8)
    assert len(small) == 1 and joiner.feed(small[0]) == Event(3, "agent.1001", '{"a":1}')
    topics = [f"agent.{n:06d}" for n in range(2000)]
    got: list[str] = []
    for payload in encode_interest("b", topics):
        assert len(payload) <= PAYLOAD_LIMIT
        message = joiner.feed(payload)
        assert isinstance(message, Interest) and message.node == "b"
        got.extend(message.topics)
    assert got == sorted(topics)
    assert [joiner.feed(p) for p in ("", "[]", '{"k":"event"}', '{"k":"part","i":0}')] == [
        None] * 4


async def _supervisor(url: str) -> None:
    db = Database(url)
    try:
        await ensure_schema(db)
        await UserStore(db).create_user("sup", hash_password(PASSWORD), "supervisor", None, 0.0)
    finally:
        await db.close()


async def test_a_standby_serves_the_panel_with_the_leaders_live_events(tmp_path, cluster_db_url):
    clock = Clock()
    sim = Simulator(SimConfig(ami_port=0, clock=clock, recordings_dir=tmp_path / "rec"))
    await sim.start()
    a_settings = settings_for(tmp_path, cluster_db_url, sim.ami_port, "a")
    b_settings = settings_for(tmp_path, cluster_db_url, sim.ami_port, "b")
    fast = replace(b_settings.cluster, check_s=0.2)  # the standby announces its topics faster
    b_settings = replace(b_settings, cluster=fast)
    await _supervisor(cluster_db_url)
    a = cluster_node(a_settings, clock)
    b = cluster_node(b_settings, clock)
    b.panel = standby_panel(b_settings, clock)
    b_url = f"http://127.0.0.1:{b_settings.web.port}"
    try:
        async with running(a), aiohttp.ClientSession(
                headers={"Origin": b_url}, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async def leads() -> bool:
                try:
                    status, _ = await health(http, a_settings)
                except aiohttp.ClientError:
                    return False
                return status == 200
            await until(leads, 60)
            async with running(b):
                async def b_knows_the_leader() -> bool:
                    return b.live_bus is not None and b.live_bus.leader is not None
                await until(b_knows_the_leader)
                status, body = await health(http, b_settings)
                assert status == 503 and body["status"] == "standby"  # balancers still skip it

                async with http.post(f"{b_url}/api/login",
                                     json={"username": "sup", "password": PASSWORD}) as r:
                    assert r.status == 200, await r.text()  # passed to the leader
                    http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
                async with http.get(f"{b_url}/agent") as r:
                    assert r.status == 200 and "<html" in (await r.text()).lower()

                ws = await http.ws_connect(f"{b_url}/api/live")
                hello = await ws.receive_json(timeout=10)
                assert hello["type"] == "hello" and hello["user"]["username"] == "sup"
                await ws.send_json({"type": "subscribe", "topics": ["agent.1001"]})
                assert (await ws.receive_json(timeout=10))["topics"] == ["agent.1001"]

                async def the_leader_wants_it() -> bool:
                    bus = getattr(a.leading, "live_bus", None)
                    return bus is not None and bus.wants("agent.1001")
                await until(the_leader_wants_it)

                # Writes through the standby: the leader logs the agent in, pauses it, says so.
                async with http.post(f"{b_url}/api/agents/1001/login", json={}) as r:
                    assert r.status == 200, await r.text()
                async with http.post(f"{b_url}/api/agents/1001/pause",
                                     json={"reason": "coaching"}) as r:
                    assert r.status == 200, await r.text()

                async def pause_seen() -> dict:
                    while True:
                        message = await ws.receive_json(timeout=30)
                        if message["type"] == "event" and "coaching" in json.dumps(
                                message["data"]):
                            return message
                event = await asyncio.wait_for(pause_seen(), 30)
                assert event["topic"] == "agent.1001"
                assert b.live_bus is not None and b.live_bus.received >= 1

                # Not a leader's websocket: the standby's own, and its gate is its own too.
                async with aiohttp.ClientSession() as anonymous, anonymous.get(
                        f"{b_url}/api/live", headers={"Origin": b_url}) as r:
                    assert r.status == 401

                # The standby's LISTEN session dies: events may have been missed meanwhile, so
                # the panel is told to reconnect and reload (1013), not left silently stale.
                db = Database(cluster_db_url)
                async with db.engine.connect() as conn:
                    await conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'contactcenter live b'")
                await db.close()
                closed = await ws.receive(timeout=30)
                while closed.type == aiohttp.WSMsgType.TEXT:
                    closed = await ws.receive(timeout=30)
                assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 1013
                await ws.close()
    finally:
        await sim.stop()


async def test_the_agent_page_through_a_standby_shows_the_leaders_changes_live(
        browser, tmp_path, cluster_db_url):
    from playwright.async_api import expect

    clock = Clock()
    sim = Simulator(SimConfig(ami_port=0, clock=clock, recordings_dir=tmp_path / "rec"))
    await sim.start()
    a_settings = settings_for(tmp_path, cluster_db_url, sim.ami_port, "a")
    b_settings = settings_for(tmp_path, cluster_db_url, sim.ami_port, "b")
    b_settings = replace(b_settings, cluster=replace(b_settings.cluster, check_s=0.2))
    await _supervisor(cluster_db_url)
    db = Database(cluster_db_url)
    await UserStore(db).create_user("ann", hash_password(PASSWORD), "agent", "1002", 0.0)
    await db.close()
    a, b = cluster_node(a_settings, clock), cluster_node(b_settings, clock)
    b.panel = standby_panel(b_settings, clock)
    a_url = f"http://127.0.0.1:{a_settings.web.port}"
    b_url = f"http://127.0.0.1:{b_settings.web.port}"
    try:
        async with running(a), aiohttp.ClientSession(
                headers={"Origin": a_url}, cookie_jar=aiohttp.CookieJar(unsafe=True)) as leader:
            async def leads() -> bool:
                try:
                    return (await health(leader, a_settings))[0] == 200
                except aiohttp.ClientError:
                    return False
            await until(leads, 60)
            async with leader.post(f"{a_url}/api/login",
                                   json={"username": "sup", "password": PASSWORD}) as r:
                leader.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
            async with running(b):
                async def b_knows_the_leader() -> bool:
                    return b.live_bus is not None and b.live_bus.leader is not None
                await until(b_knows_the_leader)
                context = await browser.new_context()
                page = await context.new_page()
                await page.goto(f"{b_url}/login")  # the balancer picked the standby
                await page.fill("#username", "ann")
                await page.fill("#password", PASSWORD)
                await page.click("#login-submit")
                await page.wait_for_url(lambda url: url.endswith("/agent"))
                state = page.locator("#state")
                await expect(state).to_have_text("logged_out", timeout=20_000)

                async def b_watches_ann() -> bool:
                    bus = getattr(a.leading, "live_bus", None)
                    return bus is not None and bus.wants("agent.1002")
                await until(b_watches_ann)
                # The supervisor acts on the leader; the page on the standby follows, no reload.
                async with leader.post(f"{a_url}/api/agents/1002/login", json={}) as r:
                    assert r.status == 200, await r.text()
                await expect(state).not_to_have_text("logged_out", timeout=20_000)
                async with leader.post(f"{a_url}/api/agents/1002/pause",
                                       json={"reason": "lunch"}) as r:
                    assert r.status == 200, await r.text()
                await expect(state).to_have_text("paused", timeout=20_000)
                await page.click("#available")  # a write from the page, through the standby
                await expect(state).to_have_text("available", timeout=20_000)
                await context.close()
    finally:
        await sim.stop()
