"""Reports read from the interval tables: sums in SQL, then the ratios of docs/reports.md.

Design note: SQL sums each period x group (a few thousand rows for 90 days of 50 queues by day)
and every ratio is computed here from those sums, for each row and for the totals alike, so a
total is never an average of averages. The service level's method is per queue, so its
numerator and denominator are summed in SQL with each queue's own method. Values are rounded
once, here (seconds and percentages to 0.1): the JSON, the CSV and the page show these exact
values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from contactcenter.reports import tables as t
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.settings import SL_ANSWERED_AND_ABANDONED, ReportSettings
from contactcenter.storage.database import Database

PERIODS = ("interval", "hour", "day", "total")
QUEUE_GROUPS = ("queue", "channel", "none")
MAX_DAYS = 400

QUEUE_COLUMNS = (
    "offered", "arrived", "overflowed_in", "transferred_in", "answered", "abandoned",
    "short_abandoned", "exited", "overflowed_out", "transferred_out", "transferred_external",
    "callbacks_requested", "callbacks_answered", "service_level_pct", "asa_s",
    "abandon_rate_pct", "longest_wait_s", "handled", "aht_s", "avg_talk_s", "avg_hold_s",
    "avg_wrapup_s", "holds", "offers", "rona",
)
AGENT_COLUMNS = (
    "agent_name", "answered", "offers", "rona", "handled", "aht_s", "avg_talk_s", "avg_hold_s",
    "avg_wrapup_s", "talk_s", "hold_s", "wrapup_s", "transferred_out", "transferred_external",
    "holds", "logged_in_s", "available_s", "ringing_s", "busy_s", "in_wrapup_s", "paused_s",
    "occupancy_pct", "utilization_pct",
)
PAUSE_COLUMNS = ("agent_name", "reason", "paused_s")
DISPOSITION_COLUMNS = ("disposition", "count", "share_pct")
NO_DISPOSITION = "(none)"
HANDLING_STATES = ("reserved", "ringing", "busy", "wrapup")


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What to report: local days ``first``..``last``, per period, filtered."""

    first: dt.date
    last: dt.date
    by: str = "day"
    group: str = "queue"
    queues: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.by not in PERIODS:
            raise ValueError(f"by must be one of {', '.join(PERIODS)}")
        if self.last < self.first:
            raise ValueError("'to' is before 'from'")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")


@dataclass(frozen=True, slots=True)
class Report:
    """One report: its columns in order, its rows and totals (values as shown)."""

    kind: str
    query: ReportQuery
    timezone: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    start: int = 0  # the range in UTC epoch seconds: first local midnight, the one after last
    end: int = 0

    def as_json(self) -> dict[str, Any]:
        q = self.query
        return {"report": self.kind, "timezone": self.timezone, "from": q.first.isoformat(),
                "to": q.last.isoformat(), "start": self.start, "end": self.end, "by": q.by,
                "group": q.group,
                "filters": {"queue": list(q.queues), "agent": list(q.agents),
                            "channel": list(q.channels)},
                "columns": list(self.columns), "rows": self.rows, "totals": self.totals}


def _sec(value: float) -> float:
    # + 0.0: a sum that is -1e-12 after signed corrections must not show as "-0.0"
    return round(value, 1) + 0.0


def _avg(total: float, count: float) -> float | None:
    return round(total / count, 1) + 0.0 if count else None


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) + 0.0 if whole else None


class ReportReader:
    """Runs report queries on one database for one time zone and set of counting rules."""

    def __init__(self, db: Database, calendar: Calendar, settings: ReportSettings,
                 agent_names: Callable[[], Mapping[str, str]] = dict) -> None:
        self.db = db
        self.calendar = calendar
        self.settings = settings
        self.agent_names = agent_names

    # ------------------------------------------------------------------ shared pieces
    def _range(self, q: ReportQuery) -> tuple[int, int]:
        return self.calendar.day_range(q.first, q.last)

    def _period(self, table: sa.Table, by: str) -> sa.ColumnElement[Any]:
        if by == "interval":
            return table.c.start
        if by == "hour":
            return table.c.hour
        if by == "day":
            return table.c.day
        return sa.literal("total")

    def _label(self, q: ReportQuery, value: Any) -> tuple[str, int]:
        """A period's label and its start (UTC epoch seconds)."""
        if q.by in ("interval", "hour"):
            return self.calendar.label(int(value)), int(value)
        if q.by == "day":
            day = dt.date.fromisoformat(str(value))
            return day.isoformat(), self.calendar.midnight(day)
        return f"{q.first.isoformat()}/{q.last.isoformat()}", self.calendar.midnight(q.first)

    def _where(self, table: sa.Table, q: ReportQuery, *, agents: bool = False,
               queue_filter: bool = True) -> list[sa.ColumnElement[bool]]:
        if "start" in table.c:
            start, end = self.calendar.day_range(q.first, q.last)
            cond: list[sa.ColumnElement[bool]] = [table.c.start >= start, table.c.start < end]
        else:
            cond = [table.c.day >= q.first.isoformat(), table.c.day <= q.last.isoformat()]
        if queue_filter and q.queues and "queue" in table.c:
            cond.append(table.c.queue.in_(q.queues))
        if q.channels and "channel" in table.c:
            cond.append(table.c.channel.in_(q.channels))
        if agents and q.agents:
            cond.append(table.c.agent_id.in_(q.agents))
        return cond

    def _sl_mode(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """True for rows of queues whose service level counts abandons too."""
        s = self.settings
        if s.service_level == SL_ANSWERED_AND_ABANDONED:
            answered_only = [n for n, qs in s.queues.items()
                             if qs.service_level not in (None, SL_ANSWERED_AND_ABANDONED)]
            return sa.not_(table.c.queue.in_(answered_only)) if answered_only else sa.true()
        both = [n for n, qs in s.queues.items() if qs.service_level == SL_ANSWERED_AND_ABANDONED]
        return table.c.queue.in_(both) if both else sa.false()

    async def _rows(self, query: sa.Select[Any]) -> list[Mapping[str, Any]]:
        async with self.db.engine.connect() as c:
            return [r._mapping for r in await c.execute(query)]

    # ------------------------------------------------------------------ queues
    async def queues(self, q: ReportQuery) -> Report:
        """Interaction figures per period and queue (or channel, or all together)."""
        if q.group not in QUEUE_GROUPS:
            raise ValueError(f"group must be one of {', '.join(QUEUE_GROUPS)}")
        # By day or in total, the day rows hold the same sums, 96 times fewer.
        tq = t.queue_days if q.by in ("day", "total") else t.queue_intervals
        period = self._period(tq, q.by).label("period")
        keys: list[Any] = [period]
        if q.group != "none":
            keys.append(tq.c[q.group].label("grp"))
        mode = self._sl_mode(tq)
        sums = [sa.func.sum(tq.c[n]).label(n) for n in t.QUEUE_COUNTS + t.QUEUE_SECONDS]
        sums.append(sa.func.max(tq.c.max_wait_s).label("max_wait_s"))
        sums.append(sa.func.sum(tq.c.answered_in_sl + sa.case(
            (mode, tq.c.abandoned_in_sl), else_=0)).label("sl_num"))
        sums.append(sa.func.sum(tq.c.answered - tq.c.callbacks_answered + sa.case(
            (mode, tq.c.abandoned - tq.c.abandoned_short), else_=0)).label("sl_den"))
        query = (sa.select(*keys, *sums).where(*self._where(tq, q))
                 .group_by(*keys).order_by(*keys))
        raw = await self._rows(query)
        columns = ("period", "period_start", *((q.group,) if q.group != "none" else ()),
                   *QUEUE_COLUMNS)
        rows = []
        totals: dict[str, float] = {}
        labels: dict[Any, tuple[str, int]] = {}  # a period repeats once per queue
        for r in raw:
            label, start = labels.get(r["period"]) or labels.setdefault(
                r["period"], self._label(q, r["period"]))
            row: dict[str, Any] = {"period": label, "period_start": start}
            if q.group != "none":
                row[q.group] = r["grp"]
            row.update(queue_figures(r))
            rows.append(row)
            _add(totals, r)
        total = {"period": "total", "period_start": self.calendar.midnight(q.first)}
        if q.group != "none":
            total[q.group] = ""
        total.update(queue_figures(totals))
        return Report("queues", q, self.calendar.zone, columns, rows, total, *self._range(q))

    # ------------------------------------------------------------------ agents
    async def agents(self, q: ReportQuery) -> Report:
        """Per period and agent: what they handled and how they spent their logged-in time."""
        ta, ts = t.agent_intervals, t.agent_states
        pa = self._period(ta, q.by).label("period")
        work = (sa.select(pa, ta.c.agent_id, *[sa.func.sum(ta.c[n]).label(n)
                                               for n in t.AGENT_FIGURES])
                .where(*self._where(ta, q, agents=True))
                .group_by(pa, ta.c.agent_id))
        ps = self._period(ts, q.by).label("period")
        states = (sa.select(ps, ts.c.agent_id, ts.c.state,
                            sa.func.sum(ts.c.seconds).label("seconds"))
                  .where(*self._where(ts, q, agents=True))
                  .group_by(ps, ts.c.agent_id, ts.c.state))
        merged: dict[tuple[Any, str], dict[str, float]] = {}
        for r in await self._rows(work):
            _add(merged.setdefault((r["period"], r["agent_id"]), {}), r)
        for r in await self._rows(states):
            item = merged.setdefault((r["period"], r["agent_id"]), {})
            key = f"state_{r['state']}"
            item[key] = item.get(key, 0.0) + float(r["seconds"] or 0.0)
        names = self.agent_names()
        rows: list[dict[str, Any]] = []
        totals: dict[str, float] = {}
        for (period, agent), raw in sorted(merged.items(), key=lambda kv: kv[0]):
            label, start = self._label(q, period)
            rows.append({"period": label, "period_start": start, "agent_id": agent,
                         **_agent_figures(raw, names.get(agent, ""))})
            _add(totals, raw)
        total = {"period": "total", "period_start": self.calendar.midnight(q.first),
                 "agent_id": "", **_agent_figures(totals, "")}
        return Report("agents", q, self.calendar.zone,
                      ("period", "period_start", "agent_id", *AGENT_COLUMNS), rows, total,
                      *self._range(q))

    async def pauses(self, q: ReportQuery) -> Report:
        """Paused time per period, agent and reason."""
        ts = t.agent_states
        p = self._period(ts, q.by).label("period")
        query = (sa.select(p, ts.c.agent_id, ts.c.reason,
                           sa.func.sum(ts.c.seconds).label("seconds"))
                 .where(ts.c.state == "paused", *self._where(ts, q, agents=True))
                 .group_by(p, ts.c.agent_id, ts.c.reason)
                 .order_by(p, ts.c.agent_id, ts.c.reason))
        names = self.agent_names()
        rows, total = [], 0.0
        for r in await self._rows(query):
            label, start = self._label(q, r["period"])
            seconds = float(r["seconds"] or 0.0)
            rows.append({"period": label, "period_start": start, "agent_id": r["agent_id"],
                         "agent_name": names.get(r["agent_id"], ""), "reason": r["reason"],
                         "paused_s": _sec(seconds)})
            total += seconds
        totals = {"period": "total", "period_start": self.calendar.midnight(q.first),
                  "agent_id": "", "agent_name": "", "reason": "", "paused_s": _sec(total)}
        return Report("pauses", q, self.calendar.zone,
                      ("period", "period_start", "agent_id", *PAUSE_COLUMNS), rows, totals,
                      *self._range(q))

    async def dispositions(self, q: ReportQuery) -> Report:
        """Wrap-ups per period and disposition (``(none)``: none was given)."""
        td = t.dispositions
        p = self._period(td, q.by).label("period")
        query = (sa.select(p, td.c.disposition, sa.func.sum(td.c.count).label("count"))
                 .where(*self._where(td, q, agents=True))
                 .group_by(p, td.c.disposition).order_by(p, td.c.disposition))
        raw = await self._rows(query)
        per_period: dict[Any, int] = {}
        for r in raw:
            per_period[r["period"]] = per_period.get(r["period"], 0) + int(r["count"] or 0)
        rows = []
        for r in raw:
            label, start = self._label(q, r["period"])
            count = int(r["count"] or 0)
            rows.append({"period": label, "period_start": start,
                         "disposition": r["disposition"] or NO_DISPOSITION, "count": count,
                         "share_pct": _pct(count, per_period[r["period"]])})
        all_count = sum(per_period.values())
        totals = {"period": "total", "period_start": self.calendar.midnight(q.first),
                  "disposition": "", "count": all_count, "share_pct": _pct(all_count, all_count)}
        return Report("dispositions", q, self.calendar.zone,
                      ("period", "period_start", *DISPOSITION_COLUMNS), rows, totals,
                      *self._range(q))


def _add(into: dict[str, float], row: Mapping[str, Any]) -> None:
    for key, value in row.items():
        if key in ("period", "grp", "agent_id") or value is None or isinstance(value, str):
            continue
        if key == "max_wait_s":
            into[key] = max(into.get(key, 0.0), float(value))
        else:
            into[key] = into.get(key, 0.0) + float(value)


def _n(r: Mapping[str, Any], key: str) -> float:
    return float(r.get(key) or 0.0)


def queue_figures(r: Mapping[str, Any]) -> dict[str, Any]:
    """docs/reports.md's queue figures from one row of sums."""
    answered, short = _n(r, "answered"), _n(r, "abandoned_short")
    held_line = answered - _n(r, "callbacks_answered")  # answered while the customer waited
    offered = _n(r, "arrived") + _n(r, "overflowed_in") + _n(r, "transferred_in")
    handled = _n(r, "handled")
    return {
        "offered": int(offered), "arrived": int(_n(r, "arrived")),
        "overflowed_in": int(_n(r, "overflowed_in")),
        "transferred_in": int(_n(r, "transferred_in")), "answered": int(answered),
        "abandoned": int(_n(r, "abandoned") - short), "short_abandoned": int(short),
        "exited": int(_n(r, "exited")), "overflowed_out": int(_n(r, "overflowed_out")),
        "transferred_out": int(_n(r, "transferred_out")),
        "transferred_external": int(_n(r, "transferred_external")),
        "callbacks_requested": int(_n(r, "callbacks_requested")),
        "callbacks_answered": int(_n(r, "callbacks_answered")),
        "service_level_pct": _pct(_n(r, "sl_num"), _n(r, "sl_den")),
        "asa_s": _avg(_n(r, "wait_answered_s"), held_line),
        "abandon_rate_pct": _pct(_n(r, "abandoned") - short, offered - short),
        "longest_wait_s": _sec(_n(r, "max_wait_s")),
        "handled": int(handled), "aht_s": _avg(_n(r, "handle_s"), handled),
        "avg_talk_s": _avg(_n(r, "talk_s"), handled),
        "avg_hold_s": _avg(_n(r, "hold_s"), handled),
        "avg_wrapup_s": _avg(_n(r, "wrapup_s"), handled),
        "holds": int(_n(r, "holds")), "offers": int(_n(r, "offers")), "rona": int(_n(r, "rona")),
    }


def _agent_figures(r: Mapping[str, Any], name: str) -> dict[str, Any]:
    """docs/reports.md's agent figures from the agent's sums and state seconds."""
    handled = _n(r, "handled")
    states = {k[len("state_"):]: float(v) for k, v in r.items() if k.startswith("state_")}
    logged_in = sum(states.values())
    handling = sum(states.get(s, 0.0) for s in HANDLING_STATES)
    available = states.get("available", 0.0)
    return {
        "agent_name": name, "answered": int(_n(r, "answered")), "offers": int(_n(r, "offers")),
        "rona": int(_n(r, "rona")), "handled": int(handled),
        "aht_s": _avg(_n(r, "handle_s"), handled), "avg_talk_s": _avg(_n(r, "talk_s"), handled),
        "avg_hold_s": _avg(_n(r, "hold_s"), handled),
        "avg_wrapup_s": _avg(_n(r, "wrapup_s"), handled),
        "talk_s": _sec(_n(r, "talk_s")), "hold_s": _sec(_n(r, "hold_s")),
        "wrapup_s": _sec(_n(r, "wrapup_s")),
        "transferred_out": int(_n(r, "transferred_out")),
        "transferred_external": int(_n(r, "transferred_external")),
        "holds": int(_n(r, "holds")),
        "logged_in_s": _sec(logged_in), "available_s": _sec(available),
        "ringing_s": _sec(states.get("reserved", 0.0) + states.get("ringing", 0.0)),
        "busy_s": _sec(states.get("busy", 0.0)), "in_wrapup_s": _sec(states.get("wrapup", 0.0)),
        "paused_s": _sec(states.get("paused", 0.0)),
        "occupancy_pct": _pct(handling, handling + available),
        "utilization_pct": _pct(handling, logged_in),
    }


def parse_list(values: Sequence[str]) -> tuple[str, ...]:
    """``a,b`` and repeated parameters alike, blanks dropped, order kept."""
    out: list[str] = []
    for value in values:
        out += [v.strip() for v in value.split(",") if v.strip()]
    return tuple(dict.fromkeys(out))
