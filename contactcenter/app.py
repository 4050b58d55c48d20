"""The composition root: build every service from ``Settings``, start them, stop them.

Nothing else in the package constructs long-lived services; each receives what it needs here.
Start order follows the dependencies (database -> routing -> AMI -> flows -> FastAGI -> web),
stop order is the reverse, so no call arrives at a half-built server and none is cut short
by a service stopping under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.chat.visitor_erase_routes import ERASE_TICKETS
from contactcenter.chat.wiring import CHAT_LEFT_TOPIC, CHAT_WATCH_TOPIC, ChatChannel
from contactcenter.cluster.live_bus import LeaderBus
from contactcenter.cluster.live_wire import Beacon
from contactcenter.cluster.node import ClusterNode, Role, StandbyPanel
from contactcenter.common.gc_tuning import settle_after_start
from contactcenter.common.setting_errors import SettingError, check_can_listen, listening
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
from contactcenter.panel.customers import add_customer_page
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
from contactcenter.storage.leadership import Fence
from contactcenter.storage.schema import ensure_schema, schema_state, upgrade
from contactcenter.telephony.agi.server import FastAgiServer
from contactcenter.telephony.ami.client import AmiEndpoint
from contactcenter.telephony.ami.link import AmiPool, PbxLink
from contactcenter.telephony.callmodel_core import listens_to
from contactcenter.telephony.events import ModelResynced
from contactcenter.tickets.automatic_mail import AutomaticMail
from contactcenter.tickets.from_chat import ChatTickets
from contactcenter.tickets.from_voice import VoiceTickets
from contactcenter.tickets.requester_erase import RequesterErasure
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.store import TicketStore
from contactcenter.tickets.voice_routes import add_voice_ticket_routes
from contactcenter.tickets.wiring import TICKETS_TOPIC, TicketsChannel
from contactcenter.voice.hooks import routing_call_facts
from contactcenter.voice.wiring import VoiceChannel
from contactcenter.web.auth import AUTH_KEY, add_auth
from contactcenter.web.demo_passwords import warn_about_demo_passwords
from contactcenter.web.live import default_topic_rules
from contactcenter.web.security import WebSecuritySettings
from contactcenter.web.tls import TlsConfigError, cookie_secure, security_headers, ssl_context_from
from contactcenter.web.users import UserStore

log = logging.getLogger(__name__)


class ContactCenter:
    """The whole server for one ``Settings``; ``start()`` then ``stop()``."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 upgrade_schema: bool = False, fence: Fence | None = None,
                 role: Role | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        # A cluster's leader: its term's fence guards the interaction log, its role is shown
        # by /api/health. None on a single node.
        self.fence, self.cluster_role = fence, role
        self.live_bus: LeaderBus | None = None
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
            # An empty database is made at head by ensure_schema, faster than replaying.
            if self.upgrade_schema and not (await schema_state(self.db)).empty:
                await upgrade(self.db)
            await ensure_schema(self.db)
            self.audit = AuditLog(self.db, clock)
            # Files are the baseline, the database's entries override them (docs/routing.md).
            sources = load_routing_files(s)
            merged, stored, suspended = await load_merged(sources, RoutingConfigStore(self.db))
            self.routing = RoutingService(merged.config, clock, InteractionLog(self.db, self.fence))
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
                             settings=self.ivr_settings, sessions=self.reports.ivr_sessions)
            self.kb = KnowledgeBaseContext(self.db, clock, self.audit, s.kb)  # before channels
            self.chat = ChatChannel(s.chat, self.routing, self.db, clock, self.audit,
                                    kb=self.kb.service, flows=self.flows, lookups=self.lookups,
                                    ivr=self.ivr_settings,
                                    attachments_root=resolve(s, s.chat.attachments_dir))
            await self.chat.start()
            self.tickets = TicketsChannel(s.tickets, self.db, clock, self.routing)
            await self.tickets.start()
            # Voice messages become tickets through the IVR sink's port (channels are siblings).
            self.voice_tickets = VoiceTickets(self.tickets.service, self.ivr_settings.messages_dir,
                                              self.audit, self.routing, self.recording)
            self.voice.ivr_activity.message_left = self.voice_tickets.message_left
            # And chat messages left (outside hours, or from the line) the same way.
            self.chat.message_left = ChatTickets(self.tickets.service).message_left
            # A chat's transcript by email goes out through the tickets' outbox.
            self.chat.transcript_sender = AutomaticMail(self.tickets.service,
                                                        self.tickets.outbox, "transcript")
            with listening("fastagi.port", s.fastagi.host, s.fastagi.port, "fastagi.host"):
                await self.agi.start()
            self.voice.agi_listening()

            self.status = ServerStatus(self)
            await self._start_web()
            log.info("contactcenter up: FastAGI %s:%s, web %s:%s, %d PBX(s)", s.fastagi.host,
                     self.agi.port, s.web.host, self.web_port, len(s.asterisk))
        except BaseException:
            await self.stop()
            raise

    async def _start_web(self) -> None:
        s = self.settings
        ssl_context = web_ssl_context(s)
        tls = ssl_context is not None
        app = web.Application(client_max_size=1024 * 1024)
        add_auth(app, self.db, web_security(s, tls), self.audit, clock=self.clock,
                 release_agent=self.routing.agent_leave)
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
        # A chat visitor's erasure reaches the tickets their messages left became.
        app[ERASE_TICKETS] = RequesterErasure(self.tickets.service, self.audit,
                                              settle=self.routing.flush).erase
        self.tickets.add_routes(app)
        add_voice_ticket_routes(app, self.voice_tickets)
        add_customer_page(app, self.db, self.routing, self.recording)
        app.add_routes(FlowAdmin(self.flows, Path(self.ivr_settings.flows_dir), self.audit).routes())
        add_panel(app, self)
        self.reports.add_routes(app)
        add_routing_admin_routes(app, self.routing_editor, self.audit)
        self.web_app = app
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.web.host, s.web.port, backlog=1024,
                           ssl_context=ssl_context)
        with listening("web.port", s.web.host, s.web.port, "web.host"):
            await site.start()
        server = site._server  # the bound socket tells the real port when port 0 was asked
        self.web_port = (
            server.sockets[0]  # type: ignore[attr-defined]  # every loop's Server has it
            .getsockname()[1] if server else s.web.port)
        if self.fence is not None and self.cluster_role is not None:
            # A cluster's leader: the standbys' panels get its hub's events (docs/deploy.md).
            self.live_bus = LeaderBus(database_url(s), Beacon(
                self.cluster_role.node, self.fence.term,
                s.cluster.own_web_url(s.web.host, self.web_port, tls)),
                announce_s=s.cluster.check_s)
            app[AUTH_KEY].live.relay = self.live_bus
            await self.live_bus.start()

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

    async def step_down(self) -> None:
        """A leader's term is over: stop dialling at once (no AGI session, no AMI link), then
        everything else, each step bounded (the database may be out of reach); never raises."""
        if hasattr(self, "agi"):
            with contextlib.suppress(Exception):
                await self.agi.stop(grace=0)
        if hasattr(self, "pool"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.stop(), 2.0)
        await self.stop(step_timeout_s=3.0)

    async def stop(self, step_timeout_s: float = 15.0) -> None:
        """Stop everything that was started, in reverse order, none for longer than
        ``step_timeout_s`` (a stuck step is logged and left behind); never raises."""
        steps = [
            ("live bus", lambda: self.live_bus.stop() if self.live_bus else _none()),
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
                await asyncio.wait_for(step(), step_timeout_s)
            except TimeoutError:
                log.error("stopping %s took over %g s; left behind", name, step_timeout_s)
            except Exception:
                log.exception("stopping %s failed", name)
        self._runner = None


async def _none() -> None:
    return None


def web_ssl_context(s: Settings) -> ssl.SSLContext | None:
    """The web server's TLS context from ``web.tls_cert``/``tls_key`` (None: plain HTTP)."""
    try:
        return ssl_context_from(
            str(resolve(s, s.web.tls_cert)) if s.web.tls_cert else None,
            str(resolve(s, s.web.tls_key)) if s.web.tls_key else None)
    except TlsConfigError as exc:
        raise SettingError("web.tls_cert", str(exc)) from None


def web_security(s: Settings, tls: bool) -> WebSecuritySettings:
    """The panel's origins, cookies and headers: a leader's and a standby's are the same."""
    return WebSecuritySettings(
        allowed_origins=tuple(s.web.allowed_origins),
        cookie_secure=cookie_secure(tls, s.web.secure_cookies),
        extra_headers=security_headers(tls and s.web.hsts))


def offline_ticket_erasure(settings: Settings, db: Database, audit: Any) -> RequesterErasure:
    """The tickets' side of ``contactcenter chat erase`` (no server: the database alone)."""
    return RequesterErasure(TicketService(settings.tickets, TicketStore(db), Clock()), audit)


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
    """``contactcenter serve``: one server, or one node of a cluster (``cluster.enabled``)."""
    if settings.cluster.enabled:
        return await run_cluster_node(settings)
    return await run_until_signalled(ContactCenter(settings))


async def run_cluster_node(settings: Settings) -> int:
    """Stand by or lead (docs/deploy.md) until SIGTERM/SIGINT; exit code 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = database_url(settings)
    node = ClusterNode(settings.cluster, url, settings.web.host, settings.web.port,
                       lambda fence, role: ContactCenter(settings, fence=fence, role=role),
                       prepare=lambda: schema_ready(url), panel=standby_panel(settings))
    log.info("cluster node %s standing by", node.role.node)
    await node.run(stop)
    return 0


def standby_panel(settings: Settings, clock: Clock | None = None) -> StandbyPanel:
    """What a standby needs to keep panel websockets: the leader's security and topics."""
    ssl_context = web_ssl_context(settings)
    topics = [*default_topic_rules(), TICKETS_TOPIC, CHAT_WATCH_TOPIC, CHAT_LEFT_TOPIC]
    return StandbyPanel(web_security(settings, ssl_context is not None), topics,
                        clock or Clock(), ssl_context)


async def schema_ready(url: str) -> None:
    """As ``serve`` at start: a new database is created at head, one behind is refused."""
    db = Database(url)
    try:
        await ensure_schema(db)
    finally:
        await db.close()


async def run_demo(settings: Settings, calls_per_minute: float | None = None,
                   duration: float | None = None) -> int:
    """``contactcenter demo``: the server plus the PBX simulator placing calls."""
    from contactcenter.demo import run_demo as demo

    return await demo(settings, calls_per_minute=calls_per_minute, duration=duration)
