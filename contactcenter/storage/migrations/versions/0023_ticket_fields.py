"""add ticket types, typed custom fields, followers and canned answers

``tickets.ticket_type`` (one of ``ticket_types``); ``ticket_fields`` the admin-defined fields
and ``ticket_field_values`` a ticket's values (``text``: the value as a list filters and
searches it); ``ticket_followers`` the agents and CC'd addresses told of public replies;
``ticket_canned_answers`` shared (``owner`` empty) and personal reply texts (docs/tickets.md).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("ticket_type", sa.String(32), nullable=True))
    op.create_index("ix_tickets_ticket_type", "tickets", ["ticket_type"])
    op.create_table(
        "ticket_types",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "ticket_fields",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("required_on_solve", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "ticket_field_values",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["key"], ["ticket_fields.key"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "key"),
    )
    op.create_index("ix_ticket_field_values_key_text", "ticket_field_values", ["key", "text"])
    op.create_table(
        "ticket_followers",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("follower", sa.String(254), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "kind", "follower"),
    )
    op.create_table(
        "ticket_canned_answers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("shortcut", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_ticket_canned_answers_shortcut", "ticket_canned_answers",
                    ["owner", "shortcut"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_ticket_canned_answers_shortcut", table_name="ticket_canned_answers")
    op.drop_table("ticket_canned_answers")
    op.drop_table("ticket_followers")
    op.drop_index("ix_ticket_field_values_key_text", table_name="ticket_field_values")
    op.drop_table("ticket_field_values")
    op.drop_table("ticket_fields")
    op.drop_table("ticket_types")
    op.drop_index("ix_tickets_ticket_type", table_name="tickets")
    op.execute("ALTER TABLE tickets DROP COLUMN ticket_type")
