""""Leave a message": when a chat channel takes no live chat, and the messages left meanwhile.

Design note. A channel is *offline* outside its ``hours`` (the IVR's own evaluation,
``ivr.hours.hours_state``, on the channel's hours turned into an IVR hours node) or, with
``offline_when_nobody_logged_in``, while no agent with chat capacity is logged in to the
queue. The widget asks the configuration (``available``) when it opens, and a start refused
as offline (409 ``{offline: true, reason}``) turns it into the message form all the same, so
the minute the hours end is never a dead end. A message left is a row of
``chat_offline_messages`` (the pre-chat answers, the text, the page, why it was offline);
agents of the message's queue and supervisors list it and mark it done (``routes.py``).
A visitor waiting ``leave_message_after_s`` (or past the queue's ``max_wait_s``) may leave one
from the line too (reason ``waited``; ``timeouts.py`` offers it, the service ends the wait).
Every message left goes on through the service's ``message_left`` port: ``app.py`` points it
at the tickets (``tickets/from_chat.py``), which chat never imports; the ticket's number it
answers is kept on the row (``ticket_id``) for the supervisors' page (``left_messages_routes.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contactcenter.chat.model import Answer
from contactcenter.chat.settings import ChatChannelSettings, ChatHours
from contactcenter.chat.tables import ChatOfflineMessageRow
from contactcenter.common.yamlfile import Mark
from contactcenter.ivr.hours import hours_state
from contactcenter.ivr.model import HoursNode, TimeRange
from contactcenter.storage.database import Database

MAX_LISTED = 200
_NOWHERE = Mark("chat-settings", 0, 0)


def hours_node(hours: ChatHours) -> HoursNode:
    """The channel's hours as the IVR's hours node (only its calendar parts are used)."""
    weekly = {day: tuple(TimeRange(a, b) for a, b in ranges)
              for day, ranges in hours.week().items()}
    return HoursNode("chat-hours", _NOWHERE, hours.timezone, weekly,
                     frozenset(hours.holidays), "open", "closed", "holiday")


class Availability:
    """Whether each channel takes live chats now; hours nodes are built once per channel."""

    def __init__(self) -> None:
        self._nodes: dict[int, HoursNode] = {}

    def offline_reason(self, channel: ChatChannelSettings, now: float,
                       someone_logged_in: bool) -> str | None:
        """``closed`` / ``holiday`` (outside the hours), ``nobody`` (no agent logged in, when
        the channel says so), or None: live chat is on."""
        if channel.hours is not None:
            node = self._nodes.get(id(channel.hours))
            if node is None:
                node = self._nodes[id(channel.hours)] = hours_node(channel.hours)
            state = hours_state(node, now)
            if state != "open":
                return state
        if channel.offline_when_nobody_logged_in and not someone_logged_in:
            return "nobody"
        return None


@dataclass(frozen=True, slots=True)
class OfflineMessage:
    """A message a visitor left while the channel was offline."""

    id: str
    channel: str
    queue: str
    visitor_id: str
    visitor_name: str
    answers: tuple[Answer, ...]
    text: str
    page: str
    reason: str  # closed | holiday | nobody | open | waited (left from the line)
    created_at: float
    done_at: float | None = None
    done_by: str | None = None
    ticket_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The message for agents and supervisors."""
        return {"id": self.id, "channel": self.channel, "queue": self.queue,
                "visitor_id": self.visitor_id, "visitor_name": self.visitor_name,
                "answers": [{"name": a.name, "label": a.label, "value": a.value}
                            for a in self.answers],
                "text": self.text, "page": self.page, "reason": self.reason,
                "created_at": self.created_at, "done_at": self.done_at, "done_by": self.done_by,
                "ticket_id": self.ticket_id}


def new_message(**values: Any) -> OfflineMessage:
    """A new message with a fresh id."""
    return OfflineMessage(id=uuid.uuid4().hex, **values)


def _from_row(row: ChatOfflineMessageRow) -> OfflineMessage:
    return OfflineMessage(
        id=row.id, channel=row.channel, queue=row.queue, visitor_id=row.visitor_id,
        visitor_name=row.visitor_name,
        answers=tuple(Answer(a["name"], a["label"], a["value"]) for a in row.answers or ()),
        text=row.text, page=row.page, reason=row.reason, created_at=row.created_at,
        done_at=row.done_at, done_by=row.done_by, ticket_id=row.ticket_id)


class OfflineStore:
    """Reads and writes ``chat_offline_messages``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, msg: OfflineMessage) -> None:
        """Store a new message."""
        async with self.db.session() as session, session.begin():
            session.add(ChatOfflineMessageRow(
                id=msg.id, channel=msg.channel, queue=msg.queue, visitor_id=msg.visitor_id,
                visitor_name=msg.visitor_name,
                answers=[{"name": a.name, "label": a.label, "value": a.value}
                         for a in msg.answers],
                text=msg.text, page=msg.page, reason=msg.reason, created_at=msg.created_at))

    async def listing(self, queues: list[str] | None, include_done: bool,
                      limit: int = MAX_LISTED, *, only_done: bool = False,
                      since: float | None = None, until: float | None = None
                      ) -> list[OfflineMessage]:
        """Messages of ``queues`` (None: every queue), newest first; open ones only unless
        ``include_done`` (handled ones only with ``only_done``); left within [since, until)."""
        query = sa.select(ChatOfflineMessageRow)
        if queues is not None:
            query = query.where(ChatOfflineMessageRow.queue.in_(queues))
        if only_done:
            query = query.where(ChatOfflineMessageRow.done_at.is_not(None))
        elif not include_done:
            query = query.where(ChatOfflineMessageRow.done_at.is_(None))
        if since is not None:
            query = query.where(ChatOfflineMessageRow.created_at >= since)
        if until is not None:
            query = query.where(ChatOfflineMessageRow.created_at < until)
        query = query.order_by(ChatOfflineMessageRow.created_at.desc()).limit(limit)
        async with self.db.session() as session:
            rows = (await session.execute(query)).scalars().all()
        return [_from_row(r) for r in rows]

    async def get(self, message_id: str) -> OfflineMessage | None:
        """One message."""
        async with self.db.session() as session:
            row = await session.get(ChatOfflineMessageRow, message_id)
        return _from_row(row) if row is not None else None

    async def mark_done(self, message_id: str, by: str, at: float) -> bool:
        """Mark a message handled; False when it was already (or does not exist)."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                sa.update(ChatOfflineMessageRow)
                .where(ChatOfflineMessageRow.id == message_id,
                       ChatOfflineMessageRow.done_at.is_(None))
                .values(done_at=at, done_by=by))
        return bool(getattr(result, "rowcount", 0))

    async def set_ticket(self, message_id: str, ticket_id: int) -> None:
        """Note the ticket a message became."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                sa.update(ChatOfflineMessageRow)
                .where(ChatOfflineMessageRow.id == message_id).values(ticket_id=ticket_id))

    async def of_visitor(self, visitor_id: str) -> list[OfflineMessage]:
        """Every message one visitor left, oldest first (a data-subject export)."""
        async with self.db.session() as session:
            rows = (await session.execute(
                sa.select(ChatOfflineMessageRow)
                .where(ChatOfflineMessageRow.visitor_id == visitor_id)
                .order_by(ChatOfflineMessageRow.created_at))).scalars().all()
        return [_from_row(r) for r in rows]
