"""add kb_media (articles' images and attachments) and kb_articles.origin

``kb_media`` holds the files uploaded for an article (bytes in the database, so a backup and
every server process have them), reached by a random ``key``. ``kb_articles`` gains a
nullable ``origin``: a link to what the article was written from (a solved ticket). Added
with a plain ALTER TABLE, never a batch copy: on SQLite a copy of the table would drop the
full-text triggers of revision 0006.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kb_articles", sa.Column("origin", sa.String(300), nullable=True))
    op.create_table(
        "kb_media",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_kb_media_article_id", "kb_media", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_kb_media_article_id", table_name="kb_media")
    op.drop_table("kb_media")
    # SQLite 3.35+ drops a column in place (a batch copy would lose the FTS triggers).
    op.execute("ALTER TABLE kb_articles DROP COLUMN origin")
