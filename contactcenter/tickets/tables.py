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
    # SLA clocks (sla.py), epoch seconds; due and warning moments move on when a pause ends.
    sla_policy: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    first_response_due: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    first_response_warn: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    first_response_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    resolution_due: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    resolution_warn: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # The next response's current (or last) cycle: started by a customer's message once an
    # agent answered, met (``_at``) by the next public reply.
    next_response_due: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    next_response_warn: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    next_response_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    sla_paused_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    sla_marks: Mapped[list[str] | None] = mapped_column(sa.JSON, nullable=True)  # fired
    # The next warning or breach not yet fired (None: none, or paused): what the sweep reads.
    sla_next_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True, index=True)
    # Merge and split (merge.py): the ticket this one was merged into (it is closed; mail
    # threaded to it goes there), and the ticket whose messages this one was split from.
    merged_into: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    split_from: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    # One of ``ticket_types`` (fields.py); None: not set.
    ticket_type: Mapped[str | None] = mapped_column(sa.String(32), nullable=True, index=True)


# PostgreSQL only (revision 0031): trigram indexes for the lists' substring search (``q=``,
# ``store.py``), which would otherwise read every ticket. The models cannot describe them (an
# extension's operator class); the ``dx_`` prefix keeps them out of the models-vs-migrations
# check (``storage/schema.py``), and this DDL makes them when the tables are created.
POSTGRESQL_TRIGRAM_DDL = """DO $$
DECLARE
    home text;
BEGIN
    -- The extension's operator class is looked up by schema: installed into public (not the
    -- first schema of the search path, which may be one a test drops), or where it already is.
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- made at the same moment by another migration
        WHEN insufficient_privilege THEN
            -- A user who may not create it: search still works, unindexed (docs/tickets.md).
            RAISE NOTICE 'pg_trgm could not be created: ticket search stays unindexed';
            RETURN;
        END;
    END IF;
    SELECT n.nspname INTO home FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX dx_tickets_subject_trgm ON tickets '
                   'USING gin (subject %I.gin_trgm_ops)', home);
    EXECUTE format('CREATE INDEX dx_tickets_requester_email_trgm ON tickets '
                   'USING gin (requester_email %I.gin_trgm_ops)', home);
    EXECUTE format('CREATE INDEX dx_tickets_requester_name_trgm ON tickets '
                   'USING gin (requester_name %I.gin_trgm_ops)', home);
END
$$"""
sa.event.listen(TicketRow.__table__, "after_create",
                sa.DDL(POSTGRESQL_TRIGRAM_DDL.replace("%", "%%"))
                .execute_if(dialect="postgresql"))


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


class TicketRatingRow(Base):
    """The customer's satisfaction answer about a ticket: one per ticket, the first submitted
    one (never changed)."""

    __tablename__ = "ticket_ratings"
    ticket_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    comment: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    rating: Mapped[int] = mapped_column(sa.Integer)  # 1..5, 5 best


class TicketCallRow(Base):
    """A call a ticket comes from: a voice message left in the IVR (``voicemail``, with its
    audio file) or a call an agent filed from wrap-up (``call``): what the ticket links back to.
    """

    __tablename__ = "ticket_calls"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "voicemail" | "call" | "chat"
    interaction_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    # A voice message's call id and node: unique, so a retry or a restart files it once.
    message_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True, unique=True)
    # The message's file as the PBX wrote it (RECORD FILE's name and format).
    audio_file: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    caller_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    flow: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float)


class TicketImapCursorRow(Base):
    """How far one IMAP folder was imported: its UIDVALIDITY and the last UID filed.

    Written in the same transaction as the mail the UID names (``imap.py``), so a mail is
    filed and counted together or not at all.
    """

    __tablename__ = "ticket_imap_cursors"
    mailbox: Mapped[str] = mapped_column(sa.String(300), primary_key=True)  # ImapSettings.key
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[float] = mapped_column(sa.Float)


class TicketTriggerRow(Base):
    """A trigger or time automation (``triggers.py``): its definition as checked JSON."""

    __tablename__ = "ticket_triggers"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    enabled: Mapped[bool] = mapped_column(sa.Boolean)
    event: Mapped[str] = mapped_column(sa.String(16))  # created | updated | time
    conditions: Mapped[list[Any]] = mapped_column(sa.JSON)
    actions: Mapped[list[Any]] = mapped_column(sa.JSON)  # webhook secrets included
    created_at: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    updated_by: Mapped[str] = mapped_column(sa.String(200))


class TicketTriggerRunRow(Base):
    """A time automation fired on a ticket for one entry into its status: the unique key is
    what makes it fire once, also across a restart."""

    __tablename__ = "ticket_trigger_runs"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    trigger_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("ticket_triggers.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    entry: Mapped[float] = mapped_column(sa.Float)  # when the ticket entered its status
    at: Mapped[float] = mapped_column(sa.Float)

    __table_args__ = (
        sa.UniqueConstraint("trigger_id", "ticket_id", "entry",
                            name="uq_ticket_trigger_runs_once"),
    )


class TicketWebhookRow(Base):
    """One webhook call a trigger made: its body as sent (signed when sent), its attempts and
    outcome. ``queued`` -> ``delivered`` | ``failed``; ``next_try_at`` is what the sender
    reads, so a restart loses no call."""

    __tablename__ = "ticket_webhooks"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    trigger_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("ticket_triggers.id", ondelete="SET NULL"), nullable=True,
        index=True)
    trigger_name: Mapped[str] = mapped_column(sa.String(64))
    ticket_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    next_try_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True, index=True)
    response_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    done_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)


class TicketTypeRow(Base):
    """A ticket type admins offer (question, incident, ...), in the order the page lists."""

    __tablename__ = "ticket_types"
    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer)


class TicketFieldRow(Base):
    """An admin-defined typed custom field of tickets (``fields.py``)."""

    __tablename__ = "ticket_fields"
    key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))  # text|number|date|dropdown|checkbox
    options: Mapped[list[str]] = mapped_column(sa.JSON)  # a dropdown's choices
    required_on_solve: Mapped[bool] = mapped_column(sa.Boolean)
    position: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    updated_by: Mapped[str] = mapped_column(sa.String(200))


class TicketFieldValueRow(Base):
    """A ticket's value of one custom field; ``text`` is the value as lists filter it."""

    __tablename__ = "ticket_field_values"
    ticket_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("ticket_fields.key", ondelete="CASCADE"),
        primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    text: Mapped[str] = mapped_column(sa.String(1000))

    __table_args__ = (sa.Index("ix_ticket_field_values_key_text", "key", "text"),)


class TicketFollowerRow(Base):
    """Who follows a ticket: an agent (``kind`` agent, their id) or a mail address (email)."""

    __tablename__ = "ticket_followers"
    ticket_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    follower: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    added_at: Mapped[float] = mapped_column(sa.Float)
    added_by: Mapped[str] = mapped_column(sa.String(200))


class TicketCannedRow(Base):
    """A canned answer for ticket replies: shared (``owner`` empty) or one user's own."""

    __tablename__ = "ticket_canned_answers"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(200))
    shortcut: Mapped[str] = mapped_column(sa.String(32))
    text: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    updated_by: Mapped[str] = mapped_column(sa.String(200))

    __table_args__ = (
        sa.Index("ux_ticket_canned_answers_shortcut", "owner", "shortcut", unique=True),
    )


class TicketAttachmentRow(Base):
    """One file of a ticket's message: a part of the message's mail, listed (``attachments.py``).

    The bytes are not copied: they are part number ``part`` of ``ticket_mails.raw`` (the mail
    as it came or went), checked against ``sha256`` when served.
    """

    __tablename__ = "ticket_attachments"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("ticket_articles.id", ondelete="CASCADE"), index=True)
    mail_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("ticket_mails.id", ondelete="CASCADE"), index=True)
    part: Mapped[int] = mapped_column(sa.Integer)  # its number in the mail's MIME walk
    direction: Mapped[str] = mapped_column(sa.String(4))  # "in" | "out"
    filename: Mapped[str] = mapped_column(sa.String(200))
    declared_type: Mapped[str] = mapped_column(sa.String(100))  # what the mail said
    content_type: Mapped[str] = mapped_column(sa.String(100))  # what its bytes are
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    inline: Mapped[bool] = mapped_column(sa.Boolean)
    content_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float)

    __table_args__ = (sa.UniqueConstraint("mail_id", "part", name="uq_ticket_attachments_part"),)
