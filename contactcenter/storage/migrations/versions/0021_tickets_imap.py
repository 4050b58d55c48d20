"""add ticket_imap_cursors: how far each IMAP folder was imported (UIDVALIDITY, last UID)

One row per polled account and folder (``tickets.imap``), written in the same transaction as
the ticket a mail made, so a mail is imported exactly once across restarts (docs/tickets.md).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_imap_cursors",
        sa.Column("mailbox", sa.String(300), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )


def downgrade() -> None:
    op.drop_table("ticket_imap_cursors")
