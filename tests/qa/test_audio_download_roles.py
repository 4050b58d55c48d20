"""``GET /api/recordings/{id}/audio`` follows ``qa.download_roles``: without the player's ticket
a request may carry the whole file, so it is a download. An agent outside the download roles is
refused (403, JSON error) even for their own call, and still plays it in the browser through
``/play`` + ``/stream``, as the player does; listing ``agent`` lets them fetch it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from qa_audio import tone, write_wav
from qa_browser import PASSWORD

from contactcenter.domain.clock import Clock
from contactcenter.qa.settings import QaSettings
from contactcenter.qa.wiring import QaContext
from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode, RecordingPolicy
from contactcenter.recording.routes import add_recording_routes
from contactcenter.recording.service import RecordingService
from contactcenter.storage.audit import AuditLog
from contactcenter.web.auth import AUTH_KEY, add_auth
from contactcenter.web.security import WebSecuritySettings

REC = "c" * 32
FILE = "2026/05/01/int-c-own.wav"
BOOK = PolicyBook({"support": RecordingPolicy(RecordingMode.ON_DEMAND, 30, agent_access=True)})


@asynccontextmanager
async def _server(database, root: Path, roles: list[str],
                  password_hash: str) -> AsyncIterator[tuple[TestServer, AuditLog]]:
    """The composition root's routes (the older recording API and the player) for ``roles``."""
    clock = Clock()
    audit = AuditLog(database, clock)
    recording = RecordingService(RecordingIndex(database), RecordingPaths(root), BOOK, {}, clock,
                                 audit)
    qa = QaContext(database, clock, audit, recording,
                   QaSettings(transcribe=False, download_roles=roles))
    app = web.Application()
    add_auth(app, database, WebSecuritySettings(), audit, clock=clock)
    add_recording_routes(app, recording)
    qa.add_routes(app)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    store = app[AUTH_KEY].store
    for name, role, agent in (("sup", "supervisor", None), ("agent1", "agent", "1001")):
        if await store.get_by_username(name) is None:
            await store.create_user(name, password_hash, role, agent, 0.0)
    try:
        yield server, audit
    finally:
        await qa.close()
        await server.close()


async def _login(server: TestServer, username: str) -> aiohttp.ClientSession:
    origin = str(server.make_url("/")).rstrip("/")
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 headers={"Origin": origin})
    async with http.post(server.make_url("/api/login"),
                         json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200
        http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
    return http


async def _own_call(database, root: Path) -> bytes:
    path = write_wav(root / FILE, tone(1.0))
    started = datetime(2026, 5, 1, 10, tzinfo=UTC)
    await RecordingIndex(database).add(Recording(
        REC, "int-c", "1001", "support", "5551234", "pbx1", "PJSIP/x-1", started, started, FILE,
        "complete", duration_s=1.0, sample_rate=8000, channels=1))
    return path.read_bytes()


async def test_an_agent_outside_download_roles_plays_but_cannot_fetch_audio(
        database, tmp_path, password_hash):
    root = tmp_path / "recordings"
    body = await _own_call(database, root)
    async with _server(database, root, ["supervisor", "admin"], password_hash) as (server, audit):
        agent = await _login(server, "agent1")
        sup = await _login(server, "sup")
        try:
            async with agent.get(server.make_url(f"/api/recordings/{REC}/audio")) as r:
                assert r.status == 403
                assert await r.json() == {"error": "your role may not download recordings"}
            async with agent.get(server.make_url(f"/api/recordings/{REC}/download")) as r:
                assert r.status == 403  # the player's download says the same
            # Playing in the browser is the player's: audited once, streamed with a ticket.
            async with agent.post(server.make_url(f"/api/recordings/{REC}/play")) as r:
                assert r.status == 200
                src = (await r.json())["src"]
            async with agent.get(server.make_url(src)) as r:
                assert r.status == 200 and await r.read() == body
            async with agent.get(server.make_url("/api/recordings/search")) as r:
                [entry] = (await r.json())["recordings"]
                assert entry["playable"] is True and entry["can_download"] is False
            async with sup.get(server.make_url(f"/api/recordings/{REC}/audio")) as r:
                assert r.status == 200 and await r.read() == body
        finally:
            await agent.close()
            await sup.close()
        rows = [(e.actor, e.action, (e.detail or {}).get("via"))
                for e in reversed(await audit.list(limit=50))
                if e.action.startswith("recording.")]
        # The refused requests wrote nothing; the play and the supervisor's fetch one row each.
        assert rows == [("agent1", "recording.play", None), ("sup", "recording.play", "audio")]


async def test_listing_agent_in_download_roles_lets_them_fetch_their_own_audio(
        database, tmp_path, password_hash):
    root = tmp_path / "recordings"
    body = await _own_call(database, root)
    async with _server(database, root, ["agent", "supervisor", "admin"],
                       password_hash) as (server, _audit):
        agent = await _login(server, "agent1")
        try:
            async with agent.get(server.make_url(f"/api/recordings/{REC}/audio"),
                                 headers={"Range": "bytes=44-"}) as r:
                assert r.status == 206 and await r.read() == body[44:]
        finally:
            await agent.close()
