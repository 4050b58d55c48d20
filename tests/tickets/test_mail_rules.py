"""The pure email rules: quote stripping in the shapes real clients write, what counts as
automatic mail, the ticket number in subjects, HTML to text."""

from __future__ import annotations

import pytest

from contactcenter.tickets.mail.compose import reply_subject, ticket_number
from contactcenter.tickets.mail.html import html_to_text
from contactcenter.tickets.mail.loops import classify
from contactcenter.tickets.mail.parse import parse_mail
from contactcenter.tickets.mail.quotes import REPLY_MARKER, strip_quoted


@pytest.mark.parametrize("reply, kept", [
    # Gmail, attribution wrapped over two lines
    (("Works now.\n\nOn Mon, 7 Dec 2026 at 10:02, Example Support <support@example.com>\n"
      "wrote:\n> Try again.\n"), "Works now."),
    # French Outlook web
    ("Merci !\n\nLe lun. 7 déc. 2026 à 10:02, Support <s@example.com> a écrit :\n> Essayez.",
     "Merci !"),
    # Outlook desktop header block under a line of underscores
    (("Thanks\r\n\r\n________________________________\r\nFrom: Support <s@example.com>\r\n"
      "Sent: Monday, December 7, 2026 10:02\r\nTo: Ann\r\nSubject: RE: x\r\n\r\nTry again."),
     "Thanks"),
    ("See below\n-----Original Message-----\nFrom: s@example.com\nold text", "See below"),
    # Our own marker, quoted by a client that adds no attribution
    (f"New info\n\n> {REPLY_MARKER}\n> old", "New info"),
    # An answer written between the quoted lines keeps the quotes it answers
    ("> Which model?\nThe X200.\n> Since when?\nMonday.",
     "> Which model?\nThe X200.\n> Since when?\nMonday."),
    # Nothing of one's own: the whole text is kept rather than nothing
    ("> only a quote", "> only a quote"),
])
def test_quoted_text_is_cut_where_the_clients_put_it(reply, kept):
    assert strip_quoted(reply) == kept


def _mail(headers: str, envelope: str = "ann@customer.test"):
    raw = (f"From: Ann <ann@customer.test>\r\nSubject: x\r\n{headers}\r\n\r\nbody\r\n").encode()
    return classify(parse_mail(raw), envelope, ["support@example.com"])


@pytest.mark.parametrize("headers, envelope, automatic", [
    ("", "ann@customer.test", False),
    ("Auto-Submitted: no\r\n", "ann@customer.test", False),
    ("Auto-Submitted: auto-generated\r\n", "ann@customer.test", True),
    ("Auto-Submitted: auto-replied; owner-email=ann@customer.test\r\n", "x@y.test", True),
    ("Precedence: list\r\n", "ann@customer.test", True),
    ("Precedence: junk\r\n", "ann@customer.test", True),
    ("List-Id: <news.shop.test>\r\n", "ann@customer.test", True),
    ("X-Auto-Response-Suppress: OOF\r\n", "ann@customer.test", True),
    ("", "", True),  # the null sender: a bounce or another report
    ("", "MAILER-DAEMON@relay.test", True),
])
def test_automatic_mail_is_recognised_by_any_of_its_marks(headers, envelope, automatic):
    assert _mail(headers, envelope).automatic is automatic


def test_our_own_address_is_a_loop():
    raw = b"From: support@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    result = classify(parse_mail(raw), "support@example.com", ["support@example.com"])
    assert result.reason == "our own address"


def test_ticket_numbers_in_subjects():
    assert ticket_number("RE: AW: [Ticket#42] Re: Printer", "Ticket") == 42
    assert ticket_number("[ticket#7] lower case", "Ticket") == 7
    assert ticket_number("Ticket#42 without brackets", "Ticket") is None
    assert ticket_number("[Case#42]", "Ticket") is None
    assert reply_subject("Re: AW: [Ticket#42] Re: Printer", 42, "Ticket") == \
        "[Ticket#42] Re: Printer"
    assert reply_subject("", 5, "Ticket") == "[Ticket#5]"


def test_html_becomes_readable_text():
    html = ("<style>p{color:red}</style><p>Hello <b>there</b>,</p><ul><li>one</li>"
            "<li>two</li></ul><p>A&amp;B&nbsp;C</p><script>x()</script>")
    assert html_to_text(html) == "Hello there,\n\n- one\n- two\n\nA&B C"
