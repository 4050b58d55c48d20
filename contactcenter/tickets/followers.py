"""Followers of a ticket: agents who asked to be told, and the addresses a customer's mail
was CC'd to.

Design note: a public reply is told to every follower but its author, inside the reply's
transaction: an agent follower gets a live event on their topic (``ticket-followed-reply``,
with the reply's text: following tells, it gives no access to a ticket not theirs; agents have
no address of theirs in the configuration, so they are never copied); an address is copied
(``Cc``) on the reply's mail to the requester, so everyone sees one conversation and a
"reply all" comes back to the ticket, and gets a mail of its own through the outbox (threaded
as the requester's, never automatic) only when the reply was not mailed to the requester (no
address, or one that bounced). The requester is never a follower copied twice. A
customer's message is told to the agent followers; the addresses on its ``Cc`` become
followers (not our own mailboxes, not the requester). Every follow and unfollow is a history
row (``follower``: ``agent:a1`` or ``email:x@y``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets.model import (
    Change,
    TicketError,
    TicketForbidden,
    TicketNotFound,
    clean_email,
    is_email,
)
from contactcenter.tickets.service import Effects, TicketService, Who
from contactcenter.tickets.store import article_of, ticket_of
from contactcenter.tickets.tables import (
    TicketArticleRow,
    TicketFollowerRow,
    TicketMailRow,
    TicketRow,
)

AGENT, EMAIL = "agent", "email"
FOLLOWERS_MAX = 50


@dataclass(frozen=True, slots=True)
class Follower:
    kind: str  # "agent" | "email"
    follower: str  # the agent's id, or the address
    added_at: float
    added_by: str

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "follower": self.follower, "added_at": self.added_at,
                "added_by": self.added_by}


async def followers_in(s: AsyncSession, ticket_id: int) -> list[Follower]:
    rows = (await s.execute(sa.select(TicketFollowerRow)
                            .where(TicketFollowerRow.ticket_id == ticket_id)
                            .order_by(TicketFollowerRow.added_at, TicketFollowerRow.follower)
                            )).scalars().all()
    return [Follower(r.kind, r.follower, r.added_at, r.added_by) for r in rows]


class Followers:
    """Follow, unfollow, list; and the service's hooks that tell followers."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    async def listing(self, ticket_id: int, who: Who) -> list[Follower]:
        await self.service.ticket(ticket_id, who)
        async with self.service.store.session() as s:
            return await followers_in(s, ticket_id)

    def _target(self, who: Who, kind: str, follower: str | None) -> str:
        """The follower ``who`` names (themselves when ``follower`` is None), checked."""
        if kind == AGENT:
            follower = follower or who.agent_id
            if follower is None:
                raise TicketError("your user is not linked to an agent: name one")
            if follower != who.agent_id and not who.staff:
                raise TicketForbidden("an agent follows or unfollows for themselves only")
            if follower not in self.service.agents():
                raise TicketError(f"no agent {follower!r}")
            return follower
        if kind != EMAIL or follower is None:
            raise TicketError("a follower is an agent or an email address")
        return clean_email(follower)

    async def follow(self, ticket_id: int, who: Who, kind: str, follower: str | None
                     ) -> list[Follower]:
        """Add a follower (idempotent); the list after it."""
        target = self._target(who, kind, follower)
        async with self.service.lock, self.service.store.session() as s, s.begin():
            row = await self._row(s, ticket_id, who)
            await self._add(s, row, kind, target, who.name)
            return await followers_in(s, row.id)

    async def unfollow(self, ticket_id: int, who: Who, kind: str, follower: str | None
                       ) -> list[Follower]:
        """Remove a follower (idempotent); the list after it."""
        target = self._target(who, kind, follower) if kind == AGENT else \
            (follower or "").lower()
        async with self.service.lock, self.service.store.session() as s, s.begin():
            row = await self._row(s, ticket_id, who)
            found = await s.get(TicketFollowerRow, (row.id, kind, target))
            if found is not None:
                await s.delete(found)
                self.service.store.add_change(s, Change(row.id, self.service.clock.time(),
                                                        who.name, "follower",
                                                        f"{kind}:{target}", None))
            await s.flush()
            return await followers_in(s, row.id)

    async def _row(self, s: AsyncSession, ticket_id: int, who: Who) -> TicketRow:
        row = await self.service.store.row(s, ticket_id, for_update=True)
        if row is None or not self.service.may_see(ticket_of(row), who):
            raise TicketNotFound(f"no ticket #{ticket_id}")
        return row

    async def _add(self, s: AsyncSession, row: TicketRow, kind: str, target: str,
                   by: str) -> bool:
        if await s.get(TicketFollowerRow, (row.id, kind, target)) is not None:
            return False
        count = (await s.execute(sa.select(sa.func.count()).select_from(TicketFollowerRow)
                                 .where(TicketFollowerRow.ticket_id == row.id))).scalar_one()
        if count >= FOLLOWERS_MAX:
            raise TicketError(f"a ticket has at most {FOLLOWERS_MAX} followers")
        now = self.service.clock.time()
        s.add(TicketFollowerRow(ticket_id=row.id, kind=kind, follower=target, added_at=now,
                                added_by=by[:200]))
        self.service.store.add_change(s, Change(row.id, now, by, "follower", None,
                                                f"{kind}:{target}"))
        await s.flush()
        return True

    # ------------------------------------------------------------------ the hooks
    async def reply_cc(self, s: AsyncSession, row: TicketRow) -> list[str]:
        """The addresses copied on a public reply mailed to ``row``'s requester: its e-mail
        followers but the requester."""
        return [f.follower for f in await followers_in(s, row.id)
                if f.kind == EMAIL and f.follower != row.requester_email]

    async def public_reply(self, s: AsyncSession, row: TicketRow, article: TicketArticleRow,
                           who: Who, effects: Effects) -> None:
        """Tell the followers of ``row`` of the reply ``who`` just wrote (an address copied on
        its mail is told already)."""
        mail = await s.get(TicketMailRow, article.mail_id) if article.mail_id else None
        copied = set(mail.envelope_to) if mail is not None and mail.status != "suppressed" \
            else set()
        for f in await followers_in(s, row.id):
            if f.kind == AGENT and f.follower != who.agent_id:
                _tell(effects, f.follower, row, article)
            elif f.kind == EMAIL and f.follower != row.requester_email \
                    and f.follower not in copied:
                await self.service.queue_mail_in(s, row, article.body_text, automatic=False,
                                                 kind="follower", effects=effects,
                                                 to=f.follower)

    async def customer_message(self, s: AsyncSession, row: TicketRow, sender: str | None,
                               cc: Iterable[str], article: TicketArticleRow | None,
                               effects: Effects) -> None:
        """A customer's mail on ``row`` (``article``; None: the mail that opened it): its
        CC'd addresses follow, agent followers are told."""
        ours = {m.address for m in self.service.settings.mailboxes}
        skip = ours | {row.requester_email or "", sender or ""}
        for address in dict.fromkeys(a.lower() for a in cc):
            if is_email(address) and address not in skip:
                try:
                    await self._add(s, row, EMAIL, address, f"mail:{sender or '?'}")
                except TicketError:
                    break  # the list is full: the mail itself is filed all the same
        if article is None:
            return
        for f in await followers_in(s, row.id):
            if f.kind == AGENT:
                _tell(effects, f.follower, row, article)


def _tell(effects: Effects, agent: str, row: TicketRow, article: TicketArticleRow) -> None:
    effects.notify.setdefault(agent, []).append({
        "type": "ticket-followed-reply", "ticket": ticket_of(row).as_json(),
        "article": article_of(article).as_json()})
