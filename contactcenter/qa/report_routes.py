"""The QA report over HTTP: ``GET /api/qa/report`` (JSON) and ``/api/qa/report.csv?table=``
(the same values as CSV), for supervisors and admins.

Design note: the evaluations of the range are read once and handed to the pure
``report.build``; the CSV writes the JSON's columns and values (a table's totals row last),
text cells that a spreadsheet would run as a formula neutralized the way the other reports'
are (``reports.routes.neutralize``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web

from contactcenter.common.timestamps import aware
from contactcenter.qa import tables as t
from contactcenter.qa.report import DAY, PERIODS, WEEK, QaReport, Scored, Table, build
from contactcenter.qa.settings import QaSettings
from contactcenter.reports.routes import neutralize
from contactcenter.storage.database import Database
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import STAFF, requires
from contactcenter.web.security import json_error, query_int, query_text

DONE = (t.SUBMITTED, t.ACKNOWLEDGED, t.DISPUTED)
TABLES = ("agents", "questions", "periods")
MAX_DAYS = 400
_QUERY: dict[str, dict[str, Any]] = {
    "from": {"type": "string", "format": "date", "description": "first local day "
             "(default: 27 days before to)"},
    "to": {"type": "string", "format": "date", "description": "last local day (default today)"},
    "by": {"type": "string", "enum": list(PERIODS),
           "description": "period of the time series (default day up to 31 days, else week)"},
    "scorecard_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    "channel": {"type": "string", "enum": list(t.CHANNELS)},
    "agent": {"type": "string", "description": "agent ids, comma-separated or repeated"},
}
_RANGE = {"description": f"from is after to, or more than {MAX_DAYS} days before it"}
_TABLE = {"type": "object", "properties": {
    "columns": {"type": "array", "items": {"type": "string"}},
    "rows": {"type": "array", "items": {"type": "object"}}, "totals": {"type": "object"}}}
_SCHEMA = {"type": "object", "properties": {
    "report": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
    "by": {"type": "string"}, "timezone": {"type": "string"}, "filters": {"type": "object"},
    "agents": _TABLE, "questions": _TABLE, "periods": _TABLE}}


def table_csv(table: Table) -> str:
    """A table as CSV: its columns, each row, then its totals row when it has one."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in [*table.rows, *([table.totals] if table.totals is not None else [])]:
        writer.writerow(["" if row.get(c) is None else neutralize(row.get(c))
                         for c in table.columns])
    return out.getvalue()


def _day(request: web.Request, name: str) -> date | None:
    raw = query_text(request, name, 10)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise json_error(web.HTTPBadRequest, f"{name} must be a day, YYYY-MM-DD") from None


def _agents(request: web.Request) -> list[str]:
    out: list[str] = []
    for raw in request.query.getall("agent", []):
        for part in raw.split(","):
            if part.strip():
                if len(part.strip()) > 64 or any(c in part for c in "\r\n\x00"):
                    raise json_error(web.HTTPBadRequest, "agent: ids of at most 64 characters")
                out.append(part.strip())
    return out


class QaReportRoutes:
    """The report's handlers over the evaluations."""

    def __init__(self, db: Database, settings: QaSettings,
                 now: Callable[[], datetime]) -> None:
        self.db = db
        self.tz = ZoneInfo(settings.sampling_timezone)
        self.now = now

    def routes(self) -> list[web.RouteDef]:
        """The report's routes."""
        return [web.get("/api/qa/report", self.report_json),
                web.get("/api/qa/report.csv", self.report_csv)]

    async def report(self, request: web.Request) -> QaReport:
        """The report the query asks for (400 on a bad one)."""
        end = _day(request, "to") or self.now().astimezone(self.tz).date()
        start = _day(request, "from") or end - timedelta(days=27)
        if start > end or (end - start).days >= MAX_DAYS:  # days of the declared form: 422
            raise json_error(web.HTTPUnprocessableEntity,
                             f"from must not be after to, and at most {MAX_DAYS} days before")
        by = query_text(request, "by") or (DAY if (end - start).days < 31 else WEEK)
        if by not in PERIODS:
            raise json_error(web.HTTPBadRequest, "by must be day or week")
        channel = query_text(request, "channel")
        if channel is not None and channel not in t.CHANNELS:
            raise json_error(web.HTTPBadRequest, "channel must be voice, chat or ticket")
        scorecard = query_int(request, "scorecard_id", 0, 999_999_999) or None
        agents = _agents(request)
        ev = t.EvaluationRow
        first = datetime(start.year, start.month, start.day, tzinfo=self.tz)
        after = end + timedelta(days=1)
        last = datetime(after.year, after.month, after.day, tzinfo=self.tz)
        stmt = sa.select(ev).where(ev.status.in_(DONE), ev.agent_id.is_not(None),
                                   ev.submitted_at >= first.astimezone(UTC),
                                   ev.submitted_at < last.astimezone(UTC))
        if scorecard:
            stmt = stmt.where(ev.scorecard_id == scorecard)
        if channel:
            stmt = stmt.where(ev.channel == channel)
        if agents:
            stmt = stmt.where(ev.agent_id.in_(agents))
        async with self.db.session() as s:
            rows = (await s.execute(stmt.order_by(ev.id))).scalars().all()
        items = [Scored(r.id, r.agent_id or "", r.channel, r.scorecard_id, r.status,
                        aware(r.submitted_at), r.percent, bool(r.failed), r.form,
                        {qid: a.get("value") for qid, a in (r.answers or {}).items()})
                 for r in rows if r.submitted_at is not None]
        filters: dict[str, Any] = {"scorecard_id": scorecard, "channel": channel,
                                   "agent": agents}
        return build(items, start, end, by, self.tz, filters)

    @requires(*STAFF)
    @api_doc(query=_QUERY, responses={200: _SCHEMA, 422: _RANGE}, tags=("qa", "reports"))
    async def report_json(self, request: web.Request) -> web.Response:
        """GET /api/qa/report: scores per agent, per question and per day or week."""
        return web.json_response((await self.report(request)).as_json())

    @requires(*STAFF)
    @api_doc(query={**_QUERY, "table": {"type": "string", "enum": list(TABLES),
                                        "description": "which table (default agents)"}},
             responses={200: {"description": "one table of the report as CSV",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                        422: _RANGE},
             tags=("qa", "reports"))
    async def report_csv(self, request: web.Request) -> web.Response:
        """GET /api/qa/report.csv?table=agents|questions|periods: the JSON's values."""
        name = query_text(request, "table") or "agents"
        if name not in TABLES:
            raise json_error(web.HTTPBadRequest, "table must be agents, questions or periods")
        report = await self.report(request)
        return web.Response(
            text=table_csv(report.table(name)), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition":
                     f'attachment; filename="qa-{name}-{report.start}-{report.end}.csv"'})
