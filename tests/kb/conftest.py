"""Fixtures for the knowledge base's tests: the service over a real database (both backends
when CC_TEST_POSTGRES_URL is set), the web app on a real socket, a headless Chromium."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter.domain.clock import Clock
from contactcenter.kb.settings import KbSettings
from contactcenter.kb.wiring import KnowledgeBaseContext
from contactcenter.storage.audit import AuditLog
from contactcenter.web.auth import AUTH_KEY, add_auth, hash_password
from contactcenter.web.pages import add_shell_pages
from contactcenter.web.security import WebSecuritySettings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb_support import PASSWORD, SETTINGS


@dataclass
class KbEnv:
    """The running app and its knowledge base."""

    server: TestServer
    context: KnowledgeBaseContext
    audit: AuditLog
    clients: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def kb(self):  # type: ignore[no-untyped-def]
        return self.context.service

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def client(self, username: str | None = None,
                     source: str = "127.0.0.1") -> aiohttp.ClientSession:
        """A client as the panel is one (cookie, Origin, CSRF header); anonymous with None.
        ``source`` is the local address it connects from (any of 127.0.0.0/8)."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Origin": self.url("/").rstrip("/")},
                                     connector=aiohttp.TCPConnector(local_addr=(source, 0)))
        self.clients.append(http)
        if username is not None:
            async with http.post(self.url("/api/login"),
                                 json={"username": username, "password": PASSWORD}) as r:
                assert r.status == 200, await r.text()
                http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
        return http


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def kb_settings() -> KbSettings:
    """The knowledge base's settings; a test module may override this fixture."""
    return SETTINGS


@pytest.fixture
async def kb_env(database, password_hash, kb_settings) -> AsyncIterator[KbEnv]:
    """Auth and the knowledge base's routes on 127.0.0.1; users admin, sup, agent1."""
    clock = Clock()
    audit = AuditLog(database, clock)
    context = KnowledgeBaseContext(database, clock, audit, kb_settings)
    app = web.Application(client_max_size=1024 * 1024)
    add_auth(app, database, WebSecuritySettings(), audit, clock=clock)
    context.add_routes(app)
    add_shell_pages(app)  # the login page and the shared script, for the editing page
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    store = app[AUTH_KEY].store
    for name, role, agent in (("admin", "admin", None), ("sup", "supervisor", None),
                              ("agent1", "agent", "1001")):
        await store.create_user(name, password_hash, role, agent, 0.0)
    env = KbEnv(server, context, audit)
    try:
        yield env
    finally:
        for http in env.clients:
            await http.close()
        await server.close()



