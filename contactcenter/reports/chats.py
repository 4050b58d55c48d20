"""Chat figures per period and queue (docs/reports.md, Chats), counted from the chat channel's
own tables when a report is read.

Design note. The queues report already counts chats as interactions (waits, service level,
handle times); what only the transcript knows is when an agent first wrote, and how a chat
ended. Those are read, as the tickets report is (``tickets.py``), when a report is asked for:
the conversations started in the range or up to ``LOOKBACK_S`` before it (the channel closes
an idle chat long before that) and those still open (``state``, indexed), then each one's
first agent message by the transcript's key. Every fact counts in the period of its time and
in the conversation's queue (the one it waits or waited in last).

Self-service: a conversation the knowledge base's answers settled before a person was asked
(``faq_outcome`` ``answered``, ``chat/faq.py``) is stored already closed and never enters the
queue; it counts as started and closed (otherwise, unanswered) like any, and as self-served.
So does a conversation a chat bot flow settled (``bot_outcome`` ``deflected``, ``chat/bot.py``).

Messages left (``chat_offline_messages``, ``chat/offline.py``) count in the period they were left
and in their queue: one left from the line (reason ``waited``) belongs to a conversation that
already counts as started; any other is a visitor the channel took no live chat from, offered to
it all the same (offered = started + those).

Ratings (``chat_ratings``, ``chat/rating.py``): a survey counts in the period it was offered
(the chat's end, to a visitor still connected), answered or not by the time of the report; an
answer counts in the period it was given; both in the queue the chat ended in. They are read
by their own indexed times, not through the conversations.

Per agent (``group=agent``, or any ``agent`` filter): a conversation's first response, end and
duration count for the agent who holds it (``chat_conversations.agent_id``: the last one who
took it), a survey and its answer for the agent it was offered about (``chat_ratings.agent_id``).
What belongs to no agent (offered, started, messages left, answers shown, bot, self-served,
deflection) is left empty (None) in that mode, and chats no agent held are not counted.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from contactcenter.chat.tables import (
    ChatConversationRow,
    ChatMessageRow,
    ChatOfflineMessageRow,
    ChatRatingRow,
)
from contactcenter.reports.csat import CSAT_COLUMNS, SATISFIED, csat_figures
from contactcenter.reports.intervals import Calendar, period_label, periods
from contactcenter.reports.queries import Report, ReportQuery, _avg, _pct, _sec
from contactcenter.storage.database import Database

CHANNEL = "chat"
LOOKBACK_S = 86400.0
_IN_CHUNK = 500
CLOSED_BY = {"visitor": "closed_by_visitor", "agent": "closed_by_agent"}  # else: other
CHAT_COLUMNS = (
    "offered", "started", "left_messages", "left_from_line", "first_responses", "avg_first_response_s", "longest_first_response_s",
    "closed", "closed_unanswered", "avg_duration_s", "closed_by_visitor", "closed_by_agent",
    "closed_other", "faq_shown", "bot_talked", "bot_deflected", "self_served",
    "deflection_pct", *CSAT_COLUMNS,
)
# The figures that are no agent's: empty in a report per agent or filtered by agent.
NOT_AGENTS = ("offered", "started", "left_messages", "left_from_line", "faq_shown",
              "bot_talked", "bot_deflected", "self_served", "deflection_pct")
ANSWERED = "answered"  # chat.faq's outcome of a conversation an article answered
DEFLECTED = "deflected"  # chat.bot's outcome of a conversation the bot settled
WAITED = "waited"  # chat.offline's reason of a message left from the line (a started chat)


@dataclass(frozen=True, slots=True)
class Chat:
    """What the figures need of one conversation."""

    queue: str
    created_at: float
    closed_at: float | None
    closed_by: str | None
    first_agent_at: float | None
    faq_outcome: str | None = None  # answered | person | none; None: no answers were shown
    bot_outcome: str | None = None  # handover | deflected | ended | abandoned; None: no bot
    agent: str | None = None  # the agent who holds it (took it last); None: nobody took it


@dataclass(frozen=True, slots=True)
class LeftMessage:
    """What the figures need of one message left (``chat_offline_messages``)."""

    queue: str
    created_at: float
    reason: str  # closed | holiday | nobody | open, or waited: from the line


@dataclass(frozen=True, slots=True)
class Rating:
    """What the figures need of one chat's rating survey (``chat_ratings``)."""

    queue: str
    offered_at: float
    rating: int | None  # 1..5; None: not answered
    answered_at: float | None
    agent: str | None = None  # the agent the survey is about


@dataclass
class ChatCounts:
    """The sums of one period and group (and the longest first response)."""

    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("offered", "started", "left_messages", "left_from_line", "first_responses",
         "first_response_s", "closed", "closed_unanswered",
         "duration_s", "closed_by_visitor", "closed_by_agent", "closed_other", "faq_shown",
         "bot_talked", "bot_deflected", "self_served", "surveys", "surveys_answered",
         "ratings", "ratings_satisfied", "rating_points"), 0.0))
    longest: float = 0.0

    def add(self, other: ChatCounts) -> None:
        for name, value in other.sums.items():
            self.sums[name] += value
        self.longest = max(self.longest, other.longest)


def count_chat(chat: Chat, cell: Callable[[float], ChatCounts | None],
               agents_only: bool = False) -> None:
    """Add one conversation's facts to the cells of their times (None: outside the range);
    ``agents_only``: only those that are its agent's (not its start)."""
    started = None if agents_only else cell(chat.created_at)
    if started is not None:
        started.sums["started"] += 1
        started.sums["offered"] += 1
        if chat.faq_outcome is not None:
            started.sums["faq_shown"] += 1
            started.sums["self_served"] += chat.faq_outcome == ANSWERED
        if chat.bot_outcome is not None:
            started.sums["bot_talked"] += 1
            started.sums["bot_deflected"] += chat.bot_outcome == DEFLECTED
            started.sums["self_served"] += chat.bot_outcome == DEFLECTED
    if chat.first_agent_at is not None:
        responded = cell(chat.first_agent_at)
        if responded is not None:
            seconds = chat.first_agent_at - chat.created_at
            responded.sums["first_responses"] += 1
            responded.sums["first_response_s"] += seconds
            responded.longest = max(responded.longest, seconds)
    if chat.closed_at is not None:
        closed = cell(chat.closed_at)
        if closed is not None:
            s = closed.sums
            s["closed"] += 1
            s["duration_s"] += chat.closed_at - chat.created_at
            s[CLOSED_BY.get(chat.closed_by or "", "closed_other")] += 1
            if chat.first_agent_at is None:
                s["closed_unanswered"] += 1


def count_left(msg: LeftMessage, cell: Callable[[float], ChatCounts | None]) -> None:
    """Add one message left to the cell of its time: a message left from the line belongs to a
    conversation already offered; any other is a visitor offered to the channel instead."""
    left = cell(msg.created_at)
    if left is not None:
        left.sums["left_messages"] += 1
        if msg.reason == WAITED:
            left.sums["left_from_line"] += 1
        else:
            left.sums["offered"] += 1


def count_rating(r: Rating, cell: Callable[[float], ChatCounts | None]) -> None:
    """Add one survey to the cell of its offer and its answer to the cell of the answer."""
    offered = cell(r.offered_at)
    if offered is not None:
        offered.sums["surveys"] += 1
        offered.sums["surveys_answered"] += r.rating is not None
    if r.rating is not None and r.answered_at is not None:
        answered = cell(r.answered_at)
        if answered is not None:
            answered.sums["ratings"] += 1
            answered.sums["ratings_satisfied"] += r.rating >= SATISFIED
            answered.sums["rating_points"] += r.rating


def chat_figures(c: ChatCounts, agents_only: bool = False) -> dict[str, Any]:
    """docs/reports.md's chat figures from one period's sums (``agents_only``: the figures
    that are no agent's left empty)."""
    s = c.sums
    out = {
        "offered": int(s["offered"]), "started": int(s["started"]),
        "left_messages": int(s["left_messages"]), "left_from_line": int(s["left_from_line"]),
        "first_responses": int(s["first_responses"]),
        "avg_first_response_s": _avg(s["first_response_s"], s["first_responses"]),
        "longest_first_response_s": _sec(c.longest) if s["first_responses"] else None,
        "closed": int(s["closed"]), "closed_unanswered": int(s["closed_unanswered"]),
        "avg_duration_s": _avg(s["duration_s"], s["closed"]),
        "closed_by_visitor": int(s["closed_by_visitor"]),
        "closed_by_agent": int(s["closed_by_agent"]), "closed_other": int(s["closed_other"]),
        "faq_shown": int(s["faq_shown"]), "bot_talked": int(s["bot_talked"]),
        "bot_deflected": int(s["bot_deflected"]), "self_served": int(s["self_served"]),
        "deflection_pct": _pct(s["self_served"], s["started"]),
        **csat_figures(s["surveys_answered"], s["surveys"], s["ratings"],
                       s["ratings_satisfied"], s["rating_points"]),
    }
    if agents_only:
        out |= dict.fromkeys(NOT_AGENTS)
    return out


class ChatReader:
    """The chats report on one database, for one time zone."""

    def __init__(self, db: Database, calendar: Calendar, now: Callable[[], float]) -> None:
        self.db = db
        self.calendar = calendar
        self.now = now

    async def chats(self, start: int, end: int, queues: tuple[str, ...] = (),
                    agents: tuple[str, ...] = ()) -> list[Chat]:
        """The conversations that may count in ``[start, end)`` (held by ``agents`` if any),
        with their first agent message's time."""
        cc, cm = ChatConversationRow.__table__, ChatMessageRow.__table__
        query = (sa.select(cc.c.id, cc.c.queue, cc.c.created_at, cc.c.closed_at, cc.c.closed_by,
                           cc.c.faq_outcome, cc.c.bot_outcome, cc.c.agent_id)
                 .where(cc.c.created_at < end,
                        sa.or_(cc.c.created_at >= start - LOOKBACK_S, cc.c.state != "closed"))
                 .order_by(cc.c.created_at, cc.c.id))
        if queues:
            query = query.where(cc.c.queue.in_(queues))
        if agents:
            query = query.where(cc.c.agent_id.in_(agents))
        async with self.db.engine.connect() as c:
            rows = (await c.execute(query)).all()
            ids = [str(r[0]) for r in rows]
            first: dict[str, float] = {}
            for i in range(0, len(ids), _IN_CHUNK):
                agent = (sa.select(cm.c.conversation_id, sa.func.min(cm.c.at))
                         .where(cm.c.conversation_id.in_(ids[i:i + _IN_CHUNK]),
                                cm.c.sender == "agent")
                         .group_by(cm.c.conversation_id))
                for cid, at in await c.execute(agent):
                    first[str(cid)] = float(at)
        return [Chat(str(queue), float(created), None if closed is None else float(closed),
                     by, first.get(str(cid)), faq, bot, None if agent is None else str(agent))
                for cid, queue, created, closed, by, faq, bot, agent in rows]

    async def left(self, start: int, end: int, queues: tuple[str, ...] = ()) -> list[LeftMessage]:
        """The messages left in ``[start, end)`` (indexed by time)."""
        om = ChatOfflineMessageRow.__table__
        query = (sa.select(om.c.queue, om.c.created_at, om.c.reason)
                 .where(om.c.created_at >= start, om.c.created_at < end))
        if queues:
            query = query.where(om.c.queue.in_(queues))
        async with self.db.engine.connect() as c:
            return [LeftMessage(str(queue), float(at), str(reason))
                    for queue, at, reason in await c.execute(query)]

    async def ratings(self, start: int, end: int, queues: tuple[str, ...] = (),
                      agents: tuple[str, ...] = ()) -> list[Rating]:
        """The rating surveys offered or answered in ``[start, end)`` (indexed by both), about
        ``agents`` if any."""
        cr = ChatRatingRow.__table__
        query = (sa.select(cr.c.queue, cr.c.offered_at, cr.c.rating, cr.c.answered_at,
                           cr.c.agent_id)
                 .where(sa.or_(sa.and_(cr.c.offered_at >= start, cr.c.offered_at < end),
                               sa.and_(cr.c.answered_at >= start, cr.c.answered_at < end))))
        if queues:
            query = query.where(cr.c.queue.in_(queues))
        if agents:
            query = query.where(cr.c.agent_id.in_(agents))
        async with self.db.engine.connect() as c:
            return [Rating(str(queue), float(offered),
                           None if rating is None else int(rating),
                           None if answered is None else float(answered),
                           None if agent is None else str(agent))
                    for queue, offered, rating, answered, agent in await c.execute(query)]

    async def report(self, q: ReportQuery) -> Report:
        """Chat figures per period, by queue (``group``: queue, channel, agent or none)."""
        start, end = self.calendar.day_range(q.first, q.last)
        now = self.now()
        ps = periods(self.calendar, q.by, start, end, now)
        starts = [p.start for p in ps]
        agents_only = q.group == "agent" or bool(q.agents)
        group: Callable[[str, str | None], str] = {
            "queue": lambda queue, _a: queue, "channel": lambda _q, _a: CHANNEL,
            "agent": lambda _q, agent: agent or "", "none": lambda _q, _a: ""}[q.group]
        cells: dict[tuple[int, str], ChatCounts] = {}

        def cell(queue: str, agent: str | None, at: float) -> ChatCounts | None:
            if not start <= at < end or at > now:
                return None
            key = (bisect_right(starts, at) - 1, group(queue, agent))
            return cells.setdefault(key, ChatCounts())

        if ps and (not q.channels or CHANNEL in q.channels):
            for chat in await self.chats(start, end, q.queues, q.agents):
                if not agents_only or chat.agent is not None:
                    count_chat(chat, functools.partial(cell, chat.queue, chat.agent),
                               agents_only)
            if not agents_only:  # a message left is nobody's
                for msg in await self.left(start, end, q.queues):
                    count_left(msg, functools.partial(cell, msg.queue, None))
            for rating in await self.ratings(start, end, q.queues, q.agents):
                if not agents_only or rating.agent is not None:
                    count_rating(rating, functools.partial(cell, rating.queue, rating.agent))
        columns = ("period", "period_start", *((q.group,) if q.group != "none" else ()),
                   *CHAT_COLUMNS)
        rows: list[dict[str, Any]] = []
        total = ChatCounts()
        for (i, key), c in sorted(cells.items()):
            row: dict[str, Any] = {"period": period_label(self.calendar, q.by, q.first, q.last,
                                                          ps[i]),
                                   "period_start": ps[i].start}
            if q.group != "none":
                row[q.group] = key
            rows.append(row | chat_figures(c, agents_only))
            total.add(c)
        totals: dict[str, Any] = {"period": "total",
                                  "period_start": self.calendar.midnight(q.first)}
        if q.group != "none":
            totals[q.group] = ""
        totals |= chat_figures(total, agents_only)
        return Report("chats", q, self.calendar.zone, columns, rows, totals, start, end)
