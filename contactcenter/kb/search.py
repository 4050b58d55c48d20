"""Full-text search with each database's own index, behind one contract.

Design note: ``FullText.find`` takes a parsed ``Query`` (``kb/query.py``), a locale and the
states the reader may see, and answers hits best first with a highlighted snippet of the
body, ties broken by article id. SQLite answers from FTS5 (``bm25`` with the title weighing
10, the tags 5 and the body 1; ``snippet``), PostgreSQL from the generated ``tsvector``
(``websearch_to_tsquery`` with the locale's dictionary, ``ts_rank_cd`` with the title as
weight A, the tags B and the body C; ``ts_headline`` computed for the returned rows only).
The scores differ in scale and are only comparable within one answer; the order is what
tests compare across the two. Everything else (typo correction, relaxing, gaps) is the
service's, the same for both.
"""

from __future__ import annotations

from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.kb.model import SearchHit
from contactcenter.kb.query import Query, language
from contactcenter.kb.render import MARK_END, MARK_START, mark_up
from contactcenter.kb.tables import PG_CONFIGS, SQLITE_FTS

SNIPPET_WORDS = 24


class FullText(Protocol):
    async def find(self, session: AsyncSession, query: Query, locale: str,
                   states: tuple[str, ...], limit: int) -> list[SearchHit]:
        """Articles of ``locale`` in ``states`` that match ``query``, best first."""
        ...


def _hits(rows: Any) -> list[SearchHit]:
    return [SearchHit(r.id, r.locale, r.slug, r.title, r.category_id, mark_up(r.snip or ""),
                      float(r.score)) for r in rows]


class SqliteFullText:
    """FTS5: the stemmed table for English, the plain one for other locales."""

    def __init__(self) -> None:
        self._sql = {lang: self._statement(table) for lang, table in SQLITE_FTS.items()}

    @staticmethod
    def _statement(table: str) -> sa.TextClause:
        # FTS5's auxiliary functions take the table's own name, not an alias.
        return sa.text(
            f"SELECT a.id, a.locale, a.slug, a.title, a.category_id, "
            f"snippet({table}, 2, :start, :end, '…', {SNIPPET_WORDS}) AS snip, "
            f"-bm25({table}, 10.0, 5.0, 1.0) AS score "
            f"FROM {table} JOIN kb_articles a ON a.id = {table}.rowid "
            f"WHERE {table} MATCH :match AND a.locale = :locale AND a.state IN :states "
            f"ORDER BY score DESC, a.id LIMIT :limit"
        ).bindparams(sa.bindparam("states", expanding=True))

    async def find(self, session: AsyncSession, query: Query, locale: str,
                   states: tuple[str, ...], limit: int) -> list[SearchHit]:
        if query.empty:
            return []
        statement = self._sql["en" if language(locale) == "en" else ""]
        rows = await session.execute(statement, {
            "start": MARK_START, "end": MARK_END, "match": query.fts5(), "locale": locale,
            "states": list(states), "limit": limit})
        return _hits(rows)


class PostgresFullText:
    """The generated ``dx_search`` column under its GIN index."""

    _SQL = sa.text(
        "SELECT s.id, s.locale, s.slug, s.title, s.category_id, s.score, "
        "ts_headline(CAST(:config AS regconfig), s.body_text, s.q, :options) AS snip "
        "FROM (SELECT a.id, a.locale, a.slug, a.title, a.category_id, a.body_text, q, "
        "      ts_rank_cd(a.dx_search, q) AS score "
        "      FROM kb_articles a, websearch_to_tsquery(CAST(:config AS regconfig), :query) q "
        "      WHERE a.dx_search @@ q AND a.locale = :locale AND a.state IN :states "
        "      ORDER BY score DESC, a.id LIMIT :limit) s "
        "ORDER BY s.score DESC, s.id"
    ).bindparams(sa.bindparam("states", expanding=True))
    # Not fragment mode (MaxFragments): on a text shorter than MinWords it keeps only the
    # matched words, with no context at all.
    _OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=12"

    async def find(self, session: AsyncSession, query: Query, locale: str,
                   states: tuple[str, ...], limit: int) -> list[SearchHit]:
        if query.empty:
            return []
        rows = await session.execute(self._SQL, {
            "config": PG_CONFIGS.get(language(locale), "simple"), "query": query.websearch(),
            "options": self._OPTIONS, "locale": locale, "states": list(states),
            "limit": limit})
        return _hits(rows)


def full_text(dialect: str) -> FullText:
    """The search of ``dialect`` (``sqlite`` or ``postgresql``)."""
    if dialect == "postgresql":
        return PostgresFullText()
    if dialect == "sqlite":
        return SqliteFullText()
    raise ValueError(f"no full-text search for database {dialect!r}")
