"""Reports over HTTP: the same report as JSON (``/api/reports/<kind>``) and as CSV
(``/api/reports/<kind>.csv``), for supervisors and admins.

Design note: one ``Report`` object feeds both formats, so the CSV's cells are the JSON's values
(and the page renders the JSON): the three cannot disagree. CSV cells that are text and start
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading ``'`` so a spreadsheet
shows them instead of running them as formulas (OWASP "CSV injection"): a disposition or an agent
name is typed by people. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from contactcenter.reports.queries import (
    PERIODS,
    QUEUE_GROUPS,
    Report,
    ReportQuery,
    ReportReader,
    parse_list,
)
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import STAFF, requires
from contactcenter.web.security import json_error

KINDS = ("queues", "agents", "pauses", "dispositions")
_RISKY = ("=", "+", "-", "@", "\t", "\r")
_QUERY_DOC: dict[str, dict[str, Any]] = {
    "from": {"type": "string", "format": "date", "description": "first local day (default today)"},
    "to": {"type": "string", "format": "date", "description": "last local day (default: from)"},
    "by": {"type": "string", "enum": list(PERIODS),
           "description": "period (default: interval for one day, else day)"},
    "group": {"type": "string", "enum": list(QUEUE_GROUPS), "description": "queues report only"},
    "queue": {"type": "string", "description": "queue names, comma-separated or repeated"},
    "agent": {"type": "string", "description": "agent ids, comma-separated or repeated"},
    "channel": {"type": "string", "description": "voice, chat, ticket"},
}
_REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "report": {"type": "string", "enum": list(KINDS)}, "timezone": {"type": "string"},
        "from": {"type": "string"}, "to": {"type": "string"}, "by": {"type": "string"},
        "group": {"type": "string"}, "filters": {"type": "object"},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object"}}, "totals": {"type": "object"},
    },
}
_CSV_RESPONSE = {"description": "the same report as CSV (header = columns, last row = totals)",
                 "content": {"text/csv": {"schema": {"type": "string"}}}}


def neutralize(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(_RISKY):
        return "'" + value
    return value


def report_csv(report: Report) -> str:
    """The report as CSV text: the columns, each row, then the totals row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(report.columns)
    for row in [*report.rows, report.totals]:
        writer.writerow(["" if row.get(c) is None else neutralize(row.get(c))
                         for c in report.columns])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What the page offers in its filters."""

    queues: list[str]
    agents: dict[str, str]  # id -> name
    channels: list[str]


class ReportsApi:
    """The reports' JSON and CSV handlers over one reader."""

    def __init__(self, reader: ReportReader, now: Callable[[], float],
                 catch_up: Callable[[], Awaitable[Any]],
                 options: Callable[[], ReportOptions]) -> None:
        self.reader = reader
        self.now = now
        self.catch_up = catch_up
        self.options_of = options

    def routes(self) -> list[web.RouteDef]:
        """Every route of the reports."""
        return [
            web.get("/api/reports/options", self.options),
            web.get("/api/reports/queues", self.queues),
            web.get("/api/reports/queues.csv", self.queues_csv),
            web.get("/api/reports/agents", self.agents),
            web.get("/api/reports/agents.csv", self.agents_csv),
            web.get("/api/reports/pauses", self.pauses),
            web.get("/api/reports/pauses.csv", self.pauses_csv),
            web.get("/api/reports/dispositions", self.dispositions),
            web.get("/api/reports/dispositions.csv", self.dispositions_csv),
        ]

    def _query(self, request: web.Request, kind: str) -> ReportQuery:
        q = request.query
        try:
            today = self.reader.calendar.today(self.now())
            first = dt.date.fromisoformat(q["from"]) if q.get("from") else today
            last = dt.date.fromisoformat(q["to"]) if q.get("to") else first
            by = q.get("by") or ("interval" if first == last else "day")
            group = q.get("group") or ("queue" if kind == "queues" else "agent")
            if kind == "queues" and group not in QUEUE_GROUPS:
                raise ValueError(f"group must be one of {', '.join(QUEUE_GROUPS)}")
            return ReportQuery(first, last, by, group, parse_list(q.getall("queue", [])),
                               parse_list(q.getall("agent", [])),
                               parse_list(q.getall("channel", [])))
        except ValueError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None

    async def _report(self, request: web.Request, kind: str) -> Report:
        query = self._query(request, kind)
        await self.catch_up()
        make: Mapping[str, Callable[[ReportQuery], Awaitable[Report]]] = {
            "queues": self.reader.queues, "agents": self.reader.agents,
            "pauses": self.reader.pauses, "dispositions": self.reader.dispositions}
        return await make[kind](query)

    async def _json(self, request: web.Request, kind: str) -> web.Response:
        return web.json_response((await self._report(request, kind)).as_json())

    async def _csv(self, request: web.Request, kind: str) -> web.Response:
        report = await self._report(request, kind)
        q = report.query
        name = f"{kind}-{q.first.isoformat()}_{q.last.isoformat()}-{q.by}.csv"
        return web.Response(text=report_csv(report), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"',
                                     "Cache-Control": "no-store"})

    @requires(*STAFF)
    @api_doc(tags=("reports",), responses={200: {"type": "object", "properties": {
        "queues": {"type": "array"}, "agents": {"type": "object"}, "channels": {"type": "array"},
        "timezone": {"type": "string"}, "today": {"type": "string"}}}})
    async def options(self, request: web.Request) -> web.Response:
        """What the reports can be filtered on: queues, agents, channels; the time zone."""
        o = self.options_of()
        return web.json_response({
            "queues": o.queues, "agents": o.agents, "channels": o.channels,
            "timezone": self.reader.calendar.zone,
            "today": self.reader.calendar.today(self.now()).isoformat()})

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA})
    async def queues(self, request: web.Request) -> web.Response:
        """Queue figures per period: offered, answered, abandoned, service level, ASA, AHT...

        Definitions: docs/reports.md. ``group`` = queue, channel or none."""
        return await self._json(request, "queues")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE})
    async def queues_csv(self, request: web.Request) -> web.Response:
        """The queues report as CSV (the same values as the JSON)."""
        return await self._csv(request, "queues")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA})
    async def agents(self, request: web.Request) -> web.Response:
        """Agent figures per period: handled, AHT, talk/hold/wrap-up, state times, occupancy."""
        return await self._json(request, "agents")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE})
    async def agents_csv(self, request: web.Request) -> web.Response:
        """The agents report as CSV (the same values as the JSON)."""
        return await self._csv(request, "agents")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA})
    async def pauses(self, request: web.Request) -> web.Response:
        """Paused time per period, agent and reason."""
        return await self._json(request, "pauses")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE})
    async def pauses_csv(self, request: web.Request) -> web.Response:
        """The pauses report as CSV (the same values as the JSON)."""
        return await self._csv(request, "pauses")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA})
    async def dispositions(self, request: web.Request) -> web.Response:
        """Wrap-ups per period and disposition."""
        return await self._json(request, "dispositions")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE})
    async def dispositions_csv(self, request: web.Request) -> web.Response:
        """The dispositions report as CSV (the same values as the JSON)."""
        return await self._csv(request, "dispositions")
