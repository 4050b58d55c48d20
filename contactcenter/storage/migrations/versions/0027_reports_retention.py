"""add ivr_flow_intervals and ivr_node_intervals: the IVR sums kept when old sessions go

The IVR sessions' retention (``reports.ivr_retention_days``, docs/reports.md, IVR) deletes
sessions older than it keeps and first folds them into these 15-minute sums, which the IVR
report reads with the sessions still kept. Both start empty: nothing was purged before.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ivr_flow_intervals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("ending", sa.String(16), nullable=False),
        sa.Column("last_node", sa.String(129), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ivr_flow_intervals_slot_flow", "ivr_flow_intervals", ["slot", "flow"])
    op.create_table(
        "ivr_node_intervals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("node", sa.String(129), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ivr_node_intervals_slot_flow", "ivr_node_intervals", ["slot", "flow"])


def downgrade() -> None:
    op.drop_index("ix_ivr_node_intervals_slot_flow", table_name="ivr_node_intervals")
    op.drop_table("ivr_node_intervals")
    op.drop_index("ix_ivr_flow_intervals_slot_flow", table_name="ivr_flow_intervals")
    op.drop_table("ivr_flow_intervals")
