"""The widget's HTTP answers to a refusal, with the CORS headers its page needs to read them."""

from __future__ import annotations

from aiohttp import web

from contactcenter.chat.errors import ChatError, RateLimited
from contactcenter.chat.faq import SearchLimited
from contactcenter.chat.model import Refused


def too_many(exc: RateLimited | SearchLimited, cors: dict[str, str]) -> web.Response:
    """429 with when to try again, in the header and (for the widget's text) the body."""
    wait = max(1, round(exc.retry_after))
    return web.json_response({"error": str(exc), "retry_after": wait}, status=429,
                             headers={**cors, "Retry-After": str(wait)})


def visitor_error(exc: Refused | ChatError, cors: dict[str, str]) -> web.Response:
    """422 with the form's errors, 429 for a visitor over a limit, else the error's status."""
    if isinstance(exc, Refused):
        return web.json_response({"error": "the form has errors", "errors": exc.errors},
                                 status=422, headers=cors)
    if isinstance(exc, RateLimited):
        return too_many(exc, cors)
    return web.json_response({"error": str(exc)}, status=exc.status, headers=cors)
