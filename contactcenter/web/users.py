"""People who log in to the web panel, and their sessions.

Design note: ``users`` holds one row per person (role agent / supervisor / admin, an optional
link to a routing agent id, an optional phone (the dial string a supervisor monitors calls
from, so a supervisor need not be a routable agent), a self-describing password hash produced
by the web layer, and a disabled flag); its table (``tables.py``) changes only through a
migration (docs/storage.md). ``web_sessions`` holds only the SHA-256 of each session token,
never the token, so a leaked database does not leak live sessions. Looking a session up joins
the user and refuses disabled users, so disabling someone takes effect on their very next
request even before their rows are deleted. Times are epoch seconds from the caller's ``Clock``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from contactcenter.domain.agent import check_dial_string
from contactcenter.storage.database import Database
from contactcenter.web.tables import SessionRow, UserRow

ROLES = ("agent", "supervisor", "admin")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class UserError(ValueError):
    """A user field is invalid, or the user does not exist / already exists."""


class UserExists(UserError):
    """The username is taken (a conflict with what is stored, not a malformed request)."""


@dataclass(frozen=True, slots=True)
class User:
    """A user as read back (the password hash stays inside the store's callers that ask)."""

    id: int
    username: str
    role: str
    agent_id: str | None
    disabled: bool
    created_at: float
    updated_at: float
    phone: str | None = None  # dial string for monitoring (ChanSpy legs ring it)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live session joined with its (enabled) user."""

    id: int
    user: User
    created_at: float
    last_seen: float
    expires_at: float


def _check_text(name: str, value: str) -> None:
    if any(c in value for c in "\r\n\x00"):
        raise UserError(f"{name} contains CR, LF or NUL")


def username_key(username: str) -> str:
    """How a username is stored, looked up and counted: ASCII letters in lowercase.

    Usernames are case-insensitive: ``Alice`` and ``alice`` are one user, one lockout counter
    (two users differing in case once let one reset the other's failed logins). Only ASCII
    letters fold: a valid username is ASCII, and Unicode folding would let e.g. the Kelvin
    sign stand for ``k``.
    """
    return username.lower() if username.isascii() else username


def validate_username(username: str) -> str:
    """The username, as stored (``username_key``), if it is 1-64 safe characters (letters,
    digits, . _ @ -), else UserError."""
    if not isinstance(username, str):
        raise UserError("username must be a string")
    _check_text("username", username)
    if not _USERNAME.fullmatch(username):
        raise UserError("username must be 1-64 of A-Z a-z 0-9 . _ @ - (not starting with a sign)")
    return username_key(username)


def validate_role(role: str) -> str:
    """The role if it is agent, supervisor or admin, else UserError."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    return role


def validate_agent_id(agent_id: str | None) -> str | None:
    """The agent id (or None) if it is 1-64 safe characters, else UserError."""
    if agent_id is None:
        return None
    if not isinstance(agent_id, str):
        raise UserError("agent_id must be a string")
    _check_text("agent_id", agent_id)
    if not _AGENT_ID.fullmatch(agent_id):
        raise UserError("agent_id must be 1-64 of A-Z a-z 0-9 . _ @ -")
    return agent_id


def validate_phone(phone: str | None) -> str | None:
    """The phone (or None; "" clears it) if it is one device's dial string, else UserError."""
    if phone is None or phone == "":
        return None
    if not isinstance(phone, str):
        raise UserError("phone must be a string")
    _check_text("phone", phone)
    try:
        return check_dial_string(phone)  # the agents file's rule: one device, no , & or spaces
    except ValueError as exc:
        raise UserError(f"phone: {exc}") from None


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        agent_id=row.agent_id,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        updated_at=row.updated_at,
        phone=row.phone,
    )


class UserStore:
    """Users and sessions in the database; build one per ``Database`` and pass it in."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_user(
        self, username: str, password_hash: str, role: str, agent_id: str | None, now: float,
        phone: str | None = None,
    ) -> User:
        """Insert a user; UserError when a field is invalid or the username is taken."""
        username = validate_username(username)
        row = UserRow(
            username=username,
            password_hash=password_hash,
            role=validate_role(role),
            agent_id=validate_agent_id(agent_id),
            phone=validate_phone(phone),
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        async with self._db.session() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError:
                raise UserExists(f"user {username!r} already exists") from None
            return _user(row)

    async def get(self, user_id: int) -> User | None:
        """The user with this id, or None."""
        async with self._db.session() as s:
            row = await s.get(UserRow, user_id)
            return _user(row) if row else None

    async def get_by_username(self, username: str) -> User | None:
        """The user with this username (in any case), or None."""
        async with self._db.session() as s:
            row = (
                await s.execute(
                    sa.select(UserRow).where(UserRow.username == username_key(username)))
            ).scalar_one_or_none()
            return _user(row) if row else None

    async def credentials(self, username: str) -> tuple[User, str] | None:
        """The user and their stored password hash, for checking a login; None if unknown."""
        async with self._db.session() as s:
            row = (
                await s.execute(
                    sa.select(UserRow).where(UserRow.username == username_key(username)))
            ).scalar_one_or_none()
            return (_user(row), row.password_hash) if row else None

    async def list_users(self) -> list[User]:
        """Every user, ordered by username."""
        async with self._db.session() as s:
            rows = (await s.execute(sa.select(UserRow).order_by(UserRow.username))).scalars()
            return [_user(r) for r in rows]

    async def count_admins(self) -> int:
        """How many enabled admins exist (so the last one is not locked out by mistake)."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(UserRow)
            .where(UserRow.role == "admin", UserRow.disabled.is_(False))
        )
        async with self._db.session() as s:
            return int((await s.execute(stmt)).scalar_one())

    async def update_user(
        self,
        user_id: int,
        now: float,
        *,
        role: str | None = None,
        agent_id: str | None | EllipsisType = ...,
        disabled: bool | None = None,
        password_hash: str | None = None,
        phone: str | None | EllipsisType = ...,
    ) -> User:
        """Change fields (``...`` keeps agent_id / phone); disabling or a new password ends sessions."""
        async with self._db.session() as s:
            row = await s.get(UserRow, user_id)
            if row is None:
                raise UserError(f"no user with id {user_id}")
            if role is not None:
                row.role = validate_role(role)
            if agent_id is not ...:
                row.agent_id = validate_agent_id(agent_id)
            if phone is not ...:
                row.phone = validate_phone(phone)
            if disabled is not None:
                row.disabled = bool(disabled)
            if password_hash is not None:
                row.password_hash = password_hash
            row.updated_at = now
            if disabled or password_hash is not None:
                await s.execute(sa.delete(SessionRow).where(SessionRow.user_id == user_id))
            await s.commit()
            return _user(row)

    async def create_session(
        self, token_hash: str, user_id: int, now: float, expires_at: float, remote: str = ""
    ) -> int:
        """Store a new session (by token hash); returns its id."""
        row = SessionRow(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            last_seen=now,
            expires_at=expires_at,
            remote=remote[:64],
        )
        async with self._db.session() as s:
            s.add(row)
            await s.commit()
            return row.id

    async def find_session(self, token_hash: str, now: float) -> SessionRecord | None:
        """The unexpired session with this token hash whose user is enabled, or None."""
        stmt = (
            sa.select(SessionRow, UserRow)
            .join(UserRow, UserRow.id == SessionRow.user_id)
            .where(
                SessionRow.token_hash == token_hash,
                SessionRow.expires_at > now,
                UserRow.disabled.is_(False),
            )
        )
        async with self._db.session() as s:
            found = (await s.execute(stmt)).first()
        if found is None:
            return None
        srow, urow = found
        return SessionRecord(
            id=srow.id,
            user=_user(urow),
            created_at=srow.created_at,
            last_seen=srow.last_seen,
            expires_at=srow.expires_at,
        )

    async def live_session_ids(self, session_ids: list[int], now: float) -> set[int]:
        """Which of ``session_ids`` are still valid (unexpired, user enabled)."""
        if not session_ids:
            return set()
        stmt = (
            sa.select(SessionRow.id)
            .join(UserRow, UserRow.id == SessionRow.user_id)
            .where(
                SessionRow.id.in_(session_ids),
                SessionRow.expires_at > now,
                UserRow.disabled.is_(False),
            )
        )
        async with self._db.session() as s:
            return set((await s.execute(stmt)).scalars())

    async def touch_session(self, session_id: int, now: float, expires_at: float) -> None:
        """Record activity on a session and slide its idle expiry."""
        stmt = (
            sa.update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(last_seen=now, expires_at=expires_at)
        )
        async with self._db.session() as s:
            await s.execute(stmt)
            await s.commit()

    async def delete_session(self, token_hash: str) -> int | None:
        """Delete the session with this token hash; returns its id if it existed."""
        async with self._db.session() as s:
            sid = (
                await s.execute(sa.select(SessionRow.id).where(SessionRow.token_hash == token_hash))
            ).scalar_one_or_none()
            if sid is not None:
                await s.execute(sa.delete(SessionRow).where(SessionRow.id == sid))
                await s.commit()
            return sid

    async def delete_user_sessions(self, user_id: int) -> int:
        """Delete every session of a user; returns how many there were."""
        async with self._db.session() as s:
            result = cast(CursorResult[Any], await s.execute(  # a DELETE's result has rowcount
                sa.delete(SessionRow).where(SessionRow.user_id == user_id)))
            await s.commit()
            return int(result.rowcount or 0)

    async def purge_expired(self, now: float) -> int:
        """Delete expired sessions; returns how many."""
        async with self._db.session() as s:
            result = cast(CursorResult[Any], await s.execute(  # a DELETE's result has rowcount
                sa.delete(SessionRow).where(SessionRow.expires_at <= now)))
            await s.commit()
            return int(result.rowcount or 0)
