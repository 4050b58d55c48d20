"""The routing configuration API on a real server over the real database: skills, agents and
queues edited by an admin reach the running router at once; invalid, stale or untimely
changes are refused and change nothing; supervisors read but cannot write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.routing_events import Offered
from contactcenter.recording.queue_policies import recording_problems
from contactcenter.routing.admin_routes import add_routing_admin_routes
from contactcenter.routing.config_editor import RoutingConfigEditor, load_merged
from contactcenter.routing.config_merge import load_routing_sources
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService
from contactcenter.web.auth import AUTH_KEY

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10


@pytest.fixture
async def admin_env(make_env, database):
    """A server with the routing admin API over a running RoutingService on ``database``."""
    clock = Clock()
    sources = load_routing_sources(ROOT / "config/queues.yaml", ROOT / "config/agents.yaml")
    store = RoutingConfigStore(database)
    merged, stored, _suspended = await load_merged(sources, store)
    routing = RoutingService(merged.config, clock, InteractionLog(database), rng_seed=1)
    await routing.start()
    editor = RoutingConfigEditor(sources, store, routing, clock, merged, stored,
                                 checks=[recording_problems])
    env = await make_env(
        clock=clock, setup=lambda app: add_routing_admin_routes(app, editor, app[AUTH_KEY].audit))
    env.routing, env.editor, env.store = routing, editor, store
    yield env
    await routing.stop()


async def _as(env, username):  # type: ignore[no-untyped-def]
    client, csrf = await env.logged_in(username)
    return client, {"X-CSRF-Token": csrf}


async def _json(resp):  # type: ignore[no-untyped-def]
    return resp.status, await resp.json()


async def test_admin_adds_a_skill_gives_it_to_an_agent_and_a_queue_routes_to_them(admin_env):
    env = admin_env
    admin, h = await _as(env, "admin")
    async with admin.post(env.url("/api/admin/skills"), headers=h,
                          json={"name": "french", "document": {"description": "French"}}) as r:
        status, skill = await _json(r)
    assert status == 201 and (skill["version"], skill["source"]) == (1, "database")

    async with admin.get(env.url("/api/admin/agents/1003")) as r:
        carla = await r.json()
    assert (carla["version"], carla["source"]) == (0, "file")
    doc = {**carla["document"], "skills": {**carla["document"]["skills"], "french": 4}}
    async with admin.put(env.url("/api/admin/agents/1003"), headers=h,
                         json={"document": doc, "version": 0}) as r:
        status, saved = await _json(r)
    assert status == 200 and saved["version"] == 1
    assert saved["source"] == "database (overrides the file)"
    assert env.routing.agent("1003").skills["french"] == 4  # live, no restart

    queue_yaml = "description: French line\nstrategy: longest_idle\nskills: {french: 2}\n"
    async with admin.post(env.url("/api/admin/queues"), headers=h,
                          json={"name": "french", "yaml": queue_yaml}) as r:
        status, queue = await _json(r)
    assert status == 201 and queue["document"]["skills"] == {"french": 2}

    await env.routing.agent_login("1003", ["french"])
    iid = await env.routing.enqueue(Interaction("voice", "french", id="call-fr-1"))
    offer = await _first(env.routing.updates(iid), Offered)
    assert (offer.agent_id, offer.queue, offer.dial_string) == ("1003", "french", "PJSIP/1003")

    actions = [(e.action, e.target, e.outcome) for e in await env.audit.list(
        action_prefix="config.")]
    assert actions == [("config.queue.create", "french", "ok"),
                       ("config.agent.save", "1003", "ok"),
                       ("config.skill.create", "french", "ok")]
    agent_save = (await env.audit.list(action_prefix="config.agent."))[0]
    assert agent_save.detail["diff"]["changed"]["skills"]["to"]["french"] == 4
    # A restart builds the same configuration from the files and the database.
    again, _stored, _suspended = await load_merged(env.editor.sources, env.store)
    assert again.config == env.routing.config
    assert again.config.queues["french"].skills == {"french": 2}


async def test_invalid_change_is_refused_with_field_and_line_and_nothing_changes(admin_env):
    env = admin_env
    admin, h = await _as(env, "admin")
    before = env.routing.engine.queues["sales"]
    async with admin.put(env.url("/api/admin/queues/sales"), headers=h, json={
            "version": 0, "document": {"skills": {"english": 11, "klingon": 1},
                                       "strategy": "fastest"}}) as r:
        status, body = await _json(r)
    assert status == 422 and "nothing was saved" in body["error"]
    assert {(e["field"], e["message"]) for e in body["errors"]} >= {
        ("skills.english", "skill level must be an integer 1..10, got 11"),
        ("strategy", "'fastest' is not a valid Strategy")}
    async with admin.post(env.url("/api/admin/queues/sales/validate"), headers=h,
                          json={"yaml": "strategy: longest_idle\nskills:\n  englsh: 1\n"}) as r:
        status, checked = await _json(r)
    assert status == 200 and checked["ok"] is False
    [err] = checked["errors"]
    assert (err["line"], err["col"], err["field"]) == (3, 3, "skills.englsh")
    assert "unknown skill 'englsh'" in err["message"]
    # A change that breaks a cross-reference elsewhere is refused where the reference is.
    async with admin.patch(env.url("/api/admin/queues/operator"), headers=h,
                           json={"enabled": False, "version": 0}) as r:
        status, body = await _json(r)
    assert status == 422
    assert any(e["source"].endswith("queues.yaml") and "unknown queue 'operator'" in e["message"]
               for e in body["errors"])
    assert env.routing.engine.queues["sales"] is before
    assert "operator" in env.routing.engine.queues
    assert (await env.store.load())["queues"] == {}
    refused = [e.outcome for e in await env.audit.list(action_prefix="config.queue.")]
    assert refused == ["refused", "refused"]


async def test_stale_version_gets_409_and_keeps_the_newer_entry(admin_env):
    env = admin_env
    admin, h = await _as(env, "admin")
    doc = {"name": "Jon", "dial_string": "Local/1010@agents", "skills": {"english": 4},
           "queues": ["operator"]}
    async with admin.put(env.url("/api/admin/agents/1010"), headers=h,
                         json={"document": {**doc, "name": "Jon A"}, "version": 0}) as r:
        assert r.status == 200
    async with admin.put(env.url("/api/admin/agents/1010"), headers=h,
                         json={"document": {**doc, "name": "Jon B"}, "version": 0}) as r:
        status, body = await _json(r)
    assert status == 409 and body["current_version"] == 1
    assert env.routing.agent("1010").name == "Jon A"
    assert [e.outcome for e in await env.audit.list(action_prefix="config.agent.")] == [
        "conflict", "ok"]


async def test_supervisor_reads_but_gets_403_on_every_write(admin_env):
    env = admin_env
    sup, h = await _as(env, "sup")
    async with sup.get(env.url("/api/admin/queues")) as r:
        status, body = await _json(r)
    assert status == 200 and [e["name"] for e in body["entries"]][:2] == ["sales", "support"]
    writes = [("POST", "/api/admin/skills", {"name": "x", "document": {}}),
              ("PUT", "/api/admin/queues/sales", {"version": 0, "document": {}}),
              ("PATCH", "/api/admin/agents/1001", {"enabled": False, "version": 0}),
              ("DELETE", "/api/admin/agents/1001?version=1", None),
              ("POST", "/api/admin/queues/sales/validate", {"document": {}})]
    for method, path, body in writes:
        async with sup.request(method, env.url(path), headers=h, json=body) as r:
            assert r.status == 403, (method, path)
    agent, _ = await _as(env, "agent1")
    async with agent.get(env.url("/api/admin/agents")) as r:
        assert r.status == 403
    assert (await env.store.load())["skills"] == {}


async def test_engine_refusal_disabling_a_busy_agent_and_queue_then_revert(admin_env):
    env = admin_env
    admin, h = await _as(env, "admin")
    await env.routing.agent_login("1010")
    iid = await env.routing.enqueue(Interaction("voice", "operator", skills={"english": 1},
                                                id="op-1"))
    await _first(env.routing.updates(iid), Offered)
    async with admin.patch(env.url("/api/admin/agents/1010"), headers=h,
                           json={"enabled": False, "version": 0}) as r:
        status, body = await _json(r)
    assert status == 409 and "nothing was saved" in body["error"]
    assert any("agent 1010: has work in progress" in p for p in body["problems"])
    assert "1010" in env.routing.engine.agents and (await env.store.load())["agents"] == {}
    await env.routing.abandon(iid)
    async with admin.patch(env.url("/api/admin/agents/1010"), headers=h,
                           json={"enabled": False, "version": 0}) as r:
        status, body = await _json(r)
    assert status == 200 and (body["enabled"], body["in_force"], body["version"]) == (
        False, False, 1)
    assert "1010" not in env.routing.engine.agents
    await env.routing.flush()  # the logout was stored: a restart will not log them back in
    rows = {r.agent_id: r.presence for r in await env.routing.log.agents()}
    assert rows["1010"] == "logged_out"
    async with admin.delete(env.url("/api/admin/agents/1010?version=1"), headers=h) as r:
        status, body = await _json(r)
    assert status == 200 and (body["source"], body["in_force"]) == ("file", True)
    assert env.routing.agent("1010").state == "logged_out"


async def test_admins_are_told_of_changes_live_and_the_api_is_documented(admin_env):
    env = admin_env
    admin, h = await _as(env, "admin")
    async with admin.ws_connect(env.url("/api/live")) as ws:
        assert (await ws.receive_json(timeout=TIMEOUT))["type"] == "hello"
        await ws.send_json({"type": "subscribe", "topics": ["admin.config"]})
        assert (await ws.receive_json(timeout=TIMEOUT))["topics"] == ["admin.config"]
        async with admin.post(env.url("/api/admin/skills"), headers=h,
                              json={"name": "german", "document": {}}) as r:
            assert r.status == 201
        msg = await ws.receive_json(timeout=TIMEOUT)
        assert msg["data"] == {"type": "config", "kind": "skills", "name": "german",
                               "action": "create", "version": 1, "by": "admin"}
    async with admin.get(env.url("/api/openapi.json")) as r:
        paths = (await r.json())["paths"]
    put = paths["/api/admin/queues/{name}"]["put"]
    assert put["x-roles"] == ["admin"] and {"409", "422"} <= set(put["responses"])
    assert paths["/api/admin/skills"]["get"]["x-roles"] == ["admin", "supervisor"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))


async def _first(stream, cls):  # type: ignore[no-untyped-def]
    async def find():  # type: ignore[no-untyped-def]
        async for ev in stream:
            if isinstance(ev, cls):
                return ev
        return None

    return await asyncio.wait_for(find(), TIMEOUT)
