"""Email in and out over real SMTP on loopback: our aiosmtpd listener receives what smtplib
sends, and what we send lands on a test aiosmtpd relay the test reads."""

from __future__ import annotations

import asyncio
import base64
import smtplib

import pytest
from tickets_floor import SUPPORT, T, mail, tickets_floor

from contactcenter.tickets.store import TicketQuery


def number_of(subject: str) -> int:
    return int(subject.split("#", 1)[1].split("]", 1)[0])


async def until(check, what: str):
    """Wait for ``check()`` to be true (the outbox works in the background); only a hang
    fails on time."""
    async with asyncio.timeout(T):
        while not (found := await check()):
            await asyncio.sleep(0.02)
    assert found, what
    return found


async def test_a_mail_opens_a_ticket_the_reply_threads_back_and_the_agent_answer_goes_out(
        tmp_path):
    async with tickets_floor(tmp_path) as floor:
        alice = await floor.user("alice", "a1")
        await floor.send_mail(mail("Printer on fire", "My printer is on fire.\nPlease help.",
                                   message_id="<first@customer.test>"))

        # The acknowledgement: automatic (RFC 3834), threaded to the customer's mail.
        envelope, ack = await floor.relay.next()
        assert envelope.rcpt_tos == ["ann@customer.test"]
        assert envelope.mail_from == SUPPORT
        assert ack["Auto-Submitted"] == "auto-replied"
        assert ack["In-Reply-To"] == "<first@customer.test>"
        assert ack["Subject"].startswith("[Ticket#")
        number = number_of(ack["Subject"])
        await floor.settled()
        ticket = await floor.tickets.store.get(number)
        assert ticket.subject == "Printer on fire"
        assert ticket.requester.email == "ann@customer.test"
        # The queue engine gave it to the only agent logged in (push): assigned, open.
        assert (ticket.assignee, ticket.status.value) == ("a1", "open")

        # The customer answers the acknowledgement, quoting it under their own words.
        quoted = "\n".join("> " + line for line in ack.get_content().splitlines())
        await floor.send_mail(mail(
            "Re: " + ack["Subject"],
            f"It is still burning.\n\nOn Tue, 8 Dec 2026, Example Support <{SUPPORT}> wrote:"
            f"\n{quoted}\n", in_reply_to=ack["Message-ID"],
            message_id="<second@customer.test>"))
        articles = await floor.tickets.store.articles(number)
        assert [a.body_text for a in articles] == [
            "My printer is on fire.\nPlease help.", "It is still burning."]
        assert articles[1].message_id == "second@customer.test"
        outbound = await floor.tickets.store.mails(direction="out")
        assert [m.kind for m in outbound] == ["ack"]  # a reply to a ticket is not acknowledged

        # The agent answers and sets the ticket pending in one step; the mail goes out
        # threaded to the customer's last mail, by a person: no Auto-Submitted.
        await alice.call("POST", f"/api/tickets/{number}/replies",
                         {"text": "Unplug it, please.", "status": "pending"}, expect=201)
        envelope, answer = await floor.relay.next()
        assert envelope.rcpt_tos == ["ann@customer.test"]
        assert answer["Subject"] == f"[Ticket#{number}] Re: Printer on fire"
        assert answer["In-Reply-To"] == "<second@customer.test>"
        refs = str(answer["References"]).split()
        assert refs[0] == "<first@customer.test>" and refs[-1] == "<second@customer.test>"
        assert ack["Message-ID"] in refs
        assert answer["Auto-Submitted"] is None
        assert "Unplug it, please." in answer.get_content()

        # Another reply by the customer (subject only: their client dropped the headers)
        # lands on the same ticket and reopens it.
        await floor.send_mail(mail(f"RE: [Ticket#{number}] Re: Printer on fire",
                                   "Done, thanks.", message_id="<third@customer.test>"))
        shown = await alice.call("GET", f"/api/tickets/{number}")
        assert shown["ticket"]["status"] == "open"
        assert [a["body_text"] for a in shown["articles"]][-2:] == [
            "Unplug it, please.", "Done, thanks."]
        fields = [(h["actor"], h["field"]) for h in shown["history"]]
        assert fields[:3] == [("mail:ann@customer.test", "created"), ("routing", "assignee"),
                              ("routing", "status")]
        assert ("alice", "reply") in fields and ("alice", "status") in fields
        assert fields[-1] == ("mail:ann@customer.test", "status")

        # The same number typed by a stranger opens a new ticket: a number proves nothing.
        await floor.send_mail(mail(f"[Ticket#{number}] let me in", "hi",
                                   sender="mallory@evil.test"), sender="mallory@evil.test")
        mallory, total = await floor.tickets.store.query(
            TicketQuery(requester_email="mallory@evil.test"))
        assert total == 1 and mallory[0].id != number


async def test_automatic_mail_never_gets_an_automatic_answer_and_no_loop_forms(tmp_path):
    async with tickets_floor(tmp_path, auto_answers_per_sender=2) as floor:
        store = floor.tickets.store
        await floor.send_mail(mail("Out of office", "I am away.",
                                   headers={"Auto-Submitted": "auto-replied"}))
        await floor.send_mail(mail("Newsletter", "Buy now.", sender="news@shop.test",
                                   headers={"Precedence": "bulk"}), sender="news@shop.test")
        tickets, total = await store.query(_q())
        # Kept as tickets (never dropped), flagged, and not answered.
        assert total == 2
        for ticket in tickets:
            [article] = await store.articles(ticket.id)
            assert "automatic" in article.flags
        assert await store.mails(direction="out") == []

        # A person's mail is acknowledged; their auto-responder answers the acknowledgement:
        # that lands on the same ticket and gets nothing back.
        await floor.send_mail(mail("Help", "Hello?", sender="bob@customer.test"),
                              sender="bob@customer.test")
        _env, ack = await floor.relay.next()
        number = number_of(ack["Subject"])
        for _round in range(3):
            await floor.send_mail(mail(
                "Automatic reply: " + ack["Subject"], "I am on holiday.",
                sender="bob@customer.test", in_reply_to=ack["Message-ID"],
                headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}),
                sender="bob@customer.test")
        articles = await store.articles(number)
        assert [a.body_text for a in articles] == ["Hello?"] + ["I am on holiday."] * 3
        assert len(await store.mails(direction="out")) == 1
        assert (await store.get(number)).status.value == "new"  # automatic mail reopens nothing

        # A responder that marks nothing still stops at the per-address budget (2 here).
        for n in range(3):
            await floor.send_mail(mail(f"Question {n}", "?", sender="loop@robot.test"),
                                  sender="loop@robot.test")
        acks = [m for m in await store.mails(direction="out") if m.peer == "loop@robot.test"]
        assert len(acks) == 2


def _q() -> TicketQuery:
    return TicketQuery(limit=100)


ISO_MAIL = (
    b"From: =?iso-8859-1?q?Fran=E7ois_M=FCller?= <francois@customer.test>\r\n"
    b"To: support@example.com\r\nSubject: =?iso-8859-1?q?Facture_d=E9j=E0_pay=E9e?=\r\n"
    b"Message-ID: <latin1@customer.test>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"Le caf\xe9 co\xfbte 3 \xa4, d\xe9j\xe0 r\xe9gl\xe9.\r\n")
HTML_ONLY = (
    b"From: html@customer.test\r\nTo: support@example.com\r\nSubject: Fancy\r\n"
    b"Message-ID: <html@customer.test>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(
        b"<html><head><script>steal(document.cookie)</script><style>p{}</style></head><body>"
        b"<p onclick=\"evil()\">Hello <b>team</b></p><img src=x onerror=evil()>"
        b"<a href=\"javascript:evil()\">click</a> <a href=\"https://ok.test/\">docs</a>"
        b"<SCRIPT>evil()</SCRIPT></body></html>") + b"\r\n")
ALTERNATIVE_QP = (
    b"From: alt@customer.test\r\nTo: support@example.com\r\nSubject: Both\r\n"
    b"Message-ID: <alt@customer.test>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe, the plain part.\r\n"
    b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Gr\xc3\xbc\xc3\x9fe, the "
    b"<i>html</i> part.</p>\r\n--b1--\r\n")
MALFORMED = (
    b"From: \"Broken\r\n\tQuote <broken@customer.test>\r\nTo: support@example.com\r\n"
    b"Subject: =?unknown-8bit?B?!!!notbase64?= broken\r\nMessage-ID: <broken@customer.test>\r\n"
    b"Content-Type: multipart/mixed; boundary=\"never-there\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"This body has no boundary at all \xff\xfe and undecodable bytes.\r\n")
GARBAGE = b"\x00\x01\x02\x03 not a mail at all \xff\xfe\xfd\r\n\r\n\x00\r\n"


async def test_awkward_mime_all_becomes_tickets_read_right_and_sanitised(tmp_path):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        store = floor.tickets.store

        async def ticket_of(raw: bytes, sender: str):
            await floor.send_mail(raw, sender=sender)
            found, _ = await store.query(TicketQuery(requester_email=sender))
            [ticket] = found
            [article] = await store.articles(ticket.id)
            [kept] = await store.mails(direction="in", ticket_id=ticket.id)
            return ticket, article, kept

        ticket, article, _ = await ticket_of(ISO_MAIL, "francois@customer.test")
        assert ticket.subject == "Facture déjà payée"
        assert ticket.requester.name == "François Müller"
        assert article.body_text == "Le café coûte 3 ¤, déjà réglé."

        ticket, article, _ = await ticket_of(HTML_ONLY, "html@customer.test")
        assert "script" not in article.body_html.lower() and "evil" not in article.body_html
        assert "steal" not in article.body_html and "onclick" not in article.body_html
        assert '<a href="https://ok.test/" rel="noopener noreferrer">docs</a>' in \
            article.body_html
        assert article.body_text.splitlines()[0] == "Hello team"  # the text alternative made
        assert "steal" not in article.body_text and "evil" not in article.body_text

        ticket, article, _ = await ticket_of(ALTERNATIVE_QP, "alt@customer.test")
        assert article.body_text == "Grüße, the plain part."
        assert article.body_html == "<p>Grüße, the <i>html</i> part.</p>"

        # Malformed: kept as a ticket, flagged, and the raw mail kept byte for byte.
        ticket, article, kept = await ticket_of(MALFORMED, "broken@customer.test")
        assert "malformed" in article.flags and "malformed" in kept.flags
        assert kept.raw.replace(b"\r\n", b"\n") == MALFORMED.replace(b"\r\n", b"\n")
        assert "This body has no boundary at all" in article.body_text

        # Not a mail at all: a ticket from the envelope sender, its raw text, flagged.
        ticket, article, kept = await ticket_of(GARBAGE, "garbage@customer.test")
        assert "unparseable" in article.flags and "unparseable" in ticket.tags
        assert "not a mail at all" in article.body_text
        assert kept.raw.replace(b"\r\n", b"\n") == GARBAGE.replace(b"\r\n", b"\n")

        # A staff member can download any of them exactly as received.
        boss = await floor.user("boss", None, "supervisor")
        raw = await boss.call("GET", f"/api/tickets/{ticket.id}/mails/{kept.id}/raw")
        assert raw == kept.raw

        # The same mail delivered twice (a relay's retry) is filed once.
        await floor.send_mail(ISO_MAIL, sender="francois@customer.test")
        _found, total = await store.query(_q())
        assert total == 5


DSN = """From: Mail Delivery System <MAILER-DAEMON@relay.test>
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@relay.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r1"

--r1
Content-Type: text/plain

Your message could not be delivered.
--r1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.test

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--r1
Content-Type: text/rfc822-headers

From: support@example.com
To: {rcpt}
Subject: {subject}
Message-ID: {message_id}

--r1--
"""


async def test_bounces_mark_the_address_and_stop_mail_to_it(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        store = floor.tickets.store
        boss = await floor.user("boss", None, "supervisor")
        await floor.send_mail(mail("Hello", "Hi", sender="carol@gone.test"),
                              sender="carol@gone.test")
        _env, ack = await floor.relay.next()
        number = number_of(ack["Subject"])
        # The delivery report for our acknowledgement: no ticket of its own, a note on hers.
        await floor.send_mail(DSN.format(to=SUPPORT, rcpt="carol@gone.test",
                                         subject=ack["Subject"],
                                         message_id=ack["Message-ID"]).encode(), sender="")
        _tickets, total = await store.query(_q())
        assert total == 1
        address = await store.address("carol@gone.test")
        assert address["bounced_at"] is not None and "5.1.1" in address["last_status"]
        notes = [a for a in await store.articles(number) if a.visibility.value == "internal"]
        assert "carol@gone.test: 5.1.1" in notes[0].body_text
        # An agent's reply to that address is kept, not mailed.
        await boss.call("POST", f"/api/tickets/{number}/replies", {"text": "Still there?"},
                        expect=201)
        statuses = [(m.kind, m.status) for m in await store.mails(direction="out")]
        assert statuses == [("ack", "bounced"), ("reply", "suppressed")]

        # The relay refusing a recipient for good marks it bounced too, with a note.
        floor.relay.refuse.add("dave@gone.test")
        await floor.send_mail(mail("Hi", "there", sender="dave@gone.test"),
                              sender="dave@gone.test")
        dave = await until(lambda: store.address("dave@gone.test"), "dave bounced")
        assert "550" in dave["last_status"]
        [failed] = [m for m in await store.mails(direction="out") if m.peer == "dave@gone.test"]
        assert failed.status == "failed"
        notes = [a for a in await store.articles(failed.ticket_id) if "send-failed" in a.flags]
        assert len(notes) == 1


async def test_the_listener_speaks_lmtp_and_refuses_strangers(tmp_path):
    from contactcenter.tickets.settings import ListenerSettings

    lmtp = ListenerSettings(enabled=True, port=0, protocol="lmtp")
    async with tickets_floor(tmp_path / "lmtp", listener=lmtp, acknowledge=False) as floor:
        def deliver() -> dict:
            with smtplib.LMTP("127.0.0.1", floor.smtp_port) as client:
                return client.sendmail("ann@customer.test", [SUPPORT],
                                       mail("Via LMTP", "Hello").as_bytes())

        assert await asyncio.to_thread(deliver) == {}  # every recipient accepted
        [ticket], _ = await floor.tickets.store.query(_q())
        assert ticket.subject == "Via LMTP"

        def stranger() -> None:
            with smtplib.LMTP("127.0.0.1", floor.smtp_port) as client:
                client.sendmail("ann@customer.test", ["sales@elsewhere.test"],
                                b"Subject: x\r\n\r\nx")

        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await asyncio.to_thread(stranger)
        assert refused.value.recipients["sales@elsewhere.test"][0] == 550

    # Only the configured networks may deliver: loopback is not among these.
    closed = ListenerSettings(enabled=True, port=0, allowed_networks=["192.0.2.0/24"])
    async with tickets_floor(tmp_path / "closed", listener=closed) as floor:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused_sender:
            await floor.send_mail(mail("Let me in", "x"))
        assert refused_sender.value.smtp_code == 550
        assert (await floor.tickets.store.query(_q()))[1] == 0
