"""Tickets as values: statuses and the transitions between them, priorities, origins, tags,
articles (public replies, internal notes, the customer's messages) and history entries.

Design note: the status rules are one table (``TRANSITIONS``) that the service, the API and
the page all read; a change the table has no row for is refused with the reason, never
applied halfway. ``closed`` is final: a customer writing about a closed ticket opens a
follow-up ticket that links to it (as Zendesk and FreeScout do), so what was closed stays as
it was reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contactcenter.tickets.sla import SlaClocks

SUBJECT_MAX = 250
BODY_MAX = 200_000  # characters of one article's text: a long mail thread, not a book
TAGS_MAX = 20
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}$")


class TicketError(Exception):
    """A request on tickets that cannot be served; ``status`` is the HTTP status saying why."""

    status = 400


class TicketNotFound(TicketError):
    status = 404


class TicketForbidden(TicketError):
    status = 403


class TicketConflict(TicketError):
    status = 409


class TicketUnprocessable(TicketError):
    """Of the declared form, but with content that cannot be used."""

    status = 422


class Status(StrEnum):
    """Where a ticket stands. Only ``new`` and ``open`` wait for an agent."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    ON_HOLD = "on-hold"  # waiting on a third party
    SOLVED = "solved"
    CLOSED = "closed"


S = Status
# Every allowed change of status. Reopening is "solved -> open"; "new" is never re-entered
# (a ticket somebody looked at is not new); "closed" is final.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED}),
    S.SOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
# Statuses in which the ticket waits for an agent: routed by the queue engine when unassigned.
ACTIVE = frozenset({S.NEW, S.OPEN})
# Statuses in which its SLA clocks stand still (waiting on the customer, or done).
SLA_PAUSED = frozenset({S.PENDING, S.SOLVED, S.CLOSED})
# What a message from the customer does to a ticket's status (closed: a follow-up instead).
ON_CUSTOMER_REPLY: dict[Status, Status] = {
    S.NEW: S.NEW, S.OPEN: S.OPEN, S.PENDING: S.OPEN, S.ON_HOLD: S.OPEN, S.SOLVED: S.OPEN,
}


def check_transition(old: Status, new: Status) -> None:
    """Refuse a change of status the table does not allow (``TicketConflict``)."""
    if old == new:
        return
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "nothing: it is final"
        raise TicketConflict(f"a {old.value} ticket cannot become {new.value} "
                             f"(it may become {allowed})")


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def routing(self) -> int:
        """The queue engine's priority (higher is served first)."""
        return {"low": -10, "normal": 0, "high": 10, "urgent": 20}[self.value]


class Origin(StrEnum):
    """Where a ticket came from."""

    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    VOICEMAIL = "voicemail"
    CALL = "call"
    API = "api"


class Visibility(StrEnum):
    PUBLIC = "public"  # the customer sees it (an email goes out for an email ticket)
    INTERNAL = "internal"  # a note between agents


class Author(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


def clean_line(value: Any, what: str, max_len: int, *, required: bool = False) -> str:
    """One line of text: control characters refused, trimmed, at most ``max_len``."""
    if not isinstance(value, str):
        raise TicketError(f"{what} must be a string")
    value = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise TicketError(f"{what} must be one line without control characters")
    if len(value) > max_len:
        raise TicketError(f"{what} is longer than {max_len} characters")
    if required and not value:
        raise TicketError(f"{what} is required")
    return value


def clean_subject(value: Any) -> str:
    """A subject as stored: one line (a mail's folded or control characters made spaces)."""
    if isinstance(value, str):
        value = " ".join(value.replace("\x00", " ").split())
    return clean_line(value, "subject", SUBJECT_MAX) or "(no subject)"


def clean_body(value: Any) -> str:
    """An article's text: NUL refused (PostgreSQL cannot store it), at most ``BODY_MAX``."""
    if not isinstance(value, str):
        raise TicketError("body must be a string")
    if "\x00" in value:
        raise TicketError("body contains NUL")
    if len(value) > BODY_MAX:
        raise TicketError(f"body is longer than {BODY_MAX} characters")
    return value


def clean_tags(values: Any) -> tuple[str, ...]:
    """Tags: lowercase words (``a-z0-9_-``), at most ``TAGS_MAX``, sorted, no duplicates."""
    if not isinstance(values, (list, tuple)):
        raise TicketError("tags must be a list")
    if any(not isinstance(v, str) for v in values):
        raise TicketError("tags must be strings")
    out = sorted({v.strip().lower() for v in values})
    bad = [t for t in out if not _TAG.match(t)]
    if bad:
        raise TicketError(f"tag {bad[0]!r} must be a-z, 0-9, '_' or '-', at most 32 characters")
    if len(out) > TAGS_MAX:
        raise TicketError(f"at most {TAGS_MAX} tags")
    return tuple(out)


def clean_email(value: Any) -> str:
    """An address as stored and compared: lowercase, one ``local@domain``."""
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise TicketError(f"{value!r} is not an email address")
    return value.strip().lower()


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked: an email address and/or a phone, a name, and the customer record when one
    matches (the one the IVR lookup and the chat use)."""

    email: str | None = None
    name: str = ""
    phone: str | None = None
    customer_id: int | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket as the rest of the server sees it."""

    id: int
    subject: str
    status: Status
    priority: Priority
    origin: Origin
    queue: str
    requester: Requester
    tags: tuple[str, ...] = ()
    skills: Mapping[str, int] = field(default_factory=dict)
    assignee: str | None = None
    interaction_id: str | None = None
    routing_round: int = 0
    follow_up_of: int | None = None
    mailbox: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    created_by: str = ""
    sla: SlaClocks = field(default_factory=SlaClocks)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "subject": self.subject, "status": self.status.value,
            "priority": self.priority.value, "origin": self.origin.value, "queue": self.queue,
            "requester": {"email": self.requester.email, "name": self.requester.name,
                          "phone": self.requester.phone,
                          "customer_id": self.requester.customer_id},
            "tags": list(self.tags), "skills": dict(self.skills), "assignee": self.assignee,
            "routing": self.interaction_id is not None, "follow_up_of": self.follow_up_of,
            "mailbox": self.mailbox,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "created_by": self.created_by,
            "sla": None if self.sla.policy is None else {
                "policy": self.sla.policy, "first_response_due": self.sla.first_response_due,
                "first_response_at": self.sla.first_response_at,
                "next_response_due": self.sla.next_response_due,
                "next_response_at": self.sla.next_response_at,
                "resolution_due": self.sla.resolution_due, "paused": self.sla.paused_at
                is not None},
        }


@dataclass(frozen=True, slots=True)
class Article:
    """One entry of a ticket's thread: a customer's message, a public reply or a note."""

    id: int
    ticket_id: int
    visibility: Visibility
    author: Author
    author_name: str
    body_text: str
    created_at: float
    body_html: str | None = None
    author_email: str | None = None
    agent_id: str | None = None
    channel: str = "web"
    message_id: str | None = None
    mail_id: int | None = None
    flags: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "ticket_id": self.ticket_id, "visibility": self.visibility.value,
            "author": self.author.value, "author_name": self.author_name,
            "author_email": self.author_email,
            "agent_id": self.agent_id, "body_text": self.body_text, "body_html": self.body_html,
            "channel": self.channel, "message_id": self.message_id, "mail_id": self.mail_id,
            "flags": list(self.flags), "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One line of a ticket's history: who changed what from what to what, and when."""

    ticket_id: int
    at: float
    actor: str
    field: str  # "created", "status", "priority", "assignee", "tags", "reply", "note", ...
    old: Any = None
    new: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "actor": self.actor, "field": self.field, "old": self.old,
                "new": self.new}


@dataclass(frozen=True, slots=True)
class NewTicket:
    """What a new ticket starts with (checked by ``__post_init__``)."""

    subject: str
    origin: Origin
    queue: str
    requester: Requester
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    skills: Mapping[str, int] = field(default_factory=dict)
    assignee: str | None = None
    follow_up_of: int | None = None
    mailbox: str | None = None  # our address the first mail came to
    # Its type and custom field values, checked and stored with it (fields_service.py).
    ticket_type: str | None = None
    field_values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", clean_subject(self.subject))
        object.__setattr__(self, "tags", clean_tags(list(self.tags)))


@dataclass(frozen=True, slots=True)
class TicketChanges:
    """Fields a person changes at once; None = unchanged (``unassign`` clears the assignee)."""

    subject: str | None = None
    status: Status | None = None
    priority: Priority | None = None
    queue: str | None = None
    tags: tuple[str, ...] | None = None
    assignee: str | None = None
    unassign: bool = False

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in
                   ("subject", "status", "priority", "queue", "tags", "assignee")) \
            and not self.unassign


def diff(ticket: Ticket, changes: TicketChanges) -> dict[str, tuple[Any, Any]]:
    """field -> (old, new) for every field ``changes`` really changes."""
    out: dict[str, tuple[Any, Any]] = {}
    pairs: Iterable[tuple[str, Any, Any]] = (
        ("subject", ticket.subject, changes.subject),
        ("status", ticket.status, changes.status),
        ("priority", ticket.priority, changes.priority),
        ("queue", ticket.queue, changes.queue),
        ("tags", ticket.tags, changes.tags),
        ("assignee", ticket.assignee, changes.assignee),
    )
    for name, old, new in pairs:
        if new is not None and new != old:
            out[name] = (old, new)
    if changes.unassign and ticket.assignee is not None:
        out["assignee"] = (ticket.assignee, None)
    return out


def plain(value: Any) -> Any:
    """A history value as JSON (enums as their text, tuples as lists)."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value
