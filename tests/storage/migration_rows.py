"""Rows written into a table as an older revision left it (reflected, not the models)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from contactcenter.storage.database import Database


def _filler(column: sa.Column[Any]) -> Any:
    """A value for a required column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Float | sa.Numeric):
        return 0
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


async def insert_rows(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` as it is now in ``db``; required columns a row leaves
    out get a filler."""
    def insert(conn: Any) -> None:
        meta = sa.MetaData()
        meta.reflect(conn, only=[table])
        t = meta.tables[table]
        required = [c for c in t.columns if not c.nullable and c.server_default is None
                    and c.autoincrement is not True]
        conn.execute(t.insert(), [{**{c.name: _filler(c) for c in required}, **row}
                                  for row in rows])

    async with db.engine.begin() as conn:
        await conn.run_sync(insert)
