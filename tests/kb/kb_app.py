"""The knowledge base's app on a real socket, as the composition root installs it: auth, the
knowledge base's routes and the shell pages, and (for the media, assist and ticket-draft tests)
the tickets' routes and pages beside them. Users admin, sup and agent1 (agent 1001)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from kb_support import PASSWORD

from contactcenter.domain.clock import Clock
from contactcenter.kb.settings import KbSettings
from contactcenter.kb.wiring import KnowledgeBaseContext
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database
from contactcenter.tickets.routes import add_ticket_routes
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import TicketStore
from contactcenter.web.auth import AUTH_KEY, add_auth
from contactcenter.web.pages import add_shell_pages
from contactcenter.web.security import WebSecuritySettings


@dataclass
class KbEnv:
    """The running app, its knowledge base and (when asked for) its tickets."""

    server: TestServer
    context: KnowledgeBaseContext
    audit: AuditLog
    tickets: TicketService | None = None
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


@asynccontextmanager
async def kb_app(database: Database, password_hash: str, settings: KbSettings, *,
                 with_tickets: bool = False) -> AsyncIterator[KbEnv]:
    """The app on 127.0.0.1 with its three users; the tickets' routes too ``with_tickets``."""
    clock = Clock()
    audit = AuditLog(database, clock)
    context = KnowledgeBaseContext(database, clock, audit, settings)
    app = web.Application(client_max_size=1024 * 1024)
    add_auth(app, database, WebSecuritySettings(), audit, clock=clock)
    context.add_routes(app)
    tickets = None
    if with_tickets:
        tickets = TicketService(TicketSettings(), TicketStore(database), clock)
        add_ticket_routes(app, tickets, None)
    add_shell_pages(app)  # the login page and the shared script, for the editing page
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    store = app[AUTH_KEY].store
    for name, role, agent in (("admin", "admin", None), ("sup", "supervisor", None),
                              ("agent1", "agent", "1001")):
        await store.create_user(name, password_hash, role, agent, 0.0)
    env = KbEnv(server, context, audit, tickets)
    try:
        yield env
    finally:
        for http in env.clients:
            await http.close()
        await server.close()
