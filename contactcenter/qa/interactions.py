"""What QA evaluates, whatever its channel: a call (its recording), a chat conversation, a
ticket; who handled it, when, and (for the written ones) its lines.

Design note: QA sits above the channels (layer 9 over 8), so it reads their stores and tables
here and nowhere else; the rest of QA sees ``Subject`` and ``thread.Line``. An item is named by
its channel and id: the recording's id, the conversation's id, the ticket's number (as text).
A chat is "finished" once closed, a ticket once solved or closed; the agent is the one who had
the chat last (after any transfer), the ticket's assignee. Chat and ticket times are epoch
seconds in their tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from contactcenter.chat import tables as ct
from contactcenter.chat.model import ConversationState
from contactcenter.chat.store import ChatStore
from contactcenter.common.timestamps import aware
from contactcenter.qa import tables as t
from contactcenter.qa.thread import Line
from contactcenter.recording import tables as rt
from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.storage.database import Database
from contactcenter.tickets import tables as tt
from contactcenter.tickets.model import Status, Visibility
from contactcenter.tickets.store import TicketStore

TICKET_DONE = (Status.SOLVED.value, Status.CLOSED.value)


@dataclass(frozen=True, slots=True)
class Subject:
    """One interaction QA may evaluate."""

    channel: str
    item_id: str
    interaction_id: str
    agent_id: str | None
    queue: str
    started_at: datetime
    label: str  # the caller's number, the visitor's name, the ticket's subject
    finished: bool
    recording: Recording | None = None  # a call's


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _call(rec: Recording) -> Subject:
    return Subject(t.VOICE, rec.id, rec.interaction_id, rec.agent_id, rec.queue,
                   aware(rec.started_at), rec.caller_id or "",
                   rec.status == rt.STATUS_COMPLETE, rec)


def _chat(row: ct.ChatConversationRow) -> Subject:
    return Subject(t.CHAT, row.id, row.id, row.agent_id, row.queue, _when(row.created_at),
                   row.visitor_name or "", row.state == ConversationState.CLOSED.value)


def _ticket(row: tt.TicketRow) -> Subject:
    return Subject(t.TICKET, str(row.id), row.interaction_id or f"ticket-{row.id}",
                   row.assignee, row.queue, _when(row.created_at), row.subject,
                   row.status in TICKET_DONE)


class InteractionReader:
    """Reads calls, chats and tickets for evaluations and sampling."""

    def __init__(self, db: Database, recordings: RecordingIndex) -> None:
        self.db = db
        self.recordings = recordings
        self.chats = ChatStore(db)
        self.tickets = TicketStore(db)

    async def subject(self, channel: str, item_id: str) -> Subject | None:
        """The interaction ``item_id`` of ``channel``, or None."""
        if channel == t.VOICE:
            rec = await self.recordings.get(item_id)
            return _call(rec) if rec is not None else None
        async with self.db.session() as s:
            if channel == t.CHAT:
                chat = await s.get(ct.ChatConversationRow, item_id)
                return _chat(chat) if chat is not None else None
            if channel == t.TICKET and item_id.isdigit() and len(item_id) < 10:
                ticket = await s.get(tt.TicketRow, int(item_id))
                return _ticket(ticket) if ticket is not None else None
        return None

    async def thread(self, channel: str, item_id: str) -> list[Line]:
        """A chat's messages or a ticket's articles, in order (a call has none: its words
        are its transcript's)."""
        if channel == t.CHAT:
            found = await self.chats.get(item_id)
            if found is None:
                return []
            conv = found[0]
            zero = conv.accepted_at if conv.accepted_at is not None else conv.created_at
            return [Line(m.seq, _when(m.at), m.at - zero, m.sender.value, m.name, m.text)
                    for m in await self.chats.messages_after(item_id)]
        if channel == t.TICKET and item_id.isdigit() and len(item_id) < 10:
            ticket = await self.tickets.get(int(item_id))
            if ticket is None:
                return []
            return [Line(a.id, _when(a.created_at), a.created_at - ticket.created_at,
                         a.author.value, a.author_name, a.body_text,
                         a.visibility is Visibility.INTERNAL)
                    for a in await self.tickets.articles(ticket.id)]
        return []

    async def finished(self, channel: str, start: datetime, end: datetime,
                       queue: str | None) -> list[Subject]:
        """The finished interactions of ``channel`` started in [start, end) that have an
        agent, in ``queue`` (or any), by id."""
        async with self.db.session() as s:
            if channel == t.VOICE:
                rec = rt.RecordingRow
                stmt = sa.select(rec.id, rec.interaction_id, rec.agent_id, rec.queue,
                                 rec.started_at, rec.caller_id).where(
                    rec.status == rt.STATUS_COMPLETE, rec.agent_id.is_not(None),
                    rec.started_at >= start.astimezone(UTC), rec.started_at < end.astimezone(UTC))
                if queue:
                    stmt = stmt.where(rec.queue == queue)
                return [Subject(t.VOICE, r.id, r.interaction_id, r.agent_id, r.queue,
                                aware(r.started_at), r.caller_id or "", True)
                        for r in (await s.execute(stmt.order_by(rec.id))).all()]
            elif channel == t.CHAT:
                conv = ct.ChatConversationRow
                cstmt = sa.select(conv).where(
                    conv.state == ConversationState.CLOSED.value, conv.agent_id.is_not(None),
                    conv.created_at >= start.timestamp(), conv.created_at < end.timestamp())
                if queue:
                    cstmt = cstmt.where(conv.queue == queue)
                return [_chat(r) for r in (await s.execute(cstmt.order_by(conv.id))).scalars()]
            else:
                tk = tt.TicketRow
                tstmt = sa.select(tk).where(
                    tk.status.in_(TICKET_DONE), tk.assignee.is_not(None),
                    tk.created_at >= start.timestamp(), tk.created_at < end.timestamp())
                if queue:
                    tstmt = tstmt.where(tk.queue == queue)
                return [_ticket(r) for r in (await s.execute(tstmt.order_by(tk.id))).scalars()]
