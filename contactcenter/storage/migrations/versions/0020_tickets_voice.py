"""add ticket_calls (tickets from voice messages and from calls in wrap-up)

A ticket made from a voice message left in the IVR, or by an agent from a call in wrap-up,
links back to that call: its interaction id, caller, flow and, for a voice message, the audio
file the PBX wrote. ``message_key`` (call id and node) is unique, so a message is filed once
whatever retries or restarts happen (tickets/from_voice.py).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("interaction_id", sa.String(64), nullable=False),
        sa.Column("message_key", sa.String(200), nullable=True),
        sa.Column("audio_file", sa.String(500), nullable=True),
        sa.Column("caller_id", sa.String(64), nullable=True),
        sa.Column("flow", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("message_key"),
    )
    op.create_index("ix_ticket_calls_ticket_id", "ticket_calls", ["ticket_id"])
    op.create_index("ix_ticket_calls_interaction_id", "ticket_calls", ["interaction_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_calls_interaction_id", table_name="ticket_calls")
    op.drop_index("ix_ticket_calls_ticket_id", table_name="ticket_calls")
    op.drop_table("ticket_calls")
