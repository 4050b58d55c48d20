"""add ivr_sessions and ivr_session_nodes: each IVR session and the nodes it entered

One row per IVR session (flow, version, start and end, the interval it started in, the
runner's outcome and its kind, the last node, the interaction id when it was queued) and one
per node it entered, in order; the reports' IVR figures are counted from them when read
(docs/reports.md, IVR). Both start empty: sessions before the upgrade were not kept.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ivr_sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("ending", sa.String(16), nullable=False),
        sa.Column("last_node", sa.String(129), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ivr_sessions_slot_flow", "ivr_sessions", ["slot", "flow"])
    op.create_table(
        "ivr_session_nodes",
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node", sa.String(129), nullable=False),
        sa.Column("entered_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["ivr_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("ivr_session_nodes")
    op.drop_index("ix_ivr_sessions_slot_flow", table_name="ivr_sessions")
    op.drop_table("ivr_sessions")
