"""add the tickets' SLA clocks (due and warning moments, pause, what fired) and ratings

Columns of ``tickets`` (all nullable): ``sla_policy``, ``first_response_due``,
``first_response_warn``, ``first_response_at``, ``resolution_due``, ``resolution_warn``,
``sla_paused_at``, ``sla_marks`` (the warnings and breaches already escalated) and
``sla_next_at`` (indexed: what the escalation sweep reads). Existing tickets keep no SLA. The table
``ticket_ratings`` (one CSAT answer per ticket) is new and empty (docs/tickets.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_FLOATS = ("first_response_due", "first_response_warn", "first_response_at",
           "resolution_due", "resolution_warn", "sla_paused_at", "sla_next_at")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sla_policy", sa.String(64), nullable=True))
        for name in _FLOATS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
        batch.add_column(sa.Column("sla_marks", sa.JSON(), nullable=True))
    op.create_index("ix_tickets_sla_next_at", "tickets", ["sla_next_at"])
    op.create_table(
        "ticket_ratings",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_ticket_ratings_created_at", "ticket_ratings", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_ratings_created_at", table_name="ticket_ratings")
    op.drop_table("ticket_ratings")
    op.drop_index("ix_tickets_sla_next_at", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("sla_marks")
        for name in reversed(_FLOATS):
            batch.drop_column(name)
        batch.drop_column("sla_policy")
