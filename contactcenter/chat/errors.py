"""The chat service's refusals: each carries the HTTP status that says why."""

from __future__ import annotations


class ChatError(Exception):
    """A request the chat cannot serve; ``status`` is the HTTP status that says why."""

    status = 400


class NotFoundError(ChatError):
    status = 404


class ForbiddenError(ChatError):
    status = 403


class ConflictError(ChatError):
    status = 409


class UnavailableError(ChatError):
    status = 503


class OfflineError(ChatError):
    """The channel takes no live chat now: the widget offers "leave a message"."""

    status = 409

    def __init__(self, reason: str) -> None:
        super().__init__("chat is offline now; please leave a message")
        self.reason = reason


class RateLimited(ChatError):
    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many new chats from you; please try again later")
        self.retry_after = retry_after
