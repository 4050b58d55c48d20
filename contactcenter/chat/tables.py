"""The chat context's tables: conversations, their messages and files, messages left offline,
canned replies, the rating surveys of ended chats.

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
    # Articles offered before a person: answered (self-served), person, none (chat/faq.py).
    faq_outcome: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    faq_article_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # The bot flow it began with and how that ended (handover, deflected...): chat/bot.py.
    bot_flow: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    bot_outcome: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)


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
    # A file sent as this message: what shows it (the file itself: ``chat_attachments``)
    attachment: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True),
                                                               nullable=True)

    __table_args__ = (
        sa.Index("ux_chat_messages_client", "conversation_id", "client_id", unique=True),
    )


class ChatOfflineMessageRow(Base):
    """A message a visitor left while the chat channel was offline (``offline.py``)."""

    __tablename__ = "chat_offline_messages"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(64))
    queue: Mapped[str] = mapped_column(sa.String(64))
    visitor_id: Mapped[str] = mapped_column(sa.String(64))
    visitor_name: Mapped[str] = mapped_column(sa.String(100))
    answers: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    text: Mapped[str] = mapped_column(sa.Text)
    page: Mapped[str] = mapped_column(sa.String(500))
    reason: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    done_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    done_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    # The ticket it became (tickets filed it through the service's ``message_left`` port).
    ticket_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    __table_args__ = (
        sa.Index("ix_chat_offline_messages_queue_open", "queue", "done_at"),
    )


class ChatCannedReplyRow(Base):
    """A saved reply agents insert by shortcut (``canned.py``); ``queue`` empty: every queue."""

    __tablename__ = "chat_canned_replies"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(sa.String(64))
    shortcut: Mapped[str] = mapped_column(sa.String(32))
    text: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    updated_by: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (
        sa.Index("ux_chat_canned_replies_shortcut", "queue", "shortcut", unique=True),
    )


class ChatAttachmentRow(Base):
    """A file sent in a conversation (``attachments.py``): its bytes are on disk under the
    chat's ``attachments_dir``, named ``key``; who may read it follows the conversation."""

    __tablename__ = "chat_attachments"
    key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("chat_conversations.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(sa.String(16))
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    filename: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[float] = mapped_column(sa.Float)


class ChatRatingRow(Base):
    """The rating survey offered when a chat ended (``rating.py``) and its one answer: the
    first one stands. A row without ``rating`` is a survey offered and not (yet) answered."""

    __tablename__ = "chat_ratings"
    conversation_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("chat_conversations.id", ondelete="CASCADE"),
        primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(64))
    queue: Mapped[str] = mapped_column(sa.String(64))
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    offered_at: Mapped[float] = mapped_column(sa.Float, index=True)
    rating: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)  # 1..5, 5 best
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True, index=True)
