"""Conversations and messages of the web chat, and the rules that need no I/O.

A conversation is one visitor's chat on one chat channel; it is also an interaction of the
queue engine on the ``chat`` channel, under the same id. Its messages are numbered per
conversation (``seq`` 1, 2, ...), whoever wrote them (visitor, agent, system): the visitor's
socket resumes after the last number it saw, which is what makes a reconnect lose and repeat
nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contactcenter.chat.settings import ChatChannelSettings

MAX_VISITOR_NAME = 80
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_TEXT = 200
MAX_PAGE = 500
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SIGNATURE = re.compile(r"^[0-9a-fA-F]{1,128}$")
# Unicode's categories Cc (C0, DEL, C1) and Cs (lone surrogates) are these fixed ranges: one
# regex scan of a message instead of a Python call per character (every chat message is
# checked on the way to the agent).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # \t, \n kept


class ConversationState(StrEnum):
    """Where a conversation is, from the visitor's side."""

    BOT = "bot"  # talking to the channel's bot flow (chat/bot.py), not in line yet
    WAITING = "waiting"  # in line
    OFFERED = "offered"  # an agent is being asked to take it
    ACTIVE = "active"  # an agent took it
    CLOSED = "closed"


class Sender(StrEnum):
    """Who wrote a message."""

    VISITOR = "visitor"
    AGENT = "agent"
    SYSTEM = "system"
    BOT = "bot"  # the channel's bot flow
    NOTE = "note"  # a supervisor's private note: for the chat's agents only, never the visitor


@dataclass(frozen=True, slots=True)
class Answer:
    """One pre-chat answer with the question's label, in the form's order."""

    name: str
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Route:
    """Where a conversation waits: queue, required skills and priority."""

    queue: str
    skills: dict[str, int]
    priority: int


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """A conversation as stored (and as the agent's panel shows it)."""

    id: str
    channel: str
    visitor_id: str
    visitor_name: str
    answers: tuple[Answer, ...]
    attributes: dict[str, str]
    page: str
    queue: str
    state: ConversationState
    created_at: float
    agent_id: str | None = None
    offered_at: float | None = None
    accepted_at: float | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    last_seq: int = 0
    verified: bool = False  # the visitor id came signed by the site (identity_secret)
    # Articles offered before a person (``faq.py``): ``answered`` (self-served: closed_by
    # ``self_served``, never queued), ``person`` (the visitor asked for one anyway), ``none``
    # (no article matched); None: the channel offered none. The article that answered.
    faq_outcome: str | None = None
    faq_article_id: int | None = None
    # The bot flow the conversation began with (chat/bot.py) and how that ended: handover,
    # deflected (solved with no person), ended, abandoned; None while the bot still talks.
    bot_flow: str | None = None
    bot_outcome: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The conversation for the agent's panel (no token, nothing secret)."""
        return {"id": self.id, "channel": self.channel, "visitor_id": self.visitor_id,
                "visitor_name": self.visitor_name,
                "answers": [{"name": a.name, "label": a.label, "value": a.value}
                            for a in self.answers],
                "attributes": dict(self.attributes), "page": self.page, "queue": self.queue,
                "state": self.state.value, "agent_id": self.agent_id,
                "created_at": self.created_at, "offered_at": self.offered_at,
                "accepted_at": self.accepted_at, "closed_at": self.closed_at,
                "closed_by": self.closed_by, "last_seq": self.last_seq,
                "verified": self.verified, "faq_outcome": self.faq_outcome,
                "faq_article_id": self.faq_article_id}


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation; ``seq`` is its number within the conversation."""

    conversation_id: str
    seq: int
    sender: Sender
    text: str
    at: float
    name: str = ""  # what the visitor sees as the author (the agent's name, "You"...)
    agent_id: str | None = None
    client_id: str | None = None  # the visitor's own id for it: a resend is not a new message
    # A file sent as this message (``attachments.py``): key, filename, kind, content_type, size
    attachment: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The message on the wire (visitor socket and agent panel alike)."""
        out: dict[str, Any] = {"seq": self.seq, "from": self.sender.value, "name": self.name,
                               "text": self.text, "at": self.at}
        if self.client_id is not None:
            out["client_id"] = self.client_id
        if self.attachment is not None:
            out["attachment"] = dict(self.attachment)
        return out


@dataclass(frozen=True, slots=True)
class StartRequest:
    """What a visitor sends to start a conversation (already checked by ``check_start``)."""

    visitor_id: str | None
    answers: dict[str, str]
    attributes: dict[str, str] = field(default_factory=dict)
    page: str = ""
    name: str = ""
    signature: str | None = None  # hex HMAC of visitor_id by the site, when it signs them


class Refused(ValueError):
    """A visitor's input that cannot be taken; ``errors`` maps a field to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def _clean_line(value: str) -> str:
    """One line of text: control characters (CR, LF, NUL...) refused, spaces trimmed."""
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value.strip()


def check_message_text(text: Any, limit: int) -> str:
    """A chat message: a non-empty string of at most ``limit`` characters; line breaks and
    tabs are kept, other control characters refused (they have no business in a chat)."""
    if not isinstance(text, str):
        raise ValueError("text must be a string")  # noqa: TRY004 - one error type for callers
    # Cs: a lone surrogate (a JSON "\ud83d" escape) is no text: the database cannot store it.
    if _CONTROL_BUT_LINES.search(text):
        raise ValueError("control characters are not allowed")
    text = text.strip()
    if not text:
        raise ValueError("the message is empty")
    if len(text) > limit:
        raise ValueError(f"the message is longer than {limit} characters")
    return text


def check_client_id(value: Any) -> str | None:
    """The visitor's id of a message it sends (None when it gave none)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise ValueError("client_id must be 1-64 letters, digits, '_' or '-'")
    return value


def check_answers(channel: ChatChannelSettings, answers: Any) -> tuple[Answer, ...]:
    """The pre-chat answers checked against the channel's form (required, pattern, options,
    length); raises ``Refused`` naming every field in error."""
    if answers is None:
        answers = {}
    if not isinstance(answers, Mapping):
        raise Refused({"answers": "must be an object"})
    fields = {f.name: f for f in channel.prechat}
    errors: dict[str, str] = {k: "not a question of this form" for k in answers if k not in fields}
    out = []
    for f in channel.prechat:
        raw = answers.get(f.name, "")
        if not isinstance(raw, str):
            errors[f.name] = "must be text"
            continue
        try:
            value = _clean_line(raw)
        except ValueError as exc:
            errors[f.name] = str(exc)
            continue
        if not value:
            if f.required:
                errors[f.name] = f.message or "This field is required."
            continue
        if len(value) > f.max_length:
            errors[f.name] = f"at most {f.max_length} characters"
        elif f.options and value not in f.options:
            errors[f.name] = f.message or "not one of the choices"
        elif f.regex is not None and not f.regex.fullmatch(value):
            errors[f.name] = f.message or "not in the expected form"
        else:
            out.append(Answer(f.name, f.label or f.name, value))
    if errors:
        raise Refused(errors)
    return tuple(out)


def check_start(body: Mapping[str, Any]) -> StartRequest:
    """The start request's other parts: visitor id, display name, custom attributes, page."""
    errors: dict[str, str] = {}
    visitor_id = body.get("visitor_id")
    if visitor_id is not None and (not isinstance(visitor_id, str)
                                   or not _VISITOR_ID.match(visitor_id)):
        errors["visitor_id"] = "1-64 letters, digits or _.:@-"
    name = body.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_VISITOR_NAME:
        errors["name"] = f"text of at most {MAX_VISITOR_NAME} characters"
        name = ""
    else:
        try:
            name = _clean_line(name)
        except ValueError as exc:
            errors["name"] = str(exc)
    page = body.get("page", "")
    if not isinstance(page, str):
        errors["page"] = "must be text"
        page = ""
    page = "".join(c for c in page if unicodedata.category(c) != "Cc")[:MAX_PAGE]
    raw_attrs = body.get("attributes") or {}
    attributes: dict[str, str] = {}
    if not isinstance(raw_attrs, Mapping) or len(raw_attrs) > MAX_ATTRIBUTES:
        errors["attributes"] = f"an object of at most {MAX_ATTRIBUTES} items"
    else:
        for key, value in raw_attrs.items():
            if not isinstance(key, str) or not _ATTRIBUTE.match(key):
                errors["attributes"] = f"attribute name {str(key)[:40]!r} must be [a-z][a-z0-9_]*"
            elif not isinstance(value, (str, int, float, bool)) or \
                    len(str(value)) > MAX_ATTRIBUTE_TEXT:
                errors["attributes"] = f"attribute {key!r} must be a short scalar"
            else:
                try:
                    attributes[key] = _clean_line(str(value))
                except ValueError as exc:
                    errors["attributes"] = f"attribute {key!r}: {exc}"
    signature = body.get("visitor_signature")
    if signature is not None and (not isinstance(signature, str)
                                  or not _SIGNATURE.match(signature) or visitor_id is None):
        errors["visitor_signature"] = "hex, with a visitor_id"
        signature = None
    if errors:
        raise Refused(errors)
    return StartRequest(visitor_id, {}, attributes, page, name, signature)


def sign_visitor(secret: str, visitor_id: str) -> str:
    """What the site computes for ``visitor_id`` (hex HMAC-SHA256 under the channel's secret)."""
    return hmac.new(secret.encode(), visitor_id.encode(), hashlib.sha256).hexdigest()


def signature_ok(secret: str, visitor_id: str, signature: str | None) -> bool:
    """True when ``signature`` is the site's for ``visitor_id`` (constant-time comparison)."""
    return signature is not None and hmac.compare_digest(sign_visitor(secret, visitor_id),
                                                         signature.lower())


def route_for(channel: ChatChannelSettings, answers: tuple[Answer, ...]) -> Route:
    """The channel's queue, skills and priority, changed by every rule whose answer matches
    (in order: a later rule's queue wins; skills add up, the higher minimum wins)."""
    queue, skills, priority = channel.queue, dict(channel.skills), channel.priority
    given = {a.name: a.value for a in answers}
    for rule in channel.rules:
        if given.get(rule.field) != rule.equals:
            continue
        if rule.queue:
            queue = rule.queue
        for skill, level in rule.skills.items():
            skills[skill] = max(level, skills.get(skill, 0))
        if rule.priority is not None:
            priority = rule.priority
    return Route(queue, skills, priority)


def display_name(answers: tuple[Answer, ...], given: str) -> str:
    """What the agent calls the visitor: the name they gave, else the form's ``name`` answer."""
    if given:
        return given[:MAX_VISITOR_NAME]
    for a in answers:
        if a.name == "name":
            return a.value[:MAX_VISITOR_NAME]
    return "Visitor"
