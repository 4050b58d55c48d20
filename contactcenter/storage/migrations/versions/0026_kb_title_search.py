"""add kb_articles.dx_title: the knowledge-base search's first tier, title and tags indexed

PostgreSQL only: a stored generated ``tsvector`` of the title and tags with each locale's
dictionary, under a GIN index of its own, so the search ranks the articles whose title or tags
hold a word of the query without reading every article whose body does (``kb/search.py``).
SQLite needs nothing: FTS5 filters on its own columns. The same DDL as ``kb/tables.py``
``POSTGRESQL_TITLE_DDL`` (this copy must not import it: a revision stays as it was written).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
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
    ("ALTER TABLE kb_articles ADD COLUMN dx_title tsvector GENERATED ALWAYS AS ("
    f"to_tsvector({_PG_CONFIG_OF_ROW}, title || ' ' || tags)) STORED"),
    "CREATE INDEX dx_kb_articles_title ON kb_articles USING gin (dx_title)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX dx_kb_articles_title")
        op.execute("ALTER TABLE kb_articles DROP COLUMN dx_title")
