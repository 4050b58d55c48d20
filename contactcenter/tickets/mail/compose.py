"""Mails we send, and the ticket number in subjects. Pure.

Design note: every mail of a ticket carries the ticket number in its subject
(``[Ticket#42] Re: ...``) and threads by ``In-Reply-To`` / ``References`` to the mail it
answers, so the customer's client shows one conversation and the customer's reply comes back
to the same ticket whether their client keeps the headers or only the subject. Our automatic
mails (acknowledgements) carry ``Auto-Submitted: auto-replied`` (RFC 3834) and
``X-Auto-Response-Suppress: All`` (Exchange's out-of-office replies stay quiet), and are
never sent to mail that was itself automatic (``loops.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from contactcenter.tickets.mail.attached import OutgoingFile, attach
from contactcenter.tickets.mail.quotes import REPLY_MARKER

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|tr|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
MAX_REFERENCES = 20


def tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(r"\[" + re.escape(tag) + r"#(\d{1,10})\]", re.IGNORECASE)


def ticket_number(subject: str, tag: str) -> int | None:
    """The ticket number ``[Tag#N]`` in ``subject``, if any."""
    match = tag_pattern(tag).search(subject or "")
    return int(match.group(1)) if match else None


def reply_subject(subject: str, number: int, tag: str) -> str:
    """``[Tag#N] Re: subject`` (the tag once, one ``Re:``)."""
    bare = tag_pattern(tag).sub("", subject or "").strip()
    bare = _REPLY_PREFIX.sub("", bare).strip()
    return f"[{tag}#{number}] Re: {bare}" if bare else f"[{tag}#{number}]"


def references(thread: Sequence[str]) -> list[str]:
    """The References of a reply in ``thread`` (ids oldest first): the first and the latest."""
    ids = list(dict.fromkeys(i for i in thread if i))
    if len(ids) <= MAX_REFERENCES:
        return ids
    return [ids[0], *ids[-(MAX_REFERENCES - 1):]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One mail to send."""

    sender: str
    sender_name: str
    to: str
    to_name: str
    subject: str
    text: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False
    html: str | None = None
    cc: tuple[str, ...] = ()  # the ticket's followers on a reply to its requester
    files: tuple[OutgoingFile, ...] = ()  # multipart/mixed when any


def new_message_id(domain: str) -> str:
    """A fresh Message-ID on ``domain``, without the angle brackets."""
    return make_msgid(idstring="cc", domain=domain).strip("<>")


def _address(name: str, email: str) -> HeaderAddress:
    local, _, domain = email.partition("@")
    return HeaderAddress(display_name=" ".join(name.split())[:100], username=local,
                         domain=domain)


def compose(mail: Outgoing, message_id: str, now: float) -> EmailMessage:
    """The mail as it goes on the wire (UTF-8 text, quoted-printable where needed)."""
    msg = EmailMessage()
    msg["From"] = _address(mail.sender_name, mail.sender)
    msg["To"] = _address(mail.to_name, mail.to)
    if mail.cc:
        msg["Cc"] = tuple(_address("", a) for a in mail.cc)
    msg["Subject"] = " ".join(mail.subject.split())
    msg["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
    msg["Message-ID"] = f"<{message_id}>"
    if mail.in_reply_to:
        msg["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.references:
        msg["References"] = " ".join(f"<{r}>" for r in mail.references)
    if mail.automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    body = f"{REPLY_MARKER}\n\n{mail.text}"
    msg.set_content(body)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    attach(msg, mail.files)
    return msg
