"""The knowledge base's tables, and the full-text index each database keeps of the articles.

Design note: the index cannot be described by the models, so it is DDL run after
``kb_articles`` is created (``Database.create_all``, the tests' fast path) and, word for word,
in revision 0006 (the server's path; a revision never imports the models, hence the copy;
tests/kb/test_kb_schema.py keeps the two identical). Its objects are named ``dx_...``
(``storage.schema.DIALECT_ONLY_PREFIX``) so the models-vs-migrations check and restore leave
them alone.

- SQLite: two FTS5 tables fed by triggers on ``kb_articles``: ``dx_kb_fts_en`` with the Porter
  stemmer for English articles, ``dx_kb_fts`` without stemming for every other locale (FTS5
  has no other stemmer). Both keep their own copy of the text, so a trigger can delete a row
  by id without having to repeat the old values exactly.
- PostgreSQL: a stored generated ``tsvector`` column, ``dx_search``, weighted title (A), tags
  (B), text (C), with each locale's dictionary (``PG_CONFIGS``), under a GIN index; and
  ``dx_title``, title and tags alone, under one of its own (revision 0026: the search's
  first tier, ``kb/search.py``). SQLite needs nothing more: FTS5 filters on columns itself.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base


class KbCategoryRow(Base):
    """A node of the category tree."""

    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("kb_categories.id"), nullable=True, index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    names: Mapped[dict[str, str]] = mapped_column(sa.JSON)  # locale -> name
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(sa.String(100))


class KbArticleRow(Base):
    """An article in one locale at its current version (older ones: ``kb_article_versions``)."""

    __tablename__ = "kb_articles"
    __table_args__ = (sa.UniqueConstraint("locale", "slug"),
                      sa.UniqueConstraint("group_key", "locale"))

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    group_key: Mapped[str] = mapped_column(sa.String(32), index=True)
    locale: Mapped[str] = mapped_column(sa.String(16))
    slug: Mapped[str] = mapped_column(sa.String(120))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    body_text: Mapped[str] = mapped_column(sa.Text)
    category_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("kb_categories.id"), nullable=True, index=True)
    tags: Mapped[str] = mapped_column(sa.String(1000))  # sorted, space-separated
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(sa.String(100))
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True),
                                                          nullable=True)
    # A published article with a publish_at still ahead is nobody's but the staff's until
    # then (scheduled publishing); None for every other article.
    publish_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True),
                                                        nullable=True)
    # What it was written from: a relative link (a solved ticket's page), None otherwise.
    origin: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)


class KbArticleVersionRow(Base):
    """An article as it was saved: one row per create, edit, state change and restore."""

    __tablename__ = "kb_article_versions"

    article_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)
    category_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    tags: Mapped[str] = mapped_column(sa.String(1000))
    state: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    by: Mapped[str] = mapped_column(sa.String(100))


class KbFeedbackRow(Base):
    """One "was this helpful?" answer, from a customer on the help center or an agent."""

    __tablename__ = "kb_feedback"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(sa.Boolean)
    source: Mapped[str] = mapped_column(sa.String(16))  # public, agent
    actor: Mapped[str] = mapped_column(sa.String(100))  # "" for a customer
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class KbMediaRow(Base):
    """An image or attachment uploaded for an article, stored here (not on disk) so a backup
    and a second server see it; served at ``/kb/media/<key>/<filename>``."""

    __tablename__ = "kb_media"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(32), unique=True)  # random: the stable URL
    article_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))  # image, file
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(sa.String(100))


class KbSearchGapRow(Base):
    """A search that found nothing (a content gap): how often, first and last time."""

    __tablename__ = "kb_search_gaps"
    __table_args__ = (sa.UniqueConstraint("locale", "query"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    locale: Mapped[str] = mapped_column(sa.String(16))
    query: Mapped[str] = mapped_column(sa.String(200))
    count: Mapped[int] = mapped_column(sa.Integer)
    first_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class KbSynonymRow(Base):
    """One group of words a search treats as the same (``cancel``, ``terminate``, ...) in a
    locale; the admins keep the list."""

    __tablename__ = "kb_synonyms"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    locale: Mapped[str] = mapped_column(sa.String(16), index=True)
    terms: Mapped[list[str]] = mapped_column(sa.JSON)  # words or phrases, lowercase
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(sa.String(100))


# --- the full-text index (copied in revision 0006; keep both the same) ------------------------

# The locales whose language PostgreSQL stems; every other locale gets 'simple' (no stemming).
PG_CONFIGS = {"da": "danish", "de": "german", "en": "english", "es": "spanish", "fi": "finnish",
              "fr": "french", "hu": "hungarian", "it": "italian", "nl": "dutch",
              "no": "norwegian", "nb": "norwegian", "pt": "portuguese", "ro": "romanian",
              "ru": "russian", "sv": "swedish", "tr": "turkish"}
_PG_CONFIG_OF_ROW = ("CASE split_part(locale, '-', 1) "
                     + " ".join(f"WHEN '{k}' THEN '{v}'::regconfig"
                                for k, v in sorted(PG_CONFIGS.items()))
                     + " ELSE 'simple'::regconfig END")
POSTGRESQL_DDL = (
    ("ALTER TABLE kb_articles ADD COLUMN dx_search tsvector GENERATED ALWAYS AS ("
    f"setweight(to_tsvector({_PG_CONFIG_OF_ROW}, title), 'A') || "
    f"setweight(to_tsvector({_PG_CONFIG_OF_ROW}, tags), 'B') || "
    f"setweight(to_tsvector({_PG_CONFIG_OF_ROW}, body_text), 'C')) STORED"),
    "CREATE INDEX dx_kb_articles_search ON kb_articles USING gin (dx_search)",
)
# The search's first tier (kb/search.py): title and tags alone, under an index of their own
# (copied in revision 0026; keep both the same).
POSTGRESQL_TITLE_DDL = (
    ("ALTER TABLE kb_articles ADD COLUMN dx_title tsvector GENERATED ALWAYS AS ("
    f"to_tsvector({_PG_CONFIG_OF_ROW}, title || ' ' || tags)) STORED"),
    "CREATE INDEX dx_kb_articles_title ON kb_articles USING gin (dx_title)",
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
SQLITE_FTS = {"en": "dx_kb_fts_en", "": "dx_kb_fts"}

for _statement in SQLITE_DDL:
    sa.event.listen(KbArticleRow.__table__, "after_create",
                    sa.DDL(_statement.replace("%", "%%")).execute_if(dialect="sqlite"))
for _statement in POSTGRESQL_DDL + POSTGRESQL_TITLE_DDL:
    sa.event.listen(KbArticleRow.__table__, "after_create",
                    sa.DDL(_statement.replace("%", "%%")).execute_if(dialect="postgresql"))
