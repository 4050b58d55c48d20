"""A received mail becomes a ticket, or joins one: threading, loop safety, bounces.

Design note.
* Nothing received is dropped: every mail is stored byte for byte in ``ticket_mails`` in the
  same transaction as what it caused. One the parser could make nothing of still becomes a
  ticket from its envelope sender, with its raw text and the flag ``unparseable``. If even the
  ticket cannot be stored (a bug), the raw mail is stored alone with status ``error``; only
  when the database itself is unreachable is the mail refused with a temporary error, and the
  sending server keeps it and tries again.
* Threading, first match wins: a Message-ID the mail answers (``In-Reply-To``, then
  ``References`` from the newest) that is one of a ticket's mails, ours or theirs; then the
  ticket number in the subject, from its requester or someone who wrote on it before (a number
  alone from a stranger opens a new ticket: anybody can type a number). A closed ticket gets a
  follow-up ticket instead. A mail whose Message-ID was already stored is a redelivery: it is
  acknowledged and ignored.
* Automatic mail (``mail/loops.py``) never gets an automatic answer and never reopens a
  ticket; a delivery report marks the failed addresses bounced and leaves a note on the ticket
  of the mail that bounced. A person's acknowledgement is sent only within the per-address
  budget of automatic answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets.attachment_index import (
    Listed,
    add_listing,
    article_of_mail,
    listing_of,
)
from contactcenter.tickets.mail.compose import ticket_number
from contactcenter.tickets.mail.html import sanitize_html
from contactcenter.tickets.mail.loops import Automation, classify, may_auto_answer
from contactcenter.tickets.mail.parse import ParsedMail, parse_mail
from contactcenter.tickets.mail.quotes import strip_quoted
from contactcenter.tickets.model import (
    BODY_MAX,
    ON_CUSTOMER_REPLY,
    SUBJECT_MAX,
    Author,
    Change,
    NewTicket,
    Origin,
    Priority,
    Requester,
    Status,
    TicketChanges,
    Visibility,
    is_email,
)
from contactcenter.tickets.service import Effects, TicketService, Who
from contactcenter.tickets.store import ArticleDraft, ticket_of
from contactcenter.tickets.tables import TicketMailRow, TicketRow

log = logging.getLogger(__name__)
Keep = Callable[..., Awaitable[TicketMailRow]]
# Run in the transaction that files a mail (the IMAP poller stores its UID cursor with it).
Also = Callable[[AsyncSession], Awaitable[None]]
PARSE_IN_THREAD_BYTES = 256 * 1024  # larger mails are parsed off the event loop
ACK_TEXT = ("We received your message; it is ticket #{number}: {subject}\n\n"
            "Reply to this mail to add to it. This answer was sent automatically.")


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """A mail as the listener got it: the SMTP envelope and the bytes."""

    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    peer: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one mail (the listener answers 250 for all of these)."""

    status: str  # "new-ticket" | "follow-up" | "reply" | "duplicate" | "bounce" | "loop" | "error"
    ticket_id: int | None = None
    acknowledged: bool = False
    automatic: str | None = None


class Mailroom:
    """Turns received mails into tickets and articles (see the module's note)."""

    def __init__(self, service: TicketService) -> None:
        self.service = service
        self.settings = service.settings

    async def receive(self, mail: ReceivedMail, *, also: Also | None = None) -> Outcome:
        """Store ``mail`` and what it causes; raises only when nothing could be stored.
        ``also`` runs in the same transaction, whatever became of the mail."""
        if len(mail.raw) > PARSE_IN_THREAD_BYTES:
            parsed = await asyncio.to_thread(parse_mail, mail.raw)
        else:
            parsed = parse_mail(mail.raw)
        own = [m.address for m in self.settings.mailboxes]
        automation = classify(parsed, mail.envelope_from, own)
        listed = await listing_of(mail.raw)  # its files (attachment_index.py)
        try:
            effects = Effects()
            async with self.service.lock, self.service.store.session() as s, s.begin():
                outcome = await self._store(s, mail, parsed, automation, effects, listed)
                if also is not None:
                    await also(s)
            await self.service.run(effects)
            return outcome
        except Exception:
            log.exception("tickets: a received mail could not be filed; kept raw, flagged")
            async with self.service.store.session() as s, s.begin():
                await self.service.store.add_mail(
                    s, direction="in", status="error", raw=mail.raw,
                    peer=_sender(parsed, mail) or "", envelope_from=mail.envelope_from,
                    envelope_to=mail.recipients, now=self.service.clock.time(),
                    message_id=parsed.message_id, flags=["error", *parsed.defects[:20]])
                if also is not None:
                    await also(s)
            return Outcome("error")

    # ------------------------------------------------------------------ the decision
    async def _store(self, s: AsyncSession, mail: ReceivedMail, parsed: ParsedMail,
                     automation: Automation, effects: Effects, listed: list[Listed]
                     ) -> Outcome:
        store = self.service.store
        now = self.service.clock.time()
        sender = _sender(parsed, mail)
        flags = _flags(parsed, automation)

        async def keep(status: str, ticket_id: int | None = None) -> TicketMailRow:
            return await store.add_mail(
                s, direction="in", status=status, raw=mail.raw, peer=sender or "",
                envelope_from=mail.envelope_from, envelope_to=mail.recipients, now=now,
                ticket_id=ticket_id, message_id=parsed.message_id,
                automatic=automation.automatic, flags=flags + list(parsed.defects[:20]))

        if parsed.message_id and await store.has_inbound(s, parsed.message_id):
            return Outcome("duplicate")
        if automation.bounce:
            return await self._bounce(s, parsed, keep, now)
        if automation.reason == "our own address":
            await keep("loop")
            return Outcome("loop", automatic=automation.reason)
        if sender and not automation.automatic:
            # A person wrote from this address: it receives mail after all.
            row = await store.address_row(s, sender)
            if row is not None and row.bounced_at is not None:
                row.bounced_at = None

        ticket = await self._thread(s, parsed, sender)
        follow_up_of = None
        if ticket is not None and Status(ticket.status) is Status.CLOSED:
            follow_up_of, ticket = ticket.id, None
        if ticket is not None:
            return await self._reply(s, ticket, parsed, sender, automation, keep, effects,
                                     listed)
        return await self._new_ticket(s, mail, parsed, sender, automation, keep, effects,
                                      follow_up_of, listed)

    async def _thread(self, s: AsyncSession, parsed: ParsedMail,
                      sender: str | None) -> TicketRow | None:
        store = self.service.store
        ids = [*reversed(parsed.in_reply_to), *reversed(parsed.references)]
        found = await store.ticket_by_message_ids(s, ids)
        if found is None:
            number = ticket_number(parsed.subject, self.settings.subject_tag)
            if number is not None and sender and await store.wrote_on(s, number, sender):
                found = number
        if found is not None:  # a ticket merged into another: its mail goes there
            found = await store.merged_target(s, found)
        return await store.row(s, found, for_update=True) if found is not None else None

    async def _new_ticket(self, s: AsyncSession, mail: ReceivedMail, parsed: ParsedMail,
                          sender: str | None, automation: Automation, keep: Keep,
                          effects: Effects, follow_up_of: int | None, listed: list[Listed]
                          ) -> Outcome:
        box = next((b for b in map(self.settings.mailbox, [
            *mail.recipients, *(a.email for a in (*parsed.to, *parsed.cc))]) if b), None)
        name = parsed.reply_address.name if parsed.reply_address else ""
        new = NewTicket(
            # A sender's subject is whatever it is: cut to what a ticket holds (one line first,
            # so the cut counts what is kept), never a reason to drop the mail.
            subject=" ".join(parsed.subject.split())[:SUBJECT_MAX], origin=Origin.EMAIL,
            queue=box.queue if box and box.queue else self.settings.queue,
            requester=Requester(email=sender, name=name or (sender or "")),
            priority=Priority(box.priority) if box else Priority.NORMAL,
            skills=dict(box.skills) if box else {}, follow_up_of=follow_up_of,
            mailbox=box.address if box else None,
            tags=("unparseable",) if parsed.unparseable else ())
        who = Who(f"mail:{sender or mail.envelope_from or '?'}")
        kept = await keep("ticket")
        row = await self.service.create_in(s, new, who, self._article(parsed, sender, kept.id,
                                                                      automation, False),
                                           effects)
        kept.ticket_id = row.id
        if listed:
            first = await article_of_mail(s, row.id, kept.id)
            if first is not None:
                await add_listing(s, first, kept.id, "in", listed, self.service.clock.time())
        if self.service.on_customer_mail is not None:
            await self.service.on_customer_mail(s, row, sender, [a.email for a in parsed.cc],
                                                None, effects)
        if follow_up_of is not None:
            self.service.store.add_change(s, Change(row.id, self.service.clock.time(),
                                                    who.name, "follow_up_of", None,
                                                    follow_up_of))
        acknowledged = await self._acknowledge(s, row, parsed, sender, automation, effects)
        return Outcome("follow-up" if follow_up_of else "new-ticket", row.id, acknowledged,
                       automation.reason)

    async def _reply(self, s: AsyncSession, row: TicketRow, parsed: ParsedMail,
                     sender: str | None, automation: Automation, keep: Keep,
                     effects: Effects, listed: list[Listed]) -> Outcome:
        kept = await keep("ticket", row.id)
        now = self.service.clock.time()
        article = await self.service.store.add_article(
            s, row.id, self._article(parsed, sender, kept.id, automation, True), now)
        await add_listing(s, article.id, kept.id, "in", listed, now)
        who = Who(f"mail:{sender or '?'}", staff=True)
        # An autoreply is marked: it starts no next-response cycle (sla.customer_replied is
        # not called for it), and the SLA timeline must not draw one either.
        self.service.store.add_change(s, Change(
            row.id, now, who.name, "customer-reply", None,
            {"article": article.id, **({"automatic": True} if automation.automatic else {})}))
        if self.service.on_customer_mail is not None:
            await self.service.on_customer_mail(s, row, sender, [a.email for a in parsed.cc],
                                                article, effects)
        status = Status(row.status)
        reopened = ON_CUSTOMER_REPLY.get(status, status)
        if reopened != status and not automation.automatic:
            await self.service.change_in(s, row, TicketChanges(status=reopened), who, effects)
        if not automation.automatic:  # an autoreply asks for no answer
            self.service.customer_wrote_in(row, effects)
        row.updated_at = now
        effects.tell(row.assignee, "ticket-updated", ticket_of(row))
        return Outcome("reply", row.id, False, automation.reason)

    def _article(self, parsed: ParsedMail, sender: str | None, mail_id: int,
                 automation: Automation, is_reply: bool) -> ArticleDraft:
        text = parsed.text
        html = parsed.html
        if is_reply and not parsed.unparseable:
            text = strip_quoted(text)
            html = sanitize_html(html, drop_quotes=True) if html else None
        name = parsed.sender.name if parsed.sender and parsed.sender.name else (sender or "")
        return ArticleDraft(
            Visibility.PUBLIC, Author.CUSTOMER, name, text.rstrip()[:BODY_MAX], html, author_email=sender,
            channel="email", message_id=parsed.message_id, mail_id=mail_id,
            flags=tuple(_flags(parsed, automation)))

    async def _acknowledge(self, s: AsyncSession, row: TicketRow, parsed: ParsedMail,
                           sender: str | None, automation: Automation,
                           effects: Effects) -> bool:
        if not (self.settings.acknowledge and sender and not automation.automatic
                and not parsed.unparseable):
            return False
        since = self.service.clock.time() - self.settings.auto_answer_window_s
        sent = await self.service.store.auto_sent_since(s, sender, since)
        if not may_auto_answer(sent, self.settings.auto_answers_per_sender):
            log.info("tickets: no acknowledgement to %s: %d automatic answers within %.0f s",
                     sender, sent, self.settings.auto_answer_window_s)
            return False
        thread = [*parsed.references, *([parsed.message_id] if parsed.message_id else [])]
        message_id = await self.service.queue_mail_in(
            s, row, ACK_TEXT.format(number=row.id, subject=row.subject), automatic=True,
            kind="ack", effects=effects, in_reply_to=parsed.message_id, thread=thread)
        return message_id is not None

    async def _bounce(self, s: AsyncSession, parsed: ParsedMail, keep: Keep,
                      now: float) -> Outcome:
        store = self.service.store
        report = parsed.report
        ticket_id = None
        if report is not None and report.original_message_id:
            ticket_id = await store.ticket_by_message_ids(s, [report.original_message_id])
        for address, status in report.failed if report is not None else ():
            await store.mark_bounced(s, address, status, now)
        kept = await keep("bounce" if ticket_id else "unthreaded-bounce", ticket_id)
        if ticket_id is not None and report is not None:
            failed = "; ".join(f"{a}: {st}" for a, st in report.failed) or "no details"
            await store.add_article(s, ticket_id, ArticleDraft(
                Visibility.INTERNAL, Author.SYSTEM, "system",
                f"A mail of this ticket was not delivered ({failed}).", channel="email",
                mail_id=kept.id, flags=("bounce",)), now)
            store.add_change(s, Change(ticket_id, now, "mail", "bounce", None,
                                       [a for a, _ in report.failed]))
            await store.mark_outbound_bounced(s, report.original_message_id or "")
        return Outcome("bounce", ticket_id, False, "delivery report")


def _sender(parsed: ParsedMail, mail: ReceivedMail) -> str | None:
    if parsed.reply_address is not None:
        return parsed.reply_address.email
    envelope = mail.envelope_from.strip().strip("<>").lower()
    return envelope if is_email(envelope) else None


def _flags(parsed: ParsedMail, automation: Automation) -> list[str]:
    flags = []
    if parsed.unparseable:
        flags.append("unparseable")
    elif parsed.defects:
        flags.append("malformed")
    if automation.automatic:
        flags.append("automatic")
    return flags
