"""add the web chat's conversations and messages

``chat_conversations`` (one row per visitor conversation, its state kept current) and
``chat_messages`` (the transcript, numbered per conversation; a visitor's resend of one
``client_id`` is refused by a unique index). Both new and empty (docs/chat.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("visitor_name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("page", sa.String(500), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("offered_at", sa.Float(), nullable=True),
        sa.Column("accepted_at", sa.Float(), nullable=True),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.Column("closed_by", sa.String(16), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("agent_id", "channel", "created_at", "state", "visitor_id"):
        op.create_index(f"ix_chat_conversations_{column}", "chat_conversations", [column])
    op.create_table(
        "chat_messages",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["chat_conversations.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id", "seq"),
    )
    op.create_index("ux_chat_messages_client", "chat_messages",
                    ["conversation_id", "client_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_chat_messages_client", table_name="chat_messages")
    op.drop_table("chat_messages")
    for column in ("agent_id", "channel", "created_at", "state", "visitor_id"):
        op.drop_index(f"ix_chat_conversations_{column}", table_name="chat_conversations")
    op.drop_table("chat_conversations")
