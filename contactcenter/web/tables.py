"""The web shell's tables: the people who log in (``users``) and their sessions (``web_sessions``).

``web_sessions`` holds only the SHA-256 of each session token, never the token, so a leaked
database does not leak live sessions.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base


class UserRow(Base):
    """One person who can log in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20))
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    phone: Mapped[str | None] = mapped_column(sa.String(130), nullable=True)
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[float] = mapped_column(sa.Float)


class SessionRow(Base):
    """One login session; only the hash of its token is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[float] = mapped_column(sa.Float)
    last_seen: Mapped[float] = mapped_column(sa.Float)
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)
    remote: Mapped[str] = mapped_column(sa.String(64), default="")


