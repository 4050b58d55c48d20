"""Ticket figures per period and queue (docs/reports.md, Tickets), counted from the tickets' own
history when a report is read.

Design note. A ticket's life is in ``ticket_history``: every change is a row written in the same
transaction as the change (``tickets/tables.py``). These figures are counted from it when a
report is read instead of being folded into interval tables as the interaction log is: the
tickets context has several writers (the API, the mail listener, routing's glue), so its ids do
not commit in order and cannot be tailed by id, and a count made on read is never behind, never
counts twice and needs no rebuild after a target changes. What is read is bounded by indexed
columns: the tickets created before the range ends that are open or changed since it began
(``tickets.created_at``, ``status``, ``updated_at``), then their history by ticket id. (Every
change of status or reply moves ``updated_at``; routing's move of a ticket to another queue
does not, but happens only while the ticket is open, so that ticket is found by its status.)

``replay`` turns one ticket's history into dated facts (created, first response, next
responses, solved, reopened, closed, survey mailed, rating given) and the spans it was open in
each queue;
``count`` puts the facts in periods and takes the backlog at each period's end from the spans.
Both are pure.

The business-hours SLA is the tickets channel's own verdict, not computed again here: each
ticket stores its due times, moved on by its pauses as the channel counts them
(``tickets/sla.py``), and its escalation writes a ``sla`` history row when a target is breached.
A first response is late when it came after the ticket's ``first_response_due``. Next responses
(a public reply to a customer who wrote again once answered) and their verdicts are
``ticket_replies.py``'s: the row keeps only its last cycle's due time. A solve is
late when the resolution's breach was written before it, or, for the solve that still stands
(the ticket was not reopened since), when it came after ``resolution_due``: the due time of an
earlier solve moved when the ticket was reopened, and only the breach row remembers it.
Ratings: one answer per ticket (``ticket_ratings``, 1..5, the first one sent stands); the
history has each survey mailed (``csat-survey``) and the answer (``csat``), so a rating counts
when it was given. Answers given before revision 0028 (good/bad, which could be changed) count
as 5 and 1, with the answer they had last, at the time first given.

Per agent (``group=agent``, or any ``agent`` filter): a first or next response counts for the
agent who wrote it (its article's ``agent_id``); a solve, reopen, close, survey and rating count
for the ticket's **assignee at that moment** (followed through the ``created`` and ``assignee``
history rows), not for whoever clicked (``ticket_history.actor`` is a display name, and the
assignee is whose ticket it is). Tickets created and the backlog are no agent's: empty (None)
in that mode, and facts of tickets nobody was assigned are not counted.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.reports.csat import SATISFIED, csat_figures
from contactcenter.reports.intervals import Calendar, Period, period_label, periods
from contactcenter.reports.queries import Report, ReportQuery, _avg, _pct
from contactcenter.reports.settings import ReportSettings
from contactcenter.reports.ticket_replies import Cycles
from contactcenter.storage.database import Database
from contactcenter.tickets.model import Status
from contactcenter.tickets.tables import (
    TicketArticleRow,
    TicketHistoryRow,
    TicketRatingRow,
    TicketRow,
)

CHANNEL = "ticket"
# Open: somebody still has to act (the customer or a third party included); solved and closed
# tickets are done.
OPEN_STATUSES = frozenset(s.value for s in Status) - {Status.SOLVED.value, Status.CLOSED.value}
HISTORY_FIELDS = ("created", "status", "queue", "assignee", "reply", "customer-reply", "sla",
                  "csat-survey", "csat")
# Replies whose article is read for its author (ours) or whether a machine wrote it (theirs).
ARTICLE_FIELDS = ("reply", "customer-reply")
DAY_S = 86400.0
# Backlog age bands at a period's end: [lower, upper) seconds since the ticket was created.
AGE_BANDS = (("backlog_lt_1d", 0.0, DAY_S), ("backlog_1d_3d", DAY_S, 3 * DAY_S),
             ("backlog_3d_7d", 3 * DAY_S, 7 * DAY_S), ("backlog_7d_plus", 7 * DAY_S, math.inf))
TICKET_COLUMNS = (
    "created", "first_responses", "avg_first_response_s", "first_response_in_target_pct",
    "first_response_breaches", "next_responses", "avg_next_response_s",
    "next_response_in_target_pct", "next_response_breaches", "solved", "avg_resolution_s",
    "resolution_in_target_pct", "resolution_breaches", "reopened", "closed", "backlog",
    *(b[0] for b in AGE_BANDS), "sla_first_response_pct", "sla_first_response_breaches",
    "sla_next_response_pct", "sla_next_response_breaches", "sla_resolution_pct",
    "sla_resolution_breaches", "surveys", "csat_response_pct", "ratings", "ratings_satisfied",
    "csat_pct", "csat_avg",
)
# The figures that are no agent's: empty in a report per agent or filtered by agent.
NOT_AGENTS = ("created", "backlog", *(b[0] for b in AGE_BANDS))
# An answer of the old good/bad survey (before revision 0028) as a score.
OLD_SCORES = {"good": 5, "bad": 1}
_IN_CHUNK = 500
_SUMS = ("created", "first_responses", "first_response_s", "first_response_in_target",
         "next_responses", "next_response_s", "next_response_in_target", "sla_next_responses",
         "sla_next_response_late", "solved", "resolution_s", "resolution_in_target", "reopened",
         "closed", "sla_first_responses", "sla_first_response_late", "sla_resolutions",
         "sla_resolution_late", "surveys", "surveys_answered", "ratings", "ratings_satisfied",
         "rating_points")


def score_of(value: Any) -> int | None:
    """A stored answer as a score 1..5 (None: not one)."""
    if isinstance(value, str):
        return OLD_SCORES.get(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return value
    return None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One ``ticket_history`` row that the figures use."""

    ticket_id: int
    at: float
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Fact:
    """Something that happened to a ticket, in the queue it was in then."""

    at: float
    queue: str
    # created | first_response | next_response | solved | reopened | closed | survey | rating
    kind: str
    # first response: since created; next response: since the customer wrote; solved: the
    # resolution time
    seconds: float = 0.0
    late: bool | None = None  # responses, solved: against the SLA (None: no target)
    yes: bool = False  # survey: answered
    score: int = 0  # rating: 1..5
    agent: str | None = None  # responses: their author; others: the assignee then


@dataclass(frozen=True, slots=True)
class SlaDue:
    """What a ticket's row says of its SLA (``tickets/sla.py``): None where it has no target."""

    first_response_at: float | None = None
    first_response_due: float | None = None
    resolution_due: float | None = None
    next_response_due: float | None = None  # of the ticket's current (or last) cycle
    next_response_at: float | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A time a ticket was open in one queue: ``[since, until)`` (until: inf while open)."""

    since: float
    until: float
    queue: str
    created_at: float


def replay(created_at: float, queue: str, rows: Iterable[HistoryRow], sla: SlaDue = SlaDue()
           ) -> tuple[list[Fact], list[Span]]:
    """One ticket's facts and open spans from its history (in order); ``created_at`` and
    ``queue`` stand in for a ``created`` row that is missing; ``sla``: its row's SLA times."""
    facts: list[Fact] = []
    spans: list[Span] = []
    created, responded = created_at, False
    since_open: float | None = created_at  # when the current open span began (None: done)
    breached = False  # the resolution's breach was written
    last_solve: int | None = None  # index in facts of the solve that still stands
    survey: int | None = None  # index in facts of the latest survey not answered
    rating: tuple[float, str, int, str | None] | None = None  # at, queue, score, assignee
    assignee: str | None = None
    cycles = Cycles()
    for r in rows:
        if r.field == "created":
            created = since_open = r.at
            if isinstance(r.new, dict) and r.new.get("queue"):
                queue = str(r.new["queue"])
            if isinstance(r.new, dict) and r.new.get("assignee"):
                assignee = str(r.new["assignee"])
            facts.append(Fact(r.at, queue, "created"))
        elif r.field == "assignee":
            assignee = None if r.new is None else str(r.new)
        elif r.field == "queue":
            if since_open is not None:
                spans.append(Span(since_open, r.at, queue, created))
                since_open = r.at
            queue = str(r.new)
        elif r.field == "status":
            old, new = str(r.old), str(r.new)
            if new == Status.SOLVED.value:
                late = None if sla.resolution_due is None else breached
                last_solve = len(facts)
                facts.append(Fact(r.at, queue, "solved", r.at - created, late, agent=assignee))
            elif new == Status.CLOSED.value:
                facts.append(Fact(r.at, queue, "closed", agent=assignee))
            elif old == Status.SOLVED.value:
                facts.append(Fact(r.at, queue, "reopened", agent=assignee))
                last_solve = None
            if since_open is not None and new not in OPEN_STATUSES:
                spans.append(Span(since_open, r.at, queue, created))
                since_open = None
            elif since_open is None and new in OPEN_STATUSES:
                since_open = r.at
        elif r.field == "reply":
            author = r.new.get("agent_id") if isinstance(r.new, dict) else None
            agent = None if author is None else str(author)
            if responded:
                cycles.reply(r.at, queue, agent)
                continue
            responded = True
            due, met = sla.first_response_due, sla.first_response_at
            late = None if due is None else (r.at if met is None else met) > due
            facts.append(Fact(r.at, queue, "first_response", r.at - created, late, agent=agent))
        elif r.field == "customer-reply":
            # An autoreply starts no clock (``tickets/inbound.py``), nor does a message that
            # came before our first answer (that is the first response's wait).
            if responded and not (isinstance(r.new, dict) and r.new.get("automatic")):
                cycles.customer(r.at)
        elif r.field == "sla":
            stage = r.new.get("stage") if isinstance(r.new, dict) else None
            breached = breached or stage == "resolution:breach"
            cycles.stage(str(stage))
        elif r.field == "csat-survey":
            survey = len(facts)
            facts.append(Fact(r.at, queue, "survey", agent=assignee))
        elif r.field == "csat" and isinstance(r.new, dict):
            score = score_of(r.new.get("rating"))
            if score is None:
                continue
            if rating is None:
                rating = (r.at, queue, score, assignee)
                if survey is not None:  # the survey this answer came from
                    facts[survey] = replace(facts[survey], yes=True)
            else:  # an old answer changed in place (before revision 0028)
                rating = (rating[0], rating[1], score, rating[3])
    if since_open is not None:
        spans.append(Span(since_open, math.inf, queue, created))
    elif last_solve is not None and sla.resolution_due is not None:
        solve = facts[last_solve]
        facts[last_solve] = replace(solve, late=bool(solve.late) or solve.at > sla.resolution_due)
    if rating is not None:
        facts.append(Fact(rating[0], rating[1], "rating", score=rating[2], agent=rating[3]))
    for c, late in zip(cycles.ended, cycles.verdicts(sla.next_response_due,
                                                     sla.next_response_at), strict=True):
        facts.append(Fact(c.met_at, c.queue, "next_response", c.seconds, late, agent=c.agent))
    return facts, spans


@dataclass
class Counts:
    """The sums of one period and group."""

    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_SUMS, 0.0))
    backlog: list[int] = field(default_factory=lambda: [0] * len(AGE_BANDS))

    def __bool__(self) -> bool:
        return any(self.sums.values()) or any(self.backlog)


def count(facts: Iterable[Fact], spans: Iterable[Span], ps: Sequence[Period], end: float,
          group: Callable[[str, str | None], str], settings: ReportSettings
          ) -> dict[tuple[int, str], Counts]:
    """Facts before ``end`` and the backlog at each period's snap, per (period index, group
    of the queue and agent)."""
    starts = [p.start for p in ps]
    snaps = [p.snap for p in ps]
    out: dict[tuple[int, str], Counts] = {}

    def cell(i: int, queue: str, agent: str | None = None) -> Counts:
        key = (i, group(queue, agent))
        found = out.get(key)
        if found is None:
            found = out[key] = Counts()
        return found

    for f in facts:
        if not ps or not starts[0] <= f.at < end:
            continue
        i = bisect_right(starts, f.at) - 1
        s = cell(i, f.queue, f.agent).sums
        if f.kind in ("first_response", "next_response"):
            k = f.kind  # the same five sums for both kinds of response
            target = getattr(settings, f"{k}_target")(f.queue)
            s[f"{k}s"] += 1
            s[f"{k}_s"] += f.seconds
            s[f"{k}_in_target"] += f.seconds <= target
            if f.late is not None:
                s[f"sla_{k}s"] += 1
                s[f"sla_{k}_late"] += f.late
        elif f.kind == "solved":
            s["solved"] += 1
            s["resolution_s"] += f.seconds
            s["resolution_in_target"] += f.seconds <= settings.resolution_target(f.queue)
            if f.late is not None:
                s["sla_resolutions"] += 1
                s["sla_resolution_late"] += f.late
        elif f.kind == "survey":
            s["surveys"] += 1
            s["surveys_answered"] += f.yes
        elif f.kind == "rating":
            s["ratings"] += 1
            s["ratings_satisfied"] += f.score >= SATISFIED
            s["rating_points"] += f.score
        else:
            s[f.kind] += 1
    # Open at a snap E: since < E <= until (a ticket solved at E was still open in the period
    # that ends at E; one created at E counts in the next).
    diffs: dict[tuple[str, int], list[int]] = {}
    for sp in spans:
        lo, hi = bisect_right(snaps, sp.since), bisect_right(snaps, sp.until)
        for band, (_name, low, high) in enumerate(AGE_BANDS):
            b_lo = max(lo, bisect_left(snaps, sp.created_at + low))
            b_hi = min(hi, bisect_left(snaps, sp.created_at + high))
            if b_lo < b_hi:
                d = diffs.setdefault((sp.queue, band), [0] * (len(snaps) + 1))
                d[b_lo] += 1
                d[b_hi] -= 1
    for (queue, band), d in diffs.items():
        running = 0
        for i in range(len(snaps)):
            running += d[i]
            if running:
                cell(i, queue).backlog[band] += running
    return out


def figures(c: Counts, agents_only: bool = False) -> dict[str, Any]:
    """docs/reports.md's ticket figures from one period's sums (``agents_only``: the figures
    that are no agent's left empty)."""
    s = c.sums
    responses, solved, nexts = s["first_responses"], s["solved"], s["next_responses"]
    out = {
        "created": int(s["created"]), "first_responses": int(responses),
        "avg_first_response_s": _avg(s["first_response_s"], responses),
        "first_response_in_target_pct": _pct(s["first_response_in_target"], responses),
        "first_response_breaches": int(responses - s["first_response_in_target"]),
        "next_responses": int(nexts), "avg_next_response_s": _avg(s["next_response_s"], nexts),
        "next_response_in_target_pct": _pct(s["next_response_in_target"], nexts),
        "next_response_breaches": int(nexts - s["next_response_in_target"]),
        "solved": int(solved), "avg_resolution_s": _avg(s["resolution_s"], solved),
        "resolution_in_target_pct": _pct(s["resolution_in_target"], solved),
        "resolution_breaches": int(solved - s["resolution_in_target"]),
        "reopened": int(s["reopened"]), "closed": int(s["closed"]),
        "backlog": sum(c.backlog),
        **{name: c.backlog[i] for i, (name, _lo, _hi) in enumerate(AGE_BANDS)},
        "sla_first_response_pct": _pct(s["sla_first_responses"] - s["sla_first_response_late"],
                                       s["sla_first_responses"]),
        "sla_first_response_breaches": int(s["sla_first_response_late"]),
        "sla_next_response_pct": _pct(s["sla_next_responses"] - s["sla_next_response_late"],
                                      s["sla_next_responses"]),
        "sla_next_response_breaches": int(s["sla_next_response_late"]),
        "sla_resolution_pct": _pct(s["sla_resolutions"] - s["sla_resolution_late"],
                                   s["sla_resolutions"]),
        "sla_resolution_breaches": int(s["sla_resolution_late"]),
        **csat_figures(s["surveys_answered"], s["surveys"], s["ratings"],
                       s["ratings_satisfied"], s["rating_points"]),
    }
    if agents_only:
        out |= dict.fromkeys(NOT_AGENTS)
    return out


class TicketReader:
    """The tickets report on one database, for one time zone and set of targets."""

    def __init__(self, db: Database, calendar: Calendar, settings: ReportSettings,
                 now: Callable[[], float]) -> None:
        self.db = db
        self.calendar = calendar
        self.settings = settings
        self.now = now

    async def history(self, start: int, end: int
                      ) -> list[tuple[float, str, list[HistoryRow], SlaDue]]:
        """Each ticket that may count in ``[start, end)``: created before ``end`` and open, or
        changed since ``start``, or rated since ``start`` (a rating does not change the
        ticket); its creation time, queue, history rows in order and SLA times."""
        tt, th = TicketRow.__table__, TicketHistoryRow.__table__
        tr = TicketRatingRow.__table__
        rated = sa.select(tr.c.ticket_id).where(tr.c.created_at >= start)
        tickets = (sa.select(tt.c.id, tt.c.created_at, tt.c.queue, tt.c.first_response_at,
                             tt.c.first_response_due, tt.c.resolution_due,
                             tt.c.next_response_due, tt.c.next_response_at)
                   .where(tt.c.created_at < end,
                          sa.or_(tt.c.status.in_(sorted(OPEN_STATUSES)),
                                 tt.c.updated_at >= start, tt.c.id.in_(rated)))
                   .order_by(tt.c.id))
        found: dict[int, tuple[float, str, list[HistoryRow], SlaDue]] = {}
        async with self.db.engine.connect() as c:
            for tid, created_at, queue, *due in await c.execute(tickets):
                sla = SlaDue(*(None if v is None else float(v) for v in due))
                found[int(tid)] = (float(created_at), str(queue), [], sla)
            ids = sorted(found)
            for i in range(0, len(ids), _IN_CHUNK):
                rows = (sa.select(th.c.ticket_id, th.c.at, th.c.field, th.c.old, th.c.new)
                        .where(th.c.ticket_id.in_(ids[i:i + _IN_CHUNK]),
                               th.c.field.in_(HISTORY_FIELDS))
                        .order_by(th.c.ticket_id, th.c.id))
                for tid, at, name, old, new in await c.execute(rows):
                    found[int(tid)][2].append(HistoryRow(int(tid), float(at), name, old, new))
            await self._articles(c, [found[i][2] for i in ids])
        return [found[i] for i in ids]

    @staticmethod
    async def _articles(c: AsyncConnection, histories: list[list[HistoryRow]]) -> None:
        """Put into each reply's row, in place, its article's author (``agent_id``: a response
        counts for the agent who wrote it) and whether a machine wrote it (``automatic``: a
        customer's autoreply starts no next response)."""
        ta = TicketArticleRow.__table__
        replies = {int(h.new["article"]): (rows, i) for rows in histories
                   for i, h in enumerate(rows)
                   if h.field in ARTICLE_FIELDS and isinstance(h.new, dict)
                   and isinstance(h.new.get("article"), int)}
        ids = sorted(replies)
        for n in range(0, len(ids), _IN_CHUNK):
            query = (sa.select(ta.c.id, ta.c.agent_id, ta.c.flags)
                     .where(ta.c.id.in_(ids[n:n + _IN_CHUNK])))
            for aid, agent, flags in await c.execute(query):
                rows, i = replies[int(aid)]
                automatic = isinstance(flags, list) and "automatic" in flags
                rows[i] = replace(rows[i], new={**rows[i].new, "agent_id": agent,
                                                "automatic": automatic})

    async def report(self, q: ReportQuery) -> Report:
        """Ticket figures per period, by queue (``group``: queue, channel, agent or none)."""
        start, end = self.calendar.day_range(q.first, q.last)
        now = self.now()
        ps = periods(self.calendar, q.by, start, end, now)
        wanted = set(q.queues)
        agents_only = q.group == "agent" or bool(q.agents)
        facts: list[Fact] = []
        spans: list[Span] = []
        if ps and (not q.channels or CHANNEL in q.channels):
            for created_at, queue, changes, sla in await self.history(start, end):
                f, s = replay(created_at, queue, changes, sla)
                facts += [x for x in f if x.at <= now and (not wanted or x.queue in wanted)
                          and (not agents_only or x.agent is not None)
                          and (not q.agents or x.agent in q.agents)]
                if not agents_only:  # the backlog is no agent's
                    spans += [x for x in s if not wanted or x.queue in wanted]
        group: Callable[[str, str | None], str] = {
            "queue": lambda queue, _a: queue, "channel": lambda _q, _a: CHANNEL,
            "agent": lambda _q, agent: agent or "", "none": lambda _q, _a: ""}[q.group]
        cells = count(facts, spans, ps, end, group, self.settings)
        columns = ("period", "period_start", *((q.group,) if q.group != "none" else ()),
                   *TICKET_COLUMNS)
        rows: list[dict[str, Any]] = []
        total = Counts()
        for (i, key), c in sorted(cells.items()):
            if not c:
                continue
            row: dict[str, Any] = {"period": period_label(self.calendar, q.by, q.first, q.last,
                                                       ps[i]),
                                   "period_start": ps[i].start}
            if q.group != "none":
                row[q.group] = key
            rows.append(row | figures(c, agents_only))
            for name, value in c.sums.items():
                total.sums[name] += value
            if i == len(ps) - 1:  # the backlog of the range is the one at its end
                total.backlog = [a + b for a, b in zip(total.backlog, c.backlog, strict=True)]
        totals: dict[str, Any] = {"period": "total",
                                  "period_start": self.calendar.midnight(q.first)}
        if q.group != "none":
            totals[q.group] = ""
        totals |= figures(total, agents_only)
        return Report("tickets", q, self.calendar.zone, columns, rows, totals, start, end)
