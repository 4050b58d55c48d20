"""Revision 0004: usernames become case-insensitive. Stored names are lowercased; two users
who differ only in case stop the upgrade, named, with nothing changed."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from contactcenter.storage.cli import run_upgrade
from contactcenter.storage.database import Database
from contactcenter.storage.schema import Migrations, current_revision, head_revision
from contactcenter.web.users import UserStore

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")
BEFORE = "0003"  # the revision before usernames were folded


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
async def before(request, tmp_path) -> AsyncIterator[Database]:
    """A database at the revision before 0004."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")
        await Migrations().upgrade(db, BEFORE)
        yield db
        await db.close()
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = Database(POSTGRES_URL, search_path=schema)
    await Migrations().upgrade(db, BEFORE)
    yield db
    await db.close()
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.close()


async def _add(db: Database, *names: str) -> None:
    async with db.engine.begin() as conn:
        for name in names:
            await conn.execute(sa.text(
                "INSERT INTO users (username, password_hash, role, disabled, created_at, "
                "updated_at) VALUES (:n, 'scrypt$x', 'agent', false, 1.0, 1.0)"), {"n": name})


async def _names(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT username FROM users ORDER BY id"))
        return [r[0] for r in rows]


async def test_stored_usernames_are_lowercased_and_found_in_any_case(before):
    await _add(before, "Alice", "bob", "CAROL.Admin@HQ")
    await Migrations().upgrade(before)
    assert await current_revision(before) == head_revision()
    assert await _names(before) == ["alice", "bob", "carol.admin@hq"]
    store = UserStore(before)
    found = await store.get_by_username("ALICE")
    assert found is not None and found.username == "alice"
    with pytest.raises(ValueError, match="already exists"):
        await store.create_user("BOB", "scrypt$y", "agent", None, 2.0)


async def test_users_differing_only_in_case_stop_the_upgrade_naming_them(before):
    await _add(before, "ann", "Zed", "ANN", "zed", "solo")
    with pytest.raises(RuntimeError) as err:
        await Migrations().upgrade(before)
    text = str(err.value)
    assert "'ann' (id 1) and 'ANN' (id 3)" in text and "'Zed' (id 2) and 'zed' (id 4)" in text
    assert "Nothing was changed" in text
    assert await current_revision(before) == BEFORE
    assert await _names(before) == ["ann", "Zed", "ANN", "zed", "solo"]


async def test_db_upgrade_reports_a_clash_in_one_line(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    db = Database(url)
    await Migrations().upgrade(db, BEFORE)
    await _add(db, "ann", "ANN")
    await db.close()
    assert await run_upgrade(url, io.StringIO()) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("upgrade stopped, the database is as it was: ")
    assert "'ann' (id 1) and 'ANN' (id 2)" in err[0]
