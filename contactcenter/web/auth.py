"""Passwords, the login rate limit, the login / logout / session endpoints, and ``add_auth``.

Design note: passwords are hashed with scrypt (n=2**14, r=8, p=1, 16-byte random salt) into a
self-describing string ``scrypt$n=16384,r=8,p=1$<salt>$<hash>`` so parameters can be raised
later without breaking stored hashes. Hashing runs in a worker thread (it costs tens of
milliseconds of CPU by design). An unknown username is checked against a dummy hash so both
cases take the same time. Failures are counted per username and per client address in a
sliding window; past the limit the login answers 429 with Retry-After before touching the
password. The limiter is per process (a restart forgives); sessions and users are in the
database. Login rotates the session (the old cookie's session is ended) and is audited.
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
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.storage.database import Database
from contactcenter.web.live import LiveHub
from contactcenter.web.openapi import OpenApiHandler
from contactcenter.web.pages import add_shell_pages
from contactcenter.web.roles import ANY_USER, Actor, requires
from contactcenter.web.security import (
    CSRF_ORIGIN_ONLY,
    WebSecuritySettings,
    install_security,
    json_error,
    read_json_object,
)
from contactcenter.web.sessions import NewSession, SessionManager
from contactcenter.web.users import UserError, UserStore
from contactcenter.web.users_api import MAX_PASSWORD, UsersApi, check_new_password, user_json

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
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
    """Sliding-window count of failed logins per key (``user:NAME`` and ``ip:ADDR``)."""

    def __init__(
        self, clock: Clock, max_failures: int = 5, window: float = 300, max_keys: int = 50_000
    ) -> None:
        self._clock = clock
        self.max_failures = max_failures
        self.window = window
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

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
        """Seconds until a login for these keys is allowed again; 0 when allowed now."""
        now = self._clock.time()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                wait = max(wait, times[-self.max_failures] + self.window - now)
        return wait

    def failure(self, *keys: str) -> None:
        """Count one failed login against each key."""
        now = self._clock.time()
        for key in keys:
            times = self._failures.setdefault(key, deque(maxlen=self.max_failures * 4))
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def reset(self, key: str) -> None:
        """Forget the failures of one key (after a successful login)."""
        self._failures.pop(key, None)


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

    @requires("public")
    async def login(self, request: web.Request) -> web.Response:
        """Log in with {username, password}; sets the session cookie, returns the CSRF token."""
        body = await read_json_object(request)
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
        keys = (f"user:{username.lower()}", f"ip:{remote}")
        wait = self.limiter.retry_after(*keys)
        if wait > 0:
            await self.audit.record(
                username, "auth.login", outcome="rate_limited", detail={"remote": remote}
            )
            raise json_error(
                web.HTTPTooManyRequests,
                "too many failed logins; try later",
                **{"Retry-After": str(max(1, math.ceil(wait)))},
            )
        found = await self.store.credentials(username)
        ok = await self._check(password, found[1] if found else None)
        if found is None or not ok or found[0].disabled:
            self.limiter.failure(*keys)
            await self.audit.record(
                username, "auth.login", outcome="denied", detail={"remote": remote}
            )
            raise json_error(web.HTTPUnauthorized, "wrong username or password")
        user = found[0]
        self.limiter.reset(keys[0])
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
    async def logout(self, request: web.Request) -> web.Response:
        """End the current session (its websockets close) and clear the cookie."""
        actor: Actor = request["actor"]
        await self.sessions.end(request.cookies.get(self.settings.cookie_name))
        await self.audit.record(actor.username, "auth.logout")
        response = web.Response(status=204)
        response.del_cookie(self.settings.cookie_name, path="/", httponly=True, samesite="Strict")
        return response

    @requires(*ANY_USER)
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
    async def change_password(self, request: web.Request) -> web.Response:
        """Change one's own password with {current_password, new_password}; other sessions end."""
        actor: Actor = request["actor"]
        body = await read_json_object(request)
        current, new_password = body.get("current_password"), body.get("new_password")
        if not isinstance(current, str) or len(current) > MAX_PASSWORD:
            raise json_error(web.HTTPBadRequest, "current_password is required")
        try:
            new_password = check_new_password(new_password)
        except UserError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        found = await self.store.credentials(actor.username)
        if found is None or not await self._check(current, found[1]):
            await self.audit.record(actor.username, "auth.password", outcome="denied")
            raise json_error(web.HTTPForbidden, "current password is wrong")
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
) -> None:
    """Install the auth middleware, the login page and the users, live and OpenAPI routes."""
    clock = clock or Clock()
    store = UserStore(db)
    sessions = SessionManager(
        store, clock, idle_timeout=settings.idle_timeout, max_age=settings.max_age
    )
    limiter = LoginRateLimiter(clock, settings.login_max_failures, settings.login_window)
    live = LiveHub(sessions, settings, clock)
    app[AUTH_KEY] = AuthServices(store, sessions, limiter, live, audit)
    install_security(app, sessions, settings)
    app.add_routes(AuthHandlers(store, sessions, limiter, settings, audit).routes())
    app.add_routes(UsersApi(store, sessions, audit, clock, hash_password).routes())
    app.add_routes(OpenApiHandler(settings).routes())
    app.router.add_get("/api/live", live.handle)
    add_shell_pages(app)
    app.on_startup.append(live.start)
    app.on_shutdown.append(live.close)
