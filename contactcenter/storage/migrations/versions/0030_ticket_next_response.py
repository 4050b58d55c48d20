"""add tickets.next_response_due/_warn/_at: the SLA's next-response clock

Once an agent answered a ticket, a customer's message starts a next-response cycle
(``tickets/sla.py``): its warning and due moments, and when the next public reply met it.
Existing tickets have no cycle running (all three empty); their next customer message starts
one if their policy sets ``next_response_s``.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

COLUMNS = ("next_response_due", "next_response_warn", "next_response_at")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
