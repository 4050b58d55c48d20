"""Asyncio FastAGI server: accept Asterisk's connections, route them by script, run handlers.

Design note
-----------
Each connection is an ``asyncio.Protocol`` (no reader task, no blocking read): bytes go into the
sans-IO ``AgiServerProtocol``; nothing waits on a half-sent block, so a slow, half-open or garbage
client costs the others nothing. Life of a connection:

    accepted --peer not in allowed_networks--> aborted at once            (stats.refused)
    accepted --env block incomplete at deadline--> aborted                (stats.timeouts)
    accepted --malformed / oversized env--> aborted                       (stats.errors)
    env complete --> route by script name (before '?') --> handler task   (stats.total, active)
        unknown script: VERBOSE + HANGUP, then close                      (stats.unknown_script)
        handler raises (not CallHangup): logged                           (stats.errors)
        handler returns: the socket is closed (Asterisk never closes it)

``stop(grace)`` stops accepting, drops connections still sending their env block, gives running
handlers ``grace`` clock seconds, then cancels them and closes every socket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from contactcenter.common.log_throttle import LogThrottle
from contactcenter.domain.clock import Clock
from contactcenter.telephony.agi.api import AgiCommandError, CallHangup
from contactcenter.telephony.agi.deadlines import DeadlineWheel, slot_time
from contactcenter.telephony.agi.environment import parse_environment
from contactcenter.telephony.agi.protocol import (
    AgiClosed,
    AgiEnvironmentBlock,
    AgiProtocolError,
    AgiServerProtocol,
    _NeedData,
)
from contactcenter.telephony.agi.session import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_HANGUP_GRACE,
    AgiSession,
)

__all__ = ["AgiHandler", "AgiServerStats", "FastAgiServer"]

log = logging.getLogger(__name__)

AgiHandler = Callable[[AgiSession], Awaitable[None]]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = ("127.0.0.0/8", "::1/128")


@dataclass
class AgiServerStats:
    """Counters for /api/health and metrics (plain ints; the composition root exports them)."""

    active: int = 0  # handlers running now
    total: int = 0  # sessions that completed their env block and were dispatched
    refused: int = 0  # connections from outside allowed_networks
    errors: int = 0  # malformed env blocks, protocol errors, handler exceptions
    timeouts: int = 0  # env blocks not complete in time, commands without a reply in time
    unknown_script: int = 0  # sessions for a script with no route
    connections: int = 0  # accepted connections from allowed peers (including failed ones)


class _Connection(asyncio.Protocol):
    """One accepted socket: env phase here, then everything goes to its AgiSession."""

    __slots__ = ("_done", "_env_deadline", "_proto", "_server", "_slot", "_transport", "session")

    def __init__(self, server: FastAgiServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._proto = AgiServerProtocol()
        self._env_deadline = 0.0  # loop time by which the env block must be complete
        self._slot: float | None = None  # our entry in the server's deadline wheel
        self.session: AgiSession | None = None
        self._done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # No isinstance check: uvloop's TCPTransport is not an asyncio.Transport subclass.
        transport = cast(asyncio.Transport, transport)
        server = self._server
        peer = transport.get_extra_info("peername")
        if not server.is_allowed(peer):
            server.stats.refused += 1
            server.warnings.warning("refused", "FastAGI: refused connection from %s", peer)
            self._done = True
            transport.abort()
            return
        self._transport = transport
        server.stats.connections += 1
        server._connections.add(self)
        # The env deadline joins the server's wheel: a loop timer per connection costs more
        # than the whole env block parse under uvloop.
        now = server._loop.time()
        deadline = self._env_deadline = now + server.clock.real(server.env_timeout)
        self._slot = server._deadlines.add(slot_time(deadline, now), self)

    def data_received(self, data: bytes) -> None:
        if self.session is not None:
            self.session.feed(data)
            return
        if self._done:
            return
        try:
            self._proto.receive_data(data)
            event = self._proto.next_event()
        except AgiProtocolError as exc:
            self._abort(f"bad environment block: {exc}", timeout=False)
            return
        if isinstance(event, AgiEnvironmentBlock):
            self._start_session(event)
        elif isinstance(event, (_NeedData, AgiClosed)):
            return

    def eof_received(self) -> bool | None:
        if self.session is not None:
            self.session.feed(b"")
        elif not self._done:
            self._done = True
            log.debug("FastAGI: peer closed during the environment block")
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self._done = True
        self._server._connections.discard(self)
        if self.session is not None:
            self.session.connection_lost()

    def abort(self) -> None:
        """Drop the connection now (used by stop for sockets still in the env phase)."""
        self._done = True
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    @property
    def in_env_phase(self) -> bool:
        """True while the env block has not been completed."""
        return self.session is None

    def _cancel_timer(self) -> None:
        if self._slot is not None:
            self._server._deadlines.discard(self._slot, self)
            self._slot = None

    def on_deadline(self) -> None:
        """Called by the deadline wheel: abort if the env block is still incomplete."""
        self._slot = None
        if self.session is not None or self._done:
            return
        loop = self._server._loop
        now = loop.time()
        if now < self._env_deadline:  # the loop's timer rounding fired the slot a hair early
            self._slot = self._server._deadlines.add(slot_time(self._env_deadline, now), self)
            return
        self._abort("environment block not complete in time", timeout=True)

    def _abort(self, why: str, *, timeout: bool) -> None:
        peer = self._transport.get_extra_info("peername") if self._transport else None
        self._server.warnings.warning("timeout" if timeout else "bad environment block",
                                      "FastAGI: %s from %s; closing", why, peer)
        if timeout:
            self._server.stats.timeouts += 1
        else:
            self._server.stats.errors += 1
        self.abort()

    def _start_session(self, block: AgiEnvironmentBlock) -> None:
        self._cancel_timer()
        assert self._transport is not None
        server = self._server
        env = parse_environment(block.fields)
        session = AgiSession(
            env,
            self._proto,
            self._transport,
            clock=server.clock,
            command_timeout=server.command_timeout,
            hangup_grace=server.hangup_grace,
            loop=server._loop,
            deadlines=server._deadlines,
        )
        self.session = session
        handler = server.handler_for(env.script)
        # _run drops the task from _tasks itself: cheaper than a done callback per session
        server._tasks[session] = server._loop.create_task(server._run(session, handler))
        session.drain()  # bytes that arrived right behind the env block


class FastAgiServer:
    """FastAGI server: ``route(script, handler)``, ``await start()``, ``await stop(grace)``."""

    def __init__(
        self,
        host: str | None = "127.0.0.1",
        port: int = 4573,
        *,
        allowed_networks: Iterable[str] = LOOPBACK,
        clock: Clock | None = None,
        env_timeout: float = 5.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        hangup_grace: float = DEFAULT_HANGUP_GRACE,
        backlog: int = 4096,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.clock = clock or Clock()
        self.env_timeout = env_timeout
        self.command_timeout = command_timeout
        self.hangup_grace = hangup_grace
        self.backlog = max(backlog, 4096)
        self.allowed_networks: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in allowed_networks
        )
        self.stats = AgiServerStats()
        # Anyone who can connect can cause these lines: capped (the stats count them all).
        self.warnings = LogThrottle(log)
        self._routes: dict[str, AgiHandler] = {}
        self._allowed_cache: dict[object, bool] = {}
        self._server: Any = None  # asyncio or uvloop Server
        self._connections: set[_Connection] = set()
        self._tasks: dict[AgiSession, asyncio.Task[None]] = {}  # running handlers
        # Set by start(): the loop (get_running_loop() costs a getpid() per call) and the wheel
        # that carries every env and command deadline.
        self._loop: asyncio.AbstractEventLoop = cast(asyncio.AbstractEventLoop, None)
        self._deadlines: DeadlineWheel = cast(DeadlineWheel, None)

    # -- configuration -----------------------------------------------------------------------

    def route(self, script: str, handler: AgiHandler) -> None:
        """Send sessions whose script (the part of the AGI URL before '?') is ``script``."""
        name = script.strip("/")
        if not name or "?" in name:
            raise ValueError(f"invalid FastAGI script name {script!r}")
        self._routes[name] = handler

    def handler_for(self, script: str) -> AgiHandler:
        """The handler for ``script``, or the built-in one that refuses unknown scripts."""
        return self._routes.get(script, self._unknown_script)

    def is_allowed(self, peername: object) -> bool:
        """True when the peer address lies in one of ``allowed_networks``."""
        if not isinstance(peername, tuple) or not peername:
            return False
        host = peername[0]
        known = self._allowed_cache.get(host)
        if known is not None:
            return known
        allowed = self._check_address(host)
        if len(self._allowed_cache) >= 4096:  # bounded: a scan of many sources cannot grow it
            self._allowed_cache.clear()
        self._allowed_cache[host] = allowed
        return allowed

    def _check_address(self, host: object) -> bool:
        try:
            addr = ipaddress.ip_address(str(host).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.allowed_networks)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the real one after ``start`` when 0 was asked for)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._requested_port

    @property
    def serving(self) -> bool:
        """True between start and stop."""
        return self._server is not None

    async def start(self) -> None:
        """Bind and start accepting connections."""
        if self._server is not None:
            raise RuntimeError("FastAGI server already started")
        loop = self._loop = asyncio.get_running_loop()
        self._deadlines = DeadlineWheel(loop)
        self._server = await loop.create_server(
            lambda: _Connection(self),
            self.host,
            self._requested_port,
            backlog=self.backlog,
            reuse_address=True,
        )
        log.info("FastAGI listening on %s:%d", self.host, self.port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let handlers finish for ``grace`` clock seconds, then cancel them."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for conn in [c for c in self._connections if c.in_env_phase]:
            conn.abort()
        tasks = set(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.clock.real(grace))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5.0)
        for conn in list(self._connections):
            conn.abort()
        self._tasks.clear()  # tasks cancelled before they ever ran cannot drop themselves
        await server.wait_closed()
        self._deadlines.close()
        log.info("FastAGI server stopped")

    # -- sessions ----------------------------------------------------------------------------

    async def _run(self, session: AgiSession, handler: AgiHandler) -> None:
        stats = self.stats
        stats.total += 1
        stats.active += 1
        failed = False
        try:
            await handler(session)
        except CallHangup:
            pass  # the caller left (or a command timed out): a normal end for a call script
        except Exception:
            failed = True
            log.exception(
                "FastAGI handler for %r failed on %s", session.env.script, session.env.channel
            )
        finally:
            stats.active -= 1
            if session.timed_out:
                stats.timeouts += 1
            if failed or session.protocol_error is not None:
                stats.errors += 1
            session.close()
            self._tasks.pop(session, None)

    async def _unknown_script(self, session: AgiSession) -> None:
        self.stats.unknown_script += 1
        script = session.env.script
        log.warning("FastAGI: no route for script %r (channel %s)", script, session.env.channel)
        try:
            await session.verbose(f"contactcenter: no route for AGI script {script!r}", 1)
            await session.hangup()
        except (CallHangup, AgiCommandError, ValueError):
            pass
