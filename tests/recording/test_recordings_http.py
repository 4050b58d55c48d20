"""Recordings over HTTP: who may download, traversal payloads, planted symlinks, Range requests."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.domain.clock import Clock
from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode, RecordingPolicy
from contactcenter.recording.routes import add_recording_routes
from contactcenter.recording.service import RecordingService
from contactcenter.web.roles import Actor, check_route_roles

GOOD = "a" * 32
LINK = "b" * 32
ESCAPE = "c" * 32
OTHER_AGENT = "d" * 32
NOACCESS = "e" * 32


@web.middleware
async def _test_actor(request, handler):
    # Test-only stand-in for the auth middleware.
    role = request.headers.get("X-Test-Role")
    if role:
        request["actor"] = Actor(1, f"t-{role}", role, request.headers.get("X-Test-Agent"))
    return await handler(request)


@pytest.fixture
async def client(database, tmp_path):
    root = tmp_path / "rec"
    (root / "2026/05/01").mkdir(parents=True)
    body = bytes(range(256)) * 40  # 10240 bytes, contents checked by range
    (root / "2026/05/01/good.wav").write_bytes(body)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    os.symlink(secret, root / "2026/05/01/planted.wav")
    index = RecordingIndex(database)
    book = PolicyBook({"open": RecordingPolicy(RecordingMode.ALWAYS, agent_access=True),
                       "closed": RecordingPolicy(RecordingMode.ALWAYS, agent_access=False)})

    def rec(rid, file, queue="open", agent="a1"):
        return Recording(rid, f"int-{rid[:4]}", agent, queue, "555", "pbx1", "PJSIP/1001-01",
                         datetime(2026, 5, 1, tzinfo=UTC), None, file, "complete")

    await index.add(rec(GOOD, "2026/05/01/good.wav"))
    await index.add(rec(LINK, "2026/05/01/planted.wav"))
    await index.add(rec(ESCAPE, "../secret.txt"))
    await index.add(rec(OTHER_AGENT, "2026/05/01/good.wav", agent="a2"))
    await index.add(rec(NOACCESS, "2026/05/01/good.wav", queue="closed"))
    service = RecordingService(index, RecordingPaths(root), book, {}, Clock())
    app = web.Application(middlewares=[_test_actor])
    add_recording_routes(app, service)
    assert check_route_roles(app) == []
    async with TestClient(TestServer(app)) as c:
        c.body = body
        yield c


SUP = {"X-Test-Role": "supervisor"}


async def test_supervisor_downloads_and_seeks(client):
    r = await client.get(f"/api/recordings/{GOOD}/audio", headers=SUP)
    assert r.status == 200 and await r.read() == client.body
    assert r.headers["Accept-Ranges"] == "bytes"
    r = await client.get(f"/api/recordings/{GOOD}/audio", headers={**SUP, "Range": "bytes=100-199"})
    assert r.status == 206 and await r.read() == client.body[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(client.body)}"
    r = await client.get(f"/api/recordings/{GOOD}/audio", headers={**SUP, "Range": "bytes=-50"})
    assert r.status == 206 and await r.read() == client.body[-50:]
    r = await client.get(f"/api/recordings/{GOOD}/audio", headers={**SUP, "Range": "bytes=99999-"})
    assert r.status == 416


@pytest.mark.parametrize("path", [
    "/api/recordings/..%2F..%2Fsecret.txt/audio",
    "/api/recordings/%2e%2e%2fsecret.txt/audio",
    "/api/recordings/../../secret.txt/audio",
    "/api/recordings/..%252F..%252Fsecret.txt/audio",
    f"/api/recordings/{GOOD}%2F..%2F..%2Fsecret.txt/audio",
    f"/api/recordings/{GOOD.upper()}/audio",
    "/api/recordings/%00/audio",
])
async def test_traversal_payloads_get_403_or_404(client, path):
    r = await client.get(path, headers=SUP)
    assert r.status in (403, 404)
    assert b"not yours" not in await r.read()


async def test_planted_symlink_and_escaping_index_path_are_forbidden(client):
    for rid in (LINK, ESCAPE):
        r = await client.get(f"/api/recordings/{rid}/audio", headers=SUP)
        assert r.status == 403
        assert b"not yours" not in await r.read()


async def test_agent_access_only_own_calls_on_queues_that_allow_it(client):
    agent = {"X-Test-Role": "agent", "X-Test-Agent": "a1"}
    # Their own call, but ``/audio`` is a download and agents are not in the download roles
    # (``qa.download_roles``; tests/qa/test_audio_download_roles.py): 403, yet listed.
    assert (await client.get(f"/api/recordings/{GOOD}/audio", headers=agent)).status == 403
    assert (await client.get(f"/api/recordings/{GOOD}", headers=agent)).status == 200
    # Someone else's call, or a queue without agent_access: refused (ids are 128 random bits).
    for rid in (OTHER_AGENT, NOACCESS):
        assert (await client.get(f"/api/recordings/{rid}/audio", headers=agent)).status == 403
        assert (await client.get(f"/api/recordings/{rid}", headers=agent)).status == 403
    assert (await client.get(f"/api/recordings/{'0' * 32}/audio", headers=agent)).status == 404
    listed = await (await client.get("/api/recordings", headers=agent)).json()
    assert {r["id"] for r in listed["recordings"]} == {GOOD, LINK, ESCAPE}
    listed = await (await client.get("/api/recordings", headers=SUP)).json()
    assert len(listed["recordings"]) == 5
    meta = await (await client.get(f"/api/recordings/{GOOD}", headers=SUP)).json()
    assert meta["queue"] == "open" and "file" not in meta


async def test_no_actor_is_unauthorized(client):
    assert (await client.get(f"/api/recordings/{GOOD}/audio")).status == 401


async def test_bad_list_parameters_are_400_in_json_not_500(client):
    for query in ("offset=99999999999999999999", "limit=1001", "limit=-5", "offset=x",
                  "queue=a%00b", "agent_id=a%0d%0aX", "interaction_id=" + "x" * 65):
        r = await client.get(f"/api/recordings?{query}", headers=SUP)
        assert r.status == 400, query
        assert (await r.json())["error"], query
    r = await client.get("/api/recordings?limit=2&offset=1", headers=SUP)
    assert r.status == 200 and len((await r.json())["recordings"]) == 2


async def test_an_agent_user_linked_to_no_agent_lists_nothing(client):
    # Once answered with a NUL in the filter, which PostgreSQL refuses with a 500.
    r = await client.get("/api/recordings", headers={"X-Test-Role": "agent"})
    assert r.status == 200 and await r.json() == {"recordings": []}


async def test_refusals_are_json(client):
    agent = {"X-Test-Role": "agent", "X-Test-Agent": "a1"}
    for path, headers, status in ((f"/api/recordings/{OTHER_AGENT}", agent, 403),
                                  (f"/api/recordings/{'0' * 32}", SUP, 404),
                                  (f"/api/recordings/{GOOD}", {}, 401)):
        r = await client.get(path, headers=headers)
        assert r.status == status and (await r.json())["error"], path
