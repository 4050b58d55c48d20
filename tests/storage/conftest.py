"""The storage tests' empty database: no table at all, to migrate or restore into."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from contactcenter.storage.database import Database

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
async def empty(request, tmp_path) -> AsyncIterator[Database]:
    """A database with no table at all (a SQLite file, or a PostgreSQL schema of its own)."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")
        yield db
        await db.close()
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = Database(POSTGRES_URL, search_path=schema)
    yield db
    await db.close()
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.close()
