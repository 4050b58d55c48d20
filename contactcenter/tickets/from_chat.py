"""Tickets from the chat side: a message a visitor left becomes a ticket.

Design note. Chat never imports tickets (channels are siblings): its service calls a
``message_left`` port the composition root points at ``ChatTickets.message_left``. A message
(left outside hours, or from the line after a long wait) becomes one ticket, origin ``chat``,
requester the pre-chat answers (an ``email`` answer that is an address, the visitor's name),
the message (with the chat so far, when it came from the line) as its first public article
and the form's answers as an internal note. The message's id is the unique ``message_key`` of
a ``ticket_calls`` row (kind ``chat``; the pattern of ``from_voice.py``): the same message
told twice (a retry, two servers) files one ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from contactcenter.tickets.filed_once import file_once
from contactcenter.tickets.model import (
    Author,
    NewTicket,
    Origin,
    Requester,
    Ticket,
    TicketError,
    Visibility,
    clean_email,
)
from contactcenter.tickets.service import Effects, TicketService, Who
from contactcenter.tickets.store import ArticleDraft, ticket_of
from contactcenter.tickets.tables import TicketCallRow

log = logging.getLogger(__name__)

CHAT = Who("chat", staff=True)  # the actor of tickets filed from chat messages


class ChatAnswer(Protocol):
    """One pre-chat answer, as chat's ``model.Answer`` has it."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def value(self) -> str: ...


class ChatMessage(Protocol):
    """A message left on the chat channel, as chat's ``offline.OfflineMessage`` has it."""

    @property
    def id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def visitor_name(self) -> str: ...
    @property
    def answers(self) -> Sequence[ChatAnswer]: ...
    @property
    def text(self) -> str: ...
    @property
    def page(self) -> str: ...
    @property
    def reason(self) -> str: ...


def requester_of(msg: ChatMessage) -> Requester:
    """The requester from the pre-chat answers: an ``email`` answer and the visitor's name."""
    email = None
    for answer in msg.answers:
        if answer.name == "email" and answer.value:
            try:
                email = clean_email(answer.value)
            except (TicketError, ValueError):
                email = None
    return Requester(email=email, name=msg.visitor_name[:200])


def answers_note(msg: ChatMessage) -> str:
    """The internal note: where the message was left and the form's answers."""
    lines = [f"Message left on chat channel {msg.channel!r} ({msg.reason})"
             + (f" from {msg.page}" if msg.page else "") + ".", "", "Pre-chat answers:"]
    lines += [f"  {a.label or a.name}: {a.value}" for a in msg.answers if a.value]
    if lines[-1] == "Pre-chat answers:":
        lines.append("  (none)")
    return "\n".join(lines)


class ChatTickets:
    """Messages left on the chat channel as tickets."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    async def message_left(self, msg: ChatMessage) -> Ticket | None:
        """File ``msg`` as a ticket, once per message."""
        key = f"chat:{msg.id}"[:200]
        service, store = self.service, self.service.store
        requester = requester_of(msg)
        who = requester.name or requester.email or "a visitor"

        async def build(s: Any, effects: Effects) -> Ticket:
            new = NewTicket(subject=f"Chat message from {who}"[:250], origin=Origin.CHAT,
                            queue=service.settings.queue, tags=("chat",), requester=requester)
            first = ArticleDraft(Visibility.PUBLIC, Author.CUSTOMER, who[:200], msg.text,
                                 author_email=requester.email, channel="chat")
            row = await service.create_in(s, new, CHAT, first, effects)
            now = service.clock.time()
            await store.add_article(s, row.id, ArticleDraft(
                Visibility.INTERNAL, Author.SYSTEM, "system", answers_note(msg),
                channel="chat"), now)
            s.add(TicketCallRow(ticket_id=row.id, kind="chat", interaction_id=msg.id[:64],
                                message_key=key, created_at=now))
            return ticket_of(row)

        ticket, filed = await file_once(service, key, build)
        if filed and ticket is not None:
            log.info("chat message %s filed as ticket #%d", msg.id, ticket.id)
        return ticket
