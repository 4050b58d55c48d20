"""A tiny raw-asyncio FastAGI server for driving the simulator in tests (the test is the server)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Self


class AgiConn:
    """One accepted FastAGI connection: read the environment, send commands, read replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.env: dict[str, str] = {}
        self.env_lines: list[str] = []

    async def read_env(self) -> dict[str, str]:
        while True:
            line = (await self.reader.readline()).decode()
            self.env_lines.append(line)
            if line == "\n":
                return self.env
            key, _, value = line.rstrip("\n").partition(": ")
            self.env[key] = value

    async def line(self, timeout: float = 10.0) -> str:
        return (await asyncio.wait_for(self.reader.readline(), timeout)).decode()

    async def cmd(self, text: str, timeout: float = 10.0) -> str:
        """Send one command (LF added) and return the first reply line."""
        self.writer.write(text.encode() + b"\n")
        return await self.line(timeout)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


class AgiServer:
    """Accepts connections on an ephemeral port and runs ``script(conn)`` for each.

    Leaving the ``async with`` block cancels scripts still running (the test is over) and
    fails the test when a script raised: an assertion inside a script fails the test even
    when the test never looks at ``errors``. ``allow_errors=True`` is for a test that inspects
    ``errors`` itself.
    """

    def __init__(self, script: Callable[[AgiConn], Awaitable[None]],
                 allow_errors: bool = False) -> None:
        self.script = script
        self.allow_errors = allow_errors
        self.port = 0
        self.results: list[object] = []
        self.errors: list[BaseException] = []
        self._server: asyncio.base_events.Server | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._closing = False
        self.done = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._closing = True
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if exc_type is None and self.errors and not self.allow_errors:
            raise AssertionError(f"the AGI script raised: {self.errors!r}") from self.errors[0]

    def url(self, path: str = "ivr?flow=main") -> str:
        return f"agi://127.0.0.1:{self.port}/{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        conn = AgiConn(reader, writer)
        try:
            await conn.read_env()
            self.results.append(await self.script(conn))
        except asyncio.CancelledError:
            if not self._closing:  # cancelled by something else than the end of the test
                self.errors.append(asyncio.CancelledError())
        except BaseException as exc:  # noqa: BLE001 - raised at the end of the async with
            self.errors.append(exc)
        finally:
            self._running.discard(task)
            await conn.close()
            self.done.set()
