"""The request gate: session cookie -> actor, route roles, CSRF and Origin checks, headers.

Design note: one middleware decides every request, in this order:
  1. unknown path / wrong method -> aiohttp's own 404 / 405;
  2. resolve the session cookie (skipped for static files) into ``request["actor"]``
     (an ``Actor`` or None) and ``request["session"]``;
  3. route roles: undeclared -> 401 when not logged in, else 403 (fail closed); ``public`` ->
     pass; otherwise 401 without a session, 403 when the actor's role is not listed;
  4. state-changing methods (POST/PUT/PATCH/DELETE): Origin (or Referer) must be a configured
     origin, or the server's own when addressed by IP address or localhost, and the ``X-CSRF-Token`` header must equal the token bound
     to the session. Only handlers marked ``csrf = "origin"`` (the login) skip the token;
     a public handler marked ``csrf = "cross-origin"`` (an API other sites' pages call, such
     as an embedded widget's) skips both and gets no session: it checks Origin itself.
A missing Origin and Referer is accepted on state-changing requests (non-browser clients);
browsers always send Origin on cross-site POSTs, and the CSRF token is required regardless.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from contactcenter.web.roles import PUBLIC, roles_for_request
from contactcenter.web.sessions import SessionManager, csrf_matches

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_ORIGIN_ONLY = "origin"
# Public handlers called by other sites' pages: no session's authority, their own Origin list.
CSRF_CROSS_ORIGIN = "cross-origin"
MAX_JSON_BODY = 64 * 1024
MAX_JSON_DEPTH = 32  # objects and arrays within each other; our documents need a handful

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class WebSecuritySettings:
    """Security knobs of the web server; typed defaults, overridden from config."""

    cookie_name: str = "cc_session"
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS
    # The panel's origins (scheme://host[:port]) when browsers reach it by a DNS name; the
    # server's own origin by IP address or localhost is allowed without being listed.
    allowed_origins: tuple[str, ...] = ()
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


def _rebindable(request: web.Request) -> bool:
    """True when the Host header is a name that DNS could point anywhere.

    The Host header is the attacker's to choose under DNS rebinding (evil.example resolving
    to this server): Origin and Host then agree, and agreeing proves nothing. An IP address
    or ``localhost`` cannot be rebound, so only those are trusted as the server's own origin;
    a panel reached by a DNS name must list that origin in ``allowed_origins``.
    """
    try:
        name = urlsplit(f"//{request.host}").hostname or ""
    except ValueError:
        return True
    if name == "localhost":
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False


def origin_allowed(origin: str, request: web.Request, settings: WebSecuritySettings) -> bool:
    """True when ``origin`` is one configured (``allowed_origins``), or the server's own
    origin as addressed by an IP address or ``localhost`` (never a DNS name: see
    ``_rebindable``)."""
    value = _normalise(origin)
    if not value or value == "null":
        return False
    if value in {_normalise(o) for o in settings.allowed_origins}:
        return True
    return value == own_origin(request) and not _rebindable(request)


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
            if getattr(match_info.handler, "csrf", None) == CSRF_CROSS_ORIGIN \
                    and roles == {PUBLIC}:
                request["session"] = request["actor"] = None
                return await handler(request)
            if not unsafe_request_origin_ok(request, settings):
                raise json_error(web.HTTPForbidden, "cross-origin request refused")
            if getattr(match_info.handler, "csrf", None) != CSRF_ORIGIN_ONLY:
                presented = request.headers.get(settings.csrf_header)
                token = request.cookies.get(settings.cookie_name)
                if session is None or token is None or not csrf_matches(token, presented):
                    raise json_error(web.HTTPForbidden, "missing or wrong CSRF token")
        return await handler(request)

    return auth_middleware


def make_error_middleware():
    """The middleware that answers every error under ``/api/`` as ``{"error": message}``.

    Handlers raise ``json_error``; this catches what they do not: aiohttp's own 404 / 405 /
    413, an ``HTTPException`` raised bare, and an unexpected exception (logged with its
    traceback, answered 500 without it), so a client never has to parse two formats.
    """

    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type == "application/json":
                raise
            return _as_json(exc)
        except Exception:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                raise  # the socket may be upgraded already: no HTTP answer can follow
            log.exception("unhandled error in %s %s", request.method, request.path)
            return web.json_response({"error": "internal error"}, status=500)

    return error_middleware


def _as_json(exc: web.HTTPException) -> web.Response:
    text = exc.text or ""
    message = text.removeprefix(f"{exc.status}: ")
    headers = {k: v for k, v in exc.headers.items()
               if k.lower() not in ("content-type", "content-length")}
    return web.json_response({"error": message.strip() or exc.reason}, status=exc.status,
                             headers=headers)


def make_header_hook(settings: WebSecuritySettings):
    """An ``on_response_prepare`` hook adding protective headers to every response."""

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        # aiohttp would announce "Python/3.x aiohttp/3.y": versions help only an attacker.
        headers["Server"] = "contactcenter"
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
    """Add the error and auth middlewares and the protective-headers hook to ``app``."""
    app.middlewares.append(make_error_middleware())  # outermost: it sees the gate's errors too
    app.middlewares.append(make_auth_middleware(sessions, settings))
    app.on_response_prepare.append(make_header_hook(settings))


async def read_capped(request: web.Request, max_bytes: int,
                      refuse: Callable[[int], BaseException]) -> bytes:
    """The request body, refused with ``refuse(size)`` as soon as it passes ``max_bytes``: a
    declared length too long is refused before a byte is read, and a body that lies about its
    length (or streams) is cut off at the limit, never held whole."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise refuse(request.content_length)
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise refuse(size)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: web.Request, max_bytes: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The request body as a JSON object of at most ``max_bytes``, else 400 / 413."""
    raw = await read_capped(request, max_bytes, lambda size: _too_large(max_bytes, size))
    try:
        body = parse_json(raw or b"null")
    except JsonTooDeep as exc:
        raise json_error(web.HTTPBadRequest, str(exc)) from None
    except ValueError:
        raise json_error(web.HTTPBadRequest, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "body must be a JSON object")
    return body


MAX_QUERY_TEXT = 64


def query_int(request: web.Request, name: str, default: int, maximum: int,
              minimum: int = 0) -> int:
    """An integer query parameter within [minimum, maximum], else 400 (a number past what
    the database's integers hold would otherwise reach it and fail there as a 500)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 12:
        raise json_error(web.HTTPBadRequest, f"{name} must be an integer "
                                             f"between {minimum} and {maximum}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise json_error(web.HTTPBadRequest, f"{name} must be between {minimum} and {maximum}")
    return value


def query_text(request: web.Request, name: str, max_len: int = MAX_QUERY_TEXT) -> str | None:
    """A short text query parameter (None when absent), else 400: no CR, LF or NUL, which
    PostgreSQL refuses in text and would answer with a 500."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if len(raw) > max_len or any(c in raw for c in "\r\n\x00"):
        raise json_error(web.HTTPBadRequest,
                         f"{name} must be at most {max_len} characters, without CR, LF or NUL")
    return raw


class JsonTooDeep(ValueError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``."""


def parse_json(raw: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON text as Python values; ValueError when it is not JSON, ``JsonTooDeep`` when it is
    nested deeper than ``max_depth`` (the parser itself would raise RecursionError somewhere
    past a thousand levels, and every recursive walk after it could too)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels") from None
    level: list[tuple[Any, int]] = [(value, 1)]
    while level:  # iterative: the check must not be what recurses too deep
        item, depth = level.pop()
        if isinstance(item, dict):
            children: Any = item.values()
            _check_text(*item)
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, str):
                _check_text(item)
            continue
        if depth > max_depth:
            raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
        level.extend((child, depth + 1) for child in children)
    return value


def _check_text(*texts: str) -> None:
    """ValueError for a lone surrogate (a ``\\ud800`` escape): valid JSON, but no UTF-8 text,
    so the database (or any encoder after it) would fail on it with a 500 (found by tests/fuzz
    and tests/injection)."""
    for text in texts:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("JSON text holds a lone surrogate escape") from None


def _too_large(max_bytes: int, actual: int) -> web.HTTPException:
    return web.HTTPRequestEntityTooLarge(
        max_size=max_bytes,
        actual_size=actual,
        text=json.dumps({"error": "body too large"}),
        content_type="application/json",
    )
