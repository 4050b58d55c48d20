"""A chat floor for tests: the real server (no PBX), agents and visitors over real sockets.

``chat_floor`` starts ``ContactCenter`` on a SQLite file (or PostgreSQL) with one queue, a few
agents and chat channels; ``Visitor`` speaks the widget's HTTP and websocket protocol, and
``AgentClient`` is a logged-in panel user (session cookie, CSRF token, the live hub socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from free_ports import free_port

from contactcenter.app import ContactCenter
from contactcenter.chat.settings import ChatChannelSettings, ChatSettings, PrechatField
from contactcenter.config.schema import (
    DatabaseSettings,
    FastAgiSettings,
    RoutingFiles,
    Settings,
    WebSettings,
)
from contactcenter.domain.clock import Clock
from contactcenter.kb.settings import KbSettings
from contactcenter.web.auth import AUTH_KEY, hash_password

PASSWORD = "chat test password"
SITE = "http://127.0.0.1:9999"  # the origin of the (pretend) site embedding the widget
T = 15.0  # seconds: only catches hangs

QUEUES = """
queues:
  web:
    strategy: longest_idle
    wrapup_s: 30
    ring_timeout_s: {ring}
    aht_default_s: {aht}
  billing:
    wrapup_s: 0
    ring_timeout_s: {ring}
"""
AGENTS = """
agents:
  - {id: "a1", name: Alice, capacity: {voice: 1, chat: 1}, queues: [web, billing]}
  - {id: "a2", name: Bob, capacity: {voice: 1, chat: 2}, queues: [web]}
"""


def site_channel(**overrides: Any) -> ChatChannelSettings:
    """The test site's chat channel: name, email with a pattern, a topic picking the queue."""
    from contactcenter.chat.settings import PrechatRule

    base = ChatChannelSettings(
        name="site", queue="web", allowed_origins=[SITE],
        prechat=[PrechatField(name="name", label="Your name", required=True),
                 PrechatField(name="email", label="Email", type="email", required=True,
                              pattern=r"[^@\s]+@[^@\s]+\.[a-z]{2,}",
                              message="Please enter a valid email"),
                 PrechatField(name="topic", label="Topic", type="select",
                              options=["general", "billing"])],
        rules=[PrechatRule(field="topic", equals="billing", queue="billing")])
    return replace(base, **overrides)


@dataclass
class ChatFloor:
    """The running server and what a test needs to reach it."""

    settings: Settings
    clock: Clock
    server: ContactCenter
    port: int
    clients: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def chat(self) -> Any:
        return self.server.chat.service

    async def add_user(self, username: str, agent_id: str | None,
                       role: str = "agent") -> None:
        store = self.server.web_app[AUTH_KEY].store
        await store.create_user(username, hash_password(PASSWORD), role, agent_id, time.time())

    async def agent(self, username: str, agent_id: str, *, login: bool = True,
                    role: str = "agent") -> AgentClient:
        """A panel user for ``agent_id``, logged in to the web and (``login``) to its queues."""
        await self.add_user(username, agent_id, role)
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Origin": self.url})
        self.clients.append(http)
        async with http.post(f"{self.url}/api/login",
                             json={"username": username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            csrf = (await r.json())["csrf_token"]
        client = AgentClient(self, http, csrf, agent_id)
        if login:
            await client.post(f"/api/agents/{agent_id}/login", {})
        return client

    def visitor(self, origin: str | None = SITE, channel: str = "site") -> Visitor:
        http = aiohttp.ClientSession(headers={"Origin": origin} if origin else {})
        self.clients.append(http)
        return Visitor(self, http, channel, origin)

    async def restart(self) -> None:
        """Stop the server and start a new one on the same port and database."""
        await self.server.stop()
        self.server = ContactCenter(self.settings, clock=self.clock)
        await self.server.start()


@dataclass
class AgentClient:
    """A logged-in panel user linked to an agent."""

    floor: ChatFloor
    http: aiohttp.ClientSession
    csrf: str
    agent_id: str
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _live: Any = None
    _reader: asyncio.Task[None] | None = None

    async def post(self, path: str, body: dict[str, Any], expect: int | None = None) -> Any:
        async with self.http.post(f"{self.floor.url}{path}", json=body,
                                  headers={"X-CSRF-Token": self.csrf}) as r:
            data = await r.json()
            if expect is not None:
                assert r.status == expect, (r.status, data)
            elif r.status >= 300:
                raise AssertionError((path, r.status, data))
            return data

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.floor.url}{path}") as r:
            assert r.status == 200, (path, r.status, await r.text())
            return await r.json()

    async def listen(self) -> None:
        """Subscribe to this agent's live topic; its chat events land in ``events``."""
        self._live = await self.http.ws_connect(f"{self.floor.url}/api/live")
        await self._live.send_json({"type": "subscribe", "topics": [f"agent.{self.agent_id}"]})
        while (await self._live.receive_json(timeout=T))["type"] != "subscribed":
            pass

        async def read() -> None:
            async for msg in self._live:
                data = json.loads(msg.data)
                if data.get("type") == "event" and str(data["data"].get("type", "")).startswith(
                        "chat"):
                    self.events.put_nowait(data["data"])

        self._reader = asyncio.create_task(read())

    async def next_event(self, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The next live chat event that satisfies ``pred`` (others are skipped)."""
        async with asyncio.timeout(T):
            while True:
                event = await self.events.get()
                if pred(event):
                    return event

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._live is not None:
            await self._live.close()


@dataclass
class Visitor:
    """A widget's side of the wire: start over HTTP, then the socket."""

    floor: ChatFloor
    http: aiohttp.ClientSession
    channel: str
    origin: str | None
    conversation_id: str = ""
    token: str = ""
    ws: Any = None
    frames: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"{self.floor.url}/api/chat/widget/{self.channel}"

    async def start(self, answers: dict[str, str] | None = None, **extra: Any) -> Any:
        """POST the start; returns (status, body). A 201 remembers the conversation."""
        body = {"answers": answers if answers is not None else
                {"name": "Vera", "email": "vera@example.com"}, **extra}
        async with self.http.post(f"{self.base}/conversations", json=body) as r:
            data = await r.json()
            if r.status == 201:
                self.conversation_id, self.token = data["conversation_id"], data.get("token", "")
            return r.status, data

    async def connect(self, after: int = 0) -> dict[str, Any]:
        """Open the socket and say hello; returns the welcome."""
        self.frames = []
        self.ws = await self.http.ws_connect(f"{self.base}/ws")
        await self.ws.send_json({"type": "hello", "conversation_id": self.conversation_id,
                                 "token": self.token, "after": after})
        return await self.frame(lambda f: f["type"] == "welcome")

    async def frame(self, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The next frame satisfying ``pred``; every frame read is kept in ``frames``."""
        async with asyncio.timeout(T):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"socket ended: {msg.type} {msg.data} {msg.extra}")
                data = json.loads(msg.data)
                self.frames.append(data)
                if pred(data):
                    return data

    async def active(self) -> None:
        """Until the chat is active. A chat accepted before the socket came up (auto-accept, a
        fast accept) says so in the welcome and sends no state frame; otherwise one follows."""
        seen = [f["state"] for f in self.frames if f["type"] in ("welcome", "state")]
        if seen and seen[-1] == "active":
            return
        await self.frame(lambda f: f["type"] == "state" and f["state"] == "active")

    async def say(self, text: str, client_id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "message", "text": text}
        if client_id is not None:
            frame["client_id"] = client_id
        await self.ws.send_json(frame)

    def messages(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "message"]


def chat_settings(tmp_path: Path, *, channels: list[ChatChannelSettings] | None = None,
                  ring_s: float = 30, aht_s: float = 120, port: int = 0,
                  database_url: str | None = None, kb: KbSettings | None = None,
                  **chat: Any) -> Settings:
    """Settings of a chat-only server under ``tmp_path`` (no PBX, no flows)."""
    (tmp_path / "flows").mkdir(exist_ok=True)
    (tmp_path / "queues.yaml").write_text(QUEUES.format(ring=ring_s, aht=aht_s))
    (tmp_path / "agents.yaml").write_text(AGENTS)
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    return Settings(
        web=WebSettings(port=port), fastagi=FastAgiSettings(port=0),
        database=DatabaseSettings(url=url),
        routing=RoutingFiles(queues_file=str(tmp_path / "queues.yaml"),
                             agents_file=str(tmp_path / "agents.yaml")),
        flows_dir=str(tmp_path / "flows"), recordings_dir=str(tmp_path / "recordings"),
        base_dir=str(tmp_path), kb=kb or KbSettings(),
        chat=ChatSettings(channels=channels if channels is not None else [site_channel()],
                          **chat))


@contextlib.asynccontextmanager
async def chat_floor(tmp_path: Path, *, speed: float = 1.0, port: int | None = None,
                     **kwargs: Any) -> AsyncIterator[ChatFloor]:
    """The server on a fixed free port (so a restart keeps the visitors' URL)."""
    port = port or free_port()
    settings = chat_settings(tmp_path, port=port, **kwargs)
    clock = Clock(speed=speed)
    server = ContactCenter(settings, clock=clock, upgrade_schema=True)
    await server.start()
    floor = ChatFloor(settings, clock, server, port)
    try:
        yield floor
    finally:
        for http in floor.clients:
            await http.close()
        await floor.server.stop()


class CuttableProxy:
    """A TCP relay in front of the server whose network can be cut: ``cut()`` resets every
    connection through it and refuses new ones until ``restore()``. Real sockets, so what the
    browser sees is what a dropped mobile connection looks like."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cut_off = False
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        pair = (writer, up_writer)
        self._pairs.add(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort() if self.cut_off else dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._pairs.discard(pair)

    def cut(self) -> None:
        self.cut_off = True
        for a, b in list(self._pairs):
            a.transport.abort()
            b.transport.abort()

    def restore(self) -> None:
        self.cut_off = False

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def site_page(widget_base: str, channel: str = "site", after: str = "") -> str:
    """A shop's page on another origin, embedding the widget with its one tag (``after``: the
    site's own script, e.g. an ``identify`` call)."""
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
            "<body><h1>A shop</h1><p>Products.</p>"
            f"<script src='{widget_base}/chat/widget.js' data-channel='{channel}'></script>"
            f"{after}</body></html>")


@contextlib.asynccontextmanager
async def site_server(port: int, page: str, more: dict[str, str] | None = None,
                      headers: dict[str, str] | None = None) -> AsyncIterator[str]:
    """Serve ``page`` at ``/`` (and ``more``'s pages at their paths) on ``port``, under any host
    name: 127.0.0.1 and localhost differ as origins, which the tests use for an allowed and a
    refused site. ``headers``: on every page (a site's Content-Security-Policy)."""
    from aiohttp import web

    pages = {"/": page, **(more or {})}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.path], content_type="text/html",
                            headers=headers)

    app = web.Application()
    for path in pages:
        app.router.add_get(path, serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
