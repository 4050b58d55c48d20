"""The tickets context's tables: tickets, their thread (articles), their history, the mails in
and out, and what we know of mail addresses (bounces).

``tickets.id`` is the ticket number people see (``[Ticket#42]``). Every change of a ticket is
a ``ticket_history`` row written in the same transaction as the change itself. ``ticket_mails``
keeps every mail exactly as it came or went (``raw``): inbound ones whatever became of them (an
unparseable one is kept here and flagged, never dropped), outbound ones as the outbox the
sender works through (status, attempts, next try), so a restart loses no queued reply.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base

MESSAGE_ID_LEN = 250


class TicketRow(Base):
    """One ticket; the number is the id."""

    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(sa.String(250))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    priority: Mapped[str] = mapped_column(sa.String(16))
    origin: Mapped[str] = mapped_column(sa.String(16))
    queue: Mapped[str] = mapped_column(sa.String(64), index=True)
    skills: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    tags: Mapped[list[str]] = mapped_column(sa.JSON)
    assignee: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    requester_email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True,
                                                        index=True)
    requester_name: Mapped[str] = mapped_column(sa.String(200))
    requester_phone: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    mailbox: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)  # mail came to
    customer_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("customers.id", ondelete="SET NULL"), nullable=True,
        index=True)
    interaction_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    routing_round: Mapped[int] = mapped_column(sa.Integer)
    follow_up_of: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    updated_at: Mapped[float] = mapped_column(sa.Float, index=True)
    created_by: Mapped[str] = mapped_column(sa.String(200))


class TicketArticleRow(Base):
    """One entry of a ticket's thread: a customer's message, a public reply, an internal note."""

    __tablename__ = "ticket_articles"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    visibility: Mapped[str] = mapped_column(sa.String(16))
    author: Mapped[str] = mapped_column(sa.String(16))
    author_name: Mapped[str] = mapped_column(sa.String(200))
    author_email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # The mail's Message-ID (without <>), inbound or ours: what replies thread by.
    message_id: Mapped[str | None] = mapped_column(sa.String(MESSAGE_ID_LEN), nullable=True,
                                                   index=True)
    mail_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    flags: Mapped[list[str]] = mapped_column(sa.JSON)
    created_at: Mapped[float] = mapped_column(sa.Float)


class TicketHistoryRow(Base):
    """One change of a ticket: who, what (field, old, new), when; rows are only inserted."""

    __tablename__ = "ticket_history"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column(sa.Float)
    actor: Mapped[str] = mapped_column(sa.String(200))
    field: Mapped[str] = mapped_column(sa.String(32))
    old: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    new: Mapped[Any] = mapped_column(sa.JSON, nullable=True)


class TicketMailRow(Base):
    """A mail as it came in or goes out, byte for byte, and what became of it.

    Inbound ``status``: ``ticket`` (made or joined a ticket), ``duplicate``, ``bounce``,
    ``unthreaded-bounce``, ``loop`` (our own mail come back), ``error`` (kept raw, flagged).
    Outbound: ``queued`` -> ``sent`` | ``failed`` (after ``attempts``) | ``suppressed``.
    """

    __tablename__ = "ticket_mails"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(sa.String(4))  # "in" | "out"
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    ticket_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(MESSAGE_ID_LEN), nullable=True,
                                                   index=True)
    # The other side: the sender of a mail in, the recipient of a mail out.
    peer: Mapped[str] = mapped_column(sa.String(254))
    envelope_from: Mapped[str] = mapped_column(sa.String(254))
    envelope_to: Mapped[list[str]] = mapped_column(sa.JSON)
    automatic: Mapped[bool] = mapped_column(sa.Boolean)  # an auto-reply / bulk / report
    kind: Mapped[str] = mapped_column(sa.String(16))  # in: "mail"; out: "reply" | "ack"
    flags: Mapped[list[str]] = mapped_column(sa.JSON)
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    next_try_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    done_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)

    __table_args__ = (
        # The auto-answer budget counts automatic mails out per address and time.
        sa.Index("ix_ticket_mails_peer", "peer", "direction", "created_at"),
    )


class TicketAddressRow(Base):
    """What we learned about a mail address: its bounces (hard ones stop mail to it)."""

    __tablename__ = "ticket_addresses"
    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    bounced_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    bounces: Mapped[int] = mapped_column(sa.Integer)
    last_status: Mapped[str] = mapped_column(sa.String(200))
