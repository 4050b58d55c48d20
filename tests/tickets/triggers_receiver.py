"""Helpers of the triggers' tests: a clock that jumps, and a real HTTP server standing in for
a webhook's receiver."""

from __future__ import annotations

import asyncio

from aiohttp import web

from contactcenter.domain.clock import Clock

T = 15.0  # seconds: only catches hangs


class Jump(Clock):
    """The real clock, moved forward by ``offset`` seconds when a test says so."""

    offset: float = 0.0

    def time(self) -> float:
        return super().time() + self.offset


class Receiver:
    """A real HTTP server standing in for the webhook's receiver: answers ``codes`` in turn
    (then 200) and keeps every request."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = list(codes)
        self.requests: asyncio.Queue[tuple[dict[str, str], bytes, int]] = asyncio.Queue()
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        code = self.codes.pop(0) if self.codes else 200
        self.requests.put_nowait((dict(request.headers), body, code))
        return web.Response(status=code, text="nope" if code >= 300 else "ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def next(self) -> tuple[dict[str, str], bytes, int]:
        async with asyncio.timeout(T):
            return await self.requests.get()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
