"""add chat_conversations.faq_outcome and faq_article_id: answers before a person

When a chat channel offers knowledge-base articles before a person (``faq`` in its settings),
the conversation keeps what came of it: ``answered`` (self-served: ``closed_by`` is
``self_served`` and it was never queued), ``person`` or ``none``, and the article that
answered. Both nullable; existing conversations offered none (docs/chat.md).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_conversations") as batch:
        batch.add_column(sa.Column("faq_outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("faq_article_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_conversations") as batch:
        batch.drop_column("faq_article_id")
        batch.drop_column("faq_outcome")
