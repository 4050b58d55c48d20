"""Migration 0028 (CSAT on a 1-5 scale): the good/bad answers of ``ticket_ratings`` become 5
and 1 with their comments and times, the change counters go, ``chat_ratings`` is created, and
the downgrade brings good/bad back. SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from migration_rows import insert_rows

from contactcenter.storage.database import Database
from contactcenter.storage.schema import Migrations, _migration_engine


async def _ratings(db: Database) -> dict[int, tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        result = await conn.execute(sa.text(
            "SELECT ticket_id, rating, comment, created_at FROM ticket_ratings"))
        return {int(r[0]): tuple(r[1:]) for r in result}


async def _columns(db: Database, table: str) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns(table)})


async def test_good_becomes_5_bad_becomes_1_and_back(empty):
    db, migrations = empty, Migrations()
    await migrations.upgrade(db, "0027")
    await insert_rows(db, "tickets", [{"id": n, "subject": f"t{n}", "status": "solved"}
                                  for n in (1, 2, 3)])
    await insert_rows(db, "ticket_ratings", [
        {"ticket_id": 1, "rating": "good", "comment": "great", "created_at": 10.5,
         "updated_at": 11.5, "changes": 0},
        {"ticket_id": 2, "rating": "bad", "comment": "", "created_at": 20.5,
         "updated_at": 25.5, "changes": 2},
    ])

    await migrations.upgrade(db, "0028")
    assert await _ratings(db) == {1: (5, "great", 10.5), 2: (1, "", 20.5)}
    assert {"updated_at", "changes"} & await _columns(db, "ticket_ratings") == set()
    assert await _columns(db, "chat_ratings") == {
        "conversation_id", "channel", "queue", "agent_id", "offered_at", "rating", "comment",
        "answered_at"}
    await insert_rows(db, "ticket_ratings", [{"ticket_id": 3, "rating": 4, "comment": "",
                                          "created_at": 30.0}])
    with pytest.raises(sa.exc.IntegrityError):  # the score is required
        await insert_rows(db, "ticket_ratings", [{"ticket_id": 3, "rating": None, "comment": "",
                                              "created_at": 30.0}])

    await _downgrade(db, migrations, "0027")
    assert await _ratings(db) == {1: ("good", "great", 10.5), 2: ("bad", "", 20.5),
                                  3: ("good", "", 30.0)}
    assert "chat_ratings" not in await _tables(db)


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))


async def _downgrade(db: Database, migrations: Migrations, target: str) -> None:
    """Alembic's downgrade on the engine the server migrates with (SQLite: keys off)."""
    own = _migration_engine(db)
    engine = own or db.engine
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(
                migrations.config(connection=c, transactional_ddl=True), target))
    finally:
        if own is not None:
            await own.dispose()
