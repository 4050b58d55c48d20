"""add kb_articles.publish_at (scheduled publishing) and kb_synonyms (the search's synonyms)

``kb_articles`` gains a nullable ``publish_at``: a published article whose time is still ahead
shows to nobody but the staff until then (docs/kb.md). Added with a plain ALTER TABLE, never a
batch copy: on SQLite a copy of the table would drop the full-text triggers of revision 0006.
``kb_synonyms`` holds the admins' groups of words a search treats as one, per locale. New and
empty.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kb_articles",
                  sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "kb_synonyms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kb_synonyms_locale", "kb_synonyms", ["locale"])


def downgrade() -> None:
    op.drop_index("ix_kb_synonyms_locale", table_name="kb_synonyms")
    op.drop_table("kb_synonyms")
    # SQLite 3.35+ drops a column in place (a batch copy would lose the FTS triggers).
    op.execute("ALTER TABLE kb_articles DROP COLUMN publish_at")
