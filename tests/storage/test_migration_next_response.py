"""Migration 0030 (the SLA's next response): ``tickets`` gains next_response_due/_warn/_at,
empty on existing tickets whose other clocks stay as they were; the downgrade drops them.
SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from migration_rows import insert_rows

from contactcenter.storage.database import Database
from contactcenter.storage.schema import Migrations, _migration_engine

NEW = {"next_response_due", "next_response_warn", "next_response_at"}


async def _columns(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("tickets")})


async def _clocks(db: Database, columns: str) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(sa.text(
            f"SELECT id, {columns} FROM tickets ORDER BY id"))]


async def _downgrade(db: Database, migrations: Migrations, target: str) -> None:
    own = _migration_engine(db)
    engine = own or db.engine
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(
                migrations.config(connection=c, transactional_ddl=True), target))
    finally:
        if own is not None:
            await own.dispose()


async def test_the_next_response_columns_come_empty_and_go(empty):
    db, migrations = empty, Migrations()
    await migrations.upgrade(db, "0029")
    await insert_rows(db, "tickets", [
        {"id": 1, "subject": "t1", "status": "open", "sla_policy": "std",
         "first_response_due": 100.5, "first_response_at": 90.25, "resolution_due": 900.5,
         "sla_marks": ["first_response:warning"], "sla_next_at": 800.0},
        {"id": 2, "subject": "t2", "status": "new", "sla_policy": None,
         "first_response_due": None, "first_response_at": None, "resolution_due": None,
         "sla_marks": None, "sla_next_at": None}])
    before = await _clocks(db, "sla_policy, first_response_due, first_response_at, "
                               "resolution_due, sla_next_at")

    await migrations.upgrade(db, "0030")
    assert NEW <= await _columns(db)
    assert await _clocks(db, "next_response_due, next_response_warn, next_response_at") == [
        (1, None, None, None), (2, None, None, None)]
    assert await _clocks(db, "sla_policy, first_response_due, first_response_at, "
                             "resolution_due, sla_next_at") == before
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE tickets SET next_response_due = 300.5 WHERE id = 1"))

    await _downgrade(db, migrations, "0029")
    assert NEW & await _columns(db) == set()
    assert await _clocks(db, "sla_policy, first_response_due, first_response_at, "
                             "resolution_due, sla_next_at") == before
