"""add chat_canned_replies: saved replies agents insert in a chat by shortcut

One row per reply, for one queue or (``queue`` empty) every queue; the shortcut is unique
within its queue. New and empty (docs/chat.md).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_canned_replies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("shortcut", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_chat_canned_replies_shortcut", "chat_canned_replies",
                    ["queue", "shortcut"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_chat_canned_replies_shortcut", table_name="chat_canned_replies")
    op.drop_table("chat_canned_replies")
