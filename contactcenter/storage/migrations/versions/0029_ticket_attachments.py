"""Ticket attachments: ticket_attachments lists the files of a message's mail

A file's bytes stay where they are, in the mail kept byte for byte (``ticket_mails.raw``); a
row names the message (``article_id``), the mail and the MIME part number, with the file's
name, the type the mail declared, the type its bytes are, its size and SHA-256. Mails stored
before this revision have no rows: their files stay in their raw mail.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("mail_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("declared_type", sa.String(100), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("inline", sa.Boolean(), nullable=False),
        sa.Column("content_id", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["ticket_articles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mail_id"], ["ticket_mails.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mail_id", "part", name="uq_ticket_attachments_part"),
    )
    op.create_index("ix_ticket_attachments_article_id", "ticket_attachments", ["article_id"])
    op.create_index("ix_ticket_attachments_mail_id", "ticket_attachments", ["mail_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_attachments_mail_id", table_name="ticket_attachments")
    op.drop_index("ix_ticket_attachments_article_id", table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
