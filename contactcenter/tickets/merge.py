"""Merging a ticket into another, and splitting chosen messages off into a new ticket.

Design note.
* Merge B into A: B's thread (its articles, the mails they came in or went out as, the calls
  it was filed from) and its followers move to A in one transaction, each article keeping its
  time (a thread reads by time, so B's messages fall into A's where they were written). B is
  closed from whatever status it had (the status table rules people's changes; a merge is not
  a "solve": no survey goes out), with ``merged_into`` = A, its SLA clocks stopped and its
  place in the queue engine given up. Mail threaded to B follows: its Message-IDs moved with
  its mails, and its number in a subject is resolved by ``TicketStore.merged_target``. When the
  agent asks, B's requester is told by a public reply on A, mailed in B's own mail thread.
* Split: chosen articles of a ticket (and their mails) move to a new ticket with the same
  requester, queue, priority, tags, skills and assignee (an unassigned one is routed as any new
  ticket); ``split_from`` links it back, and both histories name the other.
* Triggers: the ``merged`` ones run on the target, the ``split`` ones on the new ticket (after
  its ``created`` ones), in the same transaction (``TicketService.on_merged`` / ``on_split``).
* Both act only on tickets ``who`` may see (404, as if absent, otherwise) and refuse a closed
  or merged ticket (409). Each is one history row on each side, by whoever did it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets import sla
from contactcenter.tickets.model import (
    SLA_PAUSED,
    Author,
    Change,
    NewTicket,
    Origin,
    Priority,
    Requester,
    Status,
    Ticket,
    TicketConflict,
    TicketError,
    TicketNotFound,
    Visibility,
    clean_subject,
)
from contactcenter.tickets.service import Effects, TicketService, Who
from contactcenter.tickets.store import ArticleDraft, clocks_of, put_clocks, ticket_of
from contactcenter.tickets.tables import (
    TicketArticleRow,
    TicketCallRow,
    TicketFollowerRow,
    TicketMailRow,
    TicketRow,
)

MERGE_NOTICE = ("Your request #{source} is now handled together with request #{target} "
                "({subject}). We will answer you there; you need not do anything.")
SPLIT_MAX = 500  # articles one split may name


class TicketMerger:
    """Merge and split over one ``TicketService`` (its lock, its store, its effects)."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    async def merge(self, source_id: int, target_id: int, who: Who, *,
                    notify: bool = False) -> Ticket:
        """Merge ticket ``source_id`` into ``target_id`` (see the module's note); returns the
        target as it is now."""
        if source_id == target_id:
            raise TicketConflict("a ticket cannot be merged into itself")
        service, store = self.service, self.service.store
        effects = Effects()
        async with service.lock, store.session() as s, s.begin():
            rows = {tid: await self._open_row(s, tid, who)
                    for tid in sorted((source_id, target_id))}  # one lock order, always
            source, target = rows[source_id], rows[target_id]
            now = service.clock.time()
            thread = await store.thread_ids(s, source.id)
            last = await store.last_customer_message_id(s, source.id)
            moved = await _move_thread(s, source.id, target.id, None)
            followers = await _move_followers(s, source.id, target.id)
            old_status = Status(source.status)
            source.status, source.merged_into, source.updated_at = (
                Status.CLOSED.value, target.id, now)
            if source.sla_policy is not None and old_status not in SLA_PAUSED:
                put_clocks(source, sla.pause(clocks_of(source), now))
                effects.sla = True
            if source.interaction_id is not None:
                effects.unroute.append((source.interaction_id, source.assignee))
                source.interaction_id = None
            store.add_change(s, Change(source.id, now, who.name, "status", old_status,
                                       Status.CLOSED))
            store.add_change(s, Change(source.id, now, who.name, "merged_into", None,
                                       target.id))
            told = None
            if notify:
                told = await self._tell(s, source, target, who, thread, last, effects, now)
            store.add_change(s, Change(target.id, now, who.name, "merged", None, {
                "ticket": source.id, "articles": moved, "followers": followers,
                "requester_told": told}))
            target.updated_at = now
            if service.on_merged is not None:  # the triggers' "merged" (triggers_engine.py)
                await service.on_merged(s, target, source, who, effects)
            effects.tell(source.assignee, "ticket-updated", ticket_of(source))
            result = ticket_of(target)
            effects.tell(target.assignee, "ticket-updated", result)
        await service.run(effects)
        return result

    async def split(self, ticket_id: int, article_ids: Collection[int], who: Who,
                    subject: str | None = None) -> Ticket:
        """Move ``article_ids`` of a ticket into a new ticket (see the module's note); returns
        the new ticket."""
        wanted = set(article_ids)
        if not wanted:
            raise TicketError("choose the messages to split off")
        if len(wanted) > SPLIT_MAX:
            raise TicketError(f"at most {SPLIT_MAX} messages at once")
        service, store = self.service, self.service.store
        effects = Effects()
        async with service.lock, store.session() as s, s.begin():
            row = await self._open_row(s, ticket_id, who)
            present = set((await s.execute(
                sa.select(TicketArticleRow.id)
                .where(TicketArticleRow.ticket_id == row.id))).scalars().all())
            unknown = sorted(wanted - present)
            if unknown:
                raise TicketError(f"message {unknown[0]} is not on ticket #{row.id}")
            if wanted == present:
                raise TicketConflict("a split leaves at least one message on the ticket")
            ticket = ticket_of(row)
            assignee = ticket.assignee if ticket.assignee in service.agents() else None
            new_row = await service.create_in(s, NewTicket(
                subject=clean_subject(subject) if subject else ticket.subject,
                origin=Origin(ticket.origin), queue=ticket.queue,
                requester=Requester(ticket.requester.email, ticket.requester.name,
                                    ticket.requester.phone, ticket.requester.customer_id),
                priority=Priority(ticket.priority), tags=ticket.tags,
                skills=dict(ticket.skills), assignee=assignee, mailbox=ticket.mailbox),
                who, None, effects)
            new_row.split_from = row.id
            moved = await _move_thread(s, row.id, new_row.id, wanted)
            now = service.clock.time()
            store.add_change(s, Change(row.id, now, who.name, "split", None,
                                       {"ticket": new_row.id, "articles": moved}))
            store.add_change(s, Change(new_row.id, now, who.name, "split_from", None,
                                       {"ticket": row.id, "articles": moved}))
            row.updated_at = now
            if service.on_split is not None:  # the triggers' "split", after "created"
                await service.on_split(s, new_row, row, who, effects)
            effects.tell(ticket.assignee, "ticket-updated", ticket_of(row))
            result = ticket_of(new_row)
        await service.run(effects)
        return result

    async def links(self, ticket_id: int) -> dict[str, Any]:
        """What a ticket was merged into or split from, and what was merged into or split
        from it (ticket numbers)."""
        async with self.service.store.session() as s:
            own = (await s.execute(
                sa.select(TicketRow.merged_into, TicketRow.split_from)
                .where(TicketRow.id == ticket_id))).one_or_none()
            merged = (await s.execute(
                sa.select(TicketRow.id).where(TicketRow.merged_into == ticket_id)
                .order_by(TicketRow.id))).scalars().all()
            split = (await s.execute(
                sa.select(TicketRow.id).where(TicketRow.split_from == ticket_id)
                .order_by(TicketRow.id))).scalars().all()
        return {"merged_into": own[0] if own else None, "split_from": own[1] if own else None,
                "merged_from": list(merged), "split_into": list(split)}

    # ------------------------------------------------------------------ building blocks
    async def _open_row(self, s: AsyncSession, ticket_id: int, who: Who) -> TicketRow:
        """The ticket's row, locked: one ``who`` may see (404), neither merged nor closed."""
        row = await self.service.store.row(s, ticket_id, for_update=True)
        if row is None or not self.service.may_see(ticket_of(row), who):
            raise TicketNotFound(f"no ticket #{ticket_id}")
        if row.merged_into is not None:
            raise TicketConflict(f"ticket #{ticket_id} was merged into #{row.merged_into}")
        if Status(row.status) is Status.CLOSED:
            raise TicketConflict(f"ticket #{ticket_id} is closed")
        return row

    async def _tell(self, s: AsyncSession, source: TicketRow, target: TicketRow, who: Who,
                    thread: list[str], last: str | None, effects: Effects,
                    now: float) -> str | None:
        """The public reply on the target telling the source's requester, mailed in the
        source's thread (so their client keeps it with their request); returns the address
        it went to (None: the source has none, the reply is on the ticket only)."""
        text = MERGE_NOTICE.format(source=source.id, target=target.id, subject=target.subject)
        article = await self.service.store.add_article(s, target.id, ArticleDraft(
            Visibility.PUBLIC, Author.AGENT, who.name, text, agent_id=who.agent_id), now)
        sent = await self.service.queue_mail_in(
            s, source, text, automatic=False, kind="reply", effects=effects,
            article_id=article.id, in_reply_to=last, thread=thread)
        # The notice's mail belongs with the rest of the thread, on the target.
        await s.execute(sa.update(TicketMailRow).where(TicketMailRow.ticket_id == source.id)
                        .values(ticket_id=target.id))
        return source.requester_email if sent is not None else None


async def _move_thread(s: AsyncSession, source: int, target: int,
                       only: Collection[int] | None) -> list[int]:
    """Move articles of ``source`` (all, or ``only`` those) to ``target`` with their mails;
    moving all also moves the calls the source was filed from. Returns the articles' ids."""
    q = sa.select(TicketArticleRow.id, TicketArticleRow.mail_id).where(
        TicketArticleRow.ticket_id == source)
    if only is not None:
        q = q.where(TicketArticleRow.id.in_(list(only)))
    rows = (await s.execute(q.order_by(TicketArticleRow.id))).all()
    ids = [int(r[0]) for r in rows]
    if ids:
        await s.execute(sa.update(TicketArticleRow).where(TicketArticleRow.id.in_(ids))
                        .values(ticket_id=target))
    mails = sa.update(TicketMailRow).values(ticket_id=target)
    if only is None:
        await s.execute(mails.where(TicketMailRow.ticket_id == source))
        await s.execute(sa.update(TicketCallRow).where(TicketCallRow.ticket_id == source)
                        .values(ticket_id=target))
    else:
        mail_ids = [int(r[1]) for r in rows if r[1] is not None]
        if mail_ids:
            await s.execute(mails.where(TicketMailRow.id.in_(mail_ids),
                                        TicketMailRow.ticket_id == source))
    return ids


async def _move_followers(s: AsyncSession, source: int, target: int) -> int:
    """Make the source's followers the target's (once each); returns how many moved."""
    theirs = (await s.execute(sa.select(TicketFollowerRow)
                              .where(TicketFollowerRow.ticket_id == source))).scalars().all()
    have = {(r.kind, r.follower) for r in (await s.execute(
        sa.select(TicketFollowerRow).where(TicketFollowerRow.ticket_id == target))
    ).scalars().all()}
    moved = 0
    for row in theirs:
        if (row.kind, row.follower) not in have:
            s.add(TicketFollowerRow(ticket_id=target, kind=row.kind, follower=row.follower,
                                    added_at=row.added_at, added_by=row.added_by))
            moved += 1
    await s.execute(sa.delete(TicketFollowerRow).where(TicketFollowerRow.ticket_id == source))
    return moved
