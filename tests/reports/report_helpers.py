"""A queue engine writing the real interaction log at chosen times (no simulator, no clock).

The routing engine is synchronous and takes ``now`` on every call, so a test can play a day of
calls at exact epoch times (a DST change, an interval boundary) and know every figure by hand.
Every batch goes through ``InteractionLog.append`` exactly as the routing service writes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import RoutingEvent
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery, ReportReader
from contactcenter.reports.rules import queue_rules
from contactcenter.reports.service import ReportService
from contactcenter.reports.settings import ReportSettings
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.engine import Engine
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.storage.database import Database


def at(zone: str, text: str) -> float:
    """Epoch seconds of a local wall time ``YYYY-MM-DD HH:MM:SS`` in ``zone`` (fold 0)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def utc(text: str) -> float:
    """Epoch seconds of a UTC time ``YYYY-MM-DD HH:MM:SS``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


class Now:
    """The time the test's floor has reached (the engine itself takes explicit times)."""

    def __init__(self, now: float) -> None:
        self.value = now

    def __call__(self) -> float:
        return self.value


class LogFloor:
    """An engine over ``queues`` and ``agents`` whose events go to the interaction log."""

    def __init__(self, db: Database, queues: list[QueueConfig], agents: list[AgentConfig]) -> None:
        self.db = db
        self.config = RoutingConfig({q.name: q for q in queues}, {a.id: a for a in agents})
        self.engine = Engine(self.config, rng_seed=1)
        self.log = InteractionLog(db)
        self.events: list[RoutingEvent] = []

    async def do(self, when: float, method: str, *args: Any) -> list[RoutingEvent]:
        """``engine.<method>(*args, when)``, its events and changed rows written to the log."""
        events = getattr(self.engine, method)(*args, when)
        rows, agents = self.engine.take_changes()
        await self.log.append(events, rows, agents)
        self.events += events
        return events

    async def call(self, when: float, iid: str, queue: str, channel: str = "voice",
                   **data: Any) -> list[RoutingEvent]:
        """A new interaction ``iid`` enters ``queue``."""
        return await self.do(when, "enqueue", Interaction(channel=channel, queue=queue, id=iid,
                                                          data=dict(data)))

    def offer_of(self, iid: str) -> str:
        """The id of the offer ``iid`` is in now."""
        offer = self.engine.live[iid].offer_id
        assert offer is not None, f"{iid} is not offered"
        return offer


def report_parts(db: Database, floor: LogFloor, zone: str, settings: ReportSettings | None = None,
                 now: float = 0.0) -> tuple[ReportService, ReportReader, Now]:
    """The live aggregation and the reader over ``db``, as the server wires them."""
    settings = settings or ReportSettings(timezone=zone)
    clock = Now(now)
    calendar = Calendar(settings.zone())
    rules = queue_rules(lambda: floor.config.queues, settings)
    service = ReportService(db, clock, calendar, rules)
    names = {a.id: a.name for a in floor.config.agents.values()}
    return service, ReportReader(db, calendar, settings, lambda: names), clock


def one_day(day: str, by: str = "day", **kw: Any) -> ReportQuery:
    """A query over one local day."""
    d = dt.date.fromisoformat(day)
    return ReportQuery(d, d, by, **kw)
