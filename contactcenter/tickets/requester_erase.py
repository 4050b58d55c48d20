"""Erasure of a chat visitor's data from the tickets their messages left became (GDPR art. 17):
the tickets' side of ``chat/visitor_erase.py``, reached through a port ``app.py`` wires
(channels never import each other).

Design note. The chat erasure names the tickets (``ticket_ids``) and the visitor's addresses
(pre-chat answers, the address asked about); the rest is found here. Scope: the named tickets
("own": their requester is the visitor), the tickets split off them (same requester) and the
tickets they were merged into ("joined": someone else's ticket the visitor's messages moved to).
Per ticket:
* the visitor's articles (customers' messages from their address or from the chat, and the
  note of their pre-chat answers) lose body, name, address and Message-ID (flag ``erased``);
  an own ticket holding nothing else loses all its articles;
* the mails: from the visitor, deleted; queued to them (or queued anywhere with their data in
  it), deleted: the outbox never sends them; sent ones keep their row (status, attempts) with
  ``raw``, ``peer`` and recipients emptied; the files listed from these mails are unlisted;
  transcripts mailed to their addresses (``automatic_mail.py``, no ticket) are deleted;
* an own ticket's requester (name, address, phone, customer link) and its rating's comment go;
* everything else that quoted them (subject, other articles, history values and actors,
  custom fields, webhook bodies, the queue engine's copies of the subject and requester) has
  the exact name or address replaced by ``[erased]``.
The ticket row stays with its queue, statuses, times, SLA clocks and history facts, so reports
count it; a history row ``erased`` says how much went (counts, no data).

Everything happens in one transaction under the tickets' lock; a dry run rolls it back, so it
reports exactly what the erasure would do. A pass with nothing left writes nothing (idempotent).
A ticket in an agent's hands is erased too: unlike a live chat, no more of the visitor's words
arrive through it while the erasure runs (the lock holds replies back), the agent keeps the
ticket and its thread without the visitor's data, and a request the law makes is not suspended
by someone's work. A waiting ticket gives up its place in line: the engine's copy of it names
the visitor, a fresh one does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.routing.tables import RoutingEventRow, RoutingInteractionRow
from contactcenter.tickets.assignment import interaction_id
from contactcenter.tickets.model import ACTIVE, Author, Change, Status
from contactcenter.tickets.service import Effects, TicketService
from contactcenter.tickets.tables import (
    TicketArticleRow,
    TicketAttachmentRow,
    TicketFieldValueRow,
    TicketFollowerRow,
    TicketHistoryRow,
    TicketMailRow,
    TicketRatingRow,
    TicketRow,
    TicketWebhookRow,
)

ERASED = "[erased]"
ERASED_FLAG = "erased"
MAX_TICKETS = 1000  # named ones and those split off or merged into them
TRANSCRIPT_KIND = "transcript"  # app.py's AutomaticMail for chat transcripts


@dataclass(frozen=True, slots=True)
class TicketErasureReport:
    """What the erasure did to tickets (or, ``dry_run``, would do); counts, no data."""

    dry_run: bool
    tickets: tuple[int, ...] = ()  # tickets changed (or that would be)
    missing: tuple[int, ...] = ()  # named, but no such ticket (any more)
    articles_deleted: int = 0
    articles_blanked: int = 0  # the visitor's, kept as an empty "erased" entry
    articles_redacted: int = 0  # others' that named them
    attachments: int = 0  # files unlisted (their bytes were in the mails)
    mails_deleted: int = 0  # theirs, queued to them, their transcripts
    mails_blanked: int = 0  # sent to them: the row stays, its bytes go
    requesters: int = 0  # tickets whose requester was made anonymous
    history: int = 0  # history rows whose values named them
    other: int = 0  # followers, ratings' comments, fields, webhooks, queue engine rows

    @property
    def nothing_to_do(self) -> bool:
        """True when none of the visitor is left in these tickets."""
        return not self.tickets and not self.mails_deleted

    def counts(self) -> dict[str, int]:
        """The counts, for the audit entry and the command line."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("dry_run", "tickets", "missing")}

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "nothing_to_do": self.nothing_to_do,
                "tickets": list(self.tickets), "missing": list(self.missing), **self.counts()}


class Redactor:
    """Replaces the exact names and addresses (any case, whole words) by ``[erased]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        words = {s.strip() for s in secrets if s and len(s.strip()) >= 2}
        forms = words | {json.dumps(w)[1:-1] for w in words}  # as a JSON body escapes them
        self.secrets = sorted(forms, key=len, reverse=True)
        self._re = re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in self.secrets),
                              re.IGNORECASE) if self.secrets else None

    def text(self, value: str) -> str:
        return value if self._re is None else self._re.sub(ERASED, value)

    def holds(self, value: str | bytes | None) -> bool:
        if self._re is None or not value:
            return False
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return self._re.search(value) is not None

    def value(self, value: Any) -> Any:
        """``value`` (JSON: text, lists, objects) with every mention replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


@dataclass
class _Tally:
    touched: dict[int, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, ticket_id: int | None, what: str, n: int = 1) -> None:
        if n <= 0:
            return
        self.counts[what] = self.counts.get(what, 0) + n
        if ticket_id is not None:
            per = self.touched.setdefault(ticket_id, {})
            per[what] = per.get(what, 0) + n


class RequesterErasure:
    """The tickets' side of a chat visitor's erasure; ``erase`` is the port chat calls."""

    def __init__(self, service: TicketService, audit: Any,
                 settle: Callable[[], Awaitable[None]] | None = None) -> None:
        self.service = service
        self.audit = audit
        # The queue engine's writes behind (app.py: routing's flush): a waiting ticket taken
        # out of line writes its last row, from the engine's copy, after our transaction.
        self.settle = settle

    async def erase(self, ticket_ids: Sequence[int], dry_run: bool, *,
                    addresses: Sequence[str] = (), actor: str = "chat") -> TicketErasureReport:
        """Erase (``dry_run``: count) the visitor's data from the named tickets and the mails
        to their ``addresses``; audited ``tickets.erase`` (counts and numbers only)."""
        wanted = sorted({int(t) for t in ticket_ids})[:MAX_TICKETS]
        mails = {a.strip().lower() for a in addresses if a and a.strip()}
        effects = Effects()
        async with self.service.lock, self.service.store.session() as s:
            await s.begin()
            try:
                report, red = await self._erase_in(s, wanted, mails, dry_run, actor, effects)
            except BaseException:
                await s.rollback()
                raise
            if dry_run or report.nothing_to_do:
                await s.rollback()  # the dry run did it all, and takes none of it
            else:
                await s.commit()
        if dry_run or report.nothing_to_do:
            return report
        await self.service.run(effects)
        if effects.unroute and self.settle is not None:
            await self.settle()
            async with self.service.lock, self.service.store.session() as s, s.begin():
                for iid, _agent in effects.unroute:
                    await _scrub_interaction(s, iid, red, None, _Tally())
        await self.audit.record(actor, "tickets.erase", "requester", "ok",
                                {"tickets": list(report.tickets)[:200],
                                 "missing": list(report.missing)[:200], **report.counts()})
        return report

    async def _erase_in(self, s: AsyncSession, wanted: list[int], addresses: set[str],
                        dry_run: bool, actor: str, effects: Effects
                        ) -> tuple[TicketErasureReport, Redactor]:
        own, joined, missing = await _scope(s, wanted)
        rows = {r.id: r for r in (await s.execute(
            sa.select(TicketRow).where(TicketRow.id.in_(own | joined)))).scalars()}
        names: set[str] = set()
        for tid in own:
            row = rows[tid]
            if row.requester_email:
                addresses.add(row.requester_email.lower())
            if row.requester_name:
                names.add(row.requester_name)
        arts = list((await s.execute(sa.select(TicketArticleRow).where(
            TicketArticleRow.ticket_id.in_(own | joined)).order_by(TicketArticleRow.id)))
                    .scalars())
        for a in arts:  # the visitor's own messages tell their names too
            if a.ticket_id in own and _customer(a, addresses, names, own=True):
                if a.author_name:
                    names.add(a.author_name)
                if a.author_email:
                    addresses.add(a.author_email.lower())
        red = Redactor(names | addresses)
        tally = _Tally()
        gone = await self._articles(s, arts, own, addresses, names, red, tally)
        await self._mails(s, own | joined, addresses, gone, red, tally)
        for tid in sorted(own | joined):
            await self._ticket(s, rows[tid], tid in own, addresses, red, tally, effects)
        await self._around(s, sorted(own | joined), addresses, red, tally)
        now = self.service.clock.time()
        for tid, per in sorted(tally.touched.items()):
            # The history fact of the erasure itself: how much, never what.
            self.service.store.add_change(s, Change(tid, now, actor, "erased", None,
                                                    dict(sorted(per.items()))))
        await s.flush()
        c = tally.counts
        report = TicketErasureReport(
            dry_run=dry_run, tickets=tuple(sorted(tally.touched)), missing=tuple(missing),
            articles_deleted=c.get("articles_deleted", 0),
            articles_blanked=c.get("articles_blanked", 0),
            articles_redacted=c.get("articles_redacted", 0),
            attachments=c.get("attachments", 0), mails_deleted=c.get("mails_deleted", 0),
            mails_blanked=c.get("mails_blanked", 0), requesters=c.get("requesters", 0),
            history=c.get("history", 0), other=c.get("other", 0))
        return report, red

    # ------------------------------------------------------------------ parts
    @staticmethod
    async def _articles(s: AsyncSession, arts: list[TicketArticleRow], own: set[int],
                        addresses: set[str], names: set[str], red: Redactor, tally: _Tally
                        ) -> set[int]:
        """Blank or delete the visitor's articles, redact the others; the mails of the
        visitor's ones (ids) are returned: those mails came from them."""
        theirs: dict[int, list[TicketArticleRow]] = {}
        for a in arts:
            if ERASED_FLAG not in (a.flags or ()) and (
                    _customer(a, addresses, names, own=a.ticket_id in own)
                    or _answers_note(a, red, own=a.ticket_id in own)):
                theirs.setdefault(a.ticket_id, []).append(a)
        by_ticket: dict[int, list[TicketArticleRow]] = {}
        for a in arts:
            by_ticket.setdefault(a.ticket_id, []).append(a)
        mail_ids: set[int] = set()
        for tid, mine in theirs.items():
            ids = [a.id for a in mine]
            mail_ids |= {a.mail_id for a in mine if a.mail_id is not None}
            tally.add(tid, "attachments", await _unlist(s, TicketAttachmentRow.article_id, ids))
            rest = [a for a in by_ticket[tid] if a.id not in ids]
            if tid in own and all(ERASED_FLAG in (a.flags or ()) for a in rest):
                # The ticket held only the visitor's message: its whole content goes.
                await _unlist(s, TicketAttachmentRow.article_id, [a.id for a in rest])
                for a in by_ticket[tid]:
                    await s.delete(a)
                tally.add(tid, "articles_deleted", len(by_ticket[tid]))
                continue
            for a in mine:
                a.body_text, a.body_html, a.author_name, a.author_email = "", None, "", None
                a.message_id = None
                a.flags = [*(a.flags or ()), ERASED_FLAG]
            tally.add(tid, "articles_blanked", len(mine))
        done = {a.id for mine in theirs.values() for a in mine}
        for a in arts:
            if a.id in done or a in s.deleted:
                continue
            before = (a.body_text, a.body_html, a.author_name, a.author_email)
            a.body_text = red.text(a.body_text)
            a.body_html = red.text(a.body_html) if a.body_html else a.body_html
            a.author_name = red.text(a.author_name)
            if a.author_email and a.author_email.lower() in addresses:
                a.author_email = None
            if (a.body_text, a.body_html, a.author_name, a.author_email) != before:
                tally.add(a.ticket_id, "articles_redacted")
        return mail_ids

    @staticmethod
    async def _mails(s: AsyncSession, scope: set[int], addresses: set[str], theirs: set[int],
                     red: Redactor, tally: _Tally) -> None:
        """The tickets' mails in and out, and transcripts mailed to the visitor."""
        m = TicketMailRow
        found = list((await s.execute(sa.select(m).where(m.ticket_id.in_(scope)))).scalars())
        if addresses:
            found += (await s.execute(sa.select(m).where(
                m.ticket_id.is_(None), m.kind == TRANSCRIPT_KIND,
                sa.func.lower(m.peer).in_(sorted(addresses))))).scalars()
        for mail in found:
            to_them = (mail.peer or "").lower() in addresses or any(
                str(t).lower() in addresses for t in mail.envelope_to or ())
            if mail.ticket_id is None:  # a transcript: all of it is the chat's words
                drop = True
            elif mail.direction == "in":
                drop = mail.id in theirs or to_them
            else:  # never sent after the erasure: neither to them nor with them in it
                drop = mail.status == "queued" and (to_them or red.holds(mail.raw))
            if drop:
                tally.add(mail.ticket_id, "attachments",
                          await _unlist(s, TicketAttachmentRow.mail_id, [mail.id]))
                await s.delete(mail)
                tally.add(mail.ticket_id, "mails_deleted")
            elif (to_them or red.holds(mail.raw)) and mail.raw:
                tally.add(mail.ticket_id, "attachments",
                          await _unlist(s, TicketAttachmentRow.mail_id, [mail.id]))
                mail.raw, mail.peer, mail.envelope_to = b"", "", []
                mail.last_error = red.text(mail.last_error) if mail.last_error else None
                mail.flags = [*(mail.flags or ()), ERASED_FLAG]
                tally.add(mail.ticket_id, "mails_blanked")

    async def _ticket(self, s: AsyncSession, row: TicketRow, own: bool, addresses: set[str],
                      red: Redactor, tally: _Tally, effects: Effects) -> None:
        """The ticket's row: an own ticket's requester goes, mentions of them elsewhere."""
        before = (row.subject, row.requester_name, row.requester_email, row.requester_phone,
                  row.customer_id)
        row.subject = red.text(row.subject)[:250]
        if own or (row.requester_email or "").lower() in addresses:
            row.requester_name, row.requester_email = "", None
            row.requester_phone, row.customer_id = None, None
        if (row.requester_name, row.requester_email, row.requester_phone,
                row.customer_id) != before[1:]:
            tally.add(row.id, "requesters")
        elif row.subject != before[0]:
            tally.add(row.id, "other")
        if own:
            rating = await s.get(TicketRatingRow, row.id)
            if rating is not None and rating.comment:
                rating.comment = ""  # the score stays for the reports; their words go
                tally.add(row.id, "other")
        if row.id in tally.touched and row.interaction_id is not None and row.assignee is None \
                and Status(row.status) in ACTIVE:
            effects.unroute.append((row.interaction_id, None))
            row.interaction_id = None
            effects.route.add(row.id)
        for round_ in range(1, row.routing_round + 1):  # the queue engine's copies
            await _scrub_interaction(s, interaction_id(row.id, round_), red, row.id, tally)

    @staticmethod
    async def _around(s: AsyncSession, scope: list[int], addresses: set[str], red: Redactor,
                      tally: _Tally) -> None:
        """History values and actors, followers, custom fields, webhook bodies."""
        for h in (await s.execute(sa.select(TicketHistoryRow)
                                  .where(TicketHistoryRow.ticket_id.in_(scope)))).scalars():
            old, new, actor = red.value(h.old), red.value(h.new), red.text(h.actor)[:200]
            if (old, new, actor) != (h.old, h.new, h.actor):
                h.old, h.new, h.actor = old, new, actor
                tally.add(h.ticket_id, "history")
        if addresses:
            f = TicketFollowerRow
            for row in (await s.execute(sa.select(f).where(
                    f.ticket_id.in_(scope), f.kind == "email",
                    sa.func.lower(f.follower).in_(sorted(addresses))))).scalars():
                await s.delete(row)
                tally.add(row.ticket_id, "other")
        for v in (await s.execute(sa.select(TicketFieldValueRow)
                                  .where(TicketFieldValueRow.ticket_id.in_(scope)))).scalars():
            if red.holds(v.text) or red.value(v.value) != v.value:
                v.value, v.text = red.value(v.value), red.text(v.text)[:1000]
                tally.add(v.ticket_id, "other")
        for w in (await s.execute(sa.select(TicketWebhookRow)
                                  .where(TicketWebhookRow.ticket_id.in_(scope)))).scalars():
            if red.holds(w.body):
                w.body = red.text(w.body)
                tally.add(w.ticket_id, "other")


# ---------------------------------------------------------------------- helpers


async def _scope(s: AsyncSession, wanted: list[int]) -> tuple[set[int], set[int], list[int]]:
    """(own, joined, missing): the named tickets and those split off them; the tickets they
    were merged into; the named numbers that are no ticket."""
    t = TicketRow
    own = set((await s.execute(sa.select(t.id).where(t.id.in_(wanted)))).scalars())
    missing = [i for i in wanted if i not in own]
    frontier = set(own)
    while frontier and len(own) < MAX_TICKETS:
        frontier = set((await s.execute(sa.select(t.id).where(
            t.split_from.in_(sorted(frontier))))).scalars()) - own
        own |= frontier
    joined: set[int] = set()
    frontier = set(own)
    while frontier and len(joined) < MAX_TICKETS:
        into = (await s.execute(sa.select(t.merged_into).where(
            t.id.in_(sorted(frontier)), t.merged_into.is_not(None)))).scalars()
        frontier = {int(i) for i in into if i is not None} - own - joined
        joined |= frontier
    return own, joined, missing


def _customer(a: TicketArticleRow, addresses: set[str], names: set[str], *, own: bool) -> bool:
    """A message the visitor wrote: on their own ticket any customer's message from their
    address or without one (chat); elsewhere one from their address, or their chat message."""
    if a.author != Author.CUSTOMER.value:
        return False
    email = (a.author_email or "").lower()
    if email:
        return email in addresses
    return own or (a.channel == "chat" and a.author_name in names)


def _answers_note(a: TicketArticleRow, red: Redactor, *, own: bool) -> bool:
    """The internal note ``from_chat.py`` makes of the visitor's pre-chat answers."""
    if a.author != Author.SYSTEM.value or a.channel != "chat":
        return False
    return own or red.holds(a.body_text)


async def _scrub_interaction(s: AsyncSession, iid: str, red: Redactor, ticket_id: int | None,
                             tally: _Tally) -> None:
    """The queue engine's row of one interaction and its events, without the names."""
    ri = await s.get(RoutingInteractionRow, iid)
    if ri is not None and red.value(ri.data) != ri.data:
        ri.data = red.value(ri.data)
        tally.add(ticket_id, "other")
    for ev in (await s.execute(sa.select(RoutingEventRow)
                               .where(RoutingEventRow.interaction_id == iid))).scalars():
        if red.value(ev.payload) != ev.payload:
            ev.payload = red.value(ev.payload)
            tally.add(ticket_id, "other")


async def _unlist(s: AsyncSession, column: Any, ids: list[int]) -> int:
    """Delete the attachment listings of some articles (or mails); how many."""
    if not ids:
        return 0
    result = await s.execute(sa.delete(TicketAttachmentRow).where(column.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
