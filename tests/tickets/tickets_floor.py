"""A tickets floor for tests: the real server (no PBX) with its SMTP listener on loopback, a
real SMTP server (aiosmtpd) standing in for the mail relay our outbound mail goes to, and
logged-in panel users over HTTP.

``tickets_floor`` starts ``ContactCenter`` with one mailbox (support@example.com -> queue
``email``) and two agents; ``send_mail`` speaks SMTP to our listener with smtplib (in a
thread: the standard library's client blocks); ``floor.relay`` collects what we send.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import aiohttp
from aiosmtpd.smtp import SMTP, Envelope, Session
from free_ports import free_port

from contactcenter.app import ContactCenter
from contactcenter.config.schema import (
    DatabaseSettings,
    FastAgiSettings,
    RoutingFiles,
    Settings,
    WebSettings,
)
from contactcenter.domain.clock import Clock
from contactcenter.qa.settings import QaSettings
from contactcenter.tickets.settings import (
    CsatSettings,
    ListenerSettings,
    MailboxSettings,
    SmtpSettings,
    TicketSettings,
)
from contactcenter.web.auth import AUTH_KEY, hash_password

PASSWORD = "tickets test password"
CSAT_SECRET = "tickets test csat secret"
SUPPORT = "support@example.com"
T = 15.0  # seconds: only catches hangs

QUEUES = """
queues:
  email:
    strategy: longest_idle
    wrapup_s: 0
    ring_timeout_s: {ring}
  escalated:
    strategy: longest_idle
    wrapup_s: 0
    ring_timeout_s: {ring}
"""
AGENTS = """
agents:
  - {{id: "a1", name: Alice, capacity: {{voice: 1, chat: 1, ticket: {capacity}}},
     queues: [email]}}
  - {{id: "a2", name: Bob, capacity: {{voice: 1, chat: 1, ticket: {capacity}}},
     queues: [email]}}
"""


class Relay:
    """A real SMTP server on loopback that keeps every mail it is given (our outbound relay).
    ``refuse`` makes it answer RCPT for that address with a permanent 550."""

    def __init__(self) -> None:
        self.mails: asyncio.Queue[tuple[Envelope, EmailMessage]] = asyncio.Queue()
        self.refuse: set[str] = set()
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        self.mails.put_nowait((envelope, msg))  # type: ignore[arg-type]
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="relay.test", loop=loop), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def next(self) -> tuple[Envelope, EmailMessage]:
        async with asyncio.timeout(T):
            return await self.mails.get()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass
class TicketsFloor:
    """The running server, its relay, and what a test needs to reach them."""

    settings: Settings
    clock: Clock
    server: ContactCenter
    relay: Relay
    port: int
    clients: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def smtp_port(self) -> int:
        port = self.server.tickets.smtp_port
        assert port is not None
        return port

    @property
    def tickets(self) -> Any:
        return self.server.tickets

    async def send_mail(self, raw: bytes | EmailMessage, *, sender: str = "ann@customer.test",
                        to: str = SUPPORT) -> None:
        """Deliver ``raw`` to our listener over SMTP; returns once it answered 250 (which it
        does only after the mail and what it caused are stored)."""
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw

        def deliver() -> None:
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=T) as smtp:
                smtp.sendmail(sender, [to], data)

        await asyncio.to_thread(deliver)

    async def user(self, username: str, agent_id: str | None, role: str = "agent",
                   *, login: bool = True) -> Client:
        store = self.server.web_app[AUTH_KEY].store
        await store.create_user(username, hash_password(PASSWORD), role, agent_id, time.time())
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Origin": self.url},
                                     timeout=aiohttp.ClientTimeout(total=T))
        self.clients.append(http)
        async with http.post(f"{self.url}/api/login",
                             json={"username": username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            csrf = (await r.json())["csrf_token"]
        client = Client(self, http, csrf)
        if login and agent_id:
            await client.call("POST", f"/api/agents/{agent_id}/login", {})
        return client

    async def settled(self) -> None:
        """Every routing event so far handled by the tickets (assignments stored)."""
        async with asyncio.timeout(T):
            await self.tickets.routing.settled()


@dataclass
class Client:
    floor: TicketsFloor
    http: aiohttp.ClientSession
    csrf: str

    async def call(self, method: str, path: str, body: Any = None,
                   expect: int | None = None) -> Any:
        async with self.http.request(method, f"{self.floor.url}{path}", json=body,
                                     headers={"X-CSRF-Token": self.csrf}) as r:
            data = await r.json() if r.content_type == "application/json" else await r.read()
            if expect is not None:
                assert r.status == expect, (method, path, r.status, data)
            elif r.status >= 300:
                raise AssertionError((method, path, r.status, data))
            return data


def tickets_settings(tmp_path: Path, *, port: int, relay_port: int, ring: float = 30,
                     capacity: int = 2, database_url: str | None = None,
                     csat: bool = False, **tickets: Any) -> Settings:
    (tmp_path / "flows").mkdir(parents=True, exist_ok=True)
    (tmp_path / "queues.yaml").write_text(QUEUES.format(ring=ring))
    (tmp_path / "agents.yaml").write_text(AGENTS.format(capacity=capacity))
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    base = TicketSettings(
        queue="email",
        mailboxes=[MailboxSettings(address=SUPPORT, name="Example Support", queue="email")],
        listener=ListenerSettings(enabled=True, port=0),
        smtp=SmtpSettings(host="127.0.0.1", port=relay_port, starttls=False, retry_s=0.05,
                          max_attempts=2, timeout_s=5),
        # The survey's links point at this server (the test's browser follows them).
        csat=CsatSettings(enabled=csat, secret=CSAT_SECRET,
                          public_url=f"http://127.0.0.1:{port}"))
    return Settings(
        web=WebSettings(port=port), fastagi=FastAgiSettings(port=0),
        database=DatabaseSettings(url=url),
        routing=RoutingFiles(queues_file=str(tmp_path / "queues.yaml"),
                             agents_file=str(tmp_path / "agents.yaml")),
        flows_dir=str(tmp_path / "flows"), recordings_dir=str(tmp_path / "recordings"),
        base_dir=str(tmp_path), qa=QaSettings(transcribe=False),
        tickets=replace(base, **tickets))


@contextlib.asynccontextmanager
async def tickets_floor(tmp_path: Path, **kwargs: Any) -> AsyncIterator[TicketsFloor]:
    relay = Relay()
    await relay.start()
    port = free_port()
    settings = tickets_settings(tmp_path, port=port, relay_port=relay.port, **kwargs)
    clock = Clock()
    server = ContactCenter(settings, clock=clock, upgrade_schema=True)
    await server.start()
    floor = TicketsFloor(settings, clock, server, relay, port)
    try:
        yield floor
    finally:
        for http in floor.clients:
            await http.close()
        await floor.server.stop()
        await relay.close()


async def logged_in_page(browser: Any, floor: TicketsFloor, username: str,
                         path: str = "/tickets", **context: Any) -> Any:
    """A page of a new browser context (``context``: its options), logged in as ``username``
    through the login form, then opened at ``path``."""
    page = await (await browser.new_context(**context)).new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"{floor.url}{path}")
    return page


def mail(subject: str, body: str, *, sender: str = "Ann Customer <ann@customer.test>",
         to: str = SUPPORT, message_id: str | None = None, in_reply_to: str | None = None,
         headers: dict[str, str] | None = None) -> EmailMessage:
    """A plain mail as a person's client would send it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or f"<{time.monotonic_ns()}@customer.test>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg
