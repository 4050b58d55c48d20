"""The full-text index the models cannot describe: the migrations and the tests' fast path
(``create_all``) make the same one, and it follows the rows from the first insert."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import sqlalchemy as sa

from contactcenter.storage.database import Database
from contactcenter.storage.schema import DIALECT_ONLY_PREFIX, upgrade

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")

_SQLITE = ("SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'dx\\_%' ESCAPE '\\' "
           "ORDER BY name")
_POSTGRES = (
    "SELECT 'column', a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
    "JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE a.attrelid = 'kb_articles'::regclass AND a.attname LIKE 'dx\\_%' "
    "UNION ALL SELECT 'index', indexname, replace(indexdef, schemaname || '.', '') "
    "FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'dx\\_%' "
    "ORDER BY 2")


@asynccontextmanager
async def _empty(dialect: str, tmp_path, name: str) -> AsyncIterator[Database]:
    if dialect == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}")
        try:
            yield db
        finally:
            await db.close()
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = Database(POSTGRES_URL, search_path=schema)
    try:
        yield db
    finally:
        await db.close()
        async with admin.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


async def _search_objects(db: Database) -> list[tuple[str, str, str]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.text(_SQLITE if db.dialect == "sqlite" else _POSTGRES))
        return [(r[0], r[1], r[2]) for r in rows]


@pytest.mark.parametrize("dialect", ["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
async def test_the_migrations_and_create_all_make_the_same_search_index(dialect, tmp_path):
    async with _empty(dialect, tmp_path, "migrated") as migrated, \
            _empty(dialect, tmp_path, "created") as created:
        await upgrade(migrated)
        await created.create_all()
        objects = await _search_objects(migrated)
        assert objects == await _search_objects(created)
        names = {name for _kind, name, _sql in objects}
        assert all(n.startswith(DIALECT_ONLY_PREFIX) for n in names)
        expected = ({"dx_kb_fts", "dx_kb_fts_en", "dx_kb_articles_ai", "dx_kb_articles_au",
                     "dx_kb_articles_ad"} if dialect == "sqlite"
                    else {"dx_search", "dx_kb_articles_search", "dx_title",
                          "dx_kb_articles_title"})
        assert expected <= names
        # The index is live on the migrated database too: a row written straight in SQL is
        # found (nothing of ours in between).
        async with migrated.engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO kb_articles (group_key, locale, slug, title, body, body_html, "
                "body_text, tags, state, version, created_at, updated_at, updated_by) VALUES "
                "('g', 'en', 'modems', 'Modems', '', '', 'Rebooting modems', '', 'published', "
                "1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'sql')"))
            match = ("SELECT rowid FROM dx_kb_fts_en WHERE dx_kb_fts_en MATCH 'reboot'"
                     if dialect == "sqlite" else
                     "SELECT id FROM kb_articles WHERE dx_search @@ "
                     "websearch_to_tsquery('english', 'reboot')")
            assert len((await conn.execute(sa.text(match))).all()) == 1
