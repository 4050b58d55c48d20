"""What the media, assist and ticket-draft tests share: a real PNG, and the knowledge base's
app with the tickets' routes and pages beside it, as the composition root installs both."""

from __future__ import annotations

import struct
import zlib
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


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG of one colour, that a browser decodes (its natural size proves it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@dataclass
class DeskEnv:
    """The running app: the knowledge base and the tickets, users admin, sup, agent1."""

    server: TestServer
    kb_context: KnowledgeBaseContext
    tickets: TicketService
    audit: AuditLog
    clients: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def kb(self):  # type: ignore[no-untyped-def]
        return self.kb_context.service

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def client(self, username: str | None = None) -> aiohttp.ClientSession:
        """A client as the panel is one (cookie, Origin, CSRF header); anonymous with None."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Origin": self.url("/").rstrip("/")})
        self.clients.append(http)
        if username is not None:
            async with http.post(self.url("/api/login"),
                                 json={"username": username, "password": PASSWORD}) as r:
                assert r.status == 200, await r.text()
                http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
        return http


@asynccontextmanager
async def desk(database: Database, password_hash: str,
               settings: KbSettings) -> AsyncIterator[DeskEnv]:
    """Auth, the knowledge base's and the tickets' routes and pages on 127.0.0.1."""
    clock = Clock()
    audit = AuditLog(database, clock)
    context = KnowledgeBaseContext(database, clock, audit, settings)
    tickets = TicketService(TicketSettings(), TicketStore(database), clock)
    app = web.Application(client_max_size=1024 * 1024)
    add_auth(app, database, WebSecuritySettings(), audit, clock=clock)
    context.add_routes(app)
    add_ticket_routes(app, tickets, None)
    add_shell_pages(app)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    store = app[AUTH_KEY].store
    for name, role, agent in (("admin", "admin", None), ("sup", "supervisor", None),
                              ("agent1", "agent", "1001")):
        await store.create_user(name, password_hash, role, agent, 0.0)
    env = DeskEnv(server, context, tickets, audit)
    try:
        yield env
    finally:
        for http in env.clients:
            await http.close()
        await server.close()
