"""The request gate: session cookie -> actor, route roles, CSRF and Origin checks, headers.

Design note: one middleware decides every request, in this order:
  1. unknown path / wrong method -> aiohttp's own 404 / 405;
  2. resolve the session cookie (skipped for static files) into ``request["actor"]``
     (an ``Actor`` or None) and ``request["session"]``;
  3. route roles: undeclared -> 401 when not logged in, else 403 (fail closed); ``public`` ->
     pass; otherwise 401 without a session, 403 when the actor's role is not listed;
  4. state-changing methods (POST/PUT/PATCH/DELETE): Origin (or Referer) must be the server's
     own origin or a configured one, and the ``X-CSRF-Token`` header must equal the token bound
     to the session. Only handlers marked ``csrf = "origin"`` (the login) skip the token.
A missing Origin and Referer is accepted on state-changing requests (non-browser clients);
browsers always send Origin on cross-site POSTs, and the CSRF token is required regardless.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from contactcenter.web.roles import PUBLIC, roles_for_request
from contactcenter.web.sessions import SessionManager, csrf_matches

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_ORIGIN_ONLY = "origin"
MAX_JSON_BODY = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class WebSecuritySettings:
    """Security knobs of the web server; typed defaults, overridden from config."""

    cookie_name: str = "cc_session"
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS
    allowed_origins: tuple[str, ...] = ()  # besides the server's own origin
    idle_timeout: float = 2 * 3600
    max_age: float = 12 * 3600
    login_max_failures: int = 5
    login_window: float = 300
    csrf_header: str = "X-CSRF-Token"
    require_ws_origin: bool = True
    extra_headers: dict[str, str] = field(default_factory=dict)


def json_error(exc: type[web.HTTPException], message: str, **headers: str) -> web.HTTPException:
    """An HTTP error whose body is ``{"error": message}``."""
    return exc(
        text=json.dumps({"error": message}), content_type="application/json", headers=headers
    )


def own_origin(request: web.Request) -> str:
    """The origin this request was addressed to (scheme://host[:port])."""
    return f"{request.scheme}://{request.host}".lower()


def _normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str, request: web.Request, settings: WebSecuritySettings) -> bool:
    """True when ``origin`` is the server's own origin or one of the configured ones."""
    value = _normalise(origin)
    if not value or value == "null":
        return False
    if value == own_origin(request):
        return True
    return value in {_normalise(o) for o in settings.allowed_origins}


def _referer_origin(referer: str) -> str:
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def unsafe_request_origin_ok(request: web.Request, settings: WebSecuritySettings) -> bool:
    """Origin check for state-changing requests: Origin, else Referer, else accepted."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin_allowed(origin, request, settings)
    referer = request.headers.get("Referer")
    if referer is not None:
        return origin_allowed(_referer_origin(referer), request, settings)
    return True


def websocket_origin_ok(request: web.Request, settings: WebSecuritySettings) -> bool:
    """Origin check for websocket upgrades: present (unless configured off) and allowed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return not settings.require_ws_origin
    return origin_allowed(origin, request, settings)


def make_auth_middleware(sessions: SessionManager, settings: WebSecuritySettings):
    """The middleware that authenticates, authorises and CSRF-checks every request."""

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        match_info = request.match_info
        if match_info.http_exception is not None:
            return await handler(request)
        roles = roles_for_request(request)
        is_static = isinstance(match_info.route.resource, web.StaticResource)
        session = None
        if not is_static:
            session = await sessions.resolve(request.cookies.get(settings.cookie_name))
        request["session"] = session
        request["actor"] = session.actor if session else None
        if roles is None:
            if session is None:
                raise json_error(web.HTTPUnauthorized, "login required")
            raise json_error(web.HTTPForbidden, "route declares no roles")
        if PUBLIC not in roles:
            if session is None:
                raise json_error(web.HTTPUnauthorized, "login required")
            if session.actor.role not in roles:
                raise json_error(web.HTTPForbidden, "forbidden for your role")
        if request.method not in SAFE_METHODS:
            if not unsafe_request_origin_ok(request, settings):
                raise json_error(web.HTTPForbidden, "cross-origin request refused")
            if getattr(match_info.handler, "csrf", None) != CSRF_ORIGIN_ONLY:
                presented = request.headers.get(settings.csrf_header)
                token = request.cookies.get(settings.cookie_name)
                if session is None or token is None or not csrf_matches(token, presented):
                    raise json_error(web.HTTPForbidden, "missing or wrong CSRF token")
        return await handler(request)

    return auth_middleware


def make_header_hook(settings: WebSecuritySettings):
    """An ``on_response_prepare`` hook adding protective headers to every response."""

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/api/"):
            headers.setdefault("Cache-Control", "no-store")
        for name, value in settings.extra_headers.items():
            headers.setdefault(name, value)

    return add_headers


def install_security(
    app: web.Application, sessions: SessionManager, settings: WebSecuritySettings
) -> None:
    """Add the auth middleware and the protective-headers hook to ``app``."""
    app.middlewares.append(make_auth_middleware(sessions, settings))
    app.on_response_prepare.append(make_header_hook(settings))


async def read_json_object(request: web.Request, max_bytes: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The request body as a JSON object of at most ``max_bytes``, else 400 / 413."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise _too_large(max_bytes, request.content_length)
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes, size)
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise json_error(web.HTTPBadRequest, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "body must be a JSON object")
    return body


def _too_large(max_bytes: int, actual: int) -> web.HTTPException:
    return web.HTTPRequestEntityTooLarge(
        max_size=max_bytes,
        actual_size=actual,
        text=json.dumps({"error": "body too large"}),
        content_type="application/json",
    )
