"""The database handle creates every registered table, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from contactcenter.storage.base import Base


async def test_all_tables_exist_and_accept_rows(database):
    async with database.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= names
    assert database.dialect in {"sqlite", "postgresql"}


async def test_sqlite_file_is_created_under_missing_folder(tmp_path):
    from contactcenter.storage.database import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'cc.sqlite3'}")
    await db.create_all()
    async with db.session() as s:
        assert (await s.execute(sa.text("select 1"))).scalar() == 1
    await db.close()
    assert (tmp_path / "a" / "b" / "cc.sqlite3").exists()
