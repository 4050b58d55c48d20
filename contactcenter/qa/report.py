"""QA figures: scores per agent, per question and over time, from submitted evaluations.

Design note: pure, no I/O; ``report_routes.py`` reads the evaluations and serves the result as
JSON and CSV (one ``QaReport`` feeds both, so they cannot disagree). Definitions (docs/qa.md,
docs/reports.md):
* an evaluation counts once submitted (``submitted``, ``acknowledged``, ``disputed``), on the
  local day (``qa.sampling_timezone``) it was submitted;
* ``average_percent`` is the mean of the evaluations' percents; a failed one (a critical "no")
  counts as 0, one answered N/A throughout (no percent) is left out;
* per question: ``answered`` counts the answers other than N/A; a yes/no question's
  ``pass_rate`` is the share of "yes" among them; a scale question's ``average`` is the mean
  answer and its ``average_percent`` that mean over the scale's maximum (a yes/no question's
  ``average_percent`` is its pass rate), so both kinds chart on one axis;
* questions are told apart by scorecard and question id; the text shown is the newest form's.
Percents are rounded to two decimals, after the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contactcenter.qa.scorecards import NA, SCALE, YES, parse_form

DAY, WEEK = "day", "week"
PERIODS = (DAY, WEEK)
AGENT_COLUMNS = ["agent_id", "evaluations", "average_percent", "failed", "acknowledged",
                 "disputed"]
QUESTION_COLUMNS = ["scorecard_id", "question_id", "question", "kind", "answered", "na", "yes",
                    "no", "pass_rate", "average", "average_percent"]
PERIOD_COLUMNS = ["period", "start", "evaluations", "average_percent", "failed"]


@dataclass(frozen=True, slots=True)
class Scored:
    """One submitted evaluation, as the report reads it."""

    id: int
    agent_id: str
    channel: str
    scorecard_id: int
    status: str
    submitted_at: datetime
    percent: float | None
    failed: bool
    form: dict[str, Any]
    values: dict[str, Any]  # question id -> answer


@dataclass(frozen=True, slots=True)
class Table:
    """Columns, rows (dicts keyed by column) and, for some, a totals row."""

    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """``{columns, rows, totals?}``."""
        out: dict[str, Any] = {"columns": self.columns, "rows": self.rows}
        if self.totals is not None:
            out["totals"] = self.totals
        return out


@dataclass(frozen=True, slots=True)
class QaReport:
    """The three tables of one query."""

    start: date
    end: date
    by: str
    timezone: str
    filters: dict[str, Any]
    agents: Table
    questions: Table
    periods: Table
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The report for the API."""
        return {"report": "qa", "from": self.start.isoformat(), "to": self.end.isoformat(),
                "by": self.by, "timezone": self.timezone, "filters": self.filters,
                "agents": self.agents.as_json(), "questions": self.questions.as_json(),
                "periods": self.periods.as_json()}

    def table(self, name: str) -> Table:
        """One table by name (agents, questions, periods)."""
        return {"agents": self.agents, "questions": self.questions,
                "periods": self.periods}[name]


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _summary(items: Sequence[Scored]) -> dict[str, Any]:
    return {"evaluations": len(items),
            "average_percent": _mean([e.percent for e in items if e.percent is not None]),
            "failed": sum(1 for e in items if e.failed),
            "acknowledged": sum(1 for e in items if e.status == "acknowledged"),
            "disputed": sum(1 for e in items if e.status == "disputed")}


def period_of(day: date, by: str) -> tuple[str, date]:
    """A local day's period label and first day (ISO weeks start on Monday)."""
    if by == DAY:
        return day.isoformat(), day
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", monday


def _questions(items: Sequence[Scored]) -> list[dict[str, Any]]:
    stats: dict[tuple[int, str], dict[str, Any]] = {}
    order: list[tuple[int, str]] = []
    for e in sorted(items, key=lambda e: (e.submitted_at, e.id), reverse=True):  # newest first
        for q in parse_form(e.form).questions():
            key = (e.scorecard_id, q.id)
            if key not in stats:
                order.append(key)
                stats[key] = {"question": q.text, "kind": q.kind, "values": [],
                              "scale_max": q.scale_max, "na": 0}
            value = e.values.get(q.id)
            if value is None:
                continue
            if value == NA:
                stats[key]["na"] += 1
            else:
                stats[key]["values"].append((value, q.scale_max))
    rows = []
    for key in sorted(order):
        s = stats[key]
        answered = s["values"]
        row: dict[str, Any] = {"scorecard_id": key[0], "question_id": key[1],
                               "question": s["question"], "kind": s["kind"],
                               "answered": len(answered), "na": s["na"], "yes": None,
                               "no": None, "pass_rate": None, "average": None,
                               "average_percent": None}
        if s["kind"] == SCALE:
            nums = [v for v, _ in answered if isinstance(v, int)]
            row["average"] = _mean(nums)
            row["average_percent"] = _mean([100.0 * v / m for v, m in answered
                                            if isinstance(v, int)])
        else:
            yes = sum(1 for v, _ in answered if v == YES)
            row["yes"], row["no"] = yes, len(answered) - yes
            rate = round(100.0 * yes / len(answered), 2) if answered else None
            row["pass_rate"] = row["average_percent"] = rate
        rows.append(row)
    return rows


def build(items: Sequence[Scored], start: date, end: date, by: str, tz: ZoneInfo,
          filters: dict[str, Any]) -> QaReport:
    """The report over ``items`` (already filtered to the range and the filters)."""
    by_agent: dict[str, list[Scored]] = {}
    by_period: dict[str, list[Scored]] = {}
    for e in items:
        by_agent.setdefault(e.agent_id, []).append(e)
        label, _ = period_of(e.submitted_at.astimezone(tz).date(), by)
        by_period.setdefault(label, []).append(e)
    agents = Table(AGENT_COLUMNS,
                   [{"agent_id": a, **_summary(by_agent[a])} for a in sorted(by_agent)],
                   {"agent_id": "total", **_summary(items)})
    periods, day, seen = [], start, set()
    while day <= end:  # every period of the range, empty ones too: the chart's x axis
        label, first = period_of(day, by)
        if label not in seen:
            seen.add(label)
            mine = by_period.get(label, [])
            summary = _summary(mine)
            periods.append({"period": label, "start": first.isoformat(),
                            "evaluations": summary["evaluations"],
                            "average_percent": summary["average_percent"],
                            "failed": summary["failed"]})
        day += timedelta(days=1)
    return QaReport(start, end, by, tz.key, filters, agents,
                    Table(QUESTION_COLUMNS, _questions(items)),
                    Table(PERIOD_COLUMNS, periods))
