"""Customer satisfaction (CSAT): the survey mailed when a ticket is solved, its signed links,
and the one answer per ticket.

Design note.
* **The link is the login.** ``/rate/<token>`` needs no account: the token is the ticket's
  number and the moment the survey was made, signed with HMAC-SHA256 under
  ``tickets.csat.secret`` (``sign`` / ``verify``; compared in constant time). Nothing else of
  the ticket is in it or shown by the page but its number and subject.
* **One answer per ticket** (``ticket_ratings``, keyed by the ticket): the customer clicks
  *good* or *bad* in the mail (the click records it), may add a comment on the page, and may
  change the answer, which replaces it in place, for ``change_days`` after first giving it; a
  link is good for answering for ``change_days`` after it was mailed. Every answer and change
  is a row of the ticket's history (actor ``csat``).
* **Sent once per solve, never to someone who answered**: solving a ticket of an email
  requester queues the survey (an automatic mail, ``Auto-Submitted``) in the same transaction
  as the status change; a ticket already rated gets no new survey when solved again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets.model import Change, TicketError
from contactcenter.tickets.settings import CsatSettings
from contactcenter.tickets.tables import TicketRatingRow, TicketRow

RATINGS = ("good", "bad")
COMMENT_MAX = 2000
DAY = 86400.0
_TOKEN = re.compile(r"^([0-9]{1,9})-([0-9]{1,12})-([A-Za-z0-9_-]{22,64})$")


class SurveyClosed(TicketError):
    """The link is older than the answer window, or the answer may no longer be changed."""

    status = 410


@dataclass(frozen=True, slots=True)
class Survey:
    """What a valid token says: which ticket, made when."""

    ticket_id: int
    issued_at: int


def _mac(secret: str, ticket_id: int, issued_at: int) -> str:
    digest = hmac.new(secret.encode(), f"csat:{ticket_id}:{issued_at}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: str, ticket_id: int, issued_at: float) -> str:
    """The token of ticket ``ticket_id``'s survey made at ``issued_at``."""
    issued = int(issued_at)
    return f"{ticket_id}-{issued}-{_mac(secret, ticket_id, issued)}"


def verify(secret: str, token: str) -> Survey | None:
    """The survey ``token`` stands for, or None when it is not one of ours."""
    m = _TOKEN.match(token)
    if m is None:
        return None
    ticket_id, issued = int(m.group(1)), int(m.group(2))
    if not hmac.compare_digest(m.group(3), _mac(secret, ticket_id, issued)):
        return None
    return Survey(ticket_id, issued)


def link(settings: CsatSettings, ticket_id: int, issued_at: float) -> str:
    """The survey page's address (``?r=good`` / ``?r=bad`` answer in one click)."""
    return f"{settings.public_url}/rate/{sign(settings.secret, ticket_id, issued_at)}"


def survey_text(settings: CsatSettings, row: TicketRow, now: float) -> str:
    """The survey mail's text: one link per answer."""
    url = link(settings, row.id, now)
    return (f"Your request #{row.id} \"{row.subject}\" has been solved.\n\n"
            f"How would you rate our support?\n\n"
            f"  Good, I'm satisfied:   {url}?r=good\n"
            f"  Bad, I'm unsatisfied:  {url}?r=bad\n\n"
            f"One click answers; you can add a comment on the page that opens.\n")


def clean_rating(rating: object, comment: object) -> tuple[str, str | None]:
    """A rating and an optional comment as stored (a comment of None: unchanged)."""
    if rating not in RATINGS:
        raise TicketError("the rating must be good or bad")
    if comment is None:
        return str(rating), None
    if not isinstance(comment, str):
        raise TicketError("the comment must be text")
    comment = comment.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(comment) > COMMENT_MAX:
        raise TicketError(f"the comment is longer than {COMMENT_MAX} characters")
    return str(rating), comment


def answer_in(s: AsyncSession, existing: TicketRatingRow | None, survey: Survey,
              settings: CsatSettings, rating: str, comment: str | None, now: float
              ) -> Change | None:
    """Store (or change) the one answer of ``survey``'s ticket; the history row to write,
    None when nothing changed. ``SurveyClosed`` past the windows."""
    window = settings.change_days * DAY
    if now > survey.issued_at + window:
        raise SurveyClosed("this survey is closed")
    if existing is None:
        s.add(TicketRatingRow(ticket_id=survey.ticket_id, rating=rating, comment=comment or "",
                              created_at=now, updated_at=now, changes=0))
        return Change(survey.ticket_id, now, "csat", "csat", None,
                      {"rating": rating, "comment": comment or ""})
    if now > existing.created_at + window:
        raise SurveyClosed("this answer can no longer be changed")
    new_comment = existing.comment if comment is None else comment
    if (rating, new_comment) == (existing.rating, existing.comment):
        return None
    old = {"rating": existing.rating, "comment": existing.comment}
    existing.rating, existing.comment = rating, new_comment
    existing.updated_at, existing.changes = now, existing.changes + 1
    return Change(survey.ticket_id, now, "csat", "csat", old,
                  {"rating": rating, "comment": new_comment})
