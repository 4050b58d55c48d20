"""The reports context wired for one server: the live aggregation, the tickets, chats and IVR
reports (counted on read; the IVR's sessions recorded here, purged past their retention, and
today's per flow kept for the wallboard and /metrics), the API and the page.

``app.py`` builds ``Reports`` once the routing service has started (its queues give the
service-level thresholds), starts it, adds its routes with the web app's, calls
``config_applied`` when a queue edit may have changed a threshold, and closes it on stop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.reports.chats import ChatReader
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.ivr_recorder import IvrRecorder
from contactcenter.reports.ivr_report import IvrReader
from contactcenter.reports.ivr_retention import IvrRetention
from contactcenter.reports.ivr_today import IvrToday
from contactcenter.reports.queries import ReportReader
from contactcenter.reports.routes import ReportOptions, ReportsApi
from contactcenter.reports.rules import queue_rules
from contactcenter.reports.service import ReportService
from contactcenter.reports.settings import ReportSettings
from contactcenter.reports.tickets import TicketReader
from contactcenter.reports.today import TodayFigures
from contactcenter.routing.engine_state import CHANNELS
from contactcenter.routing.service import RoutingService
from contactcenter.storage.database import Database
from contactcenter.web.pages import add_pages

STATIC_DIR = Path(__file__).with_name("static")
PAGES = ("reports",)


class Reports:
    """Interval figures kept up to date from the interaction log, the tickets' and chats' own
    figures, and their API and page."""

    def __init__(self, db: Database, clock: Clock, routing: RoutingService,
                 settings: ReportSettings, fallback_zone: str = "UTC") -> None:
        self.routing = routing
        self.settings = settings
        self.calendar = Calendar(settings.zone(fallback_zone))
        rules = queue_rules(lambda: routing.config.queues, settings)
        self.today = TodayFigures(self.calendar, settings, clock.time)
        self.service = ReportService(db, clock.time, self.calendar, rules,
                                     refresh_s=settings.refresh_s, today=self.today)
        self.reader = ReportReader(db, self.calendar, settings, self._names)
        self.tickets = TicketReader(db, self.calendar, settings, clock.time)
        self.chats = ChatReader(db, self.calendar, clock.time)
        # The IVR hands each finished session here (``ivr_sessions``, wired by app.py); each
        # batch written goes on to today's figures (the wallboard's and /metrics').
        self.ivr_today = IvrToday(self.calendar, clock.time)
        self.ivr_sessions = IvrRecorder(db, written=self.ivr_today.add)
        self.ivr = IvrReader(db, self.calendar, clock.time)
        self.ivr_retention = IvrRetention(db, settings.ivr_retention_days, clock.time)
        self.api = ReportsApi(self.reader, clock.time, self.service.catch_up, self._options,
                              self.tickets, self.chats, self.ivr, self.ivr_sessions)

    def _names(self) -> dict[str, str]:
        return {a.id: a.name for a in self.routing.config.agents.values()}

    def _options(self) -> ReportOptions:
        cfg = self.routing.config
        return ReportOptions(sorted(cfg.queues), self._names(), list(CHANNELS))

    async def start(self) -> None:
        """Start folding the interaction log in (what accumulated while stopped first)."""
        await self.service.start()
        await self.ivr_today.load(self.ivr)  # before the recorder writes: nothing twice
        await self.ivr_sessions.start()
        await self.ivr_retention.start()

    def add_routes(self, app: web.Application) -> None:
        """``/api/reports/...`` and the ``/reports`` page."""
        app.add_routes(self.api.routes())
        add_pages(app, "reports", STATIC_DIR, PAGES)

    def today_by_queue(self) -> dict[str, dict[str, Any]]:
        """Each queue's figures since local midnight, as the report for today has them (up to
        ``reports.refresh_s`` behind the log)."""
        return self.today.by_queue()

    def ivr_today_by_flow(self) -> dict[str, dict[str, Any]]:
        """Each flow's IVR figures since local midnight, as the IVR report for today has them
        (up to the recorder's 0.5 s behind the calls)."""
        return self.ivr_today.by_flow()

    def config_applied(self) -> None:
        """Queues changed: thresholds are read again for what is folded in from now on."""
        self.service.rules_changed()

    async def close(self) -> None:
        """Stop the background folding and purge; write the IVR sessions still pending."""
        await self.ivr_retention.close()
        await self.ivr_sessions.close()
        await self.service.stop()
