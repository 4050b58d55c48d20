"""IMAP polling against a real Dovecot on loopback (``imap_dovecot.py``; skipped without
``/usr/sbin/dovecot``, which ``.ci/run`` installs): mail appended to the folder becomes tickets
exactly once, across a restart of our server and a dropped IMAP connection, and a reply
threads onto its ticket."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp
import pytest
from imap_dovecot import DOVECOT, PASSWORD, USER, Dovecot
from tickets_floor import AGENTS, QUEUES, SUPPORT, T, mail, tickets_floor

from contactcenter.domain.clock import Clock
from contactcenter.routing.config_loader import load_routing_config_text
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService
from contactcenter.tickets.imap import load_cursor, save_cursor
from contactcenter.tickets.imap_sync import (
    Cursor,
    backoff,
    envelope_sender,
    fetched_message,
    mailbox_arg,
    plan,
    search_uids,
    uidvalidity_of,
)
from contactcenter.tickets.inbound import Mailroom, ReceivedMail
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.settings import ImapSettings, MailboxSettings, TicketSettings
from contactcenter.tickets.store import TicketQuery, TicketStore


def imap(dovecot: Dovecot, **kwargs: Any) -> list[ImapSettings]:
    base: dict[str, Any] = {"host": "127.0.0.1", "port": dovecot.port, "tls": "none",
                            "username": USER, "password": PASSWORD, "poll_s": 2,
                            "retry_s": 0.05, "max_retry_s": 0.2, "timeout_s": 5}
    return [ImapSettings(**{**base, **kwargs})]


@pytest.fixture
async def dovecot(tmp_path):
    if not os.path.exists(DOVECOT):
        pytest.skip(f"{DOVECOT} is missing (apt-get install dovecot-imapd)")
    server = Dovecot(tmp_path / "dovecot")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        server.remove()


async def until(check, what: str) -> Any:
    """Wait for ``check()`` to be true; only a hang fails on time."""
    try:
        async with asyncio.timeout(T):
            while not (found := await check()):
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
    return found


async def subjects(floor) -> list[str]:
    found, _ = await floor.tickets.store.query(TicketQuery(limit=100))
    return sorted(t.subject for t in found)


async def inbound(floor) -> list[Any]:
    return await floor.tickets.store.mails(direction="in")


async def imported(floor, n: int) -> list[Any]:
    async def check():
        mails = await inbound(floor)
        return mails if len(mails) >= n else None
    return await until(check, f"{n} mails filed")


def raw(subject: str, message_id: str | None = None, **kw: Any) -> bytes:
    return mail(subject, f"About {subject}.", message_id=message_id, **kw).as_bytes()


async def test_appended_mails_become_tickets_once_are_marked_seen_and_replies_thread(
        tmp_path, dovecot):
    await dovecot.append(raw("Printer on fire", "<p1@customer.test>"))
    await dovecot.append(raw("Login broken"))
    async with tickets_floor(tmp_path, imap=imap(dovecot)) as floor:
        await imported(floor, 2)
        assert await subjects(floor) == ["Login broken", "Printer on fire"]
        # Arrives while the poller waits in IDLE: the push brings it in.
        await dovecot.append(raw("Invoice wrong"))
        await imported(floor, 3)
        # A reply by IMAP joins the ticket of the mail it answers.
        await dovecot.append(raw("Re: Printer on fire", "<p2@customer.test>",
                                 in_reply_to="<p1@customer.test>"))
        mails = await imported(floor, 4)
        assert await subjects(floor) == ["Invoice wrong", "Login broken", "Printer on fire"]
        first = next(m for m in mails if m.message_id == "p1@customer.test")
        reply = next(m for m in mails if m.message_id == "p2@customer.test")
        assert reply.ticket_id == first.ticket_id
        articles = await floor.tickets.store.articles(first.ticket_id)
        assert [a.message_id for a in articles if a.author.value == "customer"] == [
            "p1@customer.test", "p2@customer.test"]
        # The same path as SMTP mail: the mailbox's queue, the acknowledgement out.
        ticket = await floor.tickets.store.get(first.ticket_id)
        assert (ticket.queue, ticket.origin.value, ticket.mailbox) == (
            "email", "email", "support@example.com")
        _, ack = await floor.relay.next()
        assert ack["Auto-Submitted"] == "auto-replied"
        await until(lambda: _all_seen(dovecot, 4), "every imported mail marked \\Seen")
        status = floor.tickets.imap_status()
        assert [(s.state, s.imported) for s in status] == [("connected", 4)]
    assert len({m.id for m in mails}) == 4


async def _all_seen(dovecot: Dovecot, n: int) -> bool:
    flags = await dovecot.flags()
    return len(flags) == n and all("\\Seen" in f for f in flags.values())


async def test_a_restart_imports_only_what_is_new_even_when_the_marking_was_lost(
        tmp_path, dovecot):
    first = await dovecot.append(raw("One", "<one@customer.test>"))
    await dovecot.append(raw("Two"))  # no Message-ID dedupe to lean on: the cursor must hold
    settings = imap(dovecot)
    async with tickets_floor(tmp_path, imap=settings) as floor:
        await imported(floor, 2)
        await until(lambda: _all_seen(dovecot, 2), "both marked \\Seen")
    # As if we had stopped between filing a mail and marking it: still unseen on the server.
    await dovecot.unsee(first)
    await dovecot.append(raw("Three"))
    await dovecot.append(raw("Four"))
    async with tickets_floor(tmp_path, imap=settings) as floor:
        await imported(floor, 4)
        await until(lambda: _all_seen(dovecot, 4), "all four marked \\Seen")
        assert await subjects(floor) == ["Four", "One", "Three", "Two"]
        assert len(await inbound(floor)) == 4


async def test_a_dropped_connection_reconnects_and_loses_or_repeats_nothing(tmp_path, dovecot):
    await dovecot.append(raw("Before"))
    async with tickets_floor(tmp_path, imap=imap(dovecot)) as floor:
        await imported(floor, 1)
        poller = floor.tickets.imap[0]
        await dovecot.stop()  # Dovecot closes our connection
        await until(_async(lambda: poller.state == "down"), "the poller to see the drop")
        await dovecot.start()
        await dovecot.append(raw("After"))
        await imported(floor, 2)
        assert poller.state == "connected" and poller.reconnects >= 1
        await dovecot.append(raw("Later"))  # the new session is live, not a one-off poll
        await imported(floor, 3)
        assert await subjects(floor) == ["After", "Before", "Later"]
        assert len(await inbound(floor)) == 3


@pytest.mark.parametrize("after", ["move", "delete"])
async def test_imported_mail_can_be_moved_or_deleted(tmp_path, dovecot, after):
    await dovecot.append(raw("Taken away"))
    async with tickets_floor(tmp_path, imap=imap(dovecot, after=after,
                                                  move_to="Imported")) as floor:
        await imported(floor, 1)
        await until(lambda: _gone(dovecot, after, 1), f"the mail {after}d")
        await dovecot.append(raw("Taken too"))
        await imported(floor, 2)
        await until(lambda: _gone(dovecot, after, 2), f"the second mail {after}d too")
        assert len(await inbound(floor)) == 2


async def test_a_wrong_password_is_a_state_and_an_error_not_a_crash(tmp_path, dovecot, caplog):
    # Alone on its Dovecot: a refused login slows the next logins from the same address.
    boxes = imap(dovecot, username="nobody-here", password="wrong", max_retry_s=60)
    async with tickets_floor(tmp_path, imap=boxes) as floor:
        (bad,) = floor.tickets.imap
        await until(_async(lambda: bad.state == "auth-failed"), "the refused login shown")
        assert "Authentication failed" in (bad.last_error or "")
        async with aiohttp.ClientSession() as http, http.get(f"{floor.url}/api/health") as r:
            health = await r.json()
        assert health["status"] == "degraded"
        assert [(b["mailbox"], b["state"]) for b in health["tickets_imap"]] == [
            (f"nobody-here@127.0.0.1:{dovecot.port}/INBOX", "auth-failed")]
        assert any(r.levelname == "ERROR" and "login refused" in r.getMessage()
                   for r in caplog.records)
        assert await inbound(floor) == []


async def _gone(dovecot: Dovecot, after: str, n: int) -> bool:
    if await dovecot.flags():
        return False
    return after == "delete" or len(await dovecot.flags("Imported")) == n


def _async(check):
    async def run() -> bool:
        return bool(check())
    return run


# ---------------------------------------------------------------------- without a server
@pytest.mark.parametrize(("stored", "marks_seen", "criteria", "reset"), [
    (None, True, ("UNSEEN", "UID", "1:*"), True),  # first run: what was read is not ours
    (None, False, ("UID", "1:*"), True),
    (Cursor(7, 41), True, ("UID", "42:*"), False),
    (Cursor(6, 41), False, ("UID", "1:*"), True),  # a rebuilt folder: UIDs start over
])
def test_the_search_follows_the_stored_cursor(stored, marks_seen, criteria, reset):
    found = plan(stored, 7, marks_seen=marks_seen)
    assert (found.criteria(), found.reset) == (criteria, reset)


def test_answers_are_read_from_real_dovecot_lines():
    select = [b"3 EXISTS", b"OK [UNSEEN 1] First unseen.",
              b"OK [UIDVALIDITY 1796631313] UIDs valid", b"[READ-WRITE] Select completed."]
    assert uidvalidity_of(select) == 1796631313
    assert uidvalidity_of([b"Select completed."]) is None
    # "N:*" answers the highest UID even below N.
    assert search_uids([b"2 3", b"Search completed (0.001 + 0.000 secs)."], 1) == [2, 3]
    assert search_uids([b"3", b"Search completed."], 8) == []
    assert search_uids([b"SEARCH 5 4", b"done"], 0) == [4, 5]
    body = bytearray(b"Subject: hi\r\n\r\nbody\r\n")
    assert fetched_message([b"2 FETCH (UID 2 BODY[] {23}", body, b")", b"done"]) == bytes(body)
    assert fetched_message([b"Fetch completed."]) is None
    assert envelope_sender(b"Return-Path: <>\r\nFrom: a@b.test\r\n\r\nx") == ""
    assert envelope_sender(b"Return-Path: <bob@x.test>\nFrom: a@b.test\n\nx") == "bob@x.test"
    assert envelope_sender(b"From: Ann <ann@x.test>\r\n\r\nReturn-Path: <z@z>") == "ann@x.test"
    assert [backoff(n, 0.5, 10) for n in (1, 2, 3, 6, 99)] == [0.5, 1, 2, 10, 10]
    assert [mailbox_arg(n) for n in ("INBOX", "Support/Done", 'My "Box"')] == [
        "INBOX", "Support/Done", '"My \\"Box\\""']


async def test_a_mail_and_its_uid_are_stored_together_on_each_database(database):
    clock = Clock()
    routing = RoutingService(load_routing_config_text(QUEUES.format(ring=30),
                                                      AGENTS.format(capacity=1)),
                             clock, InteractionLog(database))
    await routing.start()
    settings = TicketSettings(queue="email", mailboxes=[
        MailboxSettings(address=SUPPORT, name="Support", queue="email")])
    store = TicketStore(database)
    room = Mailroom(TicketService(settings, store, clock))
    key = "support@imap.test:993/INBOX"
    anonymous = mail("No Message-ID", "Hello.")
    del anonymous["Message-ID"]  # nothing to recognise a second copy by
    received = ReceivedMail("ann@customer.test", (SUPPORT,), anonymous.as_bytes())

    async def save(s, uid=1) -> None:
        await save_cursor(s, key, Cursor(7, uid), clock.time())

    async def save_then_fail(s) -> None:
        await save(s)
        raise RuntimeError("the database went away")

    try:
        # Whatever fails in the transaction, neither the mail nor its UID is kept: the next
        # poll fetches it again and files it once.
        with pytest.raises(RuntimeError):
            await room.receive(received, also=save_then_fail)
        assert await store.mails(direction="in") == []
        async with store.session() as s:
            assert await load_cursor(s, key) is None
        outcome = await room.receive(received, also=save)
        assert outcome.status == "new-ticket"
        async with store.session() as s:
            assert await load_cursor(s, key) == Cursor(7, 1)
        await room.receive(ReceivedMail("ann@customer.test", (SUPPORT,), mail(
            "Second", "Hi.").as_bytes()), also=lambda s: save(s, 2))
        async with store.session() as s:
            assert await load_cursor(s, key) == Cursor(7, 2)
        assert len(await store.mails(direction="in")) == 2
    finally:
        await routing.stop()


def test_settings_refuse_what_cannot_work():
    ok = ImapSettings(host="imap.example.com", username="support")
    assert (ok.server_port, ok.key) == (993, "support@imap.example.com:993/INBOX")
    assert ImapSettings(host="h", username="u", tls="starttls").server_port == 143
    for bad, words in [({"tls": "ssl"}, "tls must be"), ({"after": "move"}, "move_to"),
                       ({"password": "a\r\nb"}, "line breaks"), ({"host": ""}, "host"),
                       ({"retry_s": 10, "max_retry_s": 5}, "retry_s"),
                       ({"mailbox": "nobody"}, "not a mail address")]:
        with pytest.raises(ValueError, match=words):
            ImapSettings(**{"host": "h", "username": "u", **bad})
    with pytest.raises(ValueError, match="twice"):
        TicketSettings(imap=[ok, ok])
