"""Fixtures for quality's tests: a real web app (auth, the recording player, the QA routes) on
127.0.0.1 over a real database, with recordings whose WAV files the tests write."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter.domain.clock import Clock
from contactcenter.qa.settings import QaSettings
from contactcenter.qa.wiring import QaContext
from contactcenter.recording.index import Pause, Recording, RecordingIndex
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode, RecordingPolicy
from contactcenter.recording.service import RecordingService
from contactcenter.reports.wiring import STATIC_DIR as REPORTS_STATIC
from contactcenter.storage.audit import AuditLog
from contactcenter.web.auth import AUTH_KEY, add_auth, hash_password
from contactcenter.web.pages import add_pages
from contactcenter.web.security import WebSecuritySettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))

from qa_audio import RATE, write_wav
from qa_browser import PASSWORD

SAMPLING_SEED = "qa-tests"  # the sampling rules' picks repeat (test_sampling.py)
POLICIES = PolicyBook({
    "sales": RecordingPolicy(RecordingMode.ALWAYS, 90, agent_access=False, transcribe=True),
    "support": RecordingPolicy(RecordingMode.ON_DEMAND, 30, agent_access=True, transcribe=True),
    "billing": RecordingPolicy(RecordingMode.ALWAYS, 365, agent_access=False, transcribe=False),
})


@dataclass
class QaEnv:
    """The running app and what it was built from."""

    server: TestServer
    app: web.Application
    qa: QaContext
    recording: RecordingService
    audit: AuditLog
    root: Path
    clients: list[aiohttp.ClientSession] = field(default_factory=list)

    def url(self, path: str) -> str:
        """Absolute URL of ``path``."""
        return str(self.server.make_url(path))

    async def user(self, username: str, role: str, agent_id: str | None = None,
                   password_hash: str | None = None) -> None:
        """Create a user with ``PASSWORD``."""
        store = self.app[AUTH_KEY].store
        await store.create_user(username, password_hash or hash_password(PASSWORD), role,
                                agent_id, 0.0)

    async def client(self, username: str) -> aiohttp.ClientSession:
        """A logged-in client (cookie, Origin and CSRF header set like the panel's)."""
        origin = self.url("/").rstrip("/")
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Origin": origin})
        self.clients.append(http)
        async with http.post(self.url("/api/login"),
                             json={"username": username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
        return http

    async def add_recording(self, rec_id: str, samples: np.ndarray | None, *, queue: str = "sales",
                            agent_id: str | None = "1001", caller: str = "5551234",
                            started: datetime | None = None, status: str = "complete",
                            pauses: tuple[Pause, ...] = ()) -> Recording:
        """An index entry and (with ``samples``) its WAV under the recordings root."""
        started = started or datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
        rel = f"{started:%Y/%m/%d}/int-{rec_id[:6]}-{rec_id}.wav"
        duration = None
        if samples is not None:
            write_wav(self.root / rel, samples)
            duration = len(samples) / RATE
        rec = Recording(id=rec_id, interaction_id=f"int-{rec_id[:6]}", agent_id=agent_id,
                        queue=queue, caller_id=caller, pbx="pbx1", channel="PJSIP/x-1",
                        started_at=started, ended_at=started, file=rel, status=status,
                        duration_s=duration, sample_rate=RATE if samples is not None else None,
                        channels=1, pauses=pauses)
        await self.recording.index.add(rec)
        return rec


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One scrypt hash of PASSWORD for every user of a test session."""
    return hash_password(PASSWORD)


@pytest.fixture
async def qa_env(database, tmp_path, password_hash) -> AsyncIterator[QaEnv]:
    """The app with auth, the player and QA routes; users admin, sup, agent1 (1001), agent2
    (1002). The transcript worker is not started: tests that want it start it."""
    clock = Clock()
    root = tmp_path / "recordings"
    root.mkdir()
    audit = AuditLog(database, clock)
    recording = RecordingService(RecordingIndex(database), RecordingPaths(root), POLICIES, {},
                                 clock, audit)
    qa = QaContext(database, clock, audit, recording,
                   QaSettings(poll_s=0.2, max_attempts=2, job_timeout_s=120,
                              sampling_seed=SAMPLING_SEED))
    app = web.Application()
    add_auth(app, database, WebSecuritySettings(), audit, clock=clock)
    qa.add_routes(app)
    add_pages(app, "reports", REPORTS_STATIC, ())  # /qa charts with the reports' uPlot
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    env = QaEnv(server, app, qa, recording, audit, root)
    for name, role, agent in (("admin", "admin", None), ("sup", "supervisor", None),
                              ("agent1", "agent", "1001"), ("agent2", "agent", "1002")):
        await env.user(name, role, agent, password_hash)
    try:
        yield env
    finally:
        await qa.close()
        for http in env.clients:
            await http.close()
        await server.close()




@pytest.fixture
def chromium_args(chromium_args: list[str]) -> list[str]:
    """tests/conftest.py's Chromium, with audio allowed to play."""
    return [*chromium_args, "--autoplay-policy=no-user-gesture-required"]

