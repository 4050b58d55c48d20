"""CSAT on a 1-5 scale: ticket_ratings.rating becomes 1..5 (good 5, bad 1), add chat_ratings

An answer is now given once and never changed (the first submitted answer stands), so the
change counters of ``ticket_ratings`` (``updated_at``, ``changes``) go. ``chat_ratings`` holds
the survey offered at the end of a chat (``offered_at``) and its one answer, if any
(``rating`` 1..5, ``answered_at``): the offer is recorded so the response rate is honest.
The table rebuilds go through batch mode (SQLite cannot alter a column's type).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket_ratings", sa.Column("score", sa.Integer(), nullable=True))
    op.execute("UPDATE ticket_ratings SET score = CASE WHEN rating = 'good' THEN 5 ELSE 1 END")
    with op.batch_alter_table("ticket_ratings") as batch:
        batch.drop_column("rating")
        batch.drop_column("updated_at")
        batch.drop_column("changes")
        batch.alter_column("score", new_column_name="rating", existing_type=sa.Integer(),
                           nullable=False)
    op.create_table(
        "chat_ratings",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("offered_at", sa.Float(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["chat_conversations.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_chat_ratings_offered_at", "chat_ratings", ["offered_at"])
    op.create_index("ix_chat_ratings_answered_at", "chat_ratings", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_chat_ratings_answered_at", table_name="chat_ratings")
    op.drop_index("ix_chat_ratings_offered_at", table_name="chat_ratings")
    op.drop_table("chat_ratings")
    # 4-5 were satisfied (good), 1-3 not (bad); the answers were never changed (0 changes).
    with op.batch_alter_table("ticket_ratings") as batch:
        batch.add_column(sa.Column("verdict", sa.String(8), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("changes", sa.Integer(), nullable=True))
    op.execute("UPDATE ticket_ratings SET verdict = CASE WHEN rating >= 4 THEN 'good' "
               "ELSE 'bad' END, updated_at = created_at, changes = 0")
    with op.batch_alter_table("ticket_ratings") as batch:
        batch.drop_column("rating")
        batch.alter_column("verdict", new_column_name="rating", existing_type=sa.String(8),
                           nullable=False)
        batch.alter_column("updated_at", existing_type=sa.Float(), nullable=False)
        batch.alter_column("changes", existing_type=sa.Integer(), nullable=False)
