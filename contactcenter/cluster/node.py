"""One node of a cluster: stand by until the leader's lock is free, lead until it is lost.

A standby answers ``/api/health`` with 503 ``standby`` (a load balancer's check sends everyone
to the leader) and does not listen for FastAGI: Asterisk's AGI() to it fails at once and the
dialplan tries the next node. The leader runs the whole server (``LeaderServer``), built anew
for each term with the term's ``Fence``; it steps down (FastAGI and AMI first, so it stops
dialling at once) when it can no longer prove it holds the lock within ``timeout_s`` or when a
write finds another term, and stands by again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from contactcenter.cluster.live_bus import StandbyBus
from contactcenter.cluster.settings import ClusterSettings
from contactcenter.cluster.standby_web import LeaderProxy, standby_app
from contactcenter.common.setting_errors import SettingError
from contactcenter.domain.clock import Clock
from contactcenter.storage.database import Database
from contactcenter.storage.leadership import Fence, LeaderLease, LeaseSettings, current_leader
from contactcenter.web.live import LiveHub, TopicRule
from contactcenter.web.security import WebSecuritySettings
from contactcenter.web.sessions import SessionManager
from contactcenter.web.users import UserStore

log = logging.getLogger(__name__)


class LeaderServer(Protocol):
    """The server a leader runs (``ContactCenter``)."""

    async def start(self) -> None: ...

    async def step_down(self) -> None:
        """Stop dialling at once, then stop everything; never raises."""
        ...


@dataclass
class Role:
    """What this node is now, for health checks and the log."""

    node: str
    role: str = "standby"  # standby | leader
    term: int | None = None
    leader: str | None = None  # the leader's name as a standby last read it


@dataclass(frozen=True)
class StandbyPanel:
    """What a standby needs to keep the panel's live websockets itself (``standby_web.py``)."""

    security: WebSecuritySettings
    topic_rules: list[TopicRule]
    clock: Clock
    ssl_context: ssl.SSLContext | None = None  # the leader's: HTTPS on every node alike


def node_name(settings: ClusterSettings) -> str:
    """The configured name, else the host's."""
    return settings.node or socket.gethostname()


class ClusterNode:
    """Runs standby and leader terms in turn until ``stop`` is set."""

    def __init__(self, settings: ClusterSettings, database_url: str, web_host: str,
                 web_port: int, make_server: Callable[[Fence, Role], LeaderServer],
                 prepare: Callable[[], Awaitable[None]] | None = None,
                 panel: StandbyPanel | None = None) -> None:
        self.settings = settings
        self.panel = panel  # None: a standby answers 503 to all but its health
        self.prepare = prepare  # under the lock, before each term (the schema)
        self.database_url = database_url
        self.web_host, self.web_port = web_host, web_port
        self.make_server = make_server
        self.role = Role(node_name(settings))
        self.lease = LeaderLease(database_url, LeaseSettings(
            settings.lock_key, self.role.node, settings.timeout_s, settings.keepalive_idle_s,
            settings.keepalive_interval_s, settings.keepalive_count))
        self._leader_read_at = -1.0
        self.live_bus: StandbyBus | None = None  # the standby's, while it stands by
        self.leading: LeaderServer | None = None  # the server of this node's term

    async def run(self, stop: asyncio.Event) -> None:
        """Stand by, lead, stand by again... until ``stop``; releases the lock on the way out."""
        try:
            while not stop.is_set():
                fence = await self._stand_by(stop)
                if fence is None:
                    break
                await self._lead(fence, stop)
        finally:
            await self.lease.release()

    async def _stand_by(self, stop: asyncio.Event) -> Fence | None:
        # Whoever led before this term (maybe this node) is not known until the lock is read.
        self.role.role, self.role.term, self.role.leader = "standby", None, None
        self._leader_read_at = -1.0
        runner, standing = await self._standby_web()
        try:
            while not stop.is_set():
                try:
                    term = await self.lease.try_acquire(self.prepare)
                except SettingError:  # a database behind this release: no retry mends that
                    raise
                except Exception as exc:  # noqa: BLE001  # the database is away: keep trying
                    log.debug("leader lock not reachable: %s", exc)
                    await self.lease.release()
                    term = None
                if term is not None:
                    log.info("node %s leads, term %d", self.role.node, term)
                    return Fence(term)
                await _wait(stop, self.settings.poll_s)
            return None
        finally:
            await runner.cleanup()  # the leader's server takes the port
            for close in reversed(standing):
                await close()

    async def _lead(self, fence: Fence, stop: asyncio.Event) -> None:
        self.role.role, self.role.term, self.role.leader = "leader", fence.term, self.role.node
        server = self.leading = self.make_server(fence, self.role)
        try:
            await server.start()
        except Exception:
            log.exception("node %s could not start as leader; standing by", self.role.node)
            self.leading = None
            await self.lease.release()
            await _wait(stop, self.settings.poll_s * 4)
            return
        why = await self._while_leading(fence, stop)
        if why:
            log.error("node %s steps down: %s", self.role.node, why)
        await server.step_down()
        self.leading = None
        await self.lease.release()

    async def _while_leading(self, fence: Fence, stop: asyncio.Event) -> str | None:
        """Return when the term is over: why (None: asked to stop)."""
        check = self.settings.check_s
        while True:
            if stop.is_set():
                return None
            if fence.lost.is_set():
                return f"a write found another leader's term (ours: {fence.term})"
            if not await self.lease.holds():
                return f"no proof of the leader's lock within {self.settings.timeout_s:g} s"
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(fence.lost.wait())]
            await asyncio.wait(waits, timeout=check,
                               return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _standby_web(self) -> tuple[web.AppRunner, list[Callable[[], Awaitable[None]]]]:
        """The standby's web server, and what to close after it."""
        standing: list[Callable[[], Awaitable[None]]] = []
        if self.panel is None:
            app = web.Application()
            app.router.add_get("/api/health", self._standby_health)
            app.router.add_route("*", "/{tail:.*}", self._standby_other)
        else:
            app = await self._panel_app(standing)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        # The leader's server may still be letting go of the port (stepping down): retry.
        for attempt in range(50):
            try:
                await web.TCPSite(runner, self.web_host, self.web_port,
                                  ssl_context=self.panel.ssl_context if self.panel else None,
                                  ).start()
                break
            except OSError:
                if attempt == 49:
                    await runner.cleanup()
                    for close in reversed(standing):
                        await close()
                    raise
                await asyncio.sleep(0.1)
        return runner, standing

    async def _panel_app(self, standing: list[Callable[[], Awaitable[None]]]) -> web.Application:
        assert self.panel is not None
        panel = self.panel
        db = Database(self.database_url)
        standing.append(db.close)
        sessions = SessionManager(UserStore(db), panel.clock,
                                  idle_timeout=panel.security.idle_timeout,
                                  max_age=panel.security.max_age)
        hub = LiveHub(sessions, panel.security, panel.clock, rules=panel.topic_rules)
        self.live_bus = bus = StandbyBus(self.database_url, self.role.node, hub,
                                         announce_s=self.settings.check_s)
        await bus.start()
        standing.append(bus.stop)
        proxy = LeaderProxy(lambda: bus.leader.url if bus.leader else None, self._standby_other)
        return standby_app(hub, panel.security, proxy, self._standby_health)

    async def _read_leader(self) -> None:
        # A balancer checks every second or so, per balancer: one read a second is plenty.
        now = time.monotonic()
        if now - self._leader_read_at < 1.0:
            return
        self._leader_read_at = now
        try:
            found = await current_leader(self.database_url, self.settings.timeout_s)
        except Exception:  # noqa: BLE001  # the database is away: an old name would mislead
            found = None
        self.role.leader = found[0] if found else None

    async def _standby_health(self, request: web.Request) -> web.Response:
        await self._read_leader()
        return web.json_response(
            {"status": "standby", "cluster": {"role": "standby", "node": self.role.node,
                                              "leader": self.role.leader}}, status=503)

    async def _standby_other(self, request: web.Request) -> web.Response:
        await self._read_leader()
        return web.json_response(
            {"error": f"this node ({self.role.node}) is a standby; the leader is "
                      f"{self.role.leader or 'not known'}"}, status=503)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
