"""IVR figures per period, flow and node (docs/reports.md, IVR), counted when a report is read
from the sessions ``ivr_recorder.py`` keeps.

Design note. SQL sums the sessions per 15-minute slot (the UTC start of the interval a
session started in, stored with it), flow and ending, and counts, per slot, flow and node, the
sessions that entered the node (each once, however often it came back to it); Python then
adds the slots into the report's periods (``intervals.periods``: local hours and days, DST
included) and divides. Everything about a session counts in the period it **started** in, so
a period's funnel is made of the same sessions from its first node to its last (reached never
exceeds sessions). Sessions past their retention are deleted and their sums kept per slot
(``ivr_retention.py``); those sums are read with the sessions in the same statement and add up
the same way. The IVR is the voice channel's: a channel filter without ``voice`` empties
the report; queue and agent filters do not apply.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from contactcenter.reports.intervals import Calendar, period_label, periods
from contactcenter.reports.ivr_recorder import (
    CALLER_HANGUP,
    COMPLETED,
    CONTAINED,
    ENDINGS,
    FALLBACK,
    LEFT,
    QUEUED,
    TRANSFERRED,
)
from contactcenter.reports.queries import Report, ReportQuery, _avg, _pct
from contactcenter.reports.tables import (
    ivr_flow_intervals,
    ivr_node_intervals,
    ivr_session_nodes,
    ivr_sessions,
)
from contactcenter.storage.database import Database

CHANNEL = "voice"
IVR_GROUPS = ("flow", "node", "none")
FLOW_COLUMNS = ("sessions", "queued", "transferred", "fallback", "caller_hangups", "completed",
                "contained", "containment_pct", "avg_duration_s")
NODE_COLUMNS = ("sessions", "reached", "reached_pct", "left", "left_pct", "caller_hangups",
                "ended")
_ENDING_COLUMN = {QUEUED: "queued", TRANSFERRED: "transferred", FALLBACK: "fallback",
                  CALLER_HANGUP: "caller_hangups", COMPLETED: "completed"}


@dataclass(frozen=True, slots=True)
class IvrQuery:
    """An IVR report: the common query (``group`` is flow, node or none) and its flows."""

    base: ReportQuery
    flows: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.base.group not in IVR_GROUPS:
            raise ValueError(f"group must be one of {', '.join(IVR_GROUPS)}")


@dataclass
class FlowCounts:
    """Sessions of one period and flow (or all flows), by how they ended."""

    endings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDINGS, 0))
    duration_s: float = 0.0

    @property
    def sessions(self) -> int:
        return sum(self.endings.values())

    def add(self, other: FlowCounts) -> None:
        for k, v in other.endings.items():
            self.endings[k] += v
        self.duration_s += other.duration_s


@dataclass
class NodeCounts:
    """One node of one flow in one period: sessions that reached it, ended or left there."""

    reached: int = 0
    ended: int = 0
    left: int = 0
    caller_hangups: int = 0
    first: int = 1 << 30  # the earliest place in a path where it was entered (for the order)


def _counts(start: int, end: int, only: tuple[str, ...], by_node: bool) -> sa.CompoundSelect:
    """Rows ``(kind, slot, flow, key, last node, count, extra)`` of the sessions kept and of the
    retention's sums in ``[start, end)``: kind ``e`` per ending (key; extra: seconds), with
    ``by_node`` also kind ``n`` per node entered (key; extra: its earliest place in a path)."""
    s, n = ivr_sessions.c, ivr_session_nodes.c
    fs, ns = ivr_flow_intervals.c, ivr_node_intervals.c

    def where(t: Any) -> list[Any]:
        return [t.slot >= start, t.slot < end, *([t.flow.in_(only)] if only else [])]

    none: sa.ColumnClause[str] = sa.literal_column("''", sa.String())
    last, summed_last = (s.last_node, fs.last_node) if by_node else (none, none)
    keys, summed_keys = [s.slot, s.flow, s.ending], [fs.slot, fs.flow, fs.ending]
    parts = [
        sa.select(sa.literal_column("'e'"), *keys, last, sa.func.count(),
                  sa.func.sum(s.ended_at - s.started_at))
        .where(*where(s)).group_by(*keys, *([last] if by_node else [])),
        sa.select(sa.literal_column("'e'"), *summed_keys, summed_last, sa.func.sum(fs.sessions),
                  sa.func.sum(fs.duration_s))
        .where(*where(fs)).group_by(*summed_keys, *([summed_last] if by_node else [])),
    ]
    if by_node:
        parts += [
            sa.select(sa.literal_column("'n'"), s.slot, s.flow, n.node, none,
                      sa.func.count(sa.distinct(n.session_id)), sa.func.min(n.seq))
            .select_from(ivr_session_nodes.join(ivr_sessions, n.session_id == s.id))
            .where(*where(s)).group_by(s.slot, s.flow, n.node),
            sa.select(sa.literal_column("'n'"), ns.slot, ns.flow, ns.node, none,
                      sa.func.sum(ns.reached), sa.func.min(ns.first_seq))
            .where(*where(ns)).group_by(ns.slot, ns.flow, ns.node),
        ]
    return sa.union_all(*parts)


def flow_figures(c: FlowCounts) -> dict[str, Any]:
    """docs/reports.md's IVR figures of one period and flow from its counts."""
    sessions = c.sessions
    contained = sum(c.endings[e] for e in CONTAINED)
    return {"sessions": sessions, **{_ENDING_COLUMN[e]: c.endings[e] for e in ENDINGS},
            "contained": contained, "containment_pct": _pct(contained, sessions),
            "avg_duration_s": _avg(c.duration_s, sessions)}


def node_figures(sessions: int, n: NodeCounts) -> dict[str, Any]:
    """One funnel row: a node's counts and their shares of the flow's sessions."""
    return {"sessions": sessions, "reached": n.reached, "reached_pct": _pct(n.reached, sessions),
            "left": n.left, "left_pct": _pct(n.left, sessions),
            "caller_hangups": n.caller_hangups, "ended": n.ended}


class IvrReader:
    """The IVR report on one database, for one time zone."""

    def __init__(self, db: Database, calendar: Calendar, now: Callable[[], float]) -> None:
        self.db = db
        self.calendar = calendar
        self.now = now

    async def flows(self) -> list[str]:
        """The flows that have sessions, kept or summed (what the report can be filtered on)."""
        kept = sa.select(ivr_sessions.c.flow)
        summed = sa.select(ivr_flow_intervals.c.flow)
        async with self.db.engine.connect() as c:
            rows = await c.execute(sa.union(kept, summed))
            return sorted(str(r[0]) for r in rows)

    async def flow_counts(self, day: dt.date) -> dict[str, FlowCounts]:
        """Each flow's sessions by ending of one local day (``ivr_today.py``'s start)."""
        start, end = self.calendar.day_range(day, day)
        flows: dict[tuple[int, str], FlowCounts] = {}
        await self._count(start, end, (), False, [start], flows, {})
        return {flow: counts for (_i, flow), counts in flows.items()}

    async def report(self, iq: IvrQuery) -> Report:
        """Sessions by ending and containment per flow, or the funnel per node (``group``)."""
        q = iq.base
        start, end = self.calendar.day_range(q.first, q.last)
        ps = periods(self.calendar, q.by, start, end, self.now())
        starts = [p.start for p in ps]
        by_node = q.group == "node"
        flows: dict[tuple[int, str], FlowCounts] = {}
        nodes: dict[tuple[int, str, str], NodeCounts] = {}
        if ps and (not q.channels or CHANNEL in q.channels):
            await self._count(start, end, iq.flows, by_node, starts, flows, nodes)
        if by_node:
            columns, rows, totals = self._node_rows(q, ps, flows, nodes)
        else:
            columns, rows, totals = self._flow_rows(q, ps, flows)
        return Report("ivr", q, self.calendar.zone, columns, rows, totals, start, end)

    async def _count(self, start: int, end: int, only: tuple[str, ...], by_node: bool,
                     starts: list[int], flows: dict[tuple[int, str], FlowCounts],
                     nodes: dict[tuple[int, str, str], NodeCounts]) -> None:
        async with self.db.engine.connect() as c:
            # One statement: the sessions kept and the sums of those the retention purged are
            # read in one snapshot, so a purge committing meanwhile cannot count one twice.
            for kind, slot, flow, key, last, count, extra in await c.execute(
                    _counts(start, end, only, by_node)):
                i = bisect_right(starts, int(slot)) - 1
                if i < 0:
                    continue
                if kind == "n":
                    nc = nodes.setdefault((i, str(flow), str(key)), NodeCounts())
                    nc.reached += int(count)
                    nc.first = min(nc.first, int(extra))
                    continue
                if key not in _ENDING_COLUMN:
                    continue
                fc = flows.setdefault((i, str(flow)), FlowCounts())
                fc.endings[key] += int(count)
                fc.duration_s += float(extra or 0.0)
                if by_node and last:
                    nc = nodes.setdefault((i, str(flow), str(last)), NodeCounts())
                    nc.ended += int(count)
                    if key in LEFT:
                        nc.left += int(count)
                    if key == CALLER_HANGUP:
                        nc.caller_hangups += int(count)

    def _head(self, q: ReportQuery, p: Any) -> dict[str, Any]:
        return {"period": period_label(self.calendar, q.by, q.first, q.last, p),
                "period_start": p.start}

    def _totals_head(self, q: ReportQuery, *cols: str) -> dict[str, Any]:
        head: dict[str, Any] = {"period": "total", "period_start": self.calendar.midnight(q.first)}
        return head | dict.fromkeys(cols, "")

    def _flow_rows(self, q: ReportQuery, ps: list[Any],
                   flows: dict[tuple[int, str], FlowCounts]) -> tuple[
                       tuple[str, ...], list[dict[str, Any]], dict[str, Any]]:
        grouped = q.group == "flow"
        cells: dict[tuple[int, str], FlowCounts] = {}
        for (i, flow), fc in flows.items():
            cells.setdefault((i, flow if grouped else ""), FlowCounts()).add(fc)
        rows: list[dict[str, Any]] = []
        total = FlowCounts()
        for (i, flow), fc in sorted(cells.items()):
            rows.append(self._head(q, ps[i]) | ({"flow": flow} if grouped else {})
                        | flow_figures(fc))
            total.add(fc)
        columns = ("period", "period_start", *(("flow",) if grouped else ()), *FLOW_COLUMNS)
        totals = self._totals_head(q, *(("flow",) if grouped else ())) | flow_figures(total)
        return columns, rows, totals

    def _node_rows(self, q: ReportQuery, ps: list[Any], flows: dict[tuple[int, str], FlowCounts],
                   nodes: dict[tuple[int, str, str], NodeCounts]) -> tuple[
                       tuple[str, ...], list[dict[str, Any]], dict[str, Any]]:
        # A funnel: within a period and flow, the nodes most sessions reached first, and among
        # equals the one met earlier in a path.
        order = sorted(nodes.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[1].reached,
                                                       kv[1].first, kv[0][2]))
        rows: list[dict[str, Any]] = []
        for (i, flow, node), nc in order:
            sessions = flows[(i, flow)].sessions if (i, flow) in flows else 0
            rows.append(self._head(q, ps[i]) | {"flow": flow, "node": node}
                        | node_figures(sessions, nc))
        sessions = sum(fc.sessions for fc in flows.values())
        left = sum(nc.left for nc in nodes.values())
        totals = self._totals_head(q, "flow", "node") | {
            "sessions": sessions, "reached": None, "reached_pct": None, "left": left,
            "left_pct": _pct(left, sessions),
            "caller_hangups": sum(nc.caller_hangups for nc in nodes.values()),
            "ended": sum(nc.ended for nc in nodes.values())}
        return ("period", "period_start", "flow", "node", *NODE_COLUMNS), rows, totals
