"""Canned replies: saved texts an agent inserts in a chat by shortcut (``/greet``).

Design note. A reply belongs to one queue or to every queue (``queue`` empty); the shortcut is
unique within its queue, and a queue's own reply wins over a global one of the same shortcut.
Supervisors and admins manage them (``routes.py``); agents get, for one conversation, the
replies of its queue with the placeholders already filled in (``{visitor_name}``,
``{agent_name}``, ``{queue}``): the server knows both names, and an unknown placeholder is
refused when the reply is saved, so a typo never reaches a visitor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contactcenter.chat.model import Refused
from contactcenter.chat.tables import ChatCannedReplyRow
from contactcenter.common.canned_text import SHORTCUT_RULE, check_text, clean_shortcut
from contactcenter.storage.database import Database

PLACEHOLDERS = ("visitor_name", "agent_name", "queue")


class DuplicateShortcut(Exception):
    """Another reply of the same queue has that shortcut."""


@dataclass(frozen=True, slots=True)
class CannedReply:
    """One saved reply; ``queue`` empty: every queue."""

    id: str
    queue: str
    shortcut: str
    text: str
    updated_at: float
    updated_by: str

    def as_json(self) -> dict[str, Any]:
        """The reply as the API shows it."""
        return {"id": self.id, "queue": self.queue or None, "shortcut": self.shortcut,
                "text": self.text, "updated_at": self.updated_at,
                "updated_by": self.updated_by}


def check_reply(body: dict[str, Any], queues: set[str]) -> tuple[str, str, str]:
    """``(queue, shortcut, text)`` from a request body; ``Refused`` names every field in error.
    ``queues``: the queues that exist (a reply for another one is refused)."""
    errors: dict[str, str] = {}
    queue = body.get("queue") or ""
    if not isinstance(queue, str) or (queue and queue not in queues):
        errors["queue"] = "not a configured queue (leave it empty for every queue)"
        queue = ""
    shortcut = clean_shortcut(body.get("shortcut"))
    if shortcut is None:
        errors["shortcut"] = SHORTCUT_RULE
        shortcut = ""
    text, why = check_text(body.get("text"), PLACEHOLDERS)
    if why is not None:
        errors["text"] = why
    if errors:
        raise Refused(errors)
    return queue, shortcut, text


def for_queue(replies: list[CannedReply], queue: str) -> list[CannedReply]:
    """The replies an agent may use in ``queue``: its own, then global ones not shadowed."""
    own = [r for r in replies if r.queue == queue]
    taken = {r.shortcut for r in own}
    return sorted(own + [r for r in replies if not r.queue and r.shortcut not in taken],
                  key=lambda r: r.shortcut)


def _from_row(row: ChatCannedReplyRow) -> CannedReply:
    return CannedReply(row.id, row.queue, row.shortcut, row.text, row.updated_at,
                       row.updated_by)


class CannedStore:
    """Reads and writes ``chat_canned_replies``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def listing(self, queues: list[str] | None = None) -> list[CannedReply]:
        """Every reply (``queues``: only these queues' and the global ones), by queue and
        shortcut."""
        query = sa.select(ChatCannedReplyRow)
        if queues is not None:
            query = query.where(ChatCannedReplyRow.queue.in_(["", *queues]))
        query = query.order_by(ChatCannedReplyRow.queue, ChatCannedReplyRow.shortcut)
        async with self.db.session() as session:
            rows = (await session.execute(query)).scalars().all()
        return [_from_row(r) for r in rows]

    async def get(self, reply_id: str) -> CannedReply | None:
        """One reply."""
        async with self.db.session() as session:
            row = await session.get(ChatCannedReplyRow, reply_id)
        return _from_row(row) if row is not None else None

    async def save(self, reply_id: str | None, queue: str, shortcut: str, text: str,
                   by: str, at: float) -> CannedReply | None:
        """Create (``reply_id`` None) or replace a reply; None when ``reply_id`` is unknown.
        Raises ``DuplicateShortcut``."""
        try:
            async with self.db.session() as session, session.begin():
                if reply_id is None:
                    reply_id = uuid.uuid4().hex
                    session.add(ChatCannedReplyRow(id=reply_id, queue=queue, shortcut=shortcut,
                                                   text=text, updated_at=at, updated_by=by))
                else:
                    row = await session.get(ChatCannedReplyRow, reply_id)
                    if row is None:
                        return None
                    row.queue, row.shortcut, row.text = queue, shortcut, text
                    row.updated_at, row.updated_by = at, by
        except IntegrityError:
            raise DuplicateShortcut(f"/{shortcut} is taken in that queue") from None
        return CannedReply(reply_id, queue, shortcut, text, at, by)

    async def delete(self, reply_id: str) -> bool:
        """Remove a reply; False when there was none."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                sa.delete(ChatCannedReplyRow).where(ChatCannedReplyRow.id == reply_id))
        return bool(getattr(result, "rowcount", 0))
