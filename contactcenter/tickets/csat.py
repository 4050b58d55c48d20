"""Customer satisfaction (CSAT): the survey mailed when a ticket is solved, its signed links,
and the one answer per ticket.

Design note.
* **The link is the login.** ``/rate/<token>`` needs no account: the token is the ticket's
  number and the moment the survey was made, signed with HMAC-SHA256 under
  ``tickets.csat.secret`` (``sign`` / ``verify``; compared in constant time). Nothing else of
  the ticket is in it or shown by the page but its number and subject.
* **A GET records nothing.** Mail security scanners open every link of a mail, so the five
  links (``?r=1`` .. ``?r=5``, 5 best) only open the page with that score preselected; the
  customer's submit (a POST, Origin checked) records it, with an optional comment.
* **One answer per ticket** (``ticket_ratings``, keyed by the ticket): the first submitted
  answer stands; a later submit, from the page or another link, changes nothing and is told
  so. A link is good for answering for ``answer_days`` after it was mailed. The answer is a
  row of the ticket's history (actor ``csat``).
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

RATINGS = (1, 2, 3, 4, 5)  # 5 best; 4 and 5 count as satisfied (docs/reports.md)
WORDS = {1: "Very unsatisfied", 2: "Unsatisfied", 3: "Neutral", 4: "Satisfied",
         5: "Very satisfied"}
COMMENT_MAX = 2000
DAY = 86400.0
_TOKEN = re.compile(r"^([0-9]{1,9})-([0-9]{1,12})-([A-Za-z0-9_-]{22,64})$")


class SurveyClosed(TicketError):
    """The link is older than the answer window."""

    status = 410


@dataclass(frozen=True, slots=True)
class Survey:
    """What a valid token says: which ticket, made when."""

    ticket_id: int
    issued_at: int


@dataclass(frozen=True, slots=True)
class Answer:
    """The one answer of a ticket's survey."""

    rating: int
    comment: str
    created_at: float


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
    """The survey page's address (``?r=1`` .. ``?r=5`` preselect a score; nothing is recorded
    until the page's form is sent)."""
    return f"{settings.public_url}/rate/{sign(settings.secret, ticket_id, issued_at)}"


def survey_text(settings: CsatSettings, row: TicketRow, now: float) -> str:
    """The survey mail's text: one link per score."""
    url = link(settings, row.id, now)
    lines = "".join(f"  {r} - {WORDS[r]}:  {url}?r={r}\n" for r in reversed(RATINGS))
    return (f"Your request #{row.id} \"{row.subject}\" has been solved.\n\n"
            f"How would you rate our support, from 1 to 5?\n\n{lines}\n"
            f"The page that opens lets you add a comment, then send your answer.\n")


def preselected(value: object) -> int | None:
    """The score a link's ``r`` names, None when it names none."""
    return int(value) if isinstance(value, str) and value in {str(r) for r in RATINGS} \
        else None


def clean_rating(rating: object, comment: object) -> tuple[int, str]:
    """A rating (1..5, as the form's text or a number) and an optional comment as stored."""
    score = preselected(rating) if isinstance(rating, str) else (
        rating if isinstance(rating, int) and not isinstance(rating, bool) else None)
    if score not in RATINGS:
        raise TicketError("the rating must be a whole number from 1 to 5")
    assert score is not None
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise TicketError("the comment must be text")
    comment = comment.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(comment) > COMMENT_MAX:
        raise TicketError(f"the comment is longer than {COMMENT_MAX} characters")
    return score, comment


def check_open(survey: Survey, settings: CsatSettings, now: float) -> None:
    """``SurveyClosed`` once the link is older than the answer window."""
    if now > survey.issued_at + settings.answer_days * DAY:
        raise SurveyClosed("this survey is closed")


def answer_of(row: TicketRatingRow | None) -> Answer | None:
    """The stored answer as a value."""
    return None if row is None else Answer(row.rating, row.comment, row.created_at)


def answer_in(s: AsyncSession, existing: TicketRatingRow | None, survey: Survey,
              settings: CsatSettings, rating: int, comment: str, now: float
              ) -> Change | None:
    """Store the one answer of ``survey``'s ticket; the history row to write, or None when
    the ticket was answered already (the first answer stands). ``SurveyClosed`` past the
    window."""
    if existing is not None:
        return None
    check_open(survey, settings, now)
    s.add(TicketRatingRow(ticket_id=survey.ticket_id, rating=rating, comment=comment,
                          created_at=now))
    return Change(survey.ticket_id, now, "csat", "csat", None,
                  {"rating": rating, "comment": comment})
