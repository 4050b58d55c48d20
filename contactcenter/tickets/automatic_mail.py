"""Automatic mail that belongs to no ticket (a chat transcript the visitor asked for), sent
through the tickets' outbox.

Design note. Other channels never import tickets: ``app.py`` hands this object to them as their
mail port (chat's ``transcript_mail.MailSender``). A mail is queued in ``ticket_mails`` with no
ticket (``ticket_id`` None, ``kind`` given by the caller) and the outbox sends it, with its
retries and bounce handling; to an address that bounced it is kept, not sent. It is marked
``Auto-Submitted: auto-generated`` (RFC 3834: made by us, not a reply), so responders stay quiet.
"""

from __future__ import annotations

from typing import Protocol

from contactcenter.tickets.mail.compose import Outgoing, compose, new_message_id
from contactcenter.tickets.outbox import Outbox
from contactcenter.tickets.service import TicketService


class Mail(Protocol):
    """What a caller hands over (chat's ``TranscriptMail`` has these)."""

    @property
    def to(self) -> str: ...
    @property
    def to_name(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...


class AutomaticMail:
    """Queues automatic mails from the first mailbox (``tickets.mailboxes``)."""

    def __init__(self, service: TicketService, outbox: Outbox, kind: str) -> None:
        self.service = service
        self.outbox = outbox
        self.kind = kind[:16]

    @property
    def available(self) -> bool:
        """Mail goes out: an SMTP relay and a mailbox to send from are configured."""
        return self.outbox.enabled and bool(self.service.settings.mailboxes)

    async def send(self, mail: Mail) -> None:
        """Queue ``mail`` and wake the outbox."""
        settings, store = self.service.settings, self.service.store
        box = settings.mailbox_for(None, settings.queue)
        if box is None or not self.outbox.enabled:
            raise RuntimeError("no outbound mail is configured")
        now = self.service.clock.time()
        message_id = new_message_id(settings.domain)
        msg = compose(Outgoing(sender=box.address, sender_name=box.name, to=mail.to,
                               to_name=mail.to_name, subject=mail.subject, text=mail.text,
                               automatic=True), message_id, now)
        msg.replace_header("Auto-Submitted", "auto-generated")
        async with store.session() as s, s.begin():
            bounced = await store.bounced(s, mail.to)
            await store.add_mail(
                s, direction="out", status="suppressed" if bounced else "queued",
                raw=msg.as_bytes(), peer=mail.to, envelope_from=box.address,
                envelope_to=[mail.to], now=now, message_id=message_id, automatic=True,
                kind=self.kind, flags=["address bounced"] if bounced else ())
        if not bounced:
            self.outbox.wake()
