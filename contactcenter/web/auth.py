"""Passwords, the login rate limit, the login / logout / session endpoints, and ``add_auth``.

Design note: passwords are hashed with scrypt (n=2**14, r=8, p=1, 16-byte random salt) into a
self-describing string ``scrypt$n=16384,r=8,p=1$<salt>$<hash>`` so parameters can be raised
later without breaking stored hashes. Hashing runs in a worker thread (it costs tens of
milliseconds of CPU by design). An unknown username is checked against a dummy hash so both
cases take the same time. Failures are counted per username and per client address in a
sliding window, counted when the attempt starts; past the limit the login (and the password
change) answers 429 with Retry-After before touching the password. The limiter is per process
(a restart forgives); sessions and users are in the database. Login rotates the session (the old cookie's session is ended) and is audited.
``add_auth`` is the one call the composition root makes to put all of this on an app.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import secrets
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.storage.database import Database
from contactcenter.web.live import LiveHub
from contactcenter.web.openapi import (
    OpenApiHandler,
    api_doc,
    declared_query_middleware,
    read_declared_json,
)
from contactcenter.web.pages import add_shell_pages
from contactcenter.web.roles import ANY_USER, Actor, requires
from contactcenter.web.security import (
    CSRF_ORIGIN_ONLY,
    WebSecuritySettings,
    install_security,
    json_error,
)
from contactcenter.web.sessions import NewSession, SessionManager
from contactcenter.web.users import UserError, UserStore, username_key
from contactcenter.web.users_api import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    UsersApi,
    check_new_password,
    user_json,
)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_NO_CRLF = "^[^\\r\\n\\x00]*$"
_SESSION: dict[str, Any] = {"type": "object", "properties": {
    "user": {"type": "object"}, "csrf_token": {"type": "string"},
    "expires_at": {"type": "number"}}}
_TOO_MANY = {"description": "too many failed attempts: wait Retry-After seconds"}
_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """A self-describing scrypt hash of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=_MAXMEM,
        dklen=32,
    )
    return f"scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, params, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        p = dict(item.split("=", 1) for item in params.split(","))
        n, r, par = int(p["n"]), int(p["r"]), int(p["p"])
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
    except (ValueError, KeyError):
        return False
    if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= par <= 16) or not expected:
        return False
    try:
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=n,
            r=r,
            p=par,
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except ValueError:  # n not a power of two, or parameters past the memory cap
        return False
    return hmac.compare_digest(digest, expected)


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, which JSON allows
        return True
    return False


class LoginRateLimiter:
    """Sliding-window count of password attempts per key (``user:NAME`` and ``ip:ADDR``).

    An attempt is counted when it starts (``begin``), before any password work, and forgiven
    when it succeeds: counting only after the check let parallel requests all pass the check
    before any of their failures was counted (issue 20, item 1).
    """

    def __init__(
        self, clock: Clock, max_failures: int = 5, window: float = 300, max_keys: int = 50_000
    ) -> None:
        self._clock = clock
        self.max_failures = max_failures
        self.window = window
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._refusals: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, *keys: str) -> float:
        """Seconds until an attempt for these keys is allowed again; 0 when allowed now."""
        now = self._clock.time()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                wait = max(wait, times[-self.max_failures] + self.window - now)
        return wait

    def begin(self, *keys: str) -> float:
        """Count one attempt against each key, unless one is at its limit: then the wait.

        There is no await between the check and the count, so concurrent attempts cannot all
        pass the check: the (max_failures + 1)th one is refused while the others still run.
        """
        wait = self.retry_after(*keys)
        if wait <= 0:
            self.failure(*keys)
        return wait

    def failure(self, *keys: str) -> None:
        """Count one failed attempt against each key."""
        now = self._clock.time()
        for key in keys:
            times = self._failures.setdefault(key, deque(maxlen=self.max_failures * 4))
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, user_key: str, *other_keys: str) -> None:
        """An attempt ``begin`` counted was right: the user's failures are forgiven, and the
        attempt no longer counts against the other keys (an address shared by many users)."""
        self.reset(user_key)
        for key in other_keys:
            times = self._failures.get(key)
            if times:
                times.pop()
                if not times:
                    del self._failures[key]

    def reset(self, key: str) -> None:
        """Forget the failures of one key."""
        self._failures.pop(key, None)

    def refused(self, *keys: str) -> int | None:
        """Note one attempt refused for being over the limit. None: it need not be written
        down, an earlier refusal of one of these keys in this window was; else how many
        refusals of these keys went unwritten since the last one that was (an audit row per
        refused attempt let anonymous requests flood the audit log)."""
        now = self._clock.time()
        fresh = True
        for key in keys:
            since, _count = self._refusals.get(key, (-math.inf, 0))
            if since > now - self.window:
                fresh = False
        skipped = None if not fresh else max(
            (self._refusals.get(k, (0.0, 0))[1] for k in keys), default=0)
        for key in keys:
            if fresh:
                self._refusals[key] = (now, 0)
            else:
                since, count = self._refusals.get(key, (now, 0))
                self._refusals[key] = (since, count + 1)
            self._refusals.move_to_end(key)
        while len(self._refusals) > self._max_keys:
            self._refusals.popitem(last=False)
        return skipped


class AuthHandlers:
    """POST /api/login, POST /api/logout, GET /api/session, POST /api/session/password."""

    def __init__(
        self,
        store: UserStore,
        sessions: SessionManager,
        limiter: LoginRateLimiter,
        settings: WebSecuritySettings,
        audit: Any,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.limiter = limiter
        self.settings = settings
        self.audit = audit
        self._dummy_hash: str | None = None

    def routes(self) -> list[web.RouteDef]:
        """The route definitions of these handlers."""
        return [
            web.post("/api/login", self.login),
            web.post("/api/logout", self.logout),
            web.get("/api/session", self.session),
            web.post("/api/session/password", self.change_password),
        ]

    def _set_cookie(self, request: web.Request, response: web.Response, new: NewSession) -> None:
        secure = self.settings.cookie_secure
        response.set_cookie(
            self.settings.cookie_name,
            new.token,
            httponly=True,
            samesite="Strict",
            secure=request.secure if secure is None else secure,
            path="/",
            max_age=int(self.sessions.max_age),
        )

    async def _check(self, password: str, stored: str | None) -> bool:
        if stored is None:
            if self._dummy_hash is None:
                self._dummy_hash = await asyncio.to_thread(hash_password, secrets.token_hex(8))
            stored = self._dummy_hash
        return await asyncio.to_thread(verify_password, password, stored)

    async def _limit(self, keys: tuple[str, str], who: str, action: str, remote: str) -> None:
        """Count this password attempt, or refuse it (429) when a key is over its limit."""
        wait = self.limiter.begin(*keys)
        if wait <= 0:
            return
        skipped = self.limiter.refused(*keys)
        if skipped is not None:
            detail: dict[str, Any] = {"remote": remote}
            if skipped:
                detail["refused_unlogged"] = skipped
            await self.audit.record(who, action, outcome="rate_limited", detail=detail)
        raise json_error(
            web.HTTPTooManyRequests,
            "too many failed attempts; try later",
            **{"Retry-After": str(max(1, math.ceil(wait)))},
        )

    @requires("public")
    @api_doc(request={"type": "object", "required": ["username", "password"], "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": _NO_CRLF},
        "password": {"type": "string", "maxLength": MAX_PASSWORD, "pattern": _NO_CRLF}}},
        responses={200: _SESSION, 401: {"description": "wrong username or password"},
                   429: _TOO_MANY}, tags=("session",))
    async def login(self, request: web.Request) -> web.Response:
        """Log in with {username, password}; sets the session cookie, returns the CSRF token."""
        body = await read_declared_json(request)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise json_error(web.HTTPBadRequest, "username and password are required strings")
        if len(username) > 64 or len(password) > MAX_PASSWORD:
            raise json_error(web.HTTPBadRequest, "username or password too long")
        if any(c in username + password for c in "\r\n\x00"):
            raise json_error(web.HTTPBadRequest, "username or password contains CR, LF or NUL")
        if _unencodable(username + password):
            raise json_error(web.HTTPBadRequest, "username or password is not valid UTF-8 text")
        remote = request.remote or ""
        keys = (f"user:{username_key(username)}", f"ip:{remote}")
        await self._limit(keys, username, "auth.login", remote)
        found = await self.store.credentials(username)
        ok = await self._check(password, found[1] if found else None)
        if found is None or not ok or found[0].disabled:
            await self.audit.record(
                username, "auth.login", outcome="denied", detail={"remote": remote}
            )
            raise json_error(web.HTTPUnauthorized, "wrong username or password")
        user = found[0]
        self.limiter.succeeded(*keys)
        await self.sessions.end(request.cookies.get(self.settings.cookie_name))
        new = await self.sessions.start(user, remote)
        await self.audit.record(user.username, "auth.login", detail={"remote": remote})
        response = web.json_response(
            {
                "user": user_json(new.actor),
                "csrf_token": new.csrf_token,
                "expires_at": new.expires_at,
            }
        )
        self._set_cookie(request, response, new)
        return response

    login.csrf = CSRF_ORIGIN_ONLY  # type: ignore[attr-defined]

    @requires(*ANY_USER)
    @api_doc(responses={204: {"description": "logged out; the cookie is cleared"}},
             tags=("session",))
    async def logout(self, request: web.Request) -> web.Response:
        """End the current session (its websockets close) and clear the cookie."""
        actor: Actor = request["actor"]
        await self.sessions.end(request.cookies.get(self.settings.cookie_name))
        await self.audit.record(actor.username, "auth.logout")
        response = web.Response(status=204)
        response.del_cookie(self.settings.cookie_name, path="/", httponly=True, samesite="Strict")
        return response

    @requires(*ANY_USER)
    @api_doc(responses={200: _SESSION}, tags=("session",))
    async def session(self, request: web.Request) -> web.Response:
        """Who is logged in, and the CSRF token to send in X-CSRF-Token."""
        current = request["session"]
        return web.json_response(
            {
                "user": user_json(current.actor),
                "csrf_token": current.csrf_token,
                "expires_at": current.expires_at,
            }
        )

    @requires(*ANY_USER)
    @api_doc(request={"type": "object", "required": ["current_password", "new_password"],
                      "properties": {
                          "current_password": {"type": "string", "maxLength": MAX_PASSWORD},
                          "new_password": {"type": "string", "minLength": MIN_PASSWORD,
                                           "maxLength": MAX_PASSWORD, "pattern": _NO_CRLF}}},
             responses={200: {"type": "object", "properties": {
                 "csrf_token": {"type": "string"}, "expires_at": {"type": "number"}}},
                 403: {"description": "the current password is wrong"}, 429: _TOO_MANY},
             tags=("session",))
    async def change_password(self, request: web.Request) -> web.Response:
        """Change one's own password with {current_password, new_password}; other sessions end."""
        actor: Actor = request["actor"]
        body = await read_declared_json(request)
        current, new_password = body.get("current_password"), body.get("new_password")
        if not isinstance(current, str) or len(current) > MAX_PASSWORD:
            raise json_error(web.HTTPBadRequest, "current_password is required")
        try:
            new_password = check_new_password(new_password)
        except UserError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        remote = request.remote or ""
        # The same keys as the login: a stolen session must not be a faster password oracle.
        keys = (f"user:{username_key(actor.username)}", f"ip:{remote}")
        await self._limit(keys, actor.username, "auth.password", remote)
        found = await self.store.credentials(actor.username)
        if found is None or not await self._check(current, found[1]):
            await self.audit.record(actor.username, "auth.password", outcome="denied")
            raise json_error(web.HTTPForbidden, "current password is wrong")
        self.limiter.succeeded(*keys)
        new_hash = await asyncio.to_thread(hash_password, new_password)
        user = await self.store.update_user(
            actor.user_id, self.sessions.clock.time(), password_hash=new_hash
        )
        await self.sessions.end_user(actor.user_id)
        new = await self.sessions.start(user, request.remote or "")
        await self.audit.record(actor.username, "auth.password")
        response = web.json_response({"csrf_token": new.csrf_token, "expires_at": new.expires_at})
        self._set_cookie(request, response, new)
        return response


@dataclass
class AuthServices:
    """What ``add_auth`` built, kept on the app (``app[AUTH_KEY]``) for the composition root."""

    store: UserStore
    sessions: SessionManager
    limiter: LoginRateLimiter
    live: LiveHub
    audit: Any


AUTH_KEY = web.AppKey("cc_auth", AuthServices)


def add_auth(
    app: web.Application,
    db: Database,
    settings: WebSecuritySettings,
    audit: Any,
    *,
    clock: Clock | None = None,
    release_agent: Callable[[str, str], Awaitable[str]] | None = None,
) -> None:
    """Install the auth middleware, the login page and the users, live and OpenAPI routes.
    ``release_agent`` (the routing's ``agent_leave``) takes a disabled or relinked user's agent
    out of its queues."""
    clock = clock or Clock()
    store = UserStore(db)
    sessions = SessionManager(
        store, clock, idle_timeout=settings.idle_timeout, max_age=settings.max_age
    )
    limiter = LoginRateLimiter(clock, settings.login_max_failures, settings.login_window)
    live = LiveHub(sessions, settings, clock)
    app[AUTH_KEY] = AuthServices(store, sessions, limiter, live, audit)
    install_security(app, sessions, settings)
    app.middlewares.append(declared_query_middleware)  # after the gate: 401 before 400
    app.add_routes(AuthHandlers(store, sessions, limiter, settings, audit).routes())
    app.add_routes(UsersApi(store, sessions, audit, clock, hash_password, release_agent).routes())
    app.add_routes(OpenApiHandler(settings).routes())
    app.router.add_get("/api/live", live.handle)
    add_shell_pages(app)
    app.on_startup.append(live.start)
    app.on_shutdown.append(live.close)
