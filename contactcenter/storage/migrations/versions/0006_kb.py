"""add the knowledge base: articles, versions, categories, feedback, search gaps, full-text index

``kb_categories``, ``kb_articles`` (the current version of each article in each locale),
``kb_article_versions`` (every saved version), ``kb_feedback`` (helpful / not helpful) and
``kb_search_gaps`` (searches that found nothing). All new and empty (docs/kb.md). The
full-text index is the database's own: FTS5 tables kept by triggers on SQLite, a generated
tsvector column under a GIN index on PostgreSQL; the same DDL as ``kb/tables.py`` runs after
``create_all`` (this copy must not import it: a revision stays as it was written).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PG_CONFIGS = {"da": "danish", "de": "german", "en": "english", "es": "spanish",
               "fi": "finnish", "fr": "french", "hu": "hungarian", "it": "italian",
               "nl": "dutch", "no": "norwegian", "nb": "norwegian", "pt": "portuguese",
               "ro": "romanian", "ru": "russian", "sv": "swedish", "tr": "turkish"}
_PG_CONFIG_OF_ROW = ("CASE split_part(locale, '-', 1) "
                     + " ".join(f"WHEN '{k}' THEN '{v}'::regconfig"
                                for k, v in sorted(_PG_CONFIGS.items()))
                     + " ELSE 'simple'::regconfig END")
POSTGRESQL_DDL = (
    ("ALTER TABLE kb_articles ADD COLUMN dx_search tsvector GENERATED ALWAYS AS ("
    f"setweight(to_tsvector({_PG_CONFIG_OF_ROW}, title), 'A') || "
    f"setweight(to_tsvector({_PG_CONFIG_OF_ROW}, tags), 'B') || "
    f"setweight(to_tsvector({_PG_CONFIG_OF_ROW}, body_text), 'C')) STORED"),
    "CREATE INDEX dx_kb_articles_search ON kb_articles USING gin (dx_search)",
)
_ENGLISH = "(new.locale = 'en' OR new.locale LIKE 'en-%')"
_INSERT = (f"INSERT INTO dx_kb_fts_en (rowid, title, tags, body) SELECT new.id, new.title, "
           f"new.tags, new.body_text WHERE {_ENGLISH}; "
           f"INSERT INTO dx_kb_fts (rowid, title, tags, body) SELECT new.id, new.title, "
           f"new.tags, new.body_text WHERE NOT {_ENGLISH};")
_DELETE = ("DELETE FROM dx_kb_fts_en WHERE rowid = old.id; "
           "DELETE FROM dx_kb_fts WHERE rowid = old.id;")
SQLITE_DDL = (
    ("CREATE VIRTUAL TABLE dx_kb_fts_en USING fts5(title, tags, body, "
    "tokenize = 'porter unicode61 remove_diacritics 2')"),
    ("CREATE VIRTUAL TABLE dx_kb_fts USING fts5(title, tags, body, "
    "tokenize = 'unicode61 remove_diacritics 2')"),
    f"CREATE TRIGGER dx_kb_articles_ai AFTER INSERT ON kb_articles BEGIN {_INSERT} END",
    f"CREATE TRIGGER dx_kb_articles_ad AFTER DELETE ON kb_articles BEGIN {_DELETE} END",
    ("CREATE TRIGGER dx_kb_articles_au AFTER UPDATE OF locale, title, tags, body_text "
    f"ON kb_articles BEGIN {_DELETE} {_INSERT} END"),
)


def upgrade() -> None:
    op.create_table(
        "kb_categories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["kb_categories.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index("ix_kb_categories_parent_id", "kb_categories", ["parent_id"])
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_key", sa.String(32), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.String(1000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["category_id"], ["kb_categories.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_key", "locale"),
        sa.UniqueConstraint("locale", "slug"),
    )
    op.create_index("ix_kb_articles_category_id", "kb_articles", ["category_id"])
    op.create_index("ix_kb_articles_group_key", "kb_articles", ["group_key"])
    op.create_index("ix_kb_articles_state", "kb_articles", ["state"])
    op.create_table(
        "kb_article_versions",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.String(1000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "version"),
    )
    op.create_table(
        "kb_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kb_feedback_article_id", "kb_feedback", ["article_id"])
    op.create_table(
        "kb_search_gaps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("query", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("locale", "query"),
    )
    op.create_index("ix_kb_search_gaps_last_at", "kb_search_gaps", ["last_at"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DDL, "postgresql": POSTGRESQL_DDL}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("dx_kb_articles_ai", "dx_kb_articles_ad", "dx_kb_articles_au"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE dx_kb_fts_en")
        op.execute("DROP TABLE dx_kb_fts")
    op.drop_table("kb_search_gaps")
    op.drop_table("kb_feedback")
    op.drop_table("kb_article_versions")
    op.drop_table("kb_articles")
    op.drop_table("kb_categories")
