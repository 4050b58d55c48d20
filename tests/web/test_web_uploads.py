"""Admin uploads (flows, routing entries as YAML) over real sockets: checked off the event loop
with a time limit, aliases refused, control characters located, no server paths shown."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest

from contactcenter.domain.clock import Clock
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.routes import FlowAdmin
from contactcenter.ivr.settings import IvrSettings
from contactcenter.recording.queue_policies import recording_problems
from contactcenter.routing.admin_routes import add_routing_admin_routes
from contactcenter.routing.config_editor import RoutingConfigEditor, load_merged
from contactcenter.routing.config_merge import load_routing_sources
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.uploads import check_off_loop

ROOT = Path(__file__).resolve().parents[2]
# Nine times nine times ...: each line multiplies by nine. The probe's bomb had nine lines
# (billions of nodes); six keep the test survivable on a server without the fix (half a
# million nodes, seconds of a stalled loop) while still failing it.
BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]"
       for i in range(5)]) + "\n"


@pytest.fixture
async def upload_env(make_env, database, tmp_path):
    """A server with the flows' and the routing configuration's admin APIs; ``build(timeout)``."""
    flows_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "ivr_flows", flows_dir)
    registry = FlowRegistry(IvrSettings(flows_dir=flows_dir))
    registry.poll()
    sources = load_routing_sources(ROOT / "config/queues.yaml", ROOT / "config/agents.yaml")
    store = RoutingConfigStore(database)
    merged, stored, _ = await load_merged(sources, store)
    clock = Clock()
    routing = RoutingService(merged.config, clock, InteractionLog(database), rng_seed=1)
    await routing.start()
    editor = RoutingConfigEditor(sources, store, routing, clock, merged, stored,
                                 checks=[recording_problems])

    async def build(timeout: float = 10.0):  # type: ignore[no-untyped-def]
        def setup(app):  # type: ignore[no-untyped-def]
            audit = app[AUTH_KEY].audit
            app.add_routes(FlowAdmin(registry, flows_dir, audit, check_timeout=timeout).routes())
            add_routing_admin_routes(app, editor, audit, check_timeout=timeout)

        env = await make_env(clock=clock, setup=setup)
        env.flows_dir = flows_dir
        client, csrf = await env.logged_in("admin")
        return env, client, {"X-CSRF-Token": csrf}

    yield build
    await routing.stop()


async def test_a_yaml_alias_bomb_is_refused_where_the_alias_is(upload_env):
    env, admin, h = await upload_env()
    async with admin.post(env.url("/api/panel/flows/demo/validate"), headers=h,
                          json={"text": BOMB}) as r:
        body = await r.json()
    assert r.status == 200 and body["ok"] is False
    [err] = body["errors"]
    assert (err["line"], err["col"]) == (2, 8) and "aliases" in err["message"]
    async with admin.post(env.url("/api/admin/queues/sales/validate"), headers=h,
                          json={"yaml": BOMB}) as r:
        body = await r.json()
    assert r.status == 200 and body["ok"] is False
    assert [(e["line"], e["col"]) for e in body["errors"]] == [(2, 8)]
    async with admin.post(env.url("/api/admin/queues"), headers=h,
                          json={"name": "boom", "yaml": BOMB}) as r:
        body = await r.json()
    assert r.status == 422 and "aliases" in body["errors"][0]["message"]


async def test_uploads_are_checked_within_a_time_limit(upload_env):
    # A limit of 0 s cannot be met by work in another thread: every check runs out of time,
    # which proves that each of these routes goes through the limited, off-loop check.
    env, admin, h = await upload_env(timeout=0)
    flow = (env.flows_dir / "demo.yaml").read_text()
    for method, path, body in (
            ("POST", "/api/panel/flows/demo/validate", {"text": flow}),
            ("PUT", "/api/panel/flows/demo", {"text": flow}),
            ("POST", "/api/admin/queues/sales/validate", {"yaml": "strategy: longest_idle\n"}),
            ("POST", "/api/admin/skills", {"name": "french", "yaml": "description: F\n"})):
        async with admin.request(method, env.url(path), headers=h, json=body) as r:
            answer = await r.json()
        assert r.status == 422, (path, answer)
        assert "could not be checked within 0 s" in answer["error"]
    assert (env.flows_dir / "demo.yaml").read_text() == flow


async def test_the_server_answers_while_an_upload_is_being_checked(upload_env):
    env, admin, _h = await upload_env()
    started, release = threading.Event(), threading.Event()

    def slow_check() -> str:
        started.set()
        release.wait(60)  # a safety net only: the test releases it
        return "checked"

    check = asyncio.ensure_future(check_off_loop(slow_check))
    assert await asyncio.to_thread(started.wait, 60)
    async with admin.get(env.url("/api/session")) as r:
        assert r.status == 200
    assert not check.done()  # the loop served the request while the check was still running
    release.set()
    assert await check == "checked"


async def test_control_characters_in_yaml_are_422_with_the_position(upload_env):
    env, admin, h = await upload_env()
    text = "strategy: longest_idle\ndescription: bell\x07here\n"
    async with admin.post(env.url("/api/admin/queues"), headers=h,
                          json={"name": "ding", "yaml": text}) as r:
        body = await r.json()
    assert r.status == 422
    [err] = body["errors"]
    assert (err["line"], err["col"]) == (2, 18) and "U+0007" in err["message"]
    async with admin.put(env.url("/api/admin/queues/sales"), headers=h,
                         json={"yaml": "\x1b[31m: x\n", "version": 0}) as r:
        assert r.status == 422 and (await r.json())["errors"][0]["line"] == 1
    async with admin.post(env.url("/api/admin/queues/sales/validate"), headers=h,
                          json={"yaml": text}) as r:
        body = await r.json()
    assert r.status == 200 and body["ok"] is False and body["errors"][0]["line"] == 2


async def test_flow_answers_name_files_not_server_paths(upload_env):
    env, admin, h = await upload_env()
    (env.flows_dir / "broken.yaml").write_text("entry: nowhere\nnodes: {}\n")
    async with admin.get(env.url("/api/panel/flows")) as r:
        listed = await r.text()
    async with admin.get(env.url("/api/panel/flows/demo")) as r:
        one = await r.json()
    async with admin.post(env.url("/api/panel/flows/demo/validate"), headers=h,
                          json={"text": "entry: x\nnodes: {}\n"}) as r:
        checked = await r.json()
    assert one["file"] == "demo.yaml" and checked["errors"]
    assert all(e["file"] == "demo.yaml" and e["text"].startswith("demo.yaml:")
               for e in checked["errors"])
    for answer in (listed, str(one), str(checked)):
        assert str(env.flows_dir) not in answer
