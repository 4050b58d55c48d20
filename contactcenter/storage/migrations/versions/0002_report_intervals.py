"""add the reports' interval tables

15-minute interval figures per queue (and per day), per agent, agent state seconds and
dispositions, plus the
aggregation's position (``report_cursor``) and the agents' open states (``report_agent_open``).
All new and empty: the running server fills them from the interaction log, from its first row,
on its first start after this revision (docs/reports.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

QUEUE_COUNTS = (
    "arrived", "overflowed_in", "transferred_in", "answered", "answered_in_sl",
    "callbacks_answered", "abandoned", "abandoned_short", "abandoned_in_sl", "exited",
    "overflowed_out", "transferred_out", "transferred_external", "callbacks_requested",
    "offers", "rona", "holds", "handled",
)
QUEUE_SECONDS = ("wait_answered_s", "wait_abandoned_s", "talk_s", "hold_s", "wrapup_s",
                 "handle_s", "max_wait_s")
AGENT_COUNTS = ("answered", "answered_in_sl", "callbacks_answered", "transferred_out",
                "transferred_external", "offers", "rona", "holds", "handled")
AGENT_SECONDS = ("wait_answered_s", "talk_s", "hold_s", "wrapup_s", "handle_s")


def _when() -> list[sa.Column]:
    return [sa.Column("start", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("hour", sa.BigInteger(), nullable=False),
            sa.Column("day", sa.String(10), nullable=False)]


def _figures(counts: tuple[str, ...], seconds: tuple[str, ...]) -> list[sa.Column]:
    return ([sa.Column(n, sa.Integer(), server_default="0", nullable=False) for n in counts]
            + [sa.Column(n, sa.Float(), server_default="0", nullable=False) for n in seconds])


def upgrade() -> None:
    op.create_table(
        "report_queue_intervals",
        *_when(),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        *_figures(QUEUE_COUNTS, QUEUE_SECONDS),
        sa.PrimaryKeyConstraint("start", "queue", "channel"),
    )
    op.create_table(
        "report_queue_days",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        *_figures(QUEUE_COUNTS, QUEUE_SECONDS),
        sa.PrimaryKeyConstraint("day", "queue", "channel"),
    )
    op.create_table(
        "report_agent_intervals",
        *_when(),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        *_figures(AGENT_COUNTS, AGENT_SECONDS),
        sa.PrimaryKeyConstraint("start", "agent_id", "queue", "channel"),
    )
    op.create_table(
        "report_agent_states",
        *_when(),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("seconds", sa.Float(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("start", "agent_id", "state", "reason"),
    )
    op.create_table(
        "report_dispositions",
        *_when(),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("disposition", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("start", "queue", "channel", "agent_id", "disposition"),
    )
    op.create_table(
        "report_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("credited_to", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "report_agent_open",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id"),
    )


def downgrade() -> None:
    for name in ("report_agent_open", "report_cursor", "report_dispositions",
                 "report_agent_states", "report_agent_intervals", "report_queue_days",
                 "report_queue_intervals"):
        op.drop_table(name)
