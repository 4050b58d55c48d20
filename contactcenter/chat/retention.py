"""Retention of chat transcripts: closed chats and handled messages left, purged after
``chat.retention_days``.

Design note. What is purged is decided by stored times only (a closed conversation's
``closed_at``, a message left's ``created_at`` once it is handled), so the periodic pass in the
server (``RetentionLoop``, every ``retention_check_s`` clock seconds) and ``contactcenter chat
purge`` from the command line agree, and a pass that stopped half-way is finished by the next.
Open chats and messages nobody handled yet are never purged. Conversations go in chunks, their
messages first; ``before_delete`` (a hook for what lives outside these tables, such as files)
hears each chunk's ids before its rows go. Every pass that purged something is audited
(``chat.purge``, with the cut-off and the counts).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contactcenter.chat.model import ConversationState
from contactcenter.chat.tables import ChatConversationRow, ChatMessageRow, ChatOfflineMessageRow
from contactcenter.common.periodic import Periodic
from contactcenter.domain.clock import Clock
from contactcenter.storage.database import Database

log = logging.getLogger(__name__)
CHUNK = 500
DAY_S = 86400.0
BeforeDelete = Callable[[list[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a pass purged (or, ``dry_run``, would purge)."""

    cutoff: float
    conversations: int
    messages_left: int
    dry_run: bool

    def as_json(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff, "conversations": self.conversations,
                "messages_left": self.messages_left, "dry_run": self.dry_run}


async def purge(db: Database, days: int, now: float, audit: Any, actor: str, *,
                dry_run: bool = False, before_delete: BeforeDelete | None = None
                ) -> PurgeReport:
    """Purge closed chats and handled messages left older than ``days`` (0: nothing)."""
    cutoff = now - days * DAY_S
    if days <= 0:
        return PurgeReport(cutoff, 0, 0, dry_run)
    old = sa.select(ChatConversationRow.id).where(
        ChatConversationRow.state == ConversationState.CLOSED.value,
        ChatConversationRow.closed_at < cutoff)
    left = (ChatOfflineMessageRow.done_at.is_not(None),
            ChatOfflineMessageRow.created_at < cutoff)
    async with db.session() as session:
        ids = list((await session.execute(old)).scalars().all())
        n_left = (await session.execute(
            sa.select(sa.func.count()).select_from(ChatOfflineMessageRow).where(*left))
        ).scalar_one()
    report = PurgeReport(cutoff, len(ids), int(n_left), dry_run)
    if dry_run or (not ids and not n_left):
        return report
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        if before_delete is not None:
            await before_delete(chunk)
        async with db.session() as session, session.begin():
            await session.execute(sa.delete(ChatMessageRow)
                                  .where(ChatMessageRow.conversation_id.in_(chunk)))
            await session.execute(sa.delete(ChatConversationRow)
                                  .where(ChatConversationRow.id.in_(chunk)))
    async with db.session() as session, session.begin():
        await session.execute(sa.delete(ChatOfflineMessageRow).where(*left))
    await audit.record(actor, "chat.purge", f"{days} days", "ok", report.as_json())
    log.info("chat: purged %d closed chat(s) and %d handled message(s) left older than %d "
             "days", report.conversations, report.messages_left, days)
    return report


class RetentionLoop:
    """The server's periodic purge (only when ``retention_days`` is set)."""

    def __init__(self, db: Database, clock: Clock, audit: Any, days: int,
                 every_s: float) -> None:
        self.db, self.clock, self.audit = db, clock, audit
        self.days, self.every_s = days, every_s
        self.before_delete: BeforeDelete | None = None
        self.passes = 0  # finished passes, for tests and /metrics readers
        self._loop = Periodic("chat-retention", self._pass, clock.real)

    def start(self) -> None:
        if self.days > 0:
            self._loop.start()

    async def close(self) -> None:
        await self._loop.close()  # a pass in progress finishes its transaction

    async def _pass(self) -> float:
        try:
            await purge(self.db, self.days, self.clock.time(), self.audit, "system",
                        before_delete=self.before_delete)
        except Exception:
            log.exception("chat: retention pass failed")
        self.passes += 1
        return self.every_s
