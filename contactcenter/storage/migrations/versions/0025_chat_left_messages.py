"""add chat_offline_messages.ticket_id: the ticket a message left became

The supervisors' page of messages left (``chat/left_messages_routes.py``) links each message
to its ticket; chat learns the number from the ``message_left`` port when tickets file it.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_offline_messages") as batch:
        batch.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_offline_messages") as batch:
        batch.drop_column("ticket_id")
