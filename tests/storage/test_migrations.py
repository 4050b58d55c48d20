"""Schema migrations (``storage/schema.py``): the head is the models, upgrades keep every row,
databases made before migrations are adopted, and the server refuses a database it does not
match, in one line. SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from free_ports import free_port as _free_port
from sqlalchemy.engine import Connection

from contactcenter.common.setting_errors import SettingError
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.storage.base import Base
from contactcenter.storage.database import Database, import_table_modules
from contactcenter.storage.schema import (
    MIGRATIONS,
    Migrations,
    SchemaAhead,
    SchemaBehind,
    current_revision,
    ensure_schema,
    head_revision,
    modelled,
    revisions,
    schema_state,
    upgrade,
)
from contactcenter.web.users import UserStore

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
HINT = "run 'contactcenter db upgrade' (same --config)"

import_table_modules()




# --- helpers -------------------------------------------------------------------------------

def _context(conn: Connection) -> MigrationContext:
    # Dialect-only objects (full-text indexes, storage.schema.DIALECT_ONLY_PREFIX) are not in
    # the models by design: kb/tests check them against their revision instead.
    return MigrationContext.configure(conn, opts={"include_name": modelled})


def _differences(conn: Connection, metadata: sa.MetaData = Base.metadata) -> list[Any]:
    return compare_metadata(_context(conn), metadata)


def _draft(conn: Connection) -> str:
    """The op.* calls a revision would need to bring the database to the models."""
    ops = produce_migrations(_context(conn), Base.metadata)
    return render_python_code(ops.upgrade_ops, render_as_batch=True)


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))


async def _columns(db: Database, table: str) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: {col["name"] for col in
                                              sa.inspect(c).get_columns(table)})


def _reflect(conn: Connection) -> sa.MetaData:
    # The tables as they are in the database, not as the models say: rows are written and read
    # in the schema of the revision the database is at.
    metadata = sa.MetaData()
    metadata.reflect(conn)
    # Neither the version table nor a full-text index's own tables hold rows of ours.
    for name in [n for n in metadata.tables if n == "alembic_version" or not modelled(n)]:
        metadata.remove(metadata.tables[name])
    return metadata


async def _insert(db: Database, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert ``rows``, leaving out the columns a table does not have (yet)."""
    def insert(conn: Connection) -> None:
        metadata = _reflect(conn)
        for name, table_rows in rows.items():
            table = metadata.tables[name]
            conn.execute(table.insert(), [{k: v for k, v in row.items() if k in table.c}
                                          for row in table_rows])

    async with db.engine.begin() as conn:
        await conn.run_sync(insert)


async def _dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order."""
    def dump(conn: Connection) -> dict[str, list[dict[str, Any]]]:
        out = {}
        for name, table in _reflect(conn).tables.items():
            query = sa.select(table).order_by(*table.primary_key.columns)
            out[name] = [dict(r._mapping) for r in conn.execute(query)]
        return out

    async with db.engine.connect() as conn:
        return await conn.run_sync(dump)


def _same_rows(before: dict[str, list[dict[str, Any]]],
               after: dict[str, list[dict[str, Any]]]) -> None:
    """Every row of ``before`` is in ``after``, with every value it had (new columns aside)."""
    for name, rows in before.items():
        kept = [{k: row[k] for k in rows[0]} for row in after[name]] if rows else after[name]
        assert kept == rows, name


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contactcenter", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _extended(tmp_path: Path, name: str, body: str) -> Migrations:
    """This release's migrations plus one revision after its head (as the next release's)."""
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / f"{name}.py").write_text(
        f'"""{name} (test)"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{name}"\ndown_revision = "{head_revision()}"\n\n\n'
        f"def upgrade() -> None:\n{body}")
    return Migrations(location)


# A revision that rebuilds tables the way SQLite batch mode does for most changes (copy into a
# new table, drop the old one, rename): users is referenced by web_sessions ON DELETE CASCADE.
REBUILD = """\
    recreate = "always" if op.get_bind().dialect.name == "sqlite" else "auto"
    with op.batch_alter_table("users", recreate=recreate) as batch:
        batch.add_column(sa.Column("nickname", sa.String(40), nullable=True))
    with op.batch_alter_table("routing_agents", recreate=recreate) as batch:
        batch.alter_column("presence", type_=sa.String(32), existing_nullable=False)
"""
FAILING = """\
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("nickname", sa.String(40), nullable=True))
    raise RuntimeError("this revision fails halfway")
"""

T0 = 1_764_000_000.0
# Realistic rows for every table of the first revision (ids of autoincrement tables left to the
# database, as the stores do; users get 1 and 2).
ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [
        {"username": "ann", "password_hash": "scrypt$16384$8$1$c2FsdA$aGFzaA", "role": "supervisor",
         "agent_id": None, "phone": "Local/2001@contactcenter-agents", "disabled": False,
         "created_at": T0, "updated_at": T0 + 0.25},
        {"username": "bob", "password_hash": "scrypt$16384$8$1$c2FsdDI$aGFzaDI", "role": "agent",
         "agent_id": "1010", "phone": None, "disabled": True, "created_at": T0 + 1,
         "updated_at": T0 + 2.5},
    ],
    "web_sessions": [
        {"token_hash": "a" * 64, "user_id": 1, "created_at": T0, "last_seen": T0 + 60,
         "expires_at": T0 + 43200, "remote": "192.0.2.10"},
        {"token_hash": "b" * 64, "user_id": 2, "created_at": T0 + 5, "last_seen": T0 + 6,
         "expires_at": T0 + 43205, "remote": "2001:db8::7"},
    ],
    "routing_interactions": [
        {"id": "1764000000.101", "channel": "voice", "queue": "sales", "priority": 5,
         "skills": {"english": 2, "sales": 1}, "data": {"caller_id": "+3225550100",
                                                        "ivr": {"lang": "fr", "menu": ["1", "3"]}},
         "callback": None, "state": "waiting", "arrived_at": T0, "queue_entered_at": T0 + 12.5,
         "seq": 41, "relax_step": -1, "attempts": 0, "agent_id": None, "offer_id": None,
         "offers": 0, "connected_at": None, "retry_at": None, "updated_at": T0 + 12.5},
        {"id": "cb-7", "channel": "callback", "queue": "support", "priority": 3,
         "skills": {}, "data": {"name": "Zoë Ölund"},
         "callback": {"number": "+3225550199", "window": [T0, T0 + 3600]}, "state": "offered",
         "arrived_at": T0 + 30, "queue_entered_at": T0 + 30, "seq": 42, "relax_step": 1,
         "attempts": 2, "agent_id": "1010", "offer_id": "o-99", "offers": 3,
         "connected_at": None, "retry_at": T0 + 900, "updated_at": T0 + 31},
    ],
    "routing_events": [
        {"at": T0, "kind": "interaction_arrived", "interaction_id": "1764000000.101",
         "agent_id": None, "queue": "sales", "payload": {"skills": {"english": 2}}},
        {"at": T0 + 31, "kind": "offered", "interaction_id": "cb-7", "agent_id": "1010",
         "queue": "support", "payload": {"offer_id": "o-99", "ring_s": 20.0}},
        {"at": T0 + 40, "kind": "agent_state", "interaction_id": None, "agent_id": "1010",
         "queue": None, "payload": {"from": "available", "to": "wrapup", "reason": None}},
    ],
    "routing_agents": [
        {"agent_id": "1010", "presence": "available", "pause_reason": None,
         "queues": ["sales", "support"], "answered_today": 17, "day": 20251124,
         "updated_at": T0 + 40, "wrapups": [{"interaction_id": "c1", "slot": 0,
                                             "until": T0 + 70, "queue": "sales"}]},
        {"agent_id": "1011", "presence": "paused", "pause_reason": "lunch", "queues": [],
         "answered_today": 0, "day": 20251124, "updated_at": T0, "wrapups": None},
    ],
    "config_queues": [
        {"name": "latam", "document": {"strategy": "longest_idle", "skills": {"spanish": 1},
                                       "recording": {"mode": "always", "retention_days": 5}},
         "enabled": True, "version": 3, "updated_at": T0, "updated_by": "web:root"},
    ],
    "config_agents": [
        {"name": "2001", "document": {"id": "2001", "skills": {"french": 3},
                                      "dial": "PJSIP/2001"},
         "enabled": False, "version": 1, "updated_at": T0 + 1, "updated_by": "cli:ops"},
    ],
    "config_skills": [
        {"name": "french", "document": {"description": "Français ✓"}, "enabled": True,
         "version": 2, "updated_at": T0 + 2, "updated_by": "web:root"},
    ],
    "recordings": [
        {"id": "r" * 32, "interaction_id": "1764000000.101", "agent_id": "1010",
         "queue": "sales", "caller_id": "+3225550100", "pbx": "pbx1",
         "channel": "PJSIP/trunk-00000042", "started_at": datetime(2025, 11, 24, 16, 0, 1,
                                                                    tzinfo=UTC),
         "ended_at": datetime(2025, 11, 24, 16, 7, 30, 250000, tzinfo=UTC),
         "file": "2025/11/24/1764000000.101-r.wav", "status": "complete", "error": None,
         "duration_s": 449.25, "sample_rate": 8000, "channels": 1,
         "size_bytes": 5_000_000_123, "pauses": [{"start": 10.5, "end": 31.0, "by": "1010"}],
         "purged_at": None},
        {"id": "s" * 32, "interaction_id": "cb-7", "agent_id": None, "queue": "support",
         "caller_id": None, "pbx": "", "channel": "",
         "started_at": datetime(2025, 11, 24, 17, 0, tzinfo=UTC), "ended_at": None,
         "file": "2025/11/24/cb-7-s.wav", "status": "recording", "error": None,
         "duration_s": None, "sample_rate": None, "channels": None, "size_bytes": None,
         "pauses": [], "purged_at": None},
    ],
    "audit_log": [
        {"at": datetime(2025, 11, 24, 16, 8, tzinfo=UTC), "actor": "web:ann",
         "action": "recordings.play", "target": "r" * 32, "outcome": "ok",
         "detail": {"remote": "192.0.2.10"}},
        {"at": datetime(2025, 11, 24, 16, 9, tzinfo=UTC), "actor": "cli:root",
         "action": "users.disable", "target": "bob", "outcome": "ok", "detail": None},
    ],
    "customers": [
        {"phone": "+3225550100", "name": "Zoë Ölund", "account": "ACME-42", "tier": "gold",
         "notes": "prefers French\nsecond line"},
        {"phone": "+3225550199", "name": "", "account": "", "tier": "", "notes": ""},
    ],
}

# The schema as create_all() made it in the first release (before users.phone,
# routing_agents.wrapups and the config_* tables), in its DDL; {serial} and {tstz} per dialect.
FIRST_RELEASE = """
CREATE TABLE audit_log (id {serial} NOT NULL, at {tstz} NOT NULL, actor VARCHAR(200) NOT NULL,
    action VARCHAR(100) NOT NULL, target VARCHAR(500) NOT NULL, outcome VARCHAR(50) NOT NULL,
    detail JSON, PRIMARY KEY (id));
CREATE INDEX ix_audit_log_action ON audit_log (action);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE TABLE customers (id {serial} NOT NULL, phone VARCHAR(32) NOT NULL,
    name VARCHAR(200) NOT NULL, account VARCHAR(64) NOT NULL, tier VARCHAR(32) NOT NULL,
    notes TEXT NOT NULL, PRIMARY KEY (id), UNIQUE (phone));
CREATE INDEX ix_customers_account ON customers (account);
CREATE TABLE recordings (id VARCHAR(32) NOT NULL, interaction_id VARCHAR(64) NOT NULL,
    agent_id VARCHAR(64), queue VARCHAR(100) NOT NULL, caller_id VARCHAR(100),
    pbx VARCHAR(100) NOT NULL, channel VARCHAR(200) NOT NULL, started_at {tstz} NOT NULL,
    ended_at {tstz}, file VARCHAR(500) NOT NULL, status VARCHAR(20) NOT NULL,
    error VARCHAR(500), duration_s FLOAT, sample_rate INTEGER, channels INTEGER,
    size_bytes BIGINT, pauses JSON NOT NULL, purged_at {tstz}, PRIMARY KEY (id));
CREATE INDEX ix_recordings_interaction_id ON recordings (interaction_id);
CREATE INDEX ix_recordings_queue ON recordings (queue);
CREATE INDEX ix_recordings_agent_id ON recordings (agent_id);
CREATE INDEX ix_recordings_status ON recordings (status);
CREATE INDEX ix_recordings_started_at ON recordings (started_at);
CREATE TABLE routing_agents (agent_id VARCHAR(64) NOT NULL, presence VARCHAR(16) NOT NULL,
    pause_reason VARCHAR(64), queues JSON NOT NULL, answered_today INTEGER NOT NULL,
    day INTEGER NOT NULL, updated_at FLOAT NOT NULL, PRIMARY KEY (agent_id));
CREATE TABLE routing_events (id {serial} NOT NULL, at FLOAT NOT NULL, kind VARCHAR(32) NOT NULL,
    interaction_id VARCHAR(64), agent_id VARCHAR(64), queue VARCHAR(64), payload JSON NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX ix_routing_events_at ON routing_events (at);
CREATE INDEX ix_routing_events_agent_id ON routing_events (agent_id);
CREATE INDEX ix_routing_events_kind ON routing_events (kind);
CREATE INDEX ix_routing_events_interaction_id ON routing_events (interaction_id);
CREATE TABLE routing_interactions (id VARCHAR(64) NOT NULL, channel VARCHAR(16) NOT NULL,
    queue VARCHAR(64) NOT NULL, priority INTEGER NOT NULL, skills JSON NOT NULL,
    data JSON NOT NULL, callback JSON, state VARCHAR(16) NOT NULL, arrived_at FLOAT NOT NULL,
    queue_entered_at FLOAT NOT NULL, seq INTEGER NOT NULL, relax_step INTEGER NOT NULL,
    attempts INTEGER NOT NULL, agent_id VARCHAR(64), offer_id VARCHAR(80),
    offers INTEGER NOT NULL, connected_at FLOAT, retry_at FLOAT, updated_at FLOAT NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX ix_routing_interactions_state ON routing_interactions (state);
CREATE TABLE users (id {serial} NOT NULL, username VARCHAR(64) NOT NULL,
    password_hash VARCHAR(255) NOT NULL, role VARCHAR(20) NOT NULL, agent_id VARCHAR(64),
    disabled BOOLEAN NOT NULL, created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL,
    PRIMARY KEY (id), UNIQUE (username));
CREATE TABLE web_sessions (id {serial} NOT NULL, token_hash VARCHAR(64) NOT NULL,
    user_id INTEGER NOT NULL, created_at FLOAT NOT NULL, last_seen FLOAT NOT NULL,
    expires_at FLOAT NOT NULL, remote VARCHAR(64) NOT NULL, PRIMARY KEY (id),
    UNIQUE (token_hash), FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE);
CREATE INDEX ix_web_sessions_user_id ON web_sessions (user_id);
CREATE INDEX ix_web_sessions_expires_at ON web_sessions (expires_at)
"""
# What the last release before migrations added: two columns by its after_create ALTERs, and
# the tables of the routing configuration edited in the panel.
LAST_RELEASE = FIRST_RELEASE + ";\n" + "\n".join(
    ["ALTER TABLE users ADD COLUMN phone VARCHAR(130);",
     "ALTER TABLE routing_agents ADD COLUMN wrapups JSON;"]
    + [f"CREATE TABLE {name} (name VARCHAR(64) NOT NULL, document JSON NOT NULL, "
       "enabled BOOLEAN NOT NULL, version INTEGER NOT NULL, updated_at FLOAT NOT NULL, "
       "updated_by VARCHAR(200) NOT NULL, PRIMARY KEY (name));"
       for name in ("config_queues", "config_agents", "config_skills")]).rstrip(";")
OLD_SCHEMAS = {"first release": FIRST_RELEASE, "last release before migrations": LAST_RELEASE}


async def _make_old(db: Database, ddl: str) -> None:
    types = ({"serial": "SERIAL", "tstz": "TIMESTAMP WITH TIME ZONE"}
             if db.dialect == "postgresql" else {"serial": "INTEGER", "tstz": "DATETIME"})
    async with db.engine.begin() as conn:
        for statement in ddl.format(**types).split(";"):
            await conn.execute(sa.text(statement))


# --- the head is the models ------------------------------------------------------------------

async def test_the_schema_at_head_is_the_models(empty):
    await upgrade(empty)
    assert await current_revision(empty) == head_revision()
    async with empty.engine.connect() as conn:
        differences = await conn.run_sync(_differences)
        draft = await conn.run_sync(_draft) if differences else ""
    assert differences == [], (
        "the models differ from the schema the migrations make: add a revision "
        f"(docs/storage.md) whose upgrade() does this:\n{draft}")


async def test_the_comparison_sees_a_changed_model(empty):
    # What the test above catches: a column added to a model, a column's type changed.
    await upgrade(empty)
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["users"].append_column(sa.Column("nickname", sa.String(40), nullable=True))
    changed.tables["customers"].c.tier.type = sa.String(64)
    async with empty.engine.connect() as conn:
        differences = await conn.run_sync(_differences, changed)
    flat = [d if isinstance(d, tuple) else d[0] for d in differences]
    assert sorted((d[0], d[2], d[3] if d[0] == "modify_type" else d[3].name) for d in flat) == [
        ("add_column", "users", "nickname"), ("modify_type", "customers", "tier")]


async def test_create_all_makes_the_head_and_says_so(empty, tmp_path):
    # The tests' fast path must be a database the server accepts, and no shortcut for an old one.
    await empty.create_all()
    assert await current_revision(empty) == head_revision()
    await ensure_schema(empty)
    async with empty.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
    old = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        await _make_old(old, FIRST_RELEASE)
        await old.create_all()
        assert await current_revision(old) is None  # still to be adopted by an upgrade
        with pytest.raises(SchemaBehind):
            await ensure_schema(old)
    finally:
        await old.close()


def test_the_history_is_one_line_of_revisions():
    history = revisions()
    assert history[0].id == "0001" and history[0].down is None
    assert [r.down for r in history[1:]] == [r.id for r in history[:-1]]
    assert history[-1].id == head_revision()
    assert all(r.doc for r in history)


# --- rows survive -------------------------------------------------------------------------------

@pytest.mark.parametrize("migrations", ["this release", "plus a table rebuild"])
async def test_every_row_survives_the_upgrade_from_the_first_revision(empty, tmp_path,
                                                                      migrations):
    chosen = Migrations() if migrations == "this release" else \
        _extended(tmp_path, "rebuild_test", REBUILD)
    first = chosen.revisions()[0].id
    await chosen.upgrade(empty, first)
    assert (await chosen.state(empty)).current == first
    await _insert(empty, ROWS)
    before = await _dump(empty)
    assert {name: len(rows) for name, rows in before.items()} == \
        {name: len(rows) for name, rows in ROWS.items()}  # every table of 0001 has rows

    lines: list[str] = []
    await chosen.upgrade(empty, progress=lines.append)
    assert (await chosen.state(empty)).at_head
    assert len(lines) == len(chosen.revisions()) - 1
    after = await _dump(empty)
    _same_rows(before, after)
    assert after["users"][0]["phone"] == "Local/2001@contactcenter-agents"
    assert after["routing_agents"][0]["wrapups"][0]["until"] == T0 + 70
    assert after["recordings"][0]["size_bytes"] == 5_000_000_123
    assert after["customers"][0]["name"] == "Zoë Ölund"


async def test_a_failed_revision_changes_nothing(empty, tmp_path):
    # Every pending revision runs in one transaction, SQLite included (its driver would
    # otherwise commit each DDL statement on its own).
    await upgrade(empty)
    await _insert(empty, {"users": ROWS["users"]})
    failing = _extended(tmp_path, "fails_test", FAILING)
    with pytest.raises(RuntimeError, match="fails halfway"):
        await failing.upgrade(empty)
    assert await current_revision(empty) == head_revision()
    assert "nickname" not in await _columns(empty, "users")
    assert len((await _dump(empty))["users"]) == 2


# --- databases made before migrations ---------------------------------------------------------

@pytest.mark.parametrize("made_by", list(OLD_SCHEMAS))
async def test_a_database_made_before_migrations_is_adopted(empty, made_by):
    await _make_old(empty, OLD_SCHEMAS[made_by])
    old_tables = await _tables(empty)
    await _insert(empty, {name: rows for name, rows in ROWS.items() if name in old_tables})
    before = await _dump(empty)
    with pytest.raises(SchemaBehind) as behind:
        await ensure_schema(empty)
    assert "was made before migrations" in str(behind.value) and HINT in str(behind.value)

    lines: list[str] = []
    await upgrade(empty, progress=lines.append)
    assert lines[0].startswith("tables made before migrations: revision 0001 adopts them")
    assert "applied 0001 initial schema" in lines
    await ensure_schema(empty)  # at head now
    async with empty.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
    after = await _dump(empty)
    _same_rows(before, after)
    assert set(after) == set(Base.metadata.tables)
    if made_by == "first release":
        assert [u["phone"] for u in after["users"]] == [None, None]
    # The server's own stores work on it, sequences included.
    users = UserStore(empty)
    carol = await users.create_user("carol", "h", "agent", "1012", T0, phone="PJSIP/2003")
    assert carol.id == 3 and (await users.get_by_username("ann")) is not None
    agents = {a.agent_id: a for a in await InteractionLog(empty).agents()}
    assert agents["1010"].queues == ["sales", "support"]


# --- ensure_schema: what the server runs at start ---------------------------------------------

async def test_ensure_schema_creates_an_empty_database_at_head(empty):
    assert (await schema_state(empty)).empty
    await ensure_schema(empty)
    assert await current_revision(empty) == head_revision()
    assert set(Base.metadata.tables) <= await _tables(empty)
    await ensure_schema(empty)  # and passes it from then on


async def test_ensure_schema_refuses_a_database_behind_in_one_line(empty, tmp_path):
    await upgrade(empty)
    newer = _extended(tmp_path, "next_test", REBUILD)
    with pytest.raises(SchemaBehind) as behind:
        await newer.ensure(empty)
    url = (await schema_state(empty)).url
    assert str(behind.value) == (f"database {url} is at revision {head_revision()}, "
                                 f"this server needs next_test: {HINT}")
    assert isinstance(behind.value, SettingError) and "\n" not in str(behind.value)
    assert "nickname" not in await _columns(empty, "users")  # nothing was changed
    await newer.upgrade(empty)
    await newer.ensure(empty)


async def test_ensure_schema_refuses_a_database_ahead(empty):
    await upgrade(empty)
    async with empty.engine.begin() as conn:  # as a newer release would leave it
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaAhead) as ahead:
        await ensure_schema(empty)
    message = str(ahead.value)
    assert "is at revision 9999_future, which this server does not know" in message
    assert f"(it needs {head_revision()})" in message and "\n" not in message
    assert isinstance(ahead.value, SettingError)
    with pytest.raises(SchemaAhead):  # and db upgrade does not touch it either
        await upgrade(empty)


# --- the commands, as a user runs them ------------------------------------------------------


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
def test_db_commands_name_the_database_and_the_revisions(tmp_path):
    database = tmp_path / "var" / "cc.sqlite3"
    cfg = tmp_path / "cc.yaml"
    cfg.write_text('database: {url: "sqlite+aiosqlite:///var/cc.sqlite3"}\n')  # relative
    url = f"sqlite+aiosqlite:///{database}"
    head = head_revision()

    current = _run_cli("db", "current", "--config", str(cfg), cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    assert current.stdout.startswith(f"database {url}: no such file yet")
    assert not database.exists()  # looking did not create it

    first = _run_cli("db", "upgrade", "--config", str(cfg), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"database {url}", *[f"applied {r.id} {r.doc}" for r in revisions()],
        f"now at revision {head} (head)"]
    again = _run_cli("db", "upgrade", "--config", str(cfg), cwd=tmp_path)
    assert again.stdout.splitlines() == [
        f"database {url}", f"nothing to apply: already at revision {head} (head)"]

    current = _run_cli("db", "current", "--config", str(cfg), cwd=tmp_path)
    assert current.stdout == f"database {url}: at revision {head} (head)\n"
    history = _run_cli("db", "history", "--config", str(cfg), cwd=tmp_path)
    lines = history.stdout.splitlines()
    assert lines[0] == f"database {url}: at revision {head} (head)"
    assert lines[1].startswith("0001  initial schema")
    assert lines[-1].startswith(f"{head}  ") and lines[-1].endswith("(head, current)")
    assert "Traceback" not in first.stderr + again.stderr + current.stderr + history.stderr


@pytest.mark.skipif(POSTGRES_URL is None, reason="CC_TEST_POSTGRES_URL is not set")
def test_db_current_hides_the_password(tmp_path):
    assert POSTGRES_URL is not None
    secret_url = POSTGRES_URL.replace("://postgres@", "://postgres:s3cr3t@")
    assert "s3cr3t" in secret_url  # the test's server trusts local connections, any password
    cfg = tmp_path / "cc.yaml"
    cfg.write_text(f'database: {{url: "{secret_url}"}}\n')
    current = _run_cli("db", "current", "--config", str(cfg), cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    assert current.stdout.startswith(f"database {secret_url.replace('s3cr3t', '***')}: ")
    assert "s3cr3t" not in current.stdout + current.stderr


def test_serve_on_a_database_behind_is_one_line_then_db_upgrade_fixes_it(tmp_path):
    database = tmp_path / "cc.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"

    async def make_old() -> None:
        db = Database(url)
        try:
            await _make_old(db, LAST_RELEASE)
            await _insert(db, {"users": ROWS["users"]})
        finally:
            await db.close()

    asyncio.run(make_old())
    cfg = tmp_path / "cc.yaml"
    cfg.write_text(f"fastagi: {{port: {_free_port()}}}\nweb: {{port: {_free_port()}}}\n"
                   f'database: {{url: "{url}"}}\n')
    serve = _run_cli("serve", "--config", str(cfg), cwd=tmp_path)  # refused before listening
    expected = (f"database {url} was made before migrations (tables, no revision), this server "
                f"needs {head_revision()}: {HINT}")
    assert serve.returncode == 2, serve.stdout + serve.stderr
    assert serve.stderr.splitlines()[-1] == expected, serve.stderr
    assert serve.stderr.count("db upgrade") == 1
    assert "Traceback" not in serve.stderr + serve.stdout

    fixed = _run_cli("db", "upgrade", "--config", str(cfg), cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.splitlines()[1:3] == [
        "tables made before migrations: revision 0001 adopts them, rows kept",
        "applied 0001 initial schema"]
    current = _run_cli("db", "current", "--config", str(cfg), cwd=tmp_path)
    assert current.stdout == f"database {url}: at revision {head_revision()} (head)\n"
