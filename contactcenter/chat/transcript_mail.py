"""The transcript by email: a visitor whose chat ended asks for it at an address.

Design note. Chat sends no mail itself and never imports tickets (channels are siblings): it
hands a ``TranscriptMail`` to a ``MailSender`` port, which ``app.py`` points at the tickets'
outbound mail (``tickets/automatic_mail.py``: queued in the outbox, retried, marked
``Auto-Submitted: auto-generated``). The request carries the chat's id and the visitor's token
(only its visitor may ask), is served once the chat has ended, and is limited per conversation
(``transcript_mails_per_conversation``) and per client address: the address is typed by the
visitor, so the form must not become a way to mail strangers in bulk. Private notes never go
out; times are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from contactcenter.chat.errors import RateLimited, UnavailableError
from contactcenter.chat.model import ConversationRecord, Message, Refused, Sender
from contactcenter.chat.service import ChatService
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.common.sliding_window import SlidingWindow

_EMAIL = re.compile(r"^[^@\s<>\"',;:()\[\]\\]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
_FOREVER_S = 10 * 365 * 86400.0  # a conversation's count never expires (its window)


@dataclass(frozen=True, slots=True)
class TranscriptMail:
    """One transcript to mail."""

    to: str
    to_name: str
    subject: str
    text: str
    conversation_id: str


class MailSender(Protocol):
    """Outbound mail as chat sees it (app.py: the tickets' outbox)."""

    @property
    def available(self) -> bool:
        """Whether mail goes out at all (an SMTP relay is configured)."""
        ...

    async def send(self, mail: TranscriptMail) -> None:
        """Queue ``mail``; it is sent (and retried) by the sender's own outbox."""
        ...


def check_email(value: Any) -> str:
    """A plain address (no display name, no header trickery); ValueError otherwise."""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value.strip()):
        raise ValueError("please enter a valid email address")
    return value.strip()


def prechat_email(record: ConversationRecord) -> str | None:
    """The address the visitor gave in the pre-chat form, if it is one."""
    for answer in record.answers:
        if answer.name == "email":
            try:
                return check_email(answer.value)
            except ValueError:
                return None
    return None


def render(record: ConversationRecord, messages: list[Message], title: str) -> str:
    """The transcript as plain text: one line per message, times in UTC; no private notes."""
    def at(epoch: float) -> str:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")

    lines = [f"{title} — {at(record.created_at)} UTC", ""]
    for m in messages:
        if m.sender is Sender.NOTE:
            continue
        who = m.name or ("" if m.sender is Sender.SYSTEM else m.sender.value)
        lines.append(f"[{at(m.at)[11:]}] {who}: {m.text}" if who else f"[{at(m.at)[11:]}] {m.text}")
    return "\n".join(lines) + "\n"


class TranscriptMailer:
    """Serves the widget's requests for a transcript by email."""

    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.sender: MailSender | None = None
        per_chat = service.settings.transcript_mails_per_conversation
        self._per_conversation = SlidingWindow(max(per_chat, 1), _FOREVER_S)

    def offered(self, channel: ChatChannelSettings) -> bool:
        """Whether the widget offers the transcript by email."""
        return (self.sender is not None and self.sender.available
                and self.service.settings.transcript_mails_per_conversation > 0)

    async def request(self, channel: ChatChannelSettings, conversation_id: Any, token: Any,
                      email: Any, remote: str) -> str:
        """Mail the ended chat's transcript to ``email``; returns the address. Raises
        ``Refused`` (the address), ``ForbiddenError``, ``ConflictError`` (not ended),
        ``RateLimited``, ``UnavailableError`` (no outbound mail)."""
        if not self.offered(channel) or self.sender is None:
            raise UnavailableError("the transcript cannot be mailed from here")
        record = await self.service.ended_for_visitor(channel, conversation_id, token)
        try:
            address = check_email(email)
        except ValueError as exc:
            raise Refused({"email": str(exc)}) from None
        now = self.service.clock.time()
        wait = self.service.limits.transcripts_by_address.hit(remote, now)
        if wait <= 0:
            wait = self._per_conversation.hit(record.id, now)
        if wait > 0:
            raise RateLimited(wait)
        messages = await self._messages(record.id)
        title = channel.texts()["title"]
        await self.sender.send(TranscriptMail(
            to=address, to_name=record.visitor_name,
            subject=f"{title}: your chat transcript"[:200],
            text=render(record, messages, title), conversation_id=record.id))
        self.service.counters["transcript_mails"] += 1
        return address

    async def _messages(self, conversation_id: str) -> list[Message]:
        out: list[Message] = []
        while True:
            batch = await self.service.transcript(conversation_id, out[-1].seq if out else 0)
            out += batch
            if len(batch) < 1000:
                return out
