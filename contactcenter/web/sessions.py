"""Login sessions: opaque random tokens in a cookie, only their hash in the database.

Design note: a session token is 32 random bytes (URL-safe base64). The database keeps
SHA-256(token), so reading the table does not let anyone log in. The CSRF token is derived
from the session token (HMAC-SHA256 keyed by it), so it is bound to the session, needs no
storage, and cannot be computed by anyone who does not hold the HttpOnly cookie; the page
obtains it from the login answer or GET /api/session. Sessions expire after ``idle_timeout``
without use and in any case ``max_age`` after login; activity slides the idle expiry at most
once per ``touch_interval`` to keep reads cheap. Ending sessions notifies revoke listeners
(the live hub closes the matching websockets).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from contactcenter.domain.clock import Clock
from contactcenter.web.roles import Actor
from contactcenter.web.users import User, UserStore

TOKEN_BYTES = 32
_MAX_TOKEN_CHARS = 100

RevokeListener = Callable[["Revocation"], Awaitable[None]]


def new_token() -> str:
    """A fresh random session token (32 bytes, URL-safe base64)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored in place of a token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def csrf_token_for(token: str) -> str:
    """The CSRF token bound to a session token."""
    mac = hmac.new(token.encode("ascii"), b"contactcenter-csrf-v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_matches(token: str, presented: str | None) -> bool:
    """Constant-time check of a presented CSRF token against the session's."""
    if not presented or len(presented) > _MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(csrf_token_for(token).encode(), presented.encode("utf-8", "replace"))


def plausible_token(token: str | None) -> bool:
    """True when ``token`` could be one of ours (cheap check before any database work)."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return False
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in token)


def actor_of(user: User) -> Actor:
    """The request-facing identity of a user."""
    return Actor(user_id=user.id, username=user.username, role=user.role, agent_id=user.agent_id)


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just started: the token goes into the cookie and is never stored."""

    id: int
    token: str
    csrf_token: str
    actor: Actor
    expires_at: float


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """A session found from its cookie."""

    id: int
    actor: Actor
    csrf_token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Revocation:
    """Sessions that just ended: by id, or every session of ``user_id``."""

    session_ids: frozenset[int]
    user_id: int | None = None


class SessionManager:
    """Starts, resolves and ends sessions over a ``UserStore``."""

    def __init__(
        self,
        store: UserStore,
        clock: Clock,
        *,
        idle_timeout: float = 2 * 3600,
        max_age: float = 12 * 3600,
        touch_interval: float = 60,
    ) -> None:
        self.store = store
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.max_age = max_age
        self.touch_interval = touch_interval
        self._listeners: list[RevokeListener] = []

    def add_revoke_listener(self, listener: RevokeListener) -> None:
        """Call ``listener(Revocation)`` whenever sessions end."""
        self._listeners.append(listener)

    async def _notify(self, revocation: Revocation) -> None:
        for listener in list(self._listeners):
            await listener(revocation)

    def _expiry(self, created_at: float, now: float) -> float:
        return min(created_at + self.max_age, now + self.idle_timeout)

    async def start(self, user: User, remote: str = "") -> NewSession:
        """Open a new session for ``user`` (the caller ends any previous one: rotation)."""
        token = new_token()
        now = self.clock.time()
        expires = self._expiry(now, now)
        sid = await self.store.create_session(token_hash(token), user.id, now, expires, remote)
        return NewSession(
            id=sid,
            token=token,
            csrf_token=csrf_token_for(token),
            actor=actor_of(user),
            expires_at=expires,
        )

    async def resolve(self, token: str | None) -> ActiveSession | None:
        """The live session behind a cookie value, or None (unknown, expired, user disabled)."""
        if not plausible_token(token):
            return None
        assert token is not None
        now = self.clock.time()
        record = await self.store.find_session(token_hash(token), now)
        if record is None:
            return None
        expires = record.expires_at
        if now - record.last_seen >= self.touch_interval:
            expires = self._expiry(record.created_at, now)
            await self.store.touch_session(record.id, now, expires)
        return ActiveSession(
            id=record.id,
            actor=actor_of(record.user),
            csrf_token=csrf_token_for(token),
            expires_at=expires,
        )

    async def end(self, token: str | None) -> int | None:
        """End the session behind a cookie value; returns its id if there was one."""
        if not plausible_token(token):
            return None
        assert token is not None
        sid = await self.store.delete_session(token_hash(token))
        if sid is not None:
            await self._notify(Revocation(frozenset({sid})))
        return sid

    async def end_user(self, user_id: int) -> int:
        """End every session of a user (disabled, password changed); returns how many."""
        count = await self.store.delete_user_sessions(user_id)
        await self._notify(Revocation(frozenset(), user_id=user_id))
        return count

    async def live_ids(self, session_ids: list[int]) -> set[int]:
        """Which of these session ids are still valid now."""
        return await self.store.live_session_ids(session_ids, self.clock.time())

    async def purge_expired(self) -> int:
        """Delete expired sessions from the database."""
        return await self.store.purge_expired(self.clock.time())
