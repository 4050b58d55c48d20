"""Chats and tickets for quality's tests, written through the chat's and the tickets' own
stores (the rows their channels write), so QA reads what a real conversation leaves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.store import ChatStore
from contactcenter.storage.database import Database
from contactcenter.tickets.model import (
    Author,
    NewTicket,
    Origin,
    Requester,
    Status,
    Visibility,
)
from contactcenter.tickets.store import ArticleDraft, TicketStore


async def add_chat(db: Database, conv_id: str, agent_id: str | None, created: datetime,
                   lines: Sequence[tuple[float, str, str]], *, queue: str = "web",
                   visitor: str = "Vera", accepted_after: float = 5.0,
                   closed: bool = True) -> ConversationRecord:
    """A conversation started at ``created``, taken by ``agent_id`` ``accepted_after`` s later,
    with ``lines`` of (seconds after ``created``, sender, text), then closed."""
    t0 = created.timestamp()
    store = ChatStore(db)
    conv = ConversationRecord(
        id=conv_id, channel="site", visitor_id=f"v-{conv_id}", visitor_name=visitor,
        answers=(), attributes={}, page="", queue=queue, state=ConversationState.WAITING,
        created_at=t0)
    await store.create(conv, "0" * 64)
    for seq, (after, sender, text) in enumerate(lines, start=1):
        name = visitor if sender == "visitor" else "Alice" if sender == "agent" else ""
        await store.append(Message(conv_id, seq, Sender(sender), text, t0 + after, name,
                                   agent_id if sender == "agent" else None))
    done = replace(conv, state=ConversationState.CLOSED if closed else ConversationState.ACTIVE,
                   agent_id=agent_id, accepted_at=t0 + accepted_after,
                   closed_at=t0 + 600 if closed else None, closed_by="agent" if closed else None)
    await store.save_state(done)
    return done


async def add_ticket(db: Database, agent_id: str | None, created: datetime,
                     articles: Sequence[tuple[float, str, str, bool]], *,
                     subject: str = "Parcel late", queue: str = "support",
                     status: Status = Status.SOLVED) -> int:
    """A ticket made at ``created``, assigned to ``agent_id``, with ``articles`` of (seconds
    after ``created``, author, text, internal); its number."""
    store = TicketStore(db)
    t0 = created.timestamp()
    async with store.session() as s:
        row = await store.insert_ticket(s, NewTicket(
            subject, Origin.WEB, queue, Requester("cust@example.com", "Carl"),
            assignee=agent_id), t0, "test")
        for after, author, text, internal in articles:
            await store.add_article(s, row.id, ArticleDraft(
                Visibility.INTERNAL if internal else Visibility.PUBLIC, Author(author),
                "Alice" if author == "agent" else "Carl", text,
                agent_id=agent_id if author == "agent" else None), t0 + after)
        row.status = status.value
        await s.commit()
        return row.id
