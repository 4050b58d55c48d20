"""Conversations and messages in the database (``tables.py``): the chat's memory across restarts.

Design note: a message is written, with its conversation's ``last_seq``, before anyone is told
about it; the caller holds the conversation's lock, so numbers are given out in order and each
number is stored before the next one is. A resend of a visitor's message (same ``client_id``)
finds the stored one instead of making a second.

Writes go through one ``ChatWriter`` (group commit): whatever arrives while a transaction runs
goes into the next one, on one connection. A transaction per message, on pooled connections,
made SQLite's writers wait for each other's lock in its busy handler's sleeps (p99 0.75 s at
200 messages/s in ``bench/chat.py``); the caller still waits for *its* commit, so "stored
before relayed" holds for every message. A batch that fails is written not at all and every
caller in it gets the error (a resend's duplicate ``client_id`` aside: then each is settled
alone). The transaction itself is ``write_batch.py``'s: on SQLite, committed on the loop's
thread when the write lock is free (by ``append`` itself when the writer is idle), else one
round trip to SQLite's thread instead of eight, and no checkpoint inside the commit (issue #14:
relaying before the commit, with the ack after it, is not done: it would show agents messages
that a crash then lost until the widget's resend).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contactcenter.chat.model import (
    Answer,
    ConversationRecord,
    ConversationState,
    Message,
    Sender,
)
from contactcenter.chat.tables import ChatConversationRow, ChatMessageRow
from contactcenter.chat.write_batch import BatchConnection, is_integrity_error
from contactcenter.storage.database import Database

log = logging.getLogger(__name__)
MAX_MESSAGES_READ = 1000
IDLE_RELEASE_S = 1.0  # the writer gives its connection back after this long without work


def _record(row: ChatConversationRow) -> ConversationRecord:
    return ConversationRecord(
        id=row.id, channel=row.channel, visitor_id=row.visitor_id, visitor_name=row.visitor_name,
        answers=tuple(Answer(a["name"], a["label"], a["value"]) for a in row.answers or ()),
        attributes=dict(row.attributes or {}), page=row.page, queue=row.queue,
        state=ConversationState(row.state), created_at=row.created_at, agent_id=row.agent_id,
        offered_at=row.offered_at, accepted_at=row.accepted_at, closed_at=row.closed_at,
        closed_by=row.closed_by, last_seq=row.last_seq, verified=row.verified,
        faq_outcome=row.faq_outcome, faq_article_id=row.faq_article_id,
        bot_flow=row.bot_flow, bot_outcome=row.bot_outcome)


def _message(row: ChatMessageRow) -> Message:
    return Message(row.conversation_id, row.seq, Sender(row.sender), row.text, row.at, row.name,
                   row.agent_id, row.client_id, row.attachment)


class ChatStore:
    """Reads and writes ``chat_conversations`` and ``chat_messages``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, conv: ConversationRecord, token_hash: str) -> None:
        """Store a new conversation."""
        async with self.db.session() as session, session.begin():
            session.add(ChatConversationRow(
                id=conv.id, channel=conv.channel, visitor_id=conv.visitor_id,
                visitor_name=conv.visitor_name, token_hash=token_hash,
                answers=[{"name": a.name, "label": a.label, "value": a.value}
                         for a in conv.answers],
                attributes=dict(conv.attributes), page=conv.page, queue=conv.queue,
                state=conv.state.value, agent_id=conv.agent_id, created_at=conv.created_at,
                last_seq=conv.last_seq, verified=conv.verified,
                closed_at=conv.closed_at, closed_by=conv.closed_by,
                faq_outcome=conv.faq_outcome, faq_article_id=conv.faq_article_id,
                bot_flow=conv.bot_flow, bot_outcome=conv.bot_outcome))

    async def save_state(self, conv: ConversationRecord) -> None:
        """Store where a conversation stands (state, agent, queue, times)."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                sa.update(ChatConversationRow).where(ChatConversationRow.id == conv.id).values(
                    state=conv.state.value, agent_id=conv.agent_id, queue=conv.queue,
                    offered_at=conv.offered_at, accepted_at=conv.accepted_at,
                    closed_at=conv.closed_at, closed_by=conv.closed_by,
                    bot_outcome=conv.bot_outcome))

    async def append(self, message: Message) -> Message:
        """Store ``message`` (its seq given by the caller, one above the last); a visitor's
        resend of a ``client_id`` already stored returns the stored message instead."""
        try:
            async with self.db.session() as session, session.begin():
                session.add(ChatMessageRow(
                    conversation_id=message.conversation_id, seq=message.seq,
                    sender=message.sender.value, name=message.name, agent_id=message.agent_id,
                    text=message.text, client_id=message.client_id, at=message.at,
                    attachment=message.attachment))
                await session.execute(
                    sa.update(ChatConversationRow)
                    .where(ChatConversationRow.id == message.conversation_id)
                    .values(last_seq=message.seq))
        except IntegrityError:
            if message.client_id is None:
                raise
            found = await self.by_client_id(message.conversation_id, message.client_id)
            if found is None:
                raise
            return found
        return message

    async def by_client_id(self, conversation_id: str, client_id: str) -> Message | None:
        """The stored message the visitor sent as ``client_id``, if any."""
        async with self.db.session() as session:
            row = (await session.execute(
                sa.select(ChatMessageRow).where(
                    ChatMessageRow.conversation_id == conversation_id,
                    ChatMessageRow.client_id == client_id))).scalar_one_or_none()
        return _message(row) if row is not None else None

    async def messages_after(self, conversation_id: str, after: int = 0,
                             limit: int = MAX_MESSAGES_READ) -> list[Message]:
        """Messages numbered above ``after``, in order."""
        async with self.db.session() as session:
            rows = (await session.execute(
                sa.select(ChatMessageRow)
                .where(ChatMessageRow.conversation_id == conversation_id,
                       ChatMessageRow.seq > after)
                .order_by(ChatMessageRow.seq).limit(limit))).scalars().all()
        return [_message(r) for r in rows]

    async def get(self, conversation_id: str) -> tuple[ConversationRecord, str] | None:
        """A conversation and its token's hash."""
        async with self.db.session() as session:
            row = await session.get(ChatConversationRow, conversation_id)
        return (_record(row), row.token_hash) if row is not None else None

    async def earlier(self, channel: str, visitor_id: str, before: float,
                      limit: int = 10) -> list[ConversationRecord]:
        """A verified visitor's conversations on ``channel`` started before ``before``, newest
        first (unverified ones are left out: anybody may claim an id without a signature)."""
        async with self.db.session() as session:
            rows = (await session.execute(
                sa.select(ChatConversationRow)
                .where(ChatConversationRow.channel == channel,
                       ChatConversationRow.visitor_id == visitor_id,
                       ChatConversationRow.verified.is_(True),
                       ChatConversationRow.created_at < before)
                .order_by(ChatConversationRow.created_at.desc()).limit(limit))).scalars().all()
        return [_record(r) for r in rows]

    async def open_conversations(self) -> list[tuple[ConversationRecord, str]]:
        """Every conversation not closed, oldest first (for the restart)."""
        async with self.db.session() as session:
            rows = (await session.execute(
                sa.select(ChatConversationRow)
                .where(ChatConversationRow.state != ConversationState.CLOSED.value)
                .order_by(ChatConversationRow.created_at))).scalars().all()
        return [(_record(r), r.token_hash) for r in rows]


@dataclass(slots=True)
class _Job:
    kind: str  # "state" | "message"
    item: Any
    done: asyncio.Future[Any]


class ChatWriter:
    """Group commit of state changes and messages (see the module's note)."""

    def __init__(self, store: ChatStore) -> None:
        self.store = store
        self._jobs: list[_Job] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # a batch is being written
        self._wrote_now = False  # a message went straight in since the writer last looked
        self._conn = BatchConnection(store.db)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="chat-writer")

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        while self._jobs or self._busy:
            await asyncio.sleep(0.005)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self._conn.close()

    def _submit(self, kind: str, item: Any) -> asyncio.Future[Any]:
        if self._task is None:
            raise RuntimeError("the chat writer is not running")
        job = _Job(kind, item, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._wake.set()
        return job.done

    async def save_state(self, conv: ConversationRecord) -> None:
        """Store where a conversation stands; returns once committed."""
        await self._submit("state", conv)

    async def append(self, message: Message) -> Message:
        """Store a message (``ChatStore.append``'s contract); returns once committed."""
        if self._task is not None and not self._busy and not self._jobs:
            # Nothing queued or being written: commit now, without the trips through the
            # loop to the writer's task and back (on SQLite; see write_batch.py's note).
            # A failure wrote nothing: the writer's way then tells the caller what it is (a
            # resend's duplicate client id, a refusal), as for a batch.
            with contextlib.suppress(Exception):
                if self._conn.write_now([message]):
                    self._wrote_now = True
                    return message
        return await self._submit("message", message)

    async def _run(self) -> None:
        try:
            while True:
                if not self._wake.is_set():
                    try:  # the connection is kept while messages come, given back when idle
                        async with asyncio.timeout(IDLE_RELEASE_S):
                            await self._wake.wait()
                    except TimeoutError:
                        if self._wrote_now:  # the connection is in use, from append
                            self._wrote_now = False
                            continue
                        await self._conn.release()
                        await self._wake.wait()
                self._wake.clear()
                while self._jobs:
                    batch, self._jobs = self._jobs, []
                    self._busy = True
                    try:
                        await self._settle(batch)
                    finally:
                        self._busy = False
        finally:
            await self._conn.release()

    async def _settle(self, batch: list[_Job]) -> None:
        """Write ``batch`` in one transaction, then answer each of its callers."""
        try:
            await self._conn.write([j.item for j in batch if j.kind == "state"],
                                   [j.item for j in batch if j.kind == "message"])
        except asyncio.CancelledError:
            for job in batch:  # stopped mid-write: nobody waits for an answer forever
                if not job.done.done():
                    job.done.set_exception(RuntimeError("the chat writer stopped"))
            raise
        except Exception as exc:
            if is_integrity_error(exc):
                await self._one_by_one(batch)  # a resend's client_id: settle each alone
                return
            log.exception("chat write failed")
            for job in batch:  # nothing of the batch was written: each caller gets the error
                if not job.done.done():
                    job.done.set_exception(exc)
            return
        for job in batch:
            if not job.done.done():
                job.done.set_result(job.item if job.kind == "message" else None)

    async def _one_by_one(self, batch: list[_Job]) -> None:
        for job in batch:
            try:
                if job.kind == "state":
                    await self.store.save_state(job.item)
                    job.done.set_result(None)
                else:
                    job.done.set_result(await self.store.append(job.item))
            except Exception as exc:  # noqa: BLE001 - handed to the one waiting for it
                job.done.set_exception(exc)
