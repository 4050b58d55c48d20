"""The tickets' use cases: create, change (with the status rules), reply and note, read, and
the mails a ticket sends. Routing through the queue engine is ``assignment.py``; received mail
is ``inbound.py``; both work through the session-level helpers here.

Design note.
* Every use case is one transaction: the ticket's row, its history rows, its new article and
  the mail it queues are stored together or not at all. Changes of tickets are serialised by
  one lock (routing events, the listener and the API all change tickets), so a change is
  always made on the row as it is now; reads take no lock.
* What happens outside the database (the queue engine, the agents' live topics, the outbox
  sender) runs after the commit, from the list of ``Effects`` the use case collected: nothing
  is announced that was not stored.
* Who may do what: staff (supervisors, admins) every ticket; an agent the tickets assigned to
  them (read, reply, note, status, priority, tags, give back to the queue).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.domain.clock import Clock
from contactcenter.tickets import sla, sla_policies
from contactcenter.tickets.attachment_index import add_listing, listing_of
from contactcenter.tickets.csat import survey_text
from contactcenter.tickets.mail.attached import OutgoingFile
from contactcenter.tickets.mail.compose import (
    Outgoing,
    compose,
    new_message_id,
    references,
    reply_subject,
)
from contactcenter.tickets.model import (
    ACTIVE,
    SLA_PAUSED,
    Article,
    Author,
    Change,
    NewTicket,
    Status,
    Ticket,
    TicketChanges,
    TicketConflict,
    TicketError,
    TicketForbidden,
    TicketNotFound,
    Visibility,
    check_transition,
    clean_body,
    diff,
    plain,
)
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import (
    ArticleDraft,
    MailRecord,
    TicketQuery,
    TicketStore,
    article_of,
    clocks_of,
    put_clocks,
    ticket_of,
)
from contactcenter.tickets.tables import TicketArticleRow, TicketRow
from contactcenter.tickets.view_mark import ViewMark, check_fresh

log = logging.getLogger(__name__)
Publish = Callable[[str, Any], int]
CreatedHook = Callable[[AsyncSession, TicketRow, "Who", "Effects"], Awaitable[None]]
ChangedHook = Callable[[AsyncSession, TicketRow, "Who", dict[str, tuple[Any, Any]], "Effects"],
                       Awaitable[None]]
SolvingHook = Callable[[AsyncSession, TicketRow, "Who"], Awaitable[None]]
# (session, the new ticket's row, what it was made with, who): its type and field values
NewFieldsHook = Callable[[AsyncSession, TicketRow, NewTicket, "Who"], Awaitable[None]]
# (session, the ticket, the other ticket: merged into it, or split from, who, effects)
RelatedHook = Callable[[AsyncSession, TicketRow, TicketRow, "Who", "Effects"], Awaitable[None]]
ReplyHook = Callable[[AsyncSession, TicketRow, TicketArticleRow, "Who", "Effects"],
                     Awaitable[None]]
# (session, ticket, sender, the mail's Cc addresses, its article or None when it opened the
# ticket, effects)
# The addresses copied (Cc) on a public reply mailed to the requester (followers.py).
CcHook = Callable[[AsyncSession, TicketRow], Awaitable[list[str]]]
MailHook = Callable[[AsyncSession, TicketRow, str | None, list[str], TicketArticleRow | None,
                     "Effects"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Who:
    """Who acts: a panel user (``agent_id`` when linked to an agent), routing, a mail sender,
    the system. ``staff`` may act on every ticket."""

    name: str
    agent_id: str | None = None
    staff: bool = False


SYSTEM = Who("system", staff=True)
ROUTING = Who("routing", staff=True)


@dataclass
class Effects:
    """What a use case does once its transaction committed."""

    route: set[int] = field(default_factory=set)  # tickets to (re)consider for routing
    unroute: list[tuple[str, str | None]] = field(default_factory=list)  # (iid, agent)
    notify: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # agent -> events
    mail: bool = False  # an outgoing mail was queued
    sla: bool = False  # SLA clocks were set or moved: the escalation sweep looks again
    staff: list[dict[str, Any]] = field(default_factory=list)  # events on topic "tickets"
    # Anything else once committed (the triggers' webhook wake-up and audit entries).
    after: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)

    def tell(self, agent_id: str | None, kind: str, ticket: Ticket) -> None:
        if agent_id:
            self.notify.setdefault(agent_id, []).append({"type": kind,
                                                         "ticket": ticket.as_json()})


class TicketService:
    """Tickets over one database; ``assignment`` and ``outbox`` are set by the wiring."""

    def __init__(self, settings: TicketSettings, store: TicketStore, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.publish: Publish = lambda _topic, _data: 0  # the live hub's, once the web is up
        self.lock = asyncio.Lock()
        self.agents: Callable[[], set[str]] = set  # the agent ids routing knows
        self.queues: Callable[[], set[str]] = set  # the queues routing knows
        self.route: Callable[[set[int]], Awaitable[None]] = _nothing_to_route
        self.unroute: Callable[[str, str | None], Awaitable[None]] = _nothing_to_unroute
        self.wake_outbox: Callable[[], None] = lambda: None
        self.wake_sla: Callable[[], None] = lambda: None
        # The triggers' hooks (triggers_engine.py), inside the change's transaction.
        self.on_created: CreatedHook | None = None
        self.on_changed: ChangedHook | None = None
        self.on_merged: RelatedHook | None = None  # merge.py: on the surviving ticket
        self.on_split: RelatedHook | None = None  # merge.py: on a split's new ticket
        # Before a change to solved (fields_service.py: required fields), and after a public
        # reply is stored (followers.py: their notifications), inside the transaction.
        self.on_solving: SolvingHook | None = None
        # A new ticket's type and field values, checked and stored before its triggers run.
        self.on_new_fields: NewFieldsHook | None = None
        self.on_public_reply: ReplyHook | None = None
        self.on_customer_mail: MailHook | None = None  # inbound.py, for followers.py
        self.reply_cc: CcHook | None = None
        self.business = sla.BusinessTime(sla.hours_node(settings.sla.calendar))

    def sla_view(self, ticket: Ticket) -> dict[str, Any]:
        """``ticket`` as JSON with its SLA clocks as the page shows them (state, time left)."""
        out = ticket.as_json()
        out["sla"] = sla.view(ticket.sla, self.business, self.clock.time(),
                              done=ticket.status in (Status.SOLVED, Status.CLOSED))
        return out

    # ------------------------------------------------------------------ access
    @staticmethod
    def may_see(ticket: Ticket, who: Who) -> bool:
        return who.staff or (who.agent_id is not None and ticket.assignee == who.agent_id)

    async def ticket(self, ticket_id: int, who: Who) -> Ticket:
        """The ticket, if ``who`` may see it (404 otherwise: its existence is not told)."""
        ticket = await self.store.get(ticket_id)
        if ticket is None or not self.may_see(ticket, who):
            raise TicketNotFound(f"no ticket #{ticket_id}")
        return ticket

    async def thread(self, ticket_id: int, who: Who) -> list[Article]:
        await self.ticket(ticket_id, who)
        return await self.store.articles(ticket_id)

    async def history(self, ticket_id: int, who: Who) -> list[Change]:
        await self.ticket(ticket_id, who)
        return await self.store.history(ticket_id)

    async def search(self, query: TicketQuery, who: Who) -> tuple[list[Ticket], int]:
        """Tickets ``query`` selects; an agent's lists are only ever their own tickets."""
        if not who.staff:
            if who.agent_id is None:
                return [], 0
            query = TicketQuery(**{**_fields(query), "assignee": who.agent_id,
                                   "unassigned": False})
        return await self.store.query(query)

    # ------------------------------------------------------------------ use cases
    async def create(self, new: NewTicket, who: Who, first: ArticleDraft | None = None
                     ) -> Ticket:
        """A new ticket (and its first article); it waits for an agent unless assigned."""
        self._check_new(new)
        effects = Effects()
        async with self.lock, self.store.session() as s, s.begin():
            row = await self.create_in(s, new, who, first, effects)
            ticket = ticket_of(row)
        await self.run(effects)
        return ticket

    async def update(self, ticket_id: int, changes: TicketChanges, who: Who) -> Ticket:
        """Change fields of a ticket (status by ``model.TRANSITIONS``), each change in its
        history; an empty change changes nothing."""
        effects = Effects()
        async with self.lock, self.store.session() as s, s.begin():
            row = await self._row_for(s, ticket_id, who)
            await self.change_in(s, row, changes, who, effects)
            ticket = ticket_of(row)
        await self.run(effects)
        return ticket

    async def write(self, ticket_id: int, text: str, who: Who, visibility: Visibility,
                    status: Status | None = None, seen: ViewMark | None = None,
                    files: Sequence[OutgoingFile] = ()) -> Article:
        """An agent's public reply (mailed to the requester of an email ticket, its followers
        in Cc) or internal note, and optionally a new status in the same step ("reply and set
        pending"). ``seen``: the view it was written on; refused (``StaleView``) if the ticket
        changed. ``files`` (checked by ``attachments.py``) go with a mailed reply only."""
        text = clean_body(text)
        if not text.strip():
            raise TicketError("the text is empty")
        if files and visibility is not Visibility.PUBLIC:
            raise TicketError("files go with a public reply only")
        effects = Effects()
        async with self.lock, self.store.session() as s, s.begin():
            row = await self._row_for(s, ticket_id, who)
            if Status(row.status) is Status.CLOSED:
                raise TicketConflict(f"ticket #{ticket_id} is closed")
            if seen is not None:
                await check_fresh(s, row.id, seen)
            now = self.clock.time()
            article = await self.store.add_article(s, row.id, ArticleDraft(
                visibility, Author.AGENT, who.name, text, agent_id=who.agent_id), now)
            self.store.add_change(s, Change(row.id, now, who.name,
                                            "reply" if visibility is Visibility.PUBLIC
                                            else "note", None, {"article": article.id}))
            if visibility is Visibility.PUBLIC:
                if row.sla_policy is not None and sla_policies.agent_replied(row, now):
                    effects.sla = True
                cc = await self.reply_cc(s, row) if self.reply_cc is not None else []
                mailed = await self.queue_mail_in(s, row, text, automatic=False, kind="reply",
                                                  effects=effects, article_id=article.id,
                                                  cc=cc, files=files)
                if files and mailed is None:
                    raise TicketConflict("this ticket has no address to mail a reply to: "
                                         "its reply cannot carry files")
                if self.on_public_reply is not None:
                    await self.on_public_reply(s, row, article, who, effects)
                if status is None and Status(row.status) is Status.NEW:
                    status = Status.OPEN
            if status is not None:
                await self.change_in(s, row, TicketChanges(status=status), who, effects)
            row.updated_at = now
            result = article_of(article)
        await self.run(effects)
        return result

    # ------------------------------------------------------------------ building blocks
    async def reconsider_sla_in(self, s: AsyncSession, row: TicketRow, old_priority: str,
                                who: Who, effects: Effects) -> None:
        """Choose the ticket's SLA policy again after a change of what conditions look at
        (``sla_policies.py``); a new policy is a history row."""
        now = self.clock.time()
        moved = await sla_policies.reconsider_in(s, row, self.settings.sla, self.business,
                                                 old_priority, now)
        if moved is None:
            return
        effects.sla = True
        if moved[0] != moved[1]:
            self.store.add_change(s, Change(row.id, now, who.name, "sla_policy", *moved))

    def customer_wrote_in(self, row: TicketRow, effects: Effects) -> None:
        """A customer's message was added to ``row``: the next-response clock may start."""
        if row.sla_policy is not None and sla_policies.customer_wrote(
                row, self.settings.sla, self.business, self.clock.time()):
            effects.sla = True

    def _check_new(self, new: NewTicket) -> None:
        if new.assignee is not None and new.assignee not in self.agents():
            raise TicketError(f"no agent {new.assignee!r}")

    async def _row_for(self, s: AsyncSession, ticket_id: int, who: Who) -> TicketRow:
        row = await self.store.row(s, ticket_id, for_update=True)
        if row is None or not self.may_see(ticket_of(row), who):
            raise TicketNotFound(f"no ticket #{ticket_id}")
        return row

    async def create_in(self, s: AsyncSession, new: NewTicket, who: Who,
                        first: ArticleDraft | None, effects: Effects) -> TicketRow:
        """Store a new ticket (and its first article) in ``s``."""
        now = self.clock.time()
        customer = await self.store.customer_id(s, new.requester.email, new.requester.phone)
        if customer is not None and new.requester.customer_id is None:
            new = replace(new, requester=replace(new.requester, customer_id=customer))
        row = await self.store.insert_ticket(s, new, now, who.name)
        subject = sla_policies.subject_of_new(new)
        if new.ticket_type is not None or new.field_values:
            if self.on_new_fields is None:
                raise TicketError("ticket types and fields are not set up here")
            await self.on_new_fields(s, row, new, who)  # refused: nothing is stored
            subject = await sla_policies.subject_in(s, row)  # a policy may look at them
        if first is not None:
            await self.store.add_article(s, row.id, first, now)
        if sla_policies.start(row, self.settings.sla, self.business, subject, now):
            effects.sla = True
        if new.assignee is None:
            effects.route.add(row.id)
        else:
            effects.tell(new.assignee, "ticket-assigned", ticket_of(row))
        if self.on_created is not None:
            await self.on_created(s, row, who, effects)
        return row

    async def change_in(self, s: AsyncSession, row: TicketRow, changes: TicketChanges,
                        who: Who, effects: Effects) -> None:
        """Apply ``changes`` to ``row`` in ``s``: checks, history rows, routing effects."""
        ticket = ticket_of(row)
        changed = diff(ticket, changes)
        if not changed:
            return
        if not who.staff:
            if set(changed) - {"status", "priority", "tags", "subject", "assignee"}:
                raise TicketForbidden("an agent may not move a ticket to another queue")
            if "assignee" in changed and changed["assignee"][1] is not None:
                raise TicketForbidden("an agent may only give a ticket back, not assign it")
        if "status" in changed:
            check_transition(*changed["status"])
            if changed["status"][1] is Status.SOLVED and self.on_solving is not None:
                await self.on_solving(s, row, who)
        if "assignee" in changed and changed["assignee"][1] is not None \
                and changed["assignee"][1] not in self.agents():
            raise TicketError(f"no agent {changed['assignee'][1]!r}")
        if "queue" in changed and changed["queue"][1] not in self.queues():
            raise TicketError(f"no queue {changed['queue'][1]!r}")
        now = self.clock.time()
        for name, (old, new) in changed.items():
            setattr(row, name, plain(new))
            self.store.add_change(s, Change(row.id, now, who.name, name, old, new))
        row.updated_at = now
        if "status" in changed and row.sla_policy is not None:
            old_status, new_status = changed["status"]
            clocks = clocks_of(row)
            if new_status in SLA_PAUSED and old_status not in SLA_PAUSED:
                put_clocks(row, sla.pause(clocks, now))
            elif old_status in SLA_PAUSED and new_status not in SLA_PAUSED:
                put_clocks(row, sla.resume(clocks, self.business, now))
            effects.sla = True
        # The escalation's own changes keep the policy: a breach that raised the priority
        # must not pick a policy under which the ticket was never late.
        if {"queue", "priority", "tags"} & set(changed) and who.name != "sla":
            await self.reconsider_sla_in(s, row, ticket.priority.value, who, effects)
        if "status" in changed and changed["status"][1] is Status.SOLVED:
            await self._survey_in(s, row, now, effects)
        after = ticket_of(row)
        # The ticket's place in the queue engine: out when it stops waiting for the engine's
        # choice (not new/open any more, given to someone by hand, moved to another queue).
        leaves = ("assignee" in changed or "queue" in changed
                  or ("status" in changed and after.status not in ACTIVE)
                  or ("priority" in changed and after.assignee is None))
        if leaves and row.interaction_id is not None:
            effects.unroute.append((row.interaction_id, ticket.assignee))
            row.interaction_id = None
        if after.status in ACTIVE and after.assignee is None:
            effects.route.add(row.id)
        if after.assignee is not None and after.assignee != ticket.assignee:
            effects.tell(after.assignee, "ticket-assigned", after)
        if ticket.assignee is not None and ticket.assignee != after.assignee:
            effects.tell(ticket.assignee, "ticket-unassigned", after)
        # Loop safety: what triggers change starts no cascade of its own.
        if self.on_changed is not None and not who.name.startswith("trigger:"):
            await self.on_changed(s, row, who, changed, effects)

    async def _survey_in(self, s: AsyncSession, row: TicketRow, now: float,
                         effects: Effects) -> None:
        """Mail the satisfaction survey of a ticket just solved (not when already rated)."""
        csat = self.settings.csat
        if not csat.enabled or not row.requester_email \
                or await self.store.rating_row(s, row.id) is not None:
            return
        message_id = await self.queue_mail_in(s, row, survey_text(csat, row, now),
                                              automatic=True, kind="csat", effects=effects)
        if message_id is not None:
            self.store.add_change(s, Change(row.id, now, SYSTEM.name, "csat-survey", None,
                                            row.requester_email))

    async def queue_mail_in(self, s: AsyncSession, row: TicketRow, text: str, *,
                            automatic: bool, kind: str, effects: Effects,
                            article_id: int | None = None, in_reply_to: str | None = None,
                            thread: list[str] | None = None, to: str | None = None,
                            cc: Sequence[str] = (), files: Sequence[OutgoingFile] = ()
                            ) -> str | None:
        """Queue a mail of ticket ``row`` to its requester (or ``to``, a follower); returns its
        Message-ID (None when there is no address). To an address that bounced it is kept, not
        sent (and nobody is copied). ``cc``: copied addresses; ``files``: attached, and listed
        on ``article_id``."""
        to = to or row.requester_email
        if not to:
            return None
        box = self.settings.mailbox_for(row.mailbox, row.queue)
        if box is None:
            return None
        now = self.clock.time()
        bounced = await self.store.bounced(s, to)
        copied = () if bounced else tuple(dict.fromkeys(a for a in cc if a and a != to))
        if in_reply_to is None:
            in_reply_to = await self.store.last_customer_message_id(s, row.id)
        ids = thread if thread is not None else await self.store.thread_ids(s, row.id)
        message_id = new_message_id(self.settings.domain)
        outgoing = Outgoing(
            sender=box.address, sender_name=box.name, to=to,
            to_name=row.requester_name if to == row.requester_email else "",
            subject=reply_subject(row.subject, row.id, self.settings.subject_tag), text=text,
            in_reply_to=in_reply_to, references=tuple(references(ids)), automatic=automatic,
            cc=copied, files=tuple(files))
        raw = compose(outgoing, message_id, now).as_bytes()
        mail = await self.store.add_mail(
            s, direction="out", status="suppressed" if bounced else "queued", raw=raw, peer=to,
            envelope_from=box.address, envelope_to=[to, *copied], now=now, ticket_id=row.id,
            message_id=message_id, automatic=automatic, kind=kind,
            flags=["address bounced"] if bounced else ())
        if article_id is not None:
            article = await s.get(TicketArticleRow, article_id)
            if article is not None:
                article.message_id, article.mail_id = message_id, mail.id
                if files:
                    await add_listing(s, article.id, mail.id, "out", await listing_of(raw), now)
        if bounced:
            await self.store.add_article(s, row.id, ArticleDraft(
                Visibility.INTERNAL, Author.SYSTEM, "system",
                f"Not mailed: {to} bounced earlier mail (see its address)."), now)
        else:
            effects.mail = True
        return message_id

    async def mail_failed(self, mail: MailRecord, error: str, permanent: bool) -> None:
        """The outbox gave up on a mail: a note on its ticket; a permanent refusal marks the
        address bounced (no more mail goes to it until its owner writes again)."""
        async with self.lock, self.store.session() as s, s.begin():
            now = self.clock.time()
            if permanent:
                await self.store.mark_bounced(s, mail.peer, error, now)
            if mail.ticket_id is not None and await self.store.row(s, mail.ticket_id):
                await self.store.add_article(s, mail.ticket_id, ArticleDraft(
                    Visibility.INTERNAL, Author.SYSTEM, "system",
                    f"The mail to {mail.peer} could not be sent: {error}",
                    channel="email", mail_id=mail.id, flags=("send-failed",)), now)
                self.store.add_change(s, Change(mail.ticket_id, now, "mail", "send-failed",
                                                None, mail.peer))

    async def run(self, effects: Effects) -> None:
        """Carry out what a committed use case asked for."""
        for iid, agent in effects.unroute:
            try:
                await self.unroute(iid, agent)
            except Exception:
                log.exception("tickets: could not take %s out of routing", iid)
        if effects.route:
            await self.route(effects.route)
        for agent, events in effects.notify.items():
            for event in events:
                self.publish(f"agent.{agent}", event)
        for event in effects.staff:
            self.publish("tickets", event)
        if effects.mail:
            self.wake_outbox()
        if effects.sla:
            self.wake_sla()
        for step in effects.after:
            try:
                done = step()
                if done is not None:
                    await done
            except Exception:
                log.exception("tickets: an after-commit step failed")


async def _nothing_to_route(_ids: set[int]) -> None:
    return None


async def _nothing_to_unroute(_iid: str, _agent: str | None) -> None:
    return None


def _fields(query: TicketQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in query.__dataclass_fields__}

