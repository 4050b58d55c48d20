"""The composition root: build every service from ``Settings``, start them, stop them.

Nothing else in the package constructs long-lived services; each receives what it needs here.
Start order follows the dependencies (database -> routing -> AMI -> flows -> FastAGI -> web),
stop order is the reverse, so no call arrives at a half-built server and none is cut short
by a service stopping under it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.chat.wiring import ChatChannel
from contactcenter.common.gc_tuning import settle_after_start
from contactcenter.common.setting_errors import check_can_listen, listening
from contactcenter.config.loader import database_url, resolve
from contactcenter.config.routing_files import load_routing_files
from contactcenter.config.schema import Settings
from contactcenter.domain.clock import Clock
from contactcenter.health.server import ServerStatus
from contactcenter.health.status import add_status_routes, make_registry
from contactcenter.ivr.loader import RoutingNames
from contactcenter.ivr.lookups import HttpCrmLookup, LocalCustomerLookup, LookupRouter
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.routes import FlowAdmin
from contactcenter.kb.wiring import KnowledgeBaseContext
from contactcenter.monitoring.routes import add_monitoring_routes
from contactcenter.monitoring.service import MonitorService
from contactcenter.panel.routes import add_panel
from contactcenter.qa.wiring import QaContext
from contactcenter.recording.index import RecordingIndex
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.queue_policies import recording_policies, recording_problems
from contactcenter.recording.routes import add_recording_routes
from contactcenter.recording.service import LiveChannel, RecordingService
from contactcenter.reports.wiring import Reports
from contactcenter.routing.admin_routes import add_routing_admin_routes
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.config_editor import RoutingConfigEditor, load_merged
from contactcenter.routing.config_merge import MergedConfig
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.routes import add_routes as add_agent_routes
from contactcenter.routing.service import RoutingService
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.customers import CustomerStore
from contactcenter.storage.database import Database
from contactcenter.storage.schema import ensure_schema, upgrade
from contactcenter.telephony.agi.server import FastAgiServer
from contactcenter.telephony.ami.client import AmiEndpoint
from contactcenter.telephony.ami.link import AmiPool, PbxLink
from contactcenter.telephony.callmodel_core import listens_to
from contactcenter.telephony.events import ModelResynced
from contactcenter.tickets.wiring import TicketsChannel
from contactcenter.voice.hooks import routing_call_facts
from contactcenter.voice.wiring import VoiceChannel
from contactcenter.web.auth import add_auth
from contactcenter.web.demo_passwords import warn_about_demo_passwords
from contactcenter.web.security import WebSecuritySettings
from contactcenter.web.users import UserStore

log = logging.getLogger(__name__)


class ContactCenter:
    """The whole server for one ``Settings``; ``start()`` then ``stop()``."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 upgrade_schema: bool = False) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        # serve refuses a database behind this release (one line: run `db upgrade`); the demo's
        # own throwaway database is simply brought up to date.
        self.upgrade_schema = upgrade_schema
        self._tasks: list[asyncio.Task[Any]] = []
        self._runner: web.AppRunner | None = None
        self.web_port: int | None = None

    async def start(self) -> None:
        """Build and start every service; raises (after cleaning up) if one cannot start."""
        s, clock = self.settings, self.clock
        try:
            check_can_listen("fastagi.port", s.fastagi.host, s.fastagi.port, "fastagi.host")
            check_can_listen("web.port", s.web.host, s.web.port, "web.host")
            self.db = Database(database_url(s))
            if self.upgrade_schema:
                await upgrade(self.db)
            await ensure_schema(self.db)
            self.audit = AuditLog(self.db, clock)
            # Files are the baseline, the database's entries override them (docs/routing.md).
            sources = load_routing_files(s)
            merged, stored, suspended = await load_merged(sources, RoutingConfigStore(self.db))
            self.routing = RoutingService(merged.config, clock, InteractionLog(self.db))
            self.routing_editor = RoutingConfigEditor(
                sources, RoutingConfigStore(self.db), self.routing, clock, merged, stored,
                checks=[recording_problems], suspended=suspended)
            await self.routing.start()
            self.reports = Reports(self.db, clock, self.routing, s.reports, s.ivr.timezone)
            await self.reports.start()

            self.pool = AmiPool([
                PbxLink(AmiEndpoint(p.name, p.host, p.port, p.username, p.secret), clock)
                for p in s.asterisk
            ])
            self.voice = VoiceChannel(self.routing, clock, self.pool, self._tasks)
            for link in self.pool:
                link.subscribe(self._on_telephony_event)
            self.recording = RecordingService(
                RecordingIndex(self.db), RecordingPaths(resolve(s, s.recordings_dir)),
                recording_policies(merged), self.pool.for_pbx, clock, self.audit,
                close_grace_s=5.0, call_facts=routing_call_facts(self.routing),
            )
            await self.recording.adopt_unclosed()  # before AMI: its resync may close some
            self.qa = QaContext(self.db, clock, self.audit, self.recording, s.qa)
            await self.qa.start()
            self.routing.subscribe(self.recording.on_routing_event)
            self.routing_editor.listeners.append(self._routing_config_applied)
            self.monitor = MonitorService(self.pool.for_pbx, self.audit, clock,
                                          self._dial_string_for)
            for link in self.pool:
                link.subscribe_ami(self.recording.on_ami_event, self.recording.AMI_EVENTS)
                link.subscribe_ami(self.monitor.on_ami_event, self.monitor.AMI_EVENTS)
            await self.pool.start()

            self.ivr_settings = replace(s.ivr, flows_dir=resolve(s, s.flows_dir))
            self.flows = FlowRegistry(self.ivr_settings, self._routing_names)
            self.flows.poll()
            self._tasks.append(asyncio.create_task(self.flows.watch(), name="flows-watch"))
            lookup_sources: dict[str, Any] = {
                "customers": LocalCustomerLookup(CustomerStore(self.db))}
            if s.crm.url_template:
                lookup_sources["crm"] = HttpCrmLookup(s.crm.url_template,
                                                      timeout_s=s.crm.timeout_s)
            self.lookups = LookupRouter(lookup_sources)
            self.agi = FastAgiServer(s.fastagi.host, s.fastagi.port,
                                     allowed_networks=s.fastagi.allowed_networks, clock=clock)
            self.voice.serve(self.agi, flows=self.flows, lookups=self.lookups,
                             recording=self.recording, monitor=self.monitor,
                             settings=self.ivr_settings)
            self.kb = KnowledgeBaseContext(self.db, clock, self.audit, s.kb)  # before channels
            self.chat = ChatChannel(s.chat, self.routing, self.db, clock, self.audit)
            await self.chat.start()
            self.tickets = TicketsChannel(s.tickets, self.db, clock, self.routing)
            await self.tickets.start()
            with listening("fastagi.port", s.fastagi.host, s.fastagi.port, "fastagi.host"):
                await self.agi.start()

            self.status = ServerStatus(self)
            await self._start_web()
            log.info("contactcenter up: FastAGI %s:%s, web %s:%s, %d PBX(s)", s.fastagi.host,
                     self.agi.port, s.web.host, self.web_port, len(s.asterisk))
        except BaseException:
            await self.stop()
            raise

    async def _start_web(self) -> None:
        s = self.settings
        app = web.Application(client_max_size=1024 * 1024)
        origins = tuple(s.web.allowed_origins)
        add_auth(app, self.db, WebSecuritySettings(allowed_origins=origins,
                                                   cookie_secure=s.web.secure_cookies or None),
                 self.audit, clock=self.clock)
        registry, self.routing_latency = make_registry(self.status)
        self.status.observe_routing(self.routing, self.routing_latency)
        add_status_routes(app, self.status, registry)
        add_agent_routes(app, self.routing)
        add_recording_routes(app, self.recording)
        add_monitoring_routes(app, self.monitor)
        self.qa.add_routes(app)
        self.kb.add_routes(app)
        self.voice.add_routes(app, self.audit)
        self.chat.add_routes(app)
        self.tickets.add_routes(app)
        app.add_routes(FlowAdmin(self.flows, Path(self.ivr_settings.flows_dir), self.audit).routes())
        add_panel(app, self)
        self.reports.add_routes(app)
        add_routing_admin_routes(app, self.routing_editor, self.audit)
        self.web_app = app
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.web.host, s.web.port, backlog=1024)
        with listening("web.port", s.web.host, s.web.port, "web.host"):
            await site.start()
        server = site._server  # the bound socket tells the real port when port 0 was asked
        self.web_port = (
            server.sockets[0]  # type: ignore[attr-defined]  # every loop's Server has it
            .getsockname()[1] if server else s.web.port)

    @listens_to(ModelResynced)
    def _on_telephony_event(self, event: Any) -> None:
        if isinstance(event, ModelResynced) and self.pool.all_resynced(event.pbx):
            # Every PBX told us what is live: waiting callers who hung up meanwhile are gone.
            live = self.pool.live_channels()
            if hasattr(self, "recording"):  # recordings whose channel ended while we were away
                self.recording.reconcile([LiveChannel(link.name, uid, ch.name)
                                          for link in self.pool
                                          for uid, ch in link.model.channels.items()])
            self.voice.resynced(live)
            task = asyncio.get_running_loop().create_task(self._reconcile(live))
            self._tasks.append(task)

    async def _reconcile(self, live: list[str]) -> None:
        try:
            gone = await self.routing.reconcile(live, channel="voice")
            if gone:
                log.info("after AMI resync: %d waiting call(s) no longer exist", len(gone))
        except Exception:
            log.exception("reconcile after AMI resync failed")

    @property
    def routing_config(self) -> RoutingConfig:
        """The routing configuration in force: files + database, as last applied."""
        return self.routing.config

    def _routing_config_applied(self, merged: MergedConfig) -> None:
        self.recording.policies = recording_policies(merged)
        self.reports.config_applied()
        self.flows.check_references()

    def _routing_names(self) -> RoutingNames:
        """The queues and skills flows may name (catalogue, queues' and agents' skills)."""
        cfg = self.routing.config
        skills = set(cfg.skills or ())
        for q in cfg.queues.values():
            skills.update(q.skills)
        for a in cfg.agents.values():
            skills.update(a.skills)
        return RoutingNames(frozenset(cfg.queues), frozenset(skills))

    @property
    def agi_port(self) -> int:
        """The bound FastAGI port."""
        return self.agi.port

    async def _dial_string_for(self, actor: Any) -> str | None:
        """Where a supervisor's spy leg rings: their own phone, else their agent's dial string."""
        user = await UserStore(self.db).get(actor.user_id) if hasattr(actor, "user_id") else None
        if user is not None and user.phone:
            return user.phone
        agent_id = user.agent_id if user is not None else getattr(actor, "agent_id", None)
        agent = self.routing_config.agents.get(agent_id or "")
        return agent.dial_string if agent is not None else None

    async def stop(self) -> None:
        """Stop everything that was started, in reverse order; never raises."""
        steps = [
            ("web", lambda: self._runner.cleanup() if self._runner else _none()),
            ("fastagi", lambda: self.agi.stop(grace=1.0) if hasattr(self, "agi") else _none()),
            ("callbacks", lambda: self.voice.close() if hasattr(self, "voice") else _none()),
            ("tickets", lambda: self.tickets.close() if hasattr(self, "tickets") else _none()),
            ("chat", lambda: self.chat.close() if hasattr(self, "chat") else _none()),
            ("monitor", lambda: self.monitor.close() if hasattr(self, "monitor") else _none()),
            ("qa", lambda: self.qa.close() if hasattr(self, "qa") else _none()),
            ("recording", lambda: self.recording.close() if hasattr(self, "recording") else _none()),
            ("ami", lambda: self.pool.stop() if hasattr(self, "pool") else _none()),
            ("reports", lambda: self.reports.close() if hasattr(self, "reports") else _none()),
            ("routing", lambda: self.routing.stop() if hasattr(self, "routing") else _none()),
            ("lookups", lambda: _close_lookups(self) if hasattr(self, "lookups") else _none()),
            ("database", lambda: self.db.close() if hasattr(self, "db") else _none()),
        ]
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for name, step in steps:
            try:
                await step()
            except Exception:
                log.exception("stopping %s failed", name)
        self._runner = None


async def _none() -> None:
    return None


async def _close_lookups(server: ContactCenter) -> None:
    for source in server.lookups.sources.values():
        close = getattr(source, "close", None)
        if close is not None:
            await close()


async def run_until_signalled(server: ContactCenter, extra: list[Any] | None = None) -> int:
    """Start ``server``, wait for SIGTERM/SIGINT, stop it cleanly; exit code 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    settle_after_start()
    checks = asyncio.create_task(warn_about_demo_passwords(server.db), name="demo-passwords")
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        checks.cancel()
        await asyncio.gather(checks, return_exceptions=True)
        await server.stop()
    return 0


async def run_server(settings: Settings) -> int:
    """``contactcenter serve``."""
    return await run_until_signalled(ContactCenter(settings))


async def run_demo(settings: Settings, calls_per_minute: float | None = None,
                   duration: float | None = None) -> int:
    """``contactcenter demo``: the server plus the PBX simulator placing calls."""
    from contactcenter.demo import run_demo as demo

    return await demo(settings, calls_per_minute=calls_per_minute, duration=duration)
