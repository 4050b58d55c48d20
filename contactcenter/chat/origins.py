"""Which web sites may embed a chat channel: the Origin checks and CORS headers of its routes.

Design note: the widget runs on other sites' pages, so its HTTP calls and its socket are
cross-origin by nature. They carry no cookie and no session (the visitor's authority is the
conversation token it was given), so the panel's CSRF token does not apply; instead every call
must come from one of the channel's ``allowed_origins``. A browser always sends ``Origin`` on
cross-origin fetches and websockets, so a missing one is refused too. The loader script is the
exception: a ``<script>`` tag sends no Origin, only a Referer (when the page's referrer policy
allows one), so it is refused when the Referer names another site and served when there is none
(the code is public; what matters is refused at the API and the socket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from contactcenter.web.security import json_error


class _Channel(Protocol):
    @property
    def allowed_origins(self) -> Iterable[str]: ...


C = TypeVar("C", bound=_Channel)


def normalise(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, no trailing slash."""
    return origin.strip().rstrip("/").lower()


def origin_of_url(url: str) -> str:
    """The origin of a full URL (a Referer); empty when it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def request_origin(request: web.Request) -> str | None:
    """The request's Origin header, normalised (None when absent)."""
    origin = request.headers.get("Origin")
    return normalise(origin) if origin is not None else None


def allowed(origin: str | None, origins: Iterable[str]) -> bool:
    """True when ``origin`` is one of ``origins`` (``null`` and absent never are)."""
    return bool(origin) and origin != "null" and origin in set(origins)


def referer_allowed(request: web.Request, origins: Iterable[str]) -> bool:
    """For a ``<script>`` load: refused only when a Referer names a site not in ``origins``."""
    referer = request.headers.get("Referer")
    if not referer:
        return request_origin(request) is None or allowed(request_origin(request), origins)
    return allowed(origin_of_url(referer), origins)


def cors_headers(origin: str) -> dict[str, str]:
    """The headers that let the page of ``origin`` read the answer (never ``*``: answers
    differ per site, and caches must keep them apart)."""
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_headers(origin: str, methods: str) -> dict[str, str]:
    """The answer to a CORS preflight of ``methods`` with a JSON body."""
    return {**cors_headers(origin), "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600"}


def widget_channel(request: web.Request, channel_of: Callable[[str], C | None]) -> tuple[C, str]:
    """The channel named by the route's ``{channel}`` and the request's allowed Origin; 404
    for no such channel, 403 for a site not in its ``allowed_origins`` (or no Origin)."""
    channel = channel_of(request.match_info["channel"])
    if channel is None:
        raise json_error(web.HTTPNotFound, "no such chat channel")
    origin = request_origin(request)
    if origin is None or not allowed(origin, channel.allowed_origins):
        raise json_error(web.HTTPForbidden, "this site may not use this chat")
    return channel, origin
