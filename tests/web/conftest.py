"""Fixtures for the web tests: a real app (add_auth) on 127.0.0.1, real users, real sessions."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter.domain.clock import Clock
from contactcenter.storage.audit import AuditLog
from contactcenter.web.auth import AUTH_KEY, AuthServices, add_auth, hash_password
from contactcenter.web.roles import ADMIN, ANY_USER, STAFF, requires
from contactcenter.web.security import WebSecuritySettings

PASSWORD = "correct horse battery"


@requires(*STAFF)
async def staff_only(request: web.Request) -> web.Response:
    """A supervisor-level read, standing in for the wallboard API."""
    return web.json_response({"who": request["actor"].username})


@requires(ADMIN)
async def admin_change(request: web.Request) -> web.Response:
    """An admin-level write, standing in for a configuration change."""
    return web.json_response({"changed": True})


@requires(*ANY_USER)
async def any_user_post(request: web.Request) -> web.Response:
    """A state change any logged-in user may make (e.g. going available)."""
    return web.json_response({"ok": True, "role": request["actor"].role})


@dataclass
class WebEnv:
    """A running server plus handles on what it was built from."""

    server: TestServer
    app: web.Application
    audit: AuditLog
    settings: WebSecuritySettings
    users: dict[str, Any] = field(default_factory=dict)
    _clients: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def services(self) -> AuthServices:
        """The auth services ``add_auth`` stored on the app."""
        return self.app[AUTH_KEY]

    @property
    def origin(self) -> str:
        """The server's own origin, as a browser on the panel would send it."""
        return str(self.server.make_url("/")).rstrip("/")

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on the test server."""
        return str(self.server.make_url(path))

    def client(self, origin: str | None = "own") -> aiohttp.ClientSession:
        """A real HTTP client with its own cookie jar; sends Origin like a browser would."""
        headers = {}
        if origin is not None:
            headers["Origin"] = self.origin if origin == "own" else origin
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers)
        self._clients.append(session)
        return session

    async def login(
        self, client: aiohttp.ClientSession, username: str, password: str = PASSWORD
    ) -> str:
        """Log ``client`` in; returns the CSRF token."""
        async with client.post(
            self.url("/api/login"), json={"username": username, "password": password}
        ) as resp:
            assert resp.status == 200, await resp.text()
            return (await resp.json())["csrf_token"]

    async def logged_in(self, username: str) -> tuple[aiohttp.ClientSession, str]:
        """A new client logged in as ``username`` and its CSRF token."""
        client = self.client()
        return client, await self.login(client, username)

    def cookie(self, client: aiohttp.ClientSession) -> str:
        """The session cookie value a client holds."""
        for morsel in client.cookie_jar:
            if morsel.key == self.settings.cookie_name:
                return morsel.value
        raise AssertionError("no session cookie")


@pytest.fixture
def password() -> str:
    """The password every fixture user has."""
    return PASSWORD


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One scrypt hash of PASSWORD, shared so each test does not pay for hashing again."""
    return hash_password(PASSWORD)


@pytest.fixture
async def make_env(database, password_hash):
    """Factory: build and start an app with ``add_auth`` and the given settings overrides."""
    envs: list[WebEnv] = []

    async def build(
        clock: Clock | None = None,
        setup: Callable[[web.Application], None] | None = None,
        **overrides: Any,
    ) -> WebEnv:
        settings = replace(WebSecuritySettings(), **overrides)
        app = web.Application()
        audit = AuditLog(database)
        add_auth(app, database, settings, audit, clock=clock or Clock())
        app.router.add_get("/api/test/staff", staff_only)
        app.router.add_post("/api/test/admin", admin_change)
        app.router.add_post("/api/test/any", any_user_post)
        if setup is not None:
            setup(app)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        env = WebEnv(server, app, audit, settings)
        envs.append(env)
        store = env.services.store
        for name, role, agent_id in (
            ("admin", "admin", None),
            ("sup", "supervisor", None),
            ("agent1", "agent", "1001"),
            ("agent2", "agent", "1002"),
        ):
            existing = await store.get_by_username(name)
            env.users[name] = existing or await store.create_user(
                name, password_hash, role, agent_id, 0.0
            )
        return env

    yield build
    for env in envs:
        for client in env._clients:
            await client.close()
        with contextlib.suppress(Exception):
            await env.server.close()


@pytest.fixture
async def env(make_env) -> WebEnv:
    """The default app: same-origin only, cookie Secure decided by the scheme."""
    return await make_env()
