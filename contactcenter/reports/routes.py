"""Reports over HTTP: the same report as JSON (``/api/reports/<kind>``) and as CSV
(``/api/reports/<kind>.csv``), for supervisors and admins.

Design note: one ``Report`` object feeds both formats, so the CSV's cells are the JSON's values
(and the page renders the JSON): the three cannot disagree. CSV cells that are text and start
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading ``'`` so a spreadsheet
shows them instead of running them as formulas (OWASP "CSV injection"): a disposition or an agent
name is typed by people. Numbers are written as numbers.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from contactcenter.reports.chats import ChatReader
from contactcenter.reports.ivr_recorder import IvrRecorder
from contactcenter.reports.ivr_report import IVR_GROUPS, IvrQuery, IvrReader
from contactcenter.reports.queries import (
    PERIODS,
    QUEUE_GROUPS,
    Report,
    ReportQuery,
    ReportReader,
    parse_list,
)
from contactcenter.reports.tickets import TicketReader
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import STAFF, requires
from contactcenter.web.security import json_error

KINDS = ("queues", "agents", "pauses", "dispositions", "tickets", "chats", "ivr")
_GROUPED = ("queues", "tickets", "chats")  # the kinds whose rows are grouped by ``group``
_RISKY = ("=", "+", "-", "@", "\t", "\r")
_QUERY_DOC: dict[str, dict[str, Any]] = {
    "from": {"type": "string", "format": "date", "description": "first local day (default today)"},
    "to": {"type": "string", "format": "date", "description": "last local day (default: from)"},
    "by": {"type": "string", "enum": list(PERIODS),
           "description": "period (default: interval for one day, else day)"},
    "group": {"type": "string", "enum": list(QUEUE_GROUPS),
              "description": "queues, tickets and chats reports only"},
    "queue": {"type": "string", "description": "queue names, comma-separated or repeated"},
    "agent": {"type": "string", "description": "agent ids, comma-separated or repeated"},
    "channel": {"type": "string", "description": "voice, chat, ticket"},
}
# The tickets and chats reports have rows per agent too (docs/reports.md, Tickets, Chats).
_CHANNEL_GROUPS = (*QUEUE_GROUPS, "agent")
_CHANNEL_QUERY_DOC: dict[str, dict[str, Any]] = {
    **_QUERY_DOC,
    "group": {"type": "string", "enum": list(_CHANNEL_GROUPS),
              "description": "rows per queue (default), channel, agent (the agent's own "
                             "figures, the others empty) or all together"},
    "agent": {"type": "string", "description": "agent ids, comma-separated or repeated: only "
                                               "their figures (the others empty)"},
}
_RANGE = {"description": "'to' is before 'from', or the range is longer than a report covers"}
_IVR_QUERY_DOC: dict[str, dict[str, Any]] = {
    **{k: v for k, v in _QUERY_DOC.items() if k not in ("group", "queue", "agent")},
    "group": {"type": "string", "enum": list(IVR_GROUPS),
              "description": "rows per flow (default), per flow and node (the funnel), or none"},
    "flow": {"type": "string", "description": "flow names, comma-separated or repeated"},
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
                 options: Callable[[], ReportOptions],
                 tickets: TicketReader | None = None,
                 chats: ChatReader | None = None, ivr: IvrReader | None = None,
                 ivr_sessions: IvrRecorder | None = None) -> None:
        self.reader = reader
        self.ivr = ivr
        self.ivr_sessions = ivr_sessions
        self.tickets = tickets
        self.chats = chats
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
            web.get("/api/reports/tickets", self.tickets_report),
            web.get("/api/reports/tickets.csv", self.tickets_csv),
            web.get("/api/reports/chats", self.chats_report),
            web.get("/api/reports/chats.csv", self.chats_csv),
            web.get("/api/reports/ivr", self.ivr_report),
            web.get("/api/reports/ivr.csv", self.ivr_csv),
        ]

    def _query(self, request: web.Request, kind: str) -> ReportQuery:
        q = request.query
        try:
            today = self.reader.calendar.today(self.now())
            first = dt.date.fromisoformat(q["from"]) if q.get("from") else today
            last = dt.date.fromisoformat(q["to"]) if q.get("to") else first
            by = q.get("by") or ("interval" if first == last else "day")
            group = q.get("group") or ("queue" if kind in _GROUPED else "agent")
            groups = _CHANNEL_GROUPS if kind in ("tickets", "chats") else QUEUE_GROUPS
            if kind in _GROUPED and group not in groups:
                raise ValueError(f"group must be one of {', '.join(groups)}")
            return ReportQuery(first, last, by, group, parse_list(q.getall("queue", [])),
                               parse_list(q.getall("agent", [])),
                               parse_list(q.getall("channel", [])))
        except ValueError as exc:  # the form is checked before (query declarations): the range
            raise json_error(web.HTTPUnprocessableEntity, str(exc)) from None

    async def _ivr(self, request: web.Request) -> Report:
        if self.ivr is None:
            raise json_error(web.HTTPNotFound, "no ivr report on this server")
        base = self._query(request, "ivr")
        try:
            query = IvrQuery(dataclasses.replace(base, group=request.query.get("group") or "flow"),
                             parse_list(request.query.getall("flow", [])))
        except ValueError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        if self.ivr_sessions is not None:
            # The sessions that ended up to now, as a log read folds the log in first; a
            # database that says no will say so to the read below.
            with contextlib.suppress(Exception):
                await self.ivr_sessions.flush()
        return await self.ivr.report(query)

    async def _report(self, request: web.Request, kind: str) -> Report:
        if kind == "ivr":
            return await self._ivr(request)
        query = self._query(request, kind)
        # Counted from the channels' own tables when read: nothing to fold in first.
        on_read = {"tickets": self.tickets, "chats": self.chats}
        if kind in on_read:
            reader = on_read[kind]
            if reader is None:
                raise json_error(web.HTTPNotFound, f"no {kind} report on this server")
            return await reader.report(query)
        await self.catch_up()
        make: Mapping[str, Callable[[ReportQuery], Awaitable[Report]]] = {
            "queues": self.reader.queues, "agents": self.reader.agents,
            "pauses": self.reader.pauses, "dispositions": self.reader.dispositions}
        return await make[kind](query)

    async def _json(self, request: web.Request, kind: str) -> web.Response:
        report = await self._report(request, kind)
        body = report.as_json()
        if kind == "ivr":
            body["filters"] = {"flow": parse_list(request.query.getall("flow", [])),
                               "channel": list(report.query.channels)}
        return web.json_response(body)

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
        "flows": {"type": "array"}, "timezone": {"type": "string"}, "today": {"type": "string"}}}})
    async def options(self, request: web.Request) -> web.Response:
        """What the reports can be filtered on: queues, agents, channels; the time zone."""
        o = self.options_of()
        flows = await self.ivr.flows() if self.ivr is not None else []
        return web.json_response({
            "queues": o.queues, "agents": o.agents, "channels": o.channels, "flows": flows,
            "timezone": self.reader.calendar.zone,
            "today": self.reader.calendar.today(self.now()).isoformat()})

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA, 422: _RANGE})
    async def queues(self, request: web.Request) -> web.Response:
        """Queue figures per period: offered, answered, abandoned, service level, ASA, AHT...

        Definitions: docs/reports.md. ``group`` = queue, channel or none."""
        return await self._json(request, "queues")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE, 422: _RANGE})
    async def queues_csv(self, request: web.Request) -> web.Response:
        """The queues report as CSV (the same values as the JSON)."""
        return await self._csv(request, "queues")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA, 422: _RANGE})
    async def agents(self, request: web.Request) -> web.Response:
        """Agent figures per period: handled, AHT, talk/hold/wrap-up, state times, occupancy."""
        return await self._json(request, "agents")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE, 422: _RANGE})
    async def agents_csv(self, request: web.Request) -> web.Response:
        """The agents report as CSV (the same values as the JSON)."""
        return await self._csv(request, "agents")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA, 422: _RANGE})
    async def pauses(self, request: web.Request) -> web.Response:
        """Paused time per period, agent and reason."""
        return await self._json(request, "pauses")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE, 422: _RANGE})
    async def pauses_csv(self, request: web.Request) -> web.Response:
        """The pauses report as CSV (the same values as the JSON)."""
        return await self._csv(request, "pauses")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _REPORT_SCHEMA, 422: _RANGE})
    async def dispositions(self, request: web.Request) -> web.Response:
        """Wrap-ups per period and disposition."""
        return await self._json(request, "dispositions")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_QUERY_DOC, responses={200: _CSV_RESPONSE, 422: _RANGE})
    async def dispositions_csv(self, request: web.Request) -> web.Response:
        """The dispositions report as CSV (the same values as the JSON)."""
        return await self._csv(request, "dispositions")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_CHANNEL_QUERY_DOC,
             responses={200: _REPORT_SCHEMA, 422: _RANGE})
    async def tickets_report(self, request: web.Request) -> web.Response:
        """Ticket figures per period: created, first and next responses, solved, resolution,
        targets and SLA, reopened, backlog by age; per agent with ``group=agent``. Definitions:
        docs/reports.md."""
        return await self._json(request, "tickets")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_CHANNEL_QUERY_DOC,
             responses={200: _CSV_RESPONSE, 422: _RANGE})
    async def tickets_csv(self, request: web.Request) -> web.Response:
        """The tickets report as CSV (the same values as the JSON)."""
        return await self._csv(request, "tickets")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_CHANNEL_QUERY_DOC,
             responses={200: _REPORT_SCHEMA, 422: _RANGE})
    async def chats_report(self, request: web.Request) -> web.Response:
        """Chat figures per period: started, first response, closed (and by whom), duration.
        Per agent with ``group=agent``. Definitions: docs/reports.md."""
        return await self._json(request, "chats")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_CHANNEL_QUERY_DOC,
             responses={200: _CSV_RESPONSE, 422: _RANGE})
    async def chats_csv(self, request: web.Request) -> web.Response:
        """The chats report as CSV (the same values as the JSON)."""
        return await self._csv(request, "chats")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_IVR_QUERY_DOC,
             responses={200: _REPORT_SCHEMA, 422: _RANGE})
    async def ivr_report(self, request: web.Request) -> web.Response:
        """IVR figures per period: sessions per flow, how they ended, self-service containment;
        with ``group=node`` the funnel (sessions that reached and left each node).
        Definitions: docs/reports.md, IVR."""
        return await self._json(request, "ivr")

    @requires(*STAFF)
    @api_doc(tags=("reports",), query=_IVR_QUERY_DOC,
             responses={200: _CSV_RESPONSE, 422: _RANGE})
    async def ivr_csv(self, request: web.Request) -> web.Response:
        """The IVR report as CSV (the same values as the JSON)."""
        return await self._csv(request, "ivr")
