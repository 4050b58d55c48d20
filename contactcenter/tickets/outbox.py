"""The outbox: queued mails of ``ticket_mails`` sent over SMTP with aiosmtplib, retried with
backoff, their outcome stored.

Design note: a reply is queued in the database in the same transaction as the article it
carries, and this task sends it afterwards; so a reply survives a restart and a slow or absent
SMTP server never holds up an agent. A permanent refusal (5xx, a recipient refused) fails the
mail at once and marks the address bounced; a temporary one (4xx, connection trouble) is
retried after ``retry_s``, doubled after every try, up to ``max_attempts``. A failed mail
leaves an internal note on its ticket. One mail at a time: the relay, not us, is where the
parallelism belongs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiosmtplib

from contactcenter.common.tasks import stop_gracefully
from contactcenter.domain.clock import Clock
from contactcenter.tickets.settings import SmtpSettings
from contactcenter.tickets.store import MailRecord, TicketStore

log = logging.getLogger(__name__)
IDLE_POLL_S = 60.0  # real seconds: a look at the outbox even when nobody woke the sender


class Outbox:
    """Sends queued mails (``wake()`` after queueing one)."""

    def __init__(self, store: TicketStore, settings: SmtpSettings, clock: Clock,
                 failed: Callable[[MailRecord, str, bool], Awaitable[None]],
                 helo_name: str = "localhost") -> None:
        self.store = store
        self.settings = settings
        # Our name in EHLO; aiosmtplib would otherwise ask socket.getfqdn(), a DNS lookup
        # that can stall the event loop for seconds.
        self.helo_name = helo_name
        self.clock = clock
        self.failed = failed
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.host)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="tickets-outbox")
        else:
            log.info("tickets: no tickets.smtp.host: replies are stored, not mailed")

    async def close(self) -> None:
        self._closing = True
        self._wake.set()  # a cancellation swallowed on the way still ends the loop
        await stop_gracefully(self._task)  # a pass in progress finishes its transaction
        self._task = None

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self.send_due()
            except Exception:
                log.exception("tickets: outbox pass failed")
            wait = IDLE_POLL_S
            next_at = await self._next_at()
            if next_at is not None:
                wait = min(wait, max(0.0, self.clock.real(next_at - self.clock.time())))
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that lands as the event is set, and close() then waited forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()

    async def _next_at(self) -> float | None:
        with contextlib.suppress(Exception):
            return await self.store.next_outbound_at()
        return None

    async def send_due(self) -> int:
        """Send every mail due now; returns how many went out."""
        sent = 0
        while True:
            due = await self.store.due_outbound(self.clock.time())
            if not due:
                return sent
            for mail in due:
                sent += await self._send(mail)

    async def _send(self, mail: MailRecord) -> int:
        s = self.settings
        try:
            await aiosmtplib.send(
                mail.raw, sender=mail.envelope_from, recipients=list(mail.envelope_to),
                hostname=s.host, port=s.port, username=s.username or None,
                password=s.password or None, start_tls=s.starttls, use_tls=s.tls,
                timeout=s.timeout_s, local_hostname=self.helo_name)
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPSenderRefused,
                aiosmtplib.SMTPDataError, aiosmtplib.SMTPResponseException) as exc:
            code = getattr(exc, "code", None)
            if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
                code = min((r.code for r in exc.recipients), default=550)
            await self._failed_try(mail, f"{type(exc).__name__}: {exc}",
                                   permanent=code is not None and code >= 500)
            return 0
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._failed_try(mail, f"{type(exc).__name__}: {exc}", permanent=False)
            return 0
        await self.store.outbound_done(mail.id, "sent", self.clock.time())
        return 1

    async def _failed_try(self, mail: MailRecord, error: str, *, permanent: bool) -> None:
        now = self.clock.time()
        attempts = mail.attempts + 1
        if permanent or attempts >= self.settings.max_attempts:
            log.warning("tickets: mail %d to %s failed: %s", mail.id, mail.peer, error)
            await self.store.outbound_done(mail.id, "failed", now, error)
            await self.failed(mail, error, permanent)
            return
        delay = self.settings.retry_s * 2 ** (attempts - 1)
        log.info("tickets: mail %d to %s: %s; next try in %.0f s", mail.id, mail.peer, error,
                 delay)
        await self.store.outbound_done(mail.id, "queued", now, error, next_try_at=now + delay)
