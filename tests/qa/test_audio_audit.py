"""The older ``GET /api/recordings/{id}/audio`` is audited like the player's play: one
``recording.play`` row per request (a ticketless request may carry the whole file), with the
range asked, through the real login and a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from qa_audio import tone, write_wav
from qa_browser import PASSWORD

from contactcenter.domain.clock import Clock
from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode, RecordingPolicy
from contactcenter.recording.routes import add_recording_routes
from contactcenter.recording.service import RecordingService
from contactcenter.storage.audit import AuditLog
from contactcenter.web.auth import AUTH_KEY, add_auth
from contactcenter.web.security import WebSecuritySettings

REC = "f" * 32


async def test_every_audio_request_is_an_audited_play(database, tmp_path, password_hash):
    clock = Clock()
    root = tmp_path / "recordings"
    write_wav(root / "2026/05/01/x.wav", tone(1.0))
    audit = AuditLog(database, clock)
    index = RecordingIndex(database)
    book = PolicyBook({"sales": RecordingPolicy(RecordingMode.ALWAYS, 90, agent_access=True)})
    service = RecordingService(index, RecordingPaths(root), book, {}, clock, audit)
    started = datetime(2026, 5, 1, 10, tzinfo=UTC)
    await index.add(Recording(REC, "int-1", "1001", "sales", "5551234", "pbx1", "PJSIP/x-1",
                              started, started, "2026/05/01/x.wav", "complete"))
    app = web.Application()
    add_auth(app, database, WebSecuritySettings(), audit, clock=clock)
    add_recording_routes(app, service)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    store = app[AUTH_KEY].store
    await store.create_user("sup", password_hash, "supervisor", None, 0.0)
    await store.create_user("agent2", password_hash, "agent", "1002", 0.0)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            origin = str(server.make_url("/")).rstrip("/")
            async with http.post(server.make_url("/api/login"), headers={"Origin": origin},
                                 json={"username": "sup", "password": PASSWORD}) as r:
                assert r.status == 200
            url = server.make_url(f"/api/recordings/{REC}/audio")
            async with http.get(url) as r:
                assert r.status == 200 and len(await r.read()) == 44 + 16000
            async with http.get(url, headers={"Range": "bytes=44-"}) as r:
                assert r.status == 206
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
            async with other.post(server.make_url("/api/login"), headers={"Origin": origin},
                                  json={"username": "agent2", "password": PASSWORD}) as r:
                assert r.status == 200
            async with other.get(url) as r:
                assert r.status == 403  # another agent's call: refused, and no play row
        plays = [e for e in await audit.list(limit=50) if e.action == "recording.play"]
        assert [(e.actor, e.target, e.detail["range"]) for e in reversed(plays)] == [
            ("sup", REC, None), ("sup", REC, "bytes=44-")]
        assert plays[0].detail == {"via": "audio", "queue": "sales", "agent_id": "1001",
                                   "interaction_id": "int-1", "range": "bytes=44-"}
    finally:
        await server.close()
