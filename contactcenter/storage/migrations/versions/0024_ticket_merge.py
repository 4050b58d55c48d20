"""add tickets.merged_into and split_from (merging a ticket into another, splitting one)

A ticket merged into another is closed with ``merged_into`` naming the one that holds its
thread now (mail threaded to it follows there); a ticket made by a split names the ticket its
messages came from in ``split_from``. Both indexed: each ticket lists what was merged into it
and what was split from it (tickets/merge.py). Plain ALTER TABLE, no batch copy, as 0018.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("merged_into", sa.Integer, nullable=True))
    op.add_column("tickets", sa.Column("split_from", sa.Integer, nullable=True))
    op.create_index("ix_tickets_merged_into", "tickets", ["merged_into"])
    op.create_index("ix_tickets_split_from", "tickets", ["split_from"])


def downgrade() -> None:
    op.drop_index("ix_tickets_split_from", table_name="tickets")
    op.drop_index("ix_tickets_merged_into", table_name="tickets")
    op.execute("ALTER TABLE tickets DROP COLUMN split_from")
    op.execute("ALTER TABLE tickets DROP COLUMN merged_into")
