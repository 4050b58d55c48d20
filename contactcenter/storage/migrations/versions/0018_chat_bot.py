"""add chat_conversations.bot_flow and bot_outcome (the chat bot, its deflections per flow)

A conversation a chat channel's bot flow began has ``bot_flow`` (the flow's name) and, once
the bot let go, ``bot_outcome``: handover, deflected, ended or abandoned (chat/bot.py). Plain
ALTER TABLE, no batch copy, as 0018.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("chat_conversations", sa.Column("bot_flow", sa.String(64), nullable=True))
    op.add_column("chat_conversations", sa.Column("bot_outcome", sa.String(16), nullable=True))
    op.create_index("ix_chat_conversations_bot_flow", "chat_conversations", ["bot_flow"])


def downgrade() -> None:
    op.drop_index("ix_chat_conversations_bot_flow", table_name="chat_conversations")
    op.execute("ALTER TABLE chat_conversations DROP COLUMN bot_outcome")
    op.execute("ALTER TABLE chat_conversations DROP COLUMN bot_flow")
