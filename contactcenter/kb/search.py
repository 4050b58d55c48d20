"""Full-text search with each database's own index, behind one contract.

Design note: ``FullText.find`` takes a parsed ``Query`` (``kb/query.py``), a locale and the
states the reader may see, and answers hits best first with a highlighted snippet of the
body, ties broken by article id. Best first is in two tiers, the same on both databases:
the articles whose title or tags hold one of the query's words come first, then the others,
each tier by the database's score. SQLite scores with FTS5 (``bm25`` with the title weighing
10, the tags 5 and the body 1; ``snippet``), PostgreSQL with the generated ``tsvector``
(``websearch_to_tsquery`` with the locale's dictionary, ``ts_rank_cd`` with the title as
weight A, the tags B and the body C; ``ts_headline``).
Why tiers: a database scores every article that matches before it keeps the best few, and a
frequent word is in thousands of bodies (bench/kb_search.py: that was the search's p99). Titles
and tags are about twenty times shorter, so the first tier is that much smaller, and each
database finds it from an index (FTS5's column filter; PostgreSQL's ``dx_title`` under a GIN
index of its own, ANDed with ``dx_search``'s); the second tier is read only when the first
has fewer than ``limit`` hits. Snippets and headlines are made for the returned rows only.
The scores differ in scale and are only comparable within one answer; the order is what
tests compare across the two. Everything else (typo correction, relaxing, gaps) is the
service's, the same for both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.kb.model import SearchHit
from contactcenter.kb.query import Query, language
from contactcenter.kb.render import MARK_END, MARK_START, mark_up
from contactcenter.kb.tables import PG_CONFIGS, SQLITE_FTS

SNIPPET_WORDS = 24
# A scheduled article (publish_at ahead) is left out until its time; ``until`` is typed so
# each database gets it as it stores the column (SQLite: text in one format).
_SHOWN = "(a.publish_at IS NULL OR a.publish_at <= :until)"
_UNTIL = sa.bindparam("until", type_=sa.DateTime(timezone=True))


class FullText(Protocol):
    async def find(self, session: AsyncSession, query: Query, locale: str,
                   states: tuple[str, ...], until: datetime,
                   limit: int) -> list[SearchHit]:
        """Articles of ``locale`` in ``states`` shown by ``until`` (no publishing time after
        it) that match ``query``, best first."""
        ...


def _hits(rows: Any) -> list[SearchHit]:
    return [SearchHit(r.id, r.locale, r.slug, r.title, r.category_id, mark_up(r.snip or ""),
                      float(r.score)) for r in rows]


class _Tiers:
    """The two tiers over a database's ``_ranked`` (titled: the first tier only)."""

    async def _ranked(self, session: AsyncSession, query: Query, titled: bool, locale: str,
                      states: tuple[str, ...], until: datetime,
                      limit: int) -> list[SearchHit]:
        raise NotImplementedError

    async def find(self, session: AsyncSession, query: Query, locale: str,
                   states: tuple[str, ...], until: datetime,
                   limit: int) -> list[SearchHit]:
        if query.empty:
            return []
        first = await self._ranked(session, query, True, locale, states, until, limit)
        if len(first) >= limit:
            return first
        seen = {h.article_id for h in first}
        rest = await self._ranked(session, query, False, locale, states, until,
                                  limit + len(first))
        return first + [h for h in rest if h.article_id not in seen][:limit - len(first)]


class SqliteFullText(_Tiers):
    """FTS5: the stemmed table for English, the plain one for other locales.

    FTS5 ranks from its own index (``ORDER BY rank``, bm25 with our weights) and makes a
    snippet only for the rows it hands out; what costs is a snippet, and reading an article's
    row for the reader's filters (locale, state, publishing time). So the best ``window``
    matches come first, from the index alone, with their snippets; only their rows are read.
    When ``limit`` of them pass the filters they are the best ``limit`` of all; when fewer
    pass and the window was full, a wider window is read (the last one has every match)."""

    _WINDOWS = (50, 1000, -1)  # -1: SQLite's "no limit"

    def __init__(self) -> None:
        self._sql = {lang: self._statement(table) for lang, table in SQLITE_FTS.items()}

    @staticmethod
    def _statement(table: str) -> sa.TextClause:
        # FTS5's auxiliary functions take the table's own name, not an alias.
        return sa.text(
            f"SELECT rowid AS id, -rank AS score, "
            f"snippet({table}, 2, :start, :end, '…', {SNIPPET_WORDS}) AS snip "
            f"FROM {table} WHERE {table} MATCH :match AND rank MATCH 'bm25(10.0, 5.0, 1.0)' "
            f"ORDER BY rank LIMIT :window")

    _ROWS = sa.text(
        "SELECT a.id, a.locale, a.slug, a.title, a.category_id FROM kb_articles a "
        f"WHERE a.id IN :ids AND a.locale = :locale AND a.state IN :states AND {_SHOWN}"
    ).bindparams(sa.bindparam("ids", expanding=True), sa.bindparam("states", expanding=True),
                 _UNTIL)

    async def _ranked(self, session: AsyncSession, query: Query, titled: bool, locale: str,
                      states: tuple[str, ...], until: datetime,
                      limit: int) -> list[SearchHit]:
        match = query.fts5()
        if titled:
            match = f"{{title tags}} : ({query.any_of_its_words().fts5()}) AND ({match})"
        statement = self._sql["en" if language(locale) == "en" else ""]
        hits: list[SearchHit] = []
        for window in self._WINDOWS:
            if 0 <= window < limit:
                continue
            found = (await session.execute(statement, {
                "start": MARK_START, "end": MARK_END, "match": match,
                "window": window})).all()
            if not found:
                return []
            rows = {r.id: r for r in await session.execute(self._ROWS, {
                "ids": [f.id for f in found], "locale": locale, "states": list(states),
                "until": until})}
            hits = sorted((SearchHit(f.id, rows[f.id].locale, rows[f.id].slug,
                                     rows[f.id].title, rows[f.id].category_id,
                                     mark_up(f.snip or ""), float(f.score))
                           for f in found if f.id in rows),
                          key=lambda h: (-h.score, h.article_id))[:limit]
            if len(hits) >= limit or len(found) < window or window < 0:
                break
        return hits


class PostgresFullText(_Tiers):
    """The generated ``dx_search`` column under its GIN index; ``dx_title`` (title and tags)
    under its own for the first tier."""

    # Not fragment mode (MaxFragments): on a text shorter than MinWords it keeps only the
    # matched words, with no context at all.
    _OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=12"

    def __init__(self) -> None:
        self._sql = {titled: self._statement(titled) for titled in (True, False)}

    @staticmethod
    def _statement(titled: bool) -> sa.TextClause:
        title = ("AND a.dx_title @@ websearch_to_tsquery(CAST(:config AS regconfig), :titles) "
                 if titled else "")
        return sa.text(
            "SELECT s.id, s.locale, s.slug, s.title, s.category_id, s.score, "
            "ts_headline(CAST(:config AS regconfig), s.body_text, s.q, :options) AS snip "
            "FROM (SELECT a.id, a.locale, a.slug, a.title, a.category_id, a.body_text, q, "
            "      ts_rank_cd(a.dx_search, q) AS score "
            "      FROM kb_articles a, websearch_to_tsquery(CAST(:config AS regconfig), :query) q "
            f"     WHERE a.dx_search @@ q {title}AND a.locale = :locale AND a.state IN :states "
            f"     AND {_SHOWN} ORDER BY score DESC, a.id LIMIT :limit) s "
            "ORDER BY s.score DESC, s.id"
        ).bindparams(sa.bindparam("states", expanding=True), _UNTIL)

    async def _ranked(self, session: AsyncSession, query: Query, titled: bool, locale: str,
                      states: tuple[str, ...], until: datetime,
                      limit: int) -> list[SearchHit]:
        params = {
            "config": PG_CONFIGS.get(language(locale), "simple"), "query": query.websearch(),
            "options": self._OPTIONS, "locale": locale, "states": list(states),
            "until": until, "limit": limit}
        if titled:
            params["titles"] = query.any_of_its_words().websearch()
        return _hits(await session.execute(self._sql[titled], params))


def full_text(dialect: str) -> FullText:
    """The search of ``dialect`` (``sqlite`` or ``postgresql``)."""
    if dialect == "postgresql":
        return PostgresFullText()
    if dialect == "sqlite":
        return SqliteFullText()
    raise ValueError(f"no full-text search for database {dialect!r}")
