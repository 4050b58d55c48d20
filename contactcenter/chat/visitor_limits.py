"""Limits per visitor: new chats per address and per visitor id, messages per visitor.

Design note. Every limit is a sliding window in memory (``common/sliding_window.py``), keyed by
what the visitor cannot change at will within one chat: the client address for new chats (a
whole office behind one address shares ``new_conversations_per_ip``), the visitor id for new
chats per hour and for messages per minute (an identified visitor's chats share one budget; an
anonymous one's id is its chat's own). A refusal says when to try again; the widget keeps a
refused message and sends it by itself then (the same ``client_id``, so it lands once), and a
refused start keeps the form as filled in. Counted per process, as the other chat limits are.
"""

from __future__ import annotations

from contactcenter.chat.protocol import FrameRefused
from contactcenter.chat.settings import ChatSettings
from contactcenter.common.sliding_window import SlidingWindow
from contactcenter.domain.clock import Clock

TRANSCRIPTS_PER_ADDRESS_PER_HOUR = 20  # mails a client address may ask for (any conversation)


class MessageRateLimited(FrameRefused):
    """A visitor's message over the limit: the error frame says the message and when to retry."""

    def __init__(self, retry_after: float, client_id: str | None) -> None:
        super().__init__("rate-limited", "too many messages; slow down")
        self.detail = {"retry_after": round(retry_after, 1), "client_id": client_id}


class VisitorLimits:
    """The windows of one chat service (see the module's note)."""

    def __init__(self, settings: ChatSettings) -> None:
        self.starts_by_address = SlidingWindow(settings.new_conversations_per_ip,
                                               settings.new_conversations_window_s)
        self.starts_by_visitor = SlidingWindow(settings.conversations_per_visitor_per_hour,
                                               3600.0)
        self.messages = SlidingWindow(settings.messages_per_minute, 60.0)
        self.transcripts_by_address = SlidingWindow(TRANSCRIPTS_PER_ADDRESS_PER_HOUR, 3600.0)

    def start(self, remote: str, visitor_id: str | None, now: float) -> float:
        """Count a new chat (or message left) from ``remote`` by ``visitor_id``; 0 when allowed,
        else the seconds to wait."""
        if visitor_id is not None:
            wait = self.starts_by_visitor.hit(visitor_id, now)
            if wait > 0:
                return wait
        return self.starts_by_address.hit(remote, now)

    def message(self, visitor_id: str, client_id: str | None, clock: Clock) -> None:
        """Count a visitor's message; raises ``MessageRateLimited`` over the limit (its wait in
        real seconds: the widget's timer runs in real time, whatever the clock's speed)."""
        wait = self.messages.hit(visitor_id, clock.time())
        if wait > 0:
            raise MessageRateLimited(clock.real(wait), client_id)
