"""add chat_attachments (files sent in chats) and chat_messages.attachment

``chat_attachments`` indexes the files visitors and agents send in a conversation: the bytes
are on disk under the chat's ``attachments_dir``, named by the random ``key``; the row says
whose conversation it is (who may read it), its type as sniffed from the bytes, its size and
hash. ``chat_messages.attachment`` (nullable JSON) is what the message shows of its file, so a
transcript read anywhere has it. Plain ALTER TABLE, no batch copy, as 0018.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("chat_messages", sa.Column("attachment", sa.JSON(), nullable=True))
    op.create_table(
        "chat_attachments",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("filename", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["chat_conversations.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_chat_attachments_conversation_id", "chat_attachments",
                    ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_attachments_conversation_id", table_name="chat_attachments")
    op.drop_table("chat_attachments")
    op.execute("ALTER TABLE chat_messages DROP COLUMN attachment")
