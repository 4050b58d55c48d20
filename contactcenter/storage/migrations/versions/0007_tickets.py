"""add tickets: tickets, their thread, history, mails in and out, addresses; customers.email

``tickets`` (the number is the id), ``ticket_articles`` (customer messages, public replies,
internal notes), ``ticket_history`` (every change: who, what, when), ``ticket_mails`` (every
mail received or sent, byte for byte: the outbox too), ``ticket_addresses`` (bounces). All new
and empty. ``customers`` gains a nullable, indexed ``email``: how a mail's sender finds their
customer record (docs/tickets.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("requester_email", sa.String(254), nullable=True),
        sa.Column("requester_name", sa.String(200), nullable=False),
        sa.Column("requester_phone", sa.String(32), nullable=True),
        sa.Column("mailbox", sa.String(254), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.String(64), nullable=True),
        sa.Column("routing_round", sa.Integer(), nullable=False),
        sa.Column("follow_up_of", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("assignee", "created_at", "customer_id", "queue", "requester_email",
                   "status", "updated_at"):
        op.create_index(f"ix_tickets_{column}", "tickets", [column])
    op.create_table(
        "ticket_articles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("author_email", sa.String(254), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(250), nullable=True),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_articles_message_id", "ticket_articles", ["message_id"])
    op.create_index("ix_ticket_articles_ticket_id", "ticket_articles", ["ticket_id"])
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_history_ticket_id", "ticket_history", ["ticket_id"])
    op.create_table(
        "ticket_mails",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(250), nullable=True),
        sa.Column("peer", sa.String(254), nullable=False),
        sa.Column("envelope_from", sa.String(254), nullable=False),
        sa.Column("envelope_to", sa.JSON(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_mails_peer", "ticket_mails", ["peer", "direction", "created_at"])
    for column in ("created_at", "message_id", "status", "ticket_id"):
        op.create_index(f"ix_ticket_mails_{column}", "ticket_mails", [column])
    op.create_table(
        "ticket_addresses",
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("bounced_at", sa.Float(), nullable=True),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("email"),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.create_index("ix_customers_email", ["email"])


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_email")
        batch.drop_column("email")
    for name in ("ticket_addresses", "ticket_mails", "ticket_history", "ticket_articles",
                 "tickets"):
        op.drop_table(name)
