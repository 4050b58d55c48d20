"""A standby's web server: its health, the live panel fed by the leader, everything else passed on.

Design note. A balancer may send a panel user to any node (docs/deploy.md). The standby keeps
the user's live websocket itself (``/api/live``: sessions are rows of the shared database, so it
authenticates them as the leader would, and ``StandbyBus`` feeds its hub with the leader's
events), and passes every other request, pages and writes alike, to the leader's web server
named in the leader's beacon, as they came: method, path, query, body, cookies, ``Host`` and
``Origin`` untouched (the leader's own origin and CSRF checks judge them), with
``X-Forwarded-For`` added. Other websockets (the chat widget's) are relayed frame for frame. No
leader known yet, or the leader not answering: 503 / 502 in the API's JSON error shape, which
the panel shows and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from contactcenter.web.live import LiveHub
from contactcenter.web.security import WebSecuritySettings, install_security

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Headers about one hop: never passed on (RFC 9110 7.6.1), plus what aiohttp recomputes.
_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                  "te", "trailer", "transfer-encoding", "upgrade", "content-length"})
_WS_HOP = _HOP | {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
                  "sec-websocket-accept"}
MAX_BODY = 64 * 1024 * 1024  # the leader applies its own, smaller limits per route


class LeaderProxy:
    """Passes a request to the leader's web server and its answer back."""

    def __init__(self, leader_url: Callable[[], str | None], no_leader: Handler,
                 timeout_s: float = 60.0) -> None:
        self.leader_url = leader_url
        self.no_leader = no_leader
        self.timeout_s = timeout_s
        self._http: aiohttp.ClientSession | None = None

    async def start(self, _app: web.Application | None = None) -> None:
        # Bodies pass as they are (compressed or not); cookies are the browser's, not a jar's.
        self._http = aiohttp.ClientSession(
            auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s))

    async def close(self, _app: web.Application | None = None) -> None:
        if self._http is not None:
            await self._http.close()

    def _headers(self, request: web.Request, skip: frozenset[str]) -> CIMultiDict[str]:
        headers = CIMultiDict((k, v) for k, v in request.headers.items()
                              if k.lower() not in skip)
        seen = request.headers.get("X-Forwarded-For")
        peer = request.remote or ""
        headers["X-Forwarded-For"] = f"{seen}, {peer}" if seen else peer
        return headers

    async def handle(self, request: web.Request) -> web.StreamResponse:
        base = self.leader_url()
        if base is None or self._http is None:
            return await self.no_leader(request)
        target = base.rstrip("/") + request.rel_url.raw_path_qs
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, target)
        body = await request.read()
        try:
            async with self._http.request(request.method, target, data=body or None,
                                          headers=self._headers(request, _HOP),
                                          allow_redirects=False) as answer:
                response = web.Response(status=answer.status, body=await answer.read())
                for name, value in answer.headers.items():
                    if name.lower() not in _HOP:
                        response.headers.add(name, value)
                return response
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("standby: the leader at %s did not answer: %s", base, exc)
            return web.json_response({"error": "the leader did not answer; try again"},
                                     status=502)

    async def _websocket(self, request: web.Request, target: str) -> web.StreamResponse:
        assert self._http is not None
        try:
            upstream = await self._http.ws_connect(
                target, headers=self._headers(request, _WS_HOP), autoping=True,
                protocols=tuple(p.strip() for p in request.headers.get(
                    "Sec-WebSocket-Protocol", "").split(",") if p.strip()))
        except aiohttp.WSServerHandshakeError as exc:
            return web.json_response({"error": exc.message or "refused"}, status=exc.status)
        except (TimeoutError, aiohttp.ClientError):
            return web.json_response({"error": "the leader did not answer; try again"},
                                     status=502)
        ws = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else ())
        await ws.prepare(request)

        async def pump(source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
                       sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse) -> None:
            async for msg in source:
                if msg.type == WSMsgType.TEXT:
                    await sink.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await sink.send_bytes(msg.data)
                else:
                    break

        tasks = [asyncio.ensure_future(pump(ws, upstream)),
                 asyncio.ensure_future(pump(upstream, ws))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            code = upstream.close_code or 1000
            with contextlib.suppress(Exception):
                await upstream.close()
            with contextlib.suppress(Exception):
                await ws.close(code=code)
        return ws


def standby_app(hub: LiveHub, security: WebSecuritySettings, proxy: LeaderProxy,
                health: Handler) -> web.Application:
    """``/api/health`` and ``/api/live`` answered here, the rest through ``proxy``."""
    app = web.Application(client_max_size=MAX_BODY)
    install_security(app, hub.sessions, security)
    passed_on = proxy.handle

    @web.middleware
    async def to_the_leader(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/api/live":
            return await handler(request)  # through this node's gate: its session, its origin
        if request.path == "/api/health":
            return await health(request)  # anonymous, as the leader's
        if request.path == "/metrics":  # this node's own figures: a standby has none
            return await proxy.no_leader(request)
        return await passed_on(request)

    app.middlewares.insert(0, to_the_leader)  # before the gate: the leader's gate judges
    app.router.add_get("/api/live", hub.handle)
    app.on_startup.append(hub.start)
    app.on_startup.append(proxy.start)
    app.on_shutdown.append(hub.close)
    app.on_cleanup.append(proxy.close)
    return app
