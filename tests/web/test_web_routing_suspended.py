"""A stored routing entry that a file edit made invalid is suspended, not fatal (over HTTP)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
