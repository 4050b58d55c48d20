"""IMAP polling: mail in a folder becomes tickets through the same Mailroom as SMTP mail.

Design note.
* One ``ImapPoller`` per ``tickets.imap`` entry, one task each, built on the leader only (in
  the tickets channel's start, like the SMTP listener).
* Exactly once: each message is fetched with ``BODY.PEEK[]`` (the fetch itself marks
  nothing) and filed by ``Mailroom.receive``, whose transaction also stores the folder's
  cursor (UIDVALIDITY, last UID; ``imap_sync.py``). A mail and its UID are committed together
  or not at all; only then is the mail marked ``\\Seen``, moved or deleted on the server. A
  crash between the commit and that step leaves the mail in the folder but below the cursor:
  the next session does the step again for every UID up to the cursor and files nothing twice.
* New mail is noticed by IDLE when the server offers it (and ``idle`` is on), else by polling
  every ``poll_s``; IDLE is renewed every ``poll_s`` too, so a silent server is noticed.
* A dropped connection or an error reconnects after ``retry_s``, doubled up to
  ``max_retry_s``. A refused login is logged as an error once per change of state and shown
  as ``auth-failed`` (``status()``, in ``/api/health`` under ``tickets_imap``); it is retried
  at the slow pace (``max_retry_s``), never in a tight loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.common.tasks import stop_gracefully
from contactcenter.domain.clock import Clock
from contactcenter.tickets.imap_sync import (
    Cursor,
    backoff,
    envelope_sender,
    fetched_message,
    mailbox_arg,
    plan,
    search_uids,
    uid_set,
    uidvalidity_of,
)
from contactcenter.tickets.inbound import Mailroom, ReceivedMail
from contactcenter.tickets.settings import ImapSettings, TicketSettings
from contactcenter.tickets.store import TicketStore
from contactcenter.tickets.tables import TicketImapCursorRow

log = logging.getLogger(__name__)
T = TypeVar("T")


class ImapError(Exception):
    """The server refused something we need (a folder, a command)."""


class ImapAuthError(ImapError):
    """The server refused the login: the settings are wrong, retrying fast will not help."""


@dataclass(frozen=True, slots=True)
class ImapStatus:
    """One poller's state for health and the API."""

    mailbox: str  # the settings' key: user@host:port/folder
    state: str  # "starting" | "connected" | "down" | "auth-failed" | "stopped"
    since: float
    imported: int
    reconnects: int
    last_error: str | None


async def load_cursor(s: AsyncSession, key: str) -> Cursor | None:
    """The stored cursor of a folder."""
    row = await s.get(TicketImapCursorRow, key)
    return Cursor(row.uidvalidity, row.last_uid) if row is not None else None


async def save_cursor(s: AsyncSession, key: str, cursor: Cursor, now: float) -> None:
    """Store a folder's cursor (in the caller's transaction)."""
    row = await s.get(TicketImapCursorRow, key, with_for_update=True)
    if row is None:
        s.add(TicketImapCursorRow(mailbox=key, uidvalidity=cursor.uidvalidity,
                                  last_uid=cursor.last_uid, updated_at=now))
    else:
        row.uidvalidity, row.last_uid, row.updated_at = (cursor.uidvalidity, cursor.last_uid,
                                                         now)


class ConnectionLost(Exception):
    """The IMAP connection closed under us."""


class ImapPoller:
    """Imports one IMAP folder into tickets (see the module's note)."""

    def __init__(self, settings: ImapSettings, tickets: TicketSettings, mailroom: Mailroom,
                 store: TicketStore, clock: Clock) -> None:
        self.settings = settings
        self.mailroom = mailroom
        self.store = store
        self.clock = clock
        box = tickets.mailbox(settings.mailbox) if settings.mailbox else None
        box = box or (tickets.mailboxes[0] if tickets.mailboxes else None)
        self.recipients = (box.address,) if box else ()
        self.state = "starting"
        self.since = clock.time()
        self.imported = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None

    def status(self) -> ImapStatus:
        """This poller's state now."""
        return ImapStatus(self.settings.key, self.state, self.since, self.imported,
                          self.reconnects, self.last_error)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"tickets-imap {self.settings.key}")

    async def close(self) -> None:
        self._closing = True
        self._stop.set()
        await stop_gracefully(self._task)  # an import in progress finishes its transaction
        self._task = None
        self._drop()
        self._set_state("stopped", None)

    # ------------------------------------------------------------------ the loop
    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except ImapAuthError as exc:
                failures += 1
                if self.state != "auth-failed":
                    log.error("tickets: IMAP %s: login refused (%s); check tickets.imap "
                              "username and password. Retrying every %.0f s",
                              self.settings.key, exc, self.settings.max_retry_s)
                self._set_state("auth-failed", str(exc))
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect later
                if self._closing:
                    break
                # A session that had worked starts the backoff afresh.
                failures = 1 if self.state == "connected" else failures + 1
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if self.state != "down" or error != self.last_error:
                    log.warning("tickets: IMAP %s: %s; reconnecting", self.settings.key, error)
                self._set_state("down", error)
            finally:
                self._drop()
            if self._closing:
                break
            self.reconnects += 1
            delay = (self.settings.max_retry_s if self.state == "auth-failed"
                     else backoff(failures, self.settings.retry_s, self.settings.max_retry_s))
            await self._pause(delay)

    async def _session(self) -> None:
        s = self.settings
        lost = self._lost = asyncio.Event()
        context = ssl.create_default_context() if s.tls != "none" else None
        client = aioimaplib.IMAP4(
            s.host, s.server_port, timeout=s.timeout_s,
            ssl_context=context if s.tls == "tls" else None,
            conn_lost_cb=lambda _exc: lost.set())
        self._client = client
        await self._io(client.wait_hello_from_server())
        if s.tls == "starttls":
            await self._starttls(client, context)
        answer = await self._io(client.login(s.username, s.password))
        if answer.result != "OK":
            raise ImapAuthError(_text(answer.lines) or answer.result)
        if s.after == "move":
            await self._io(client.create(mailbox_arg(s.move_to)))  # NO when it exists: fine
        answer = await self._io(client.select(mailbox_arg(s.folder)))
        if answer.result != "OK":
            raise ImapError(f"folder {s.folder!r}: {_text(answer.lines) or answer.result}")
        uidvalidity = uidvalidity_of(answer.lines)
        if uidvalidity is None:
            raise ImapError("the server gave no UIDVALIDITY")
        self._set_state("connected", None)
        log.info("tickets: IMAP %s connected", s.key)
        first = True
        while not self._closing:
            imported = await self._poll(client, uidvalidity)
            if imported or first:
                await self._after_import(client)
            first = False
            await self._wait(client)

    async def _starttls(self, client: aioimaplib.IMAP4,
                        context: ssl.SSLContext | None) -> None:
        # aioimaplib has no STARTTLS: upgrade its transport in place, then ask again what the
        # server offers (RFC 3501: capabilities learned before TLS must be forgotten).
        protocol = client.protocol
        context = context or ssl.create_default_context()
        answer = await self._io(protocol.simple_command("STARTTLS"))
        if answer.result != "OK":
            raise ImapError(f"STARTTLS refused: {_text(answer.lines)}")
        loop = asyncio.get_running_loop()
        protocol.transport = await self._io(loop.start_tls(
            protocol.transport, protocol, context, server_hostname=self.settings.host))
        await self._io(protocol.capability())

    async def _poll(self, client: aioimaplib.IMAP4, uidvalidity: int) -> int:
        """File every new message; returns how many."""
        s = self.settings
        async with self.store.session() as db:
            stored = await load_cursor(db, s.key)
        search = plan(stored, uidvalidity, marks_seen=s.after == "seen")
        if search.reset:
            if stored is not None:
                log.warning("tickets: IMAP %s: UIDVALIDITY changed (%d -> %d); importing "
                            "again, known mails are recognised by Message-ID", s.key,
                            stored.uidvalidity, uidvalidity)
            async with self.store.session() as db, db.begin():
                await save_cursor(db, s.key, Cursor(uidvalidity, 0), self.clock.time())
        await self._io(client.noop())  # lets the server report mail that arrived meanwhile
        answer = await self._io(client.uid_search(*search.criteria(), charset=None))
        if answer.result != "OK":
            raise ImapError(f"UID SEARCH: {_text(answer.lines)}")
        count = 0
        for uid in search_uids(answer.lines, search.after):
            fetched = await self._io(client.uid("fetch", str(uid), "(UID BODY.PEEK[])"))
            raw = fetched_message(fetched.lines) if fetched.result == "OK" else None
            cursor = Cursor(uidvalidity, uid)

            async def also(db: AsyncSession, cursor: Cursor = cursor) -> None:
                await save_cursor(db, s.key, cursor, self.clock.time())

            if raw is None:  # expunged since the search: nothing to file, move on past it
                async with self.store.session() as db, db.begin():
                    await also(db)
                continue
            outcome = await self.mailroom.receive(
                ReceivedMail(envelope_sender(raw), self.recipients, raw, f"imap:{s.host}"),
                also=also)
            log.info("tickets: IMAP %s UID %d: %s%s", s.key, uid, outcome.status,
                     f" #{outcome.ticket_id}" if outcome.ticket_id else "")
            self.imported += 1
            count += 1
        return count

    async def _after_import(self, client: aioimaplib.IMAP4) -> None:
        """Mark, move or delete every imported message still in the folder."""
        s = self.settings
        async with self.store.session() as db:
            stored = await load_cursor(db, s.key)
        if stored is None or stored.last_uid == 0:
            return
        uids = uid_set(stored.last_uid)
        if s.after == "seen":
            await self._ok(client.uid("store", uids, "+FLAGS.SILENT", r"(\Seen)"), "STORE")
            return
        if s.after == "move" and client.has_capability("MOVE"):
            await self._ok(client.uid("move", uids, mailbox_arg(s.move_to)), "MOVE")
            return
        if s.after == "move":
            await self._ok(client.uid("copy", uids, mailbox_arg(s.move_to)), "COPY")
        await self._ok(client.uid("store", uids, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        if client.has_capability("UIDPLUS"):
            await self._ok(client.uid("expunge", uids), "UID EXPUNGE")
        else:  # also removes what others marked deleted in this folder
            await self._ok(client.expunge(), "EXPUNGE")

    async def _wait(self, client: aioimaplib.IMAP4) -> None:
        """Until new mail may be there: an IDLE push, ``poll_s``, or the stop."""
        s = self.settings
        if not (s.idle and client.has_capability("IDLE")):
            await self._pause(s.poll_s)
            if self._lost.is_set():
                raise ConnectionLost("connection lost")
            return
        idle = await self._io(client.idle_start(timeout=self.clock.real(s.poll_s)))
        push = asyncio.ensure_future(
            client.wait_server_push(timeout=self.clock.real(s.poll_s) + s.timeout_s))
        stop = asyncio.ensure_future(self._stop.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({push, stop, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (push, stop, lost):
                waiter.cancel()
        if self._lost.is_set():
            idle.cancel()
            raise ConnectionLost("connection lost")
        client.idle_done()
        await self._io(asyncio.wait_for(idle, s.timeout_s))

    # ------------------------------------------------------------------ helpers
    async def _io(self, step: Awaitable[T]) -> T:
        """``step`` unless the connection drops or we stop first (aioimaplib would wait its
        timeout). Only IMAP steps are cut short: filing a mail is never inside one."""
        task = asyncio.ensure_future(step)
        lost = asyncio.ensure_future(self._lost.wait())
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, lost, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise ConnectionLost("stopping" if self._stop.is_set() else "connection lost")
        return task.result()

    async def _ok(self, step: Awaitable[Any], what: str) -> None:
        # A refused marking is logged, not a reason to reconnect: the mail is filed and below
        # the cursor; the step is tried again after the next import or session.
        answer = await self._io(step)
        if answer.result != "OK":
            log.warning("tickets: IMAP %s: %s refused after import: %s", self.settings.key,
                        what, _text(answer.lines) or answer.result)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.clock.real(seconds)):
                await self._stop.wait()

    def _set_state(self, state: str, error: str | None) -> None:
        if state != self.state:
            self.since = self.clock.time()
        self.state, self.last_error = state, error

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()  # no LOGOUT: a stop must not wait on a server that went quiet
        waiter = getattr(client, "_idle_waiter", None)  # IDLE's renewal timer
        if waiter is not None:
            waiter.cancel()
        for task in list(client.tasks) + list(client.protocol.tasks):
            task.cancel()


def _text(lines: list[Any]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines
                    if isinstance(line, bytes))[:300]
