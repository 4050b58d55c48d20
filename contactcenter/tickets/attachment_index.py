"""The list of a message's files: what ``ticket_attachments`` says of the parts of its mail.

Design note: the mail is the store (``mail/attached.py``); this is its index, written in the
transaction that files the mail (received: ``inbound.py``; an agent's reply: ``service.py``),
so a message is never listed without its files nor the other way round. The list is made from
the stored bytes themselves (a received mail's, or the reply as composed), so what is listed
is exactly what is served. Large mails are read off the event loop before the transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets.mail.attached import files_of
from contactcenter.tickets.tables import TicketArticleRow, TicketAttachmentRow

IN_THREAD_BYTES = 256 * 1024  # larger mails are read in a worker thread


@dataclass(frozen=True, slots=True)
class Listed:
    """One file of a mail, without its bytes."""

    part: int
    filename: str
    declared_type: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None


@dataclass(frozen=True, slots=True)
class TicketFile:
    """A listed file of a ticket's message."""

    id: int
    article_id: int
    mail_id: int
    part: int
    direction: str
    filename: str
    declared_type: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "article_id": self.article_id, "direction": self.direction,
                "filename": self.filename, "content_type": self.content_type,
                "declared_type": self.declared_type, "size": self.size,
                "inline": self.inline, "content_id": self.content_id,
                "url": f"/api/tickets/attachments/{self.id}"}


def file_of(row: TicketAttachmentRow) -> TicketFile:
    return TicketFile(row.id, row.article_id, row.mail_id, row.part, row.direction,
                      row.filename, row.declared_type, row.content_type, row.size, row.sha256,
                      row.inline, row.content_id)


def listing(raw: bytes) -> list[Listed]:
    """The files of the mail ``raw``, hashed."""
    return [Listed(f.part, f.filename, f.declared_type[:100], f.content_type, len(f.data),
                   hashlib.sha256(f.data).hexdigest(), f.inline, f.content_id)
            for f in files_of(raw)]


async def listing_of(raw: bytes) -> list[Listed]:
    """``listing``, in a worker thread for a large mail."""
    if len(raw) > IN_THREAD_BYTES:
        return await asyncio.to_thread(listing, raw)
    return listing(raw)


async def add_listing(s: AsyncSession, article_id: int, mail_id: int, direction: str,
                      listed: list[Listed], now: float) -> None:
    """Store the list of the files of mail ``mail_id``, shown on message ``article_id``."""
    for f in listed:
        s.add(TicketAttachmentRow(
            article_id=article_id, mail_id=mail_id, part=f.part, direction=direction,
            filename=f.filename, declared_type=f.declared_type, content_type=f.content_type,
            size=f.size, sha256=f.sha256, inline=f.inline, content_id=f.content_id,
            created_at=now))
    if listed:
        await s.flush()


async def files_of_ticket(s: AsyncSession, ticket_id: int) -> list[TicketFile]:
    """The listed files of every message of ticket ``ticket_id``, by message then part."""
    rows = (await s.execute(
        sa.select(TicketAttachmentRow).join(
            TicketArticleRow, TicketArticleRow.id == TicketAttachmentRow.article_id)
        .where(TicketArticleRow.ticket_id == ticket_id)
        .order_by(TicketAttachmentRow.article_id, TicketAttachmentRow.part))).scalars().all()
    return [file_of(r) for r in rows]


async def article_of_mail(s: AsyncSession, ticket_id: int, mail_id: int) -> int | None:
    """The message of ticket ``ticket_id`` that mail ``mail_id`` made (its first)."""
    return (await s.execute(
        sa.select(TicketArticleRow.id).where(TicketArticleRow.ticket_id == ticket_id,
                                             TicketArticleRow.mail_id == mail_id)
        .order_by(TicketArticleRow.id).limit(1))).scalar_one_or_none()
