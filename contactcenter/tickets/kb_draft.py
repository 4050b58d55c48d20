"""A solved ticket as a knowledge-base draft: its subject, the customer's question and the
agent's answer, in markdown, for an editor to review before anyone reads it.

Design note: only the public thread goes in (internal notes stay between agents): the first
customer message is the question, the last public reply of an agent the answer. The draft
keeps a link back to the ticket (``origin``) and is a draft, so nobody but the knowledge
base's editors reads it until they publish it; what identifies the customer (names, numbers
in the text) is theirs to remove, which is why it never skips that step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contactcenter.tickets.model import (
    Article,
    Author,
    Status,
    Ticket,
    TicketConflict,
    Visibility,
)

DONE = (Status.SOLVED, Status.CLOSED)
MAX_PART = 20_000  # characters of the question and of the answer kept in the draft


@dataclass(frozen=True, slots=True)
class DraftText:
    """What the knowledge base is given: a title, a markdown body and the way back."""

    title: str
    body: str
    origin: str


def ticket_link(ticket_id: int) -> str:
    """The tickets page opened at this ticket."""
    return f"/tickets?id={ticket_id}"


def _quote(text: str) -> str:
    lines = text.strip()[:MAX_PART].splitlines() or [""]
    return "\n".join(f"> {line}".rstrip() for line in lines)


def draft_from(ticket: Ticket, thread: Sequence[Article]) -> DraftText:
    """The draft for a solved or closed ticket; a conflict (409) for any other, or when the
    thread has no question and answer to take."""
    if ticket.status not in DONE:
        raise TicketConflict("only a solved or closed ticket can become an article")
    public = [a for a in thread if a.visibility is Visibility.PUBLIC and a.body_text.strip()]
    question = next((a for a in public if a.author is Author.CUSTOMER), None)
    answer = next((a for a in reversed(public) if a.author is Author.AGENT), None)
    if question is None or answer is None:
        raise TicketConflict("the ticket has no customer question and agent reply to take")
    title = " ".join(ticket.subject.split())[:200] or f"Ticket {ticket.id}"
    body = (f"## Question\n\n{_quote(question.body_text)}\n\n"
            f"## Answer\n\n{answer.body_text.strip()[:MAX_PART]}\n")
    return DraftText(title, body, ticket_link(ticket.id))
