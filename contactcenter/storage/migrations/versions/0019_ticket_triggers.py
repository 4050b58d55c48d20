"""add ticket triggers, their time automations' runs and the webhook deliveries

New, empty tables: ``ticket_triggers`` (ordered rules: event, conditions, actions as JSON),
``ticket_trigger_runs`` (one row per time automation fired on a ticket per entry into its
status, unique: what makes it fire once) and ``ticket_webhooks`` (each webhook call with its
body, attempts, next try and response code). docs/tickets.md, "Triggers and automations".

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_triggers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "ticket_trigger_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trigger_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["trigger_id"], ["ticket_triggers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("trigger_id", "ticket_id", "entry",
                            name="uq_ticket_trigger_runs_once"),
    )
    op.create_index("ix_ticket_trigger_runs_ticket_id", "ticket_trigger_runs", ["ticket_id"])
    op.create_table(
        "ticket_webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trigger_id", sa.Integer(), nullable=True),
        sa.Column("trigger_name", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.Float(), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["trigger_id"], ["ticket_triggers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("trigger_id", "ticket_id", "status", "next_try_at", "created_at"):
        op.create_index(f"ix_ticket_webhooks_{column}", "ticket_webhooks", [column])


def downgrade() -> None:
    for column in ("trigger_id", "ticket_id", "status", "next_try_at", "created_at"):
        op.drop_index(f"ix_ticket_webhooks_{column}", table_name="ticket_webhooks")
    op.drop_table("ticket_webhooks")
    op.drop_index("ix_ticket_trigger_runs_ticket_id", table_name="ticket_trigger_runs")
    op.drop_table("ticket_trigger_runs")
    op.drop_table("ticket_triggers")
