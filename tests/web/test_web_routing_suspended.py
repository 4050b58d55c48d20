"""A stored routing entry that a file edit made invalid is suspended, not fatal (over HTTP)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.domain.clock import Clock
from contactcenter.recording.queue_policies import recording_problems
from contactcenter.routing.admin_routes import add_routing_admin_routes
from contactcenter.routing.config_editor import RoutingConfigEditor, load_merged
from contactcenter.routing.config_merge import load_routing_sources
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService
from contactcenter.web.auth import AUTH_KEY

ROOT = Path(__file__).resolve().parents[2]
LATAM = {"description": "Spanish line", "strategy": "longest_idle", "skills": {"spanish": 2}}


def _files(tmp_path: Path) -> tuple[Path, Path]:
    queues, agents = tmp_path / "queues.yaml", tmp_path / "agents.yaml"
    shutil.copy(ROOT / "config/queues.yaml", queues)
    shutil.copy(ROOT / "config/agents.yaml", agents)
    return queues, agents


async def test_a_file_edit_suspends_the_stored_entry_it_broke_and_a_fixed_save_lifts_it(
        make_env, database, tmp_path):
    queues, agents = _files(tmp_path)
    store = RoutingConfigStore(database)
    await store.put("queues", "latam", LATAM, True, 0, "admin", 1.0)
    merged, _stored, suspended = await load_merged(load_routing_sources(queues, agents), store)
    assert "latam" in merged.config.queues and suspended == {}

    # Someone edits agents.yaml: nobody speaks Spanish any more, the skill is gone from the
    # files, and the stored queue requiring it no longer checks out.
    agents.write_text(agents.read_text().replace("spanish", "german"))
    sources = load_routing_sources(queues, agents)
    merged, stored, suspended = await load_merged(sources, store)  # starts, does not raise
    assert "latam" not in merged.config.queues and "sales" in merged.config.queues
    (why,) = suspended[("queues", "latam")]
    assert "queue latam" in why and "spanish" in why
    assert (await store.load())["queues"]["latam"].document == LATAM  # nothing lost

    clock = Clock()
    routing = RoutingService(merged.config, clock, InteractionLog(database), rng_seed=1)
    await routing.start()
    editor = RoutingConfigEditor(sources, store, routing, clock, merged, stored,
                                 checks=[recording_problems], suspended=suspended)
    env = await make_env(
        clock=clock, setup=lambda app: add_routing_admin_routes(app, editor, app[AUTH_KEY].audit))
    try:
        admin, csrf = await env.logged_in("admin")
        async with admin.get(env.url("/api/admin/queues/latam")) as r:
            view = await r.json()
        assert r.status == 200 and view["in_force"] is False and view["suspended"] == [why]
        # Another change meanwhile is not blocked by the suspended entry.
        async with admin.post(env.url("/api/admin/skills"), headers={"X-CSRF-Token": csrf},
                              json={"name": "french", "document": {"description": "French"}}) as r:
            assert r.status == 201
        fixed = {**LATAM, "skills": {"german": 2}}
        async with admin.put(env.url("/api/admin/queues/latam"), headers={"X-CSRF-Token": csrf},
                             json={"document": fixed, "version": 1}) as r:
            saved = await r.json()
        assert r.status == 200, saved
        assert saved["suspended"] is None and saved["in_force"] is True
        assert routing.engine.queues["latam"].skills == {"german": 2}  # applied live
    finally:
        await routing.stop()


async def test_an_invalid_file_still_stops_the_start_with_file_and_line(database, tmp_path):
    queues, agents = _files(tmp_path)
    store = RoutingConfigStore(database)
    await store.put("queues", "latam", LATAM, True, 0, "admin", 1.0)
    queues.write_text(queues.read_text().replace("strategy: longest_idle", "strategy: fastest", 1))
    with pytest.raises(SourceErrors) as err:
        await load_merged(load_routing_sources(queues, agents), store)
    assert any(str(e).startswith(f"{queues}:") for e in err.value.errors)


async def _serve(make_env, database, sources, store):  # type: ignore[no-untyped-def]
    merged, stored, suspended = await load_merged(sources, store)
    clock = Clock()
    routing = RoutingService(merged.config, clock, InteractionLog(database), rng_seed=1)
    await routing.start()
    editor = RoutingConfigEditor(sources, store, routing, clock, merged, stored,
                                 checks=[recording_problems], suspended=suspended)
    env = await make_env(
        clock=clock, setup=lambda app: add_routing_admin_routes(app, editor, app[AUTH_KEY].audit))
    return env, routing, suspended


async def test_a_disabled_entry_must_be_a_well_formed_entry_too(make_env, database, tmp_path):
    store = RoutingConfigStore(database)
    env, routing, _ = await _serve(make_env, database,
                                   load_routing_sources(*_files(tmp_path)), store)
    try:
        admin, csrf = await env.logged_in("admin")
        h = {"X-CSRF-Token": csrf}
        # The contract run's body: YAML text that is a plain string, sent disabled.
        for kind, body in (
                ("agents", {"name": "Eve", "yaml": "__main__", "enabled": False}),
                ("queues", {"name": "q1", "yaml": "[1, 2]", "enabled": False}),
                ("queues", {"name": "q2", "document": {"strategy": "fastest"},
                            "enabled": False}),
                ("skills", {"name": "s1", "yaml": "7", "enabled": False})):
            async with admin.post(env.url(f"/api/admin/{kind}"), headers=h, json=body) as r:
                answer = await r.json()
            assert r.status == 422, (kind, body, answer)
            assert answer["errors"], answer
        assert (await store.load()) == {"queues": {}, "agents": {}, "skills": {}}
        # A disabled entry that is well formed but names what does not exist yet is accepted:
        # its references are checked when it is enabled.
        async with admin.post(env.url("/api/admin/queues"), headers=h, json={
                "name": "later", "document": {"skills": {"french": 1}}, "enabled": False}) as r:
            assert r.status == 201, await r.text()
        async with admin.post(env.url("/api/admin/skills"), headers=h,
                              json={"name": "french", "document": {"description": "F"}}) as r:
            assert r.status == 201, await r.text()
    finally:
        await routing.stop()


async def test_an_unreadable_stored_entry_is_suspended_and_can_be_reverted(
        make_env, database, tmp_path):
    store = RoutingConfigStore(database)
    # What an older server let through, and a row edited by hand into something not JSON.
    await store.put("agents", "Eve", "__main__", False, 0, "admin", 1.0)
    await store.put("queues", "latam", LATAM, True, 0, "admin", 1.0)
    if database.url.startswith("sqlite"):  # PostgreSQL's JSON column refuses such text
        async with database.session() as session, session.begin():
            await session.execute(sa.text(
                "UPDATE config_queues SET document = '{not json' WHERE name = 'latam'"))
    queues, agents = _files(tmp_path)
    env, routing, suspended = await _serve(make_env, database,
                                           load_routing_sources(queues, agents), store)
    try:
        assert "must be a mapping" in suspended[("agents", "Eve")][0]
        if database.url.startswith("sqlite"):
            assert "not readable JSON" in " ".join(suspended[("queues", "latam")])
            assert "latam" not in routing.config.queues
        admin, csrf = await env.logged_in("admin")
        h = {"X-CSRF-Token": csrf}
        async with admin.get(env.url("/api/admin/agents")) as r:
            listed = {e["name"]: e for e in (await r.json())["entries"]}
        assert r.status == 200 and listed["Eve"]["suspended"]
        # Other writes are not blocked by the bad entries ...
        async with admin.post(env.url("/api/admin/skills"), headers=h,
                              json={"name": "french", "document": {"description": "F"}}) as r:
            assert r.status == 201, await r.text()
        # ... and the bad entries can be dropped through the API.
        for path in ("/api/admin/agents/Eve?version=1", "/api/admin/queues/latam?version=1"):
            async with admin.delete(env.url(path), headers=h) as r:
                assert r.status == 200, await r.text()
        assert (await store.load())["agents"] == {} and (await store.load())["queues"] == {}
    finally:
        await routing.stop()
