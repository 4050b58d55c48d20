"""The chat context's tables: conversations and their numbered messages.

``chat_conversations`` holds one row per conversation, its state kept current (the queue engine's
own ``routing_interactions`` row has the same id); ``chat_messages`` the transcript, keyed by
(conversation, seq). The unique (conversation, client_id) index is what makes a visitor's resend
after a reconnect land once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base


class ChatConversationRow(Base):
    """One visitor's conversation on one chat channel."""

    __tablename__ = "chat_conversations"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(64), index=True)
    visitor_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    visitor_name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    answers: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    attributes: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    page: Mapped[str] = mapped_column(sa.String(500))
    queue: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    offered_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    accepted_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    closed_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    last_seq: Mapped[int] = mapped_column(sa.Integer, default=0)
    verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class ChatMessageRow(Base):
    """One message of a conversation, numbered within it."""

    __tablename__ = "chat_messages"
    conversation_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("chat_conversations.id", ondelete="CASCADE"),
        primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100))
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    text: Mapped[str] = mapped_column(sa.Text)
    client_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    at: Mapped[float] = mapped_column(sa.Float)

    __table_args__ = (
        sa.Index("ux_chat_messages_client", "conversation_id", "client_id", unique=True),
    )
