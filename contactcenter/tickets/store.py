"""Tickets, articles, history and mails in the database (``tables.py``).

Design note: the helpers take the caller's session, so a use case (a reply with its history
row and its outgoing mail; a received mail with its ticket and acknowledgement) is one
transaction: either all of it is stored or none. Rows leave this module as the frozen
dataclasses of ``model.py``, never as ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.storage.database import Database
from contactcenter.storage.tables import CustomerRow
from contactcenter.tickets.model import (
    ACTIVE,
    Article,
    Author,
    Change,
    NewTicket,
    Origin,
    Priority,
    Requester,
    Status,
    Ticket,
    Visibility,
    plain,
)
from contactcenter.tickets.sla import SlaClocks
from contactcenter.tickets.sla import next_at as sla_next_at
from contactcenter.tickets.tables import (
    TicketAddressRow,
    TicketArticleRow,
    TicketFieldValueRow,
    TicketHistoryRow,
    TicketMailRow,
    TicketRatingRow,
    TicketRow,
)

LIST_MAX = 500
COUNT_MAX = 10_000  # a list's total is exact up to this; past it, COUNT_MAX + 1


def ticket_of(row: TicketRow) -> Ticket:
    return Ticket(
        id=row.id, subject=row.subject, status=Status(row.status),
        priority=Priority(row.priority), origin=Origin(row.origin), queue=row.queue,
        requester=Requester(row.requester_email, row.requester_name, row.requester_phone,
                            row.customer_id),
        tags=tuple(row.tags or ()), skills=dict(row.skills or {}), assignee=row.assignee,
        interaction_id=row.interaction_id, routing_round=row.routing_round,
        follow_up_of=row.follow_up_of, mailbox=row.mailbox, created_at=row.created_at,
        updated_at=row.updated_at, created_by=row.created_by, sla=clocks_of(row))


def clocks_of(row: TicketRow) -> SlaClocks:
    """The SLA clocks stored in a ticket's row."""
    return SlaClocks(row.sla_policy, row.first_response_due, row.first_response_warn,
                     row.first_response_at, row.resolution_due, row.resolution_warn,
                     row.sla_paused_at, tuple(row.sla_marks or ()),
                     row.next_response_due, row.next_response_warn, row.next_response_at)


def put_clocks(row: TicketRow, clocks: SlaClocks) -> None:
    """Store ``clocks`` in a ticket's row, with the moment the sweep looks at it next."""
    row.sla_policy = clocks.policy
    row.first_response_due, row.first_response_warn = (clocks.first_response_due,
                                                       clocks.first_response_warn)
    row.first_response_at = clocks.first_response_at
    row.resolution_due, row.resolution_warn = clocks.resolution_due, clocks.resolution_warn
    row.next_response_due, row.next_response_warn = (clocks.next_response_due,
                                                     clocks.next_response_warn)
    row.next_response_at = clocks.next_response_at
    row.sla_paused_at = clocks.paused_at
    row.sla_marks = list(clocks.marks) if clocks.policy is not None else None
    row.sla_next_at = sla_next_at(clocks)


def article_of(row: TicketArticleRow) -> Article:
    return Article(
        id=row.id, ticket_id=row.ticket_id, visibility=Visibility(row.visibility),
        author=Author(row.author), author_name=row.author_name, body_text=row.body_text,
        created_at=row.created_at, body_html=row.body_html, author_email=row.author_email,
        agent_id=row.agent_id,
        channel=row.channel, message_id=row.message_id, mail_id=row.mail_id,
        flags=tuple(row.flags or ()))


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """An article before it is stored."""

    visibility: Visibility
    author: Author
    author_name: str
    body_text: str
    body_html: str | None = None
    author_email: str | None = None
    agent_id: str | None = None
    channel: str = "web"
    message_id: str | None = None
    mail_id: int | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MailRecord:
    """A ``ticket_mails`` row as the sender and the tests read it."""

    id: int
    direction: str
    status: str
    ticket_id: int | None
    message_id: str | None
    peer: str
    envelope_from: str
    envelope_to: tuple[str, ...]
    automatic: bool
    kind: str
    flags: tuple[str, ...]
    raw: bytes
    attempts: int
    next_try_at: float | None
    last_error: str | None
    created_at: float


def mail_of(row: TicketMailRow) -> MailRecord:
    return MailRecord(row.id, row.direction, row.status, row.ticket_id, row.message_id,
                      row.peer, row.envelope_from, tuple(row.envelope_to or ()), row.automatic,
                      row.kind, tuple(row.flags or ()), row.raw, row.attempts, row.next_try_at,
                      row.last_error, row.created_at)


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """Which tickets a list shows."""

    assignee: str | None = None
    unassigned: bool = False
    queue: str | None = None
    statuses: tuple[Status, ...] = ()
    requester_email: str | None = None
    text: str | None = None  # in the subject or the requester's address or name
    overdue_at: float | None = None  # only tickets whose running SLA target is past due
    ticket_type: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # (key, value as its text): all must match
    limit: int = 50
    offset: int = 0


class TicketStore:
    """Reads and writes the tickets context's tables of one ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def session(self) -> AsyncSession:
        return self.db.session()

    # ------------------------------------------------------------------ tickets
    async def insert_ticket(self, s: AsyncSession, new: NewTicket, now: float,
                            actor: str) -> TicketRow:
        row = TicketRow(
            subject=new.subject, status=Status.NEW.value, priority=new.priority.value,
            origin=new.origin.value, queue=new.queue, skills=dict(new.skills),
            tags=list(new.tags), assignee=new.assignee,
            requester_email=new.requester.email, requester_name=new.requester.name[:200],
            requester_phone=new.requester.phone, customer_id=new.requester.customer_id,
            mailbox=new.mailbox,
            interaction_id=None, routing_round=0, follow_up_of=new.follow_up_of,
            created_at=now, updated_at=now, created_by=actor[:200])
        s.add(row)
        await s.flush()
        self.add_change(s, Change(row.id, now, actor, "created", None, {
            "subject": new.subject, "origin": new.origin.value, "queue": new.queue,
            "priority": new.priority.value, "requester": new.requester.email or
            new.requester.phone, "tags": list(new.tags), "assignee": new.assignee,
            "follow_up_of": new.follow_up_of}))
        return row

    async def row(self, s: AsyncSession, ticket_id: int, *, for_update: bool = False
                  ) -> TicketRow | None:
        q = sa.select(TicketRow).where(TicketRow.id == ticket_id)
        if for_update:
            q = q.with_for_update()
        return (await s.execute(q)).scalar_one_or_none()

    async def rows(self, s: AsyncSession, ticket_ids: list[int], *,
                   for_update: bool = False) -> list[TicketRow]:
        """These tickets' rows (those that exist), by number."""
        q = sa.select(TicketRow).where(TicketRow.id.in_(ticket_ids)).order_by(TicketRow.id)
        if for_update:
            q = q.with_for_update()
        return list((await s.execute(q)).scalars().all())

    async def get(self, ticket_id: int) -> Ticket | None:
        async with self.db.session() as s:
            row = await self.row(s, ticket_id)
            return ticket_of(row) if row is not None else None

    async def query(self, q: TicketQuery) -> tuple[list[Ticket], int]:
        """The tickets ``q`` selects, most recently updated first, and how many in all."""
        cond: list[Any] = []
        if q.assignee is not None:
            cond.append(TicketRow.assignee == q.assignee)
        if q.unassigned:
            cond.append(TicketRow.assignee.is_(None))
        if q.queue is not None:
            cond.append(TicketRow.queue == q.queue)
        if q.statuses:
            cond.append(TicketRow.status.in_([st.value for st in q.statuses]))
        if q.requester_email is not None:
            cond.append(TicketRow.requester_email == q.requester_email)
        if q.text:
            like = "%" + q.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") \
                + "%"
            values = sa.select(TicketFieldValueRow.ticket_id).where(
                TicketFieldValueRow.text.ilike(like, escape="\\"))
            if self.db.dialect == "postgresql":
                # The custom fields' matches as an array computed once (an InitPlan), so the
                # whole OR is a bitmap of indexes: the trigram ones (revision 0031) and the
                # key. An EXISTS there would make PostgreSQL test every ticket in turn.
                in_values: Any = TicketRow.id == sa.any_(sa.func.array(
                    values.scalar_subquery()))
            else:
                in_values = sa.exists(values.where(
                    TicketFieldValueRow.ticket_id == TicketRow.id))
            cond.append(sa.or_(TicketRow.subject.ilike(like, escape="\\"),
                               TicketRow.requester_email.ilike(like, escape="\\"),
                               TicketRow.requester_name.ilike(like, escape="\\"),
                               in_values))  # a custom field's value
        if q.ticket_type is not None:
            cond.append(TicketRow.ticket_type == q.ticket_type)
        for key, text in q.fields:
            cond.append(sa.exists().where(TicketFieldValueRow.ticket_id == TicketRow.id,
                                          TicketFieldValueRow.key == key,
                                          TicketFieldValueRow.text == text))
        if q.overdue_at is not None:
            cond.append(TicketRow.sla_paused_at.is_(None))
            cond.append(sa.or_(
                sa.and_(TicketRow.first_response_due <= q.overdue_at,
                        TicketRow.first_response_at.is_(None)),
                sa.and_(TicketRow.next_response_due <= q.overdue_at,
                        TicketRow.next_response_at.is_(None)),
                TicketRow.resolution_due <= q.overdue_at))
        if q.text and q.text.isdigit() and len(q.text) <= 9:
            cond = [sa.or_(sa.and_(*cond), TicketRow.id == int(q.text))]
        where = sa.and_(sa.true(), *cond)
        async with self.db.session() as s:
            # Counted up to COUNT_MAX + 1 only: an exact count of a frequent word's matches or
            # of a million tickets cost more than the page itself (bench/tickets.py).
            matched = sa.select(TicketRow.id).where(where).limit(COUNT_MAX + 1).subquery()
            total = (await s.execute(sa.select(sa.func.count()).select_from(matched))
                     ).scalar_one()
            rows = (await s.execute(
                sa.select(TicketRow).where(where)
                .order_by(TicketRow.updated_at.desc(), TicketRow.id.desc())
                .limit(min(q.limit, LIST_MAX)).offset(q.offset))).scalars().all()
        return [ticket_of(r) for r in rows], int(total)

    async def routable(self) -> list[Ticket]:
        """Tickets that wait for an agent (new or open, nobody assigned) or are in routing."""
        async with self.db.session() as s:
            rows = (await s.execute(
                sa.select(TicketRow).where(sa.or_(
                    TicketRow.interaction_id.is_not(None),
                    sa.and_(TicketRow.status.in_([st.value for st in ACTIVE]),
                            TicketRow.assignee.is_(None))))
                .order_by(TicketRow.created_at, TicketRow.id))).scalars().all()
        return [ticket_of(r) for r in rows]

    async def sla_due(self, now: float, limit: int = 100) -> list[int]:
        """Tickets with an SLA warning or breach due at ``now`` (oldest first)."""
        async with self.db.session() as s:
            rows = (await s.execute(
                sa.select(TicketRow.id).where(TicketRow.sla_next_at <= now)
                .order_by(TicketRow.sla_next_at, TicketRow.id).limit(limit))).scalars().all()
        return [int(r) for r in rows]

    async def sla_next(self) -> float | None:
        """The earliest SLA warning or breach still to come, of every ticket."""
        async with self.db.session() as s:
            return (await s.execute(sa.select(sa.func.min(TicketRow.sla_next_at)))
                    ).scalar_one_or_none()

    # ------------------------------------------------------------------ thread and history
    @staticmethod
    def add_change(s: AsyncSession, change: Change) -> None:
        s.add(TicketHistoryRow(ticket_id=change.ticket_id, at=change.at,
                               actor=change.actor[:200], field=change.field,
                               old=plain(change.old), new=plain(change.new)))

    @staticmethod
    async def add_article(s: AsyncSession, ticket_id: int, draft: ArticleDraft,
                          now: float) -> TicketArticleRow:
        row = TicketArticleRow(
            ticket_id=ticket_id, visibility=draft.visibility.value, author=draft.author.value,
            author_name=draft.author_name[:200], author_email=draft.author_email,
            agent_id=draft.agent_id, channel=draft.channel,
            body_text=draft.body_text, body_html=draft.body_html, message_id=draft.message_id,
            mail_id=draft.mail_id, flags=list(draft.flags), created_at=now)
        s.add(row)
        await s.flush()
        return row

    async def articles(self, ticket_id: int, *, internal: bool = True) -> list[Article]:
        async with self.db.session() as s:
            q = sa.select(TicketArticleRow).where(TicketArticleRow.ticket_id == ticket_id)
            if not internal:
                q = q.where(TicketArticleRow.visibility == Visibility.PUBLIC.value)
            # By time: a merged ticket's messages fall in where they were written.
            rows = (await s.execute(q.order_by(TicketArticleRow.created_at,
                                               TicketArticleRow.id))).scalars().all()
        return [article_of(r) for r in rows]

    async def history(self, ticket_id: int) -> list[Change]:
        async with self.db.session() as s:
            rows = (await s.execute(
                sa.select(TicketHistoryRow).where(TicketHistoryRow.ticket_id == ticket_id)
                .order_by(TicketHistoryRow.id))).scalars().all()
        return [Change(r.ticket_id, r.at, r.actor, r.field, r.old, r.new) for r in rows]

    @staticmethod
    async def thread_ids(s: AsyncSession, ticket_id: int) -> list[str]:
        """The Message-IDs of a ticket's mails in and out, oldest first (for References)."""
        rows = (await s.execute(
            sa.select(TicketMailRow.message_id)
            .where(TicketMailRow.ticket_id == ticket_id, TicketMailRow.message_id.is_not(None),
                   sa.or_(TicketMailRow.direction == "out", TicketMailRow.status == "ticket"))
            .order_by(TicketMailRow.id))).scalars().all()
        return [r for r in rows if r]

    @staticmethod
    async def last_customer_message_id(s: AsyncSession, ticket_id: int) -> str | None:
        return (await s.execute(
            sa.select(TicketArticleRow.message_id)
            .where(TicketArticleRow.ticket_id == ticket_id,
                   TicketArticleRow.author == Author.CUSTOMER.value,
                   TicketArticleRow.message_id.is_not(None))
            .order_by(TicketArticleRow.id.desc()).limit(1))).scalar_one_or_none()

    @staticmethod
    async def ticket_by_message_ids(s: AsyncSession, ids: Sequence[str]) -> int | None:
        """The ticket a mail with these Message-IDs belongs to (the first id found wins)."""
        ids = [i for i in ids if i]
        if not ids:
            return None
        rows = (await s.execute(
            sa.select(TicketArticleRow.message_id, TicketArticleRow.ticket_id)
            .where(TicketArticleRow.message_id.in_(ids)))).all()
        found = {m: t for m, t in rows}
        for i in ids:
            if i in found:
                return int(found[i])
        mail = (await s.execute(
            sa.select(TicketMailRow.message_id, TicketMailRow.ticket_id)
            .where(TicketMailRow.message_id.in_(ids), TicketMailRow.ticket_id.is_not(None))
        )).all()
        by_mail = {m: t for m, t in mail if t is not None}
        for i in ids:
            if i in by_mail:
                return int(by_mail[i])
        return None

    @staticmethod
    async def merged_target(s: AsyncSession, ticket_id: int) -> int:
        """The ticket mail about ``ticket_id`` belongs to: the one it was merged into, and so
        on to the end of the chain (merge.py)."""
        seen = {ticket_id}
        while True:
            into = (await s.execute(sa.select(TicketRow.merged_into)
                                    .where(TicketRow.id == ticket_id))).scalar_one_or_none()
            if into is None or into in seen:
                return ticket_id
            seen.add(into)
            ticket_id = into

    @staticmethod
    async def has_inbound(s: AsyncSession, message_id: str) -> bool:
        return (await s.execute(
            sa.select(TicketMailRow.id).where(TicketMailRow.direction == "in",
                                              TicketMailRow.message_id == message_id,
                                              TicketMailRow.status != "error")
            .limit(1))).first() is not None

    @staticmethod
    async def wrote_on(s: AsyncSession, ticket_id: int, email: str) -> bool:
        """Whether ``email`` is the requester of, or has written on, the ticket."""
        row = (await s.execute(sa.select(TicketRow.requester_email)
                               .where(TicketRow.id == ticket_id))).scalar_one_or_none()
        if row == email:
            return True
        return (await s.execute(
            sa.select(TicketArticleRow.id).where(
                TicketArticleRow.ticket_id == ticket_id,
                TicketArticleRow.author == Author.CUSTOMER.value,
                TicketArticleRow.author_email == email)
            .limit(1))).first() is not None

    # ------------------------------------------------------------------ customers
    @staticmethod
    async def customer_id(s: AsyncSession, email: str | None, phone: str | None) -> int | None:
        """The shared customer record with this email (or phone), if one exists."""
        if email:
            found = (await s.execute(sa.select(CustomerRow.id)
                                     .where(CustomerRow.email == email)
                                     .order_by(CustomerRow.id).limit(1))).scalar_one_or_none()
            if found is not None:
                return int(found)
        if phone:
            found = (await s.execute(sa.select(CustomerRow.id)
                                     .where(CustomerRow.phone == phone))).scalar_one_or_none()
            if found is not None:
                return int(found)
        return None

    # ------------------------------------------------------------------ mails
    @staticmethod
    async def add_mail(s: AsyncSession, *, direction: str, status: str, raw: bytes,
                       peer: str, envelope_from: str, envelope_to: Sequence[str], now: float,
                       ticket_id: int | None = None, message_id: str | None = None,
                       automatic: bool = False, kind: str = "mail",
                       flags: Sequence[str] = (), next_try_at: float | None = None
                       ) -> TicketMailRow:
        row = TicketMailRow(direction=direction, status=status, ticket_id=ticket_id,
                            message_id=message_id, peer=peer[:254],
                            envelope_from=envelope_from[:254],
                            envelope_to=[t[:254] for t in envelope_to][:100],
                            automatic=automatic, kind=kind, flags=list(flags)[:50], raw=raw,
                            attempts=0, next_try_at=next_try_at, last_error=None,
                            created_at=now, done_at=None)
        s.add(row)
        await s.flush()
        return row

    async def mails(self, *, direction: str | None = None, ticket_id: int | None = None
                    ) -> list[MailRecord]:
        async with self.db.session() as s:
            q = sa.select(TicketMailRow)
            if direction is not None:
                q = q.where(TicketMailRow.direction == direction)
            if ticket_id is not None:
                q = q.where(TicketMailRow.ticket_id == ticket_id)
            rows = (await s.execute(q.order_by(TicketMailRow.id))).scalars().all()
        return [mail_of(r) for r in rows]

    async def due_outbound(self, now: float, limit: int = 20) -> list[MailRecord]:
        async with self.db.session() as s:
            rows = (await s.execute(
                sa.select(TicketMailRow)
                .where(TicketMailRow.direction == "out", TicketMailRow.status == "queued",
                       sa.or_(TicketMailRow.next_try_at.is_(None),
                              TicketMailRow.next_try_at <= now))
                .order_by(TicketMailRow.id).limit(limit))).scalars().all()
        return [mail_of(r) for r in rows]

    async def next_outbound_at(self) -> float | None:
        async with self.db.session() as s:
            return (await s.execute(
                sa.select(sa.func.min(TicketMailRow.next_try_at))
                .where(TicketMailRow.direction == "out",
                       TicketMailRow.status == "queued"))).scalar_one_or_none()

    async def outbound_done(self, mail_id: int, status: str, now: float,
                            error: str | None = None, next_try_at: float | None = None) -> None:
        async with self.db.session() as s, s.begin():
            await s.execute(
                sa.update(TicketMailRow).where(TicketMailRow.id == mail_id).values(
                    status=status, attempts=TicketMailRow.attempts + 1,
                    last_error=error[:500] if error else None, next_try_at=next_try_at,
                    done_at=now if status != "queued" else None))

    @staticmethod
    async def auto_sent_since(s: AsyncSession, email: str, since: float) -> int:
        """Automatic mails queued or sent to ``email`` since ``since``."""
        return int((await s.execute(
            sa.select(sa.func.count()).select_from(TicketMailRow).where(
                TicketMailRow.peer == email, TicketMailRow.direction == "out",
                TicketMailRow.created_at >= since, TicketMailRow.automatic.is_(True),
                TicketMailRow.status.in_(("queued", "sent"))))).scalar_one())

    # ------------------------------------------------------------------ ratings (CSAT)
    @staticmethod
    async def rating_row(s: AsyncSession, ticket_id: int) -> TicketRatingRow | None:
        return await s.get(TicketRatingRow, ticket_id)

    async def rating(self, ticket_id: int) -> dict[str, Any] | None:
        """The customer's answer about a ticket, as JSON (None: not rated)."""
        async with self.db.session() as s:
            row = await s.get(TicketRatingRow, ticket_id)
        if row is None:
            return None
        return {"rating": row.rating, "comment": row.comment, "created_at": row.created_at}

    # ------------------------------------------------------------------ addresses
    @staticmethod
    async def bounced(s: AsyncSession, email: str) -> bool:
        row = await s.get(TicketAddressRow, email)
        return row is not None and row.bounced_at is not None

    @staticmethod
    async def mark_bounced(s: AsyncSession, email: str, status: str, now: float) -> None:
        row = await s.get(TicketAddressRow, email)
        if row is None:
            s.add(TicketAddressRow(email=email, bounced_at=now, bounces=1,
                                   last_status=status[:200]))
        else:
            row.bounced_at, row.bounces, row.last_status = now, row.bounces + 1, status[:200]

    @staticmethod
    async def address_row(s: AsyncSession, email: str) -> TicketAddressRow | None:
        return await s.get(TicketAddressRow, email)

    @staticmethod
    async def mark_outbound_bounced(s: AsyncSession, message_id: str) -> None:
        await s.execute(sa.update(TicketMailRow).where(
            TicketMailRow.direction == "out", TicketMailRow.message_id == message_id)
            .values(status="bounced"))

    async def address(self, email: str) -> dict[str, Any] | None:
        async with self.db.session() as s:
            row = await s.get(TicketAddressRow, email)
        if row is None:
            return None
        return {"email": row.email, "bounced_at": row.bounced_at, "bounces": row.bounces,
                "last_status": row.last_status}

    async def clear_bounce(self, email: str) -> None:
        async with self.db.session() as s, s.begin():
            row = await s.get(TicketAddressRow, email)
            if row is not None:
                row.bounced_at = None
