"""add chat_offline_messages: what web-chat visitors leave while a channel is offline

One row per message left outside a chat channel's hours or while nobody was logged in to its
queue (the pre-chat answers, the text, the page, why it was offline, when it was handled).
New and empty (docs/chat.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_offline_messages",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("visitor_name", sa.String(100), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("page", sa.String(500), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.Column("done_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_chat_offline_messages_created_at", "chat_offline_messages",
                    ["created_at"])
    op.create_index("ix_chat_offline_messages_queue_open", "chat_offline_messages",
                    ["queue", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_chat_offline_messages_queue_open", table_name="chat_offline_messages")
    op.drop_index("ix_chat_offline_messages_created_at", table_name="chat_offline_messages")
    op.drop_table("chat_offline_messages")
