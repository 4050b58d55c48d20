"""Loop safety: is a received mail itself automatic (then it never gets an automatic answer),
is it a bounce, and may an address get one more automatic answer now. Pure.

Design note: RFC 3834 says a responder must not answer mail marked ``Auto-Submitted`` (any
value but ``no``), and should not answer list or bulk mail; real auto-responders also mark
themselves with ``X-Autoreply``, ``X-Autorespond``, ``X-Auto-Response-Suppress`` (Exchange)
or ``Precedence: bulk | junk | list | auto_reply``, and bounces come from the null sender
``<>`` or a ``MAILER-DAEMON`` / ``postmaster`` with a ``multipart/report``. Any one of these
is enough. A per-address budget of automatic answers is the last guard: two responders that
both ignore every header still stop after a handful of mails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contactcenter.tickets.mail.parse import ParsedMail

_DAEMONS = ("mailer-daemon@", "postmaster@", "mail-daemon@", "mailerdaemon@")


@dataclass(frozen=True, slots=True)
class Automation:
    """Why a mail is automatic (``reason`` None: a person wrote it)."""

    reason: str | None
    bounce: bool = False

    @property
    def automatic(self) -> bool:
        return self.reason is not None


def classify(mail: ParsedMail, envelope_from: str,
             own_addresses: Iterable[str] = ()) -> Automation:
    """Whether ``mail`` was sent by a machine, and whether it is a delivery failure report."""
    sender = mail.sender.email if mail.sender else ""
    null_sender = envelope_from.strip() in ("", "<>")
    daemon = sender.startswith(_DAEMONS) or envelope_from.lower().startswith(_DAEMONS)
    if mail.report is not None or (null_sender and daemon) or \
            (mail.content_type == "multipart/report" and (null_sender or daemon)):
        return Automation("delivery report", bounce=True)
    auto = mail.header("auto-submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return Automation(f"Auto-Submitted: {auto}")
    precedence = mail.header("precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return Automation(f"Precedence: {precedence}")
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        value = mail.header(name).strip().lower()
        if value and value not in ("no", "none"):
            return Automation(f"{name}: {value}")
    if mail.header("list-id") or mail.header("list-unsubscribe"):
        return Automation("mailing list")
    if null_sender or daemon:
        return Automation("null or daemon sender")
    own = {a.lower() for a in own_addresses}
    if sender and sender in own:
        return Automation("our own address")
    return Automation(None)


def may_auto_answer(sent_recently: int, limit: int) -> bool:
    """One more automatic answer to an address that got ``sent_recently`` in the window?"""
    return sent_recently < limit
