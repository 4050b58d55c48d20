"""The schema's version: Alembic migrations run over the async engine, and the check at start-up.

Every schema change after the first release is a revision in ``storage/migrations/versions/``
(docs/storage.md). The server does not change the schema of a database that holds data: it
creates an empty one at the newest revision and refuses, in one line that says what to run,
a database that is behind (``SchemaBehind``) or newer than it knows (``SchemaAhead``).
``contactcenter db upgrade`` applies the pending revisions, each pending one in the same
transaction, so a failed upgrade leaves the database as it was.

A database made before migrations existed (tables, no ``alembic_version``) is behind: revision
0001 adopts it, keeping its rows and adding what those releases' ``create_all()`` did not.

Alembic is configured in code (``Migrations.config``), so this works from an installed wheel
with no ``alembic.ini``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from contactcenter.common.setting_errors import SettingError
from contactcenter.storage.base import Base
from contactcenter.storage.database import Database, import_table_modules, shown_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
UPGRADE_HINT = "run 'contactcenter db upgrade' (same --config)"
# Any constant works; it only has to be the same in every process that migrates.
_PG_LOCK_KEY = 0x6363_5F73_6368_656D  # "cc_schem"
# Objects the models cannot describe (an FTS5 table and its shadow tables, a generated tsvector
# column and its index: kb/tables.py) are made by the revision and by the table's after_create
# DDL, and named with this prefix so that the models-vs-migrations check and restore skip them.
DIALECT_ONLY_PREFIX = "dx_"


def modelled(name: str | None, type_: str = "", parent_names: object = None) -> bool:
    """False for a dialect-only object (``DIALECT_ONLY_PREFIX``); Alembic's ``include_name``."""
    return not (name or "").startswith(DIALECT_ONLY_PREFIX)


class SchemaMismatch(SettingError):
    """The database's schema is not the one this server runs on; ``str()`` is one line that says
    what to do (the command line prints it and exits 2)."""

    def __init__(self, url: str, current: str | None, head: str, message: str) -> None:
        super().__init__("database.url", message)
        self.url = url
        self.current = current
        self.head = head
        self.message = message

    def __str__(self) -> str:
        # SettingError's "set <setting>" advice is wrong here: the setting is right, the
        # database needs a command run on it.
        return self.message


class SchemaBehind(SchemaMismatch):
    """The database is at an older revision, or was made before migrations existed."""

    def __init__(self, url: str, current: str | None, head: str) -> None:
        where = (f"is at revision {current}" if current is not None
                 else "was made before migrations (tables, no revision)")
        super().__init__(url, current, head,
                         f"database {url} {where}, this server needs {head}: {UPGRADE_HINT}")


class SchemaAhead(SchemaMismatch):
    """The database is at a revision this release does not have (a newer release upgraded it)."""

    def __init__(self, url: str, current: str, head: str) -> None:
        super().__init__(
            url, current, head,
            f"database {url} is at revision {current}, which this server does not know (it "
            f"needs {head}): a newer release upgraded it; run that release, or set database.url "
            f"to this release's database")


@dataclass(frozen=True)
class Revision:
    """One migration script."""

    id: str
    down: str | None
    doc: str  # the first paragraph of its docstring


@dataclass(frozen=True)
class SchemaState:
    """Where one database stands, read in one transaction."""

    url: str  # password masked
    current: str | None  # the revision in alembic_version; None when there is none
    head: str  # the newest revision this release has
    known: bool  # current is None or one of this release's revisions
    has_tables: bool  # at least one of the models' tables exists

    @property
    def empty(self) -> bool:
        return self.current is None and not self.has_tables

    @property
    def before_migrations(self) -> bool:
        """Made by ``create_all()`` of a release before migrations: tables, no revision."""
        return self.current is None and self.has_tables

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def ahead(self) -> bool:
        return self.current is not None and not self.known

    def describe(self) -> str:
        """One line for ``db current``."""
        if self.at_head:
            return f"at revision {self.current} (head)"
        if self.empty:
            return f"empty (no revision); head is {self.head}"
        if self.before_migrations:
            return f"made before migrations (no revision); head is {self.head}: {UPGRADE_HINT}"
        if self.ahead:
            return f"at revision {self.current}, unknown to this release (head is {self.head})"
        return f"at revision {self.current}, head is {self.head}: {UPGRADE_HINT}"


Progress = Callable[[str], None]


@dataclass(frozen=True)
class Migrations:
    """One directory of migration scripts: the package's own, or a copy a test adds to."""

    location: Path = MIGRATIONS

    def config(self, **attributes: Any) -> Config:
        """Alembic's configuration, built in code; ``attributes`` reach ``env.py``."""
        cfg = Config(attributes=attributes)
        # ConfigParser would read a '%' in the path as interpolation.
        cfg.set_main_option("script_location", str(self.location).replace("%", "%%"))
        return cfg

    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    def head(self) -> str:
        """The newest revision; there is exactly one (the history is a line, never a branch)."""
        head = self.script().get_current_head()
        if head is None:
            raise RuntimeError(f"no migrations in {self.location}")
        return head

    def revisions(self) -> list[Revision]:
        """Every revision, oldest first."""
        found = [Revision(s.revision, _down(s.down_revision), s.doc)
                 for s in self.script().walk_revisions()]
        return found[::-1]

    async def state(self, db: Database) -> SchemaState:
        """Where ``db`` stands (reads only)."""
        async with db.engine.connect() as conn:
            return await conn.run_sync(self._state, shown_url(db.url))

    def _state(self, conn: Connection, url: str) -> SchemaState:
        import_table_modules()
        script = self.script()
        tables = set(sa.inspect(conn).get_table_names())
        # Read directly rather than through a MigrationContext, which logs two INFO lines at
        # every server start.
        current = None
        if VERSION_TABLE in tables:
            found = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
            heads = list(found)
            if len(heads) > 1:
                raise RuntimeError(f"{url} has several revisions {heads}: the history must be "
                                   "a line")
            current = heads[0] if heads else None
        known = current is None or current in {s.revision for s in script.walk_revisions()}
        head = script.get_current_head()
        assert head is not None
        return SchemaState(url, current, head, known, bool(tables & set(Base.metadata.tables)))

    async def upgrade(self, db: Database, target: str = "head",
                      progress: Progress | None = None) -> None:
        """Apply every revision up to ``target`` in one transaction; ``progress`` gets one line
        per revision applied. Raises ``SchemaAhead`` on a revision this release lacks."""
        own = _migration_engine(db)
        engine = own or db.engine
        try:
            async with engine.begin() as conn:
                await conn.run_sync(self._upgrade, shown_url(db.url), target,
                                    progress or _ignore, own is not None)
        finally:
            if own is not None:
                await own.dispose()

    def _upgrade(self, conn: Connection, url: str, target: str, progress: Progress,
                 sqlite_transaction: bool) -> None:
        if conn.dialect.name == "postgresql":
            # Two servers starting on one empty database: the second waits here, then finds
            # the first one's revision and has nothing to do.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        state = self._state(conn, url)
        if state.ahead:
            assert state.current is not None
            raise SchemaAhead(url, state.current, state.head)
        if state.before_migrations:
            progress("tables made before migrations: revision 0001 adopts them, rows kept")

        docs = {rev.id: rev.doc for rev in self.revisions()}

        def applied(*, step: MigrationInfo, **_: object) -> None:
            revision = step.up_revision_id or ""
            progress(f"applied {revision} {docs.get(revision, '')}".rstrip())

        # Our SQLite engine does run every revision in one transaction (_migration_engine);
        # otherwise Alembic assumes the dialect's default.
        command.upgrade(self.config(connection=conn, on_version_apply=(applied,),
                                    transactional_ddl=sqlite_transaction or None), target)
        if conn.dialect.name == "sqlite":
            # Foreign keys were off so that batch mode could copy tables; check what they
            # would have refused before committing.
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"upgrade left rows that break a foreign key: {broken[:5]}")

    async def ensure(self, db: Database) -> None:
        """Create an empty database at head; pass one at head; refuse any other."""
        state = await self.state(db)
        if state.at_head:
            return
        if state.empty:
            await self.create(db, progress=lambda line: log.info("database %s: %s",
                                                                 state.url, line))
            return
        if state.ahead:
            assert state.current is not None
            raise SchemaAhead(state.url, state.current, state.head)
        raise SchemaBehind(state.url, state.current, state.head)

    async def create(self, db: Database, progress: Progress | None = None) -> None:
        """Make an empty database at head from the models and stamp it (a database that is no
        longer empty when the lock is ours is left to ``ensure``'s rules).

        Replaying every revision on nothing gives the same tables (tests/storage/
        test_migrations.py compares the two on both dialects) but costs seconds at each first
        start, for a demo, a new node and every test that starts a server alike."""
        own = _migration_engine(db)
        engine = own or db.engine
        try:
            async with engine.begin() as conn:
                await conn.run_sync(self._create, shown_url(db.url), progress or _ignore)
        finally:
            if own is not None:
                await own.dispose()

    def _create(self, conn: Connection, url: str, progress: Progress) -> None:
        if conn.dialect.name == "postgresql":  # two servers starting on one empty database
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        state = self._state(conn, url)
        if state.at_head:
            return
        if not state.empty:
            if state.ahead:
                assert state.current is not None
                raise SchemaAhead(url, state.current, state.head)
            raise SchemaBehind(url, state.current, state.head)
        Base.metadata.create_all(conn)
        self.stamp_head(conn)
        progress(f"created at {state.head}")

    def stamp_head(self, conn: Connection) -> None:
        """Record the newest revision without running anything (``Database.create_all``)."""
        MigrationContext.configure(conn).stamp(self.script(), "head")


def _down(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise RuntimeError(f"a merge revision ({value}): the history must stay a line")


def _ignore(_line: str) -> None:
    pass


def _migration_engine(db: Database) -> AsyncEngine | None:
    """For a SQLite file, an engine of its own that migrates safely; None: use ``db.engine``.

    Two things differ from the server's connections. pysqlite begins a transaction only before
    INSERT/UPDATE/DELETE, so DDL would commit statement by statement: here the transaction is
    begun by hand and covers every revision. And batch mode rebuilds a table by copying it and
    dropping the old one, which with foreign keys on would delete the rows that reference it
    (``ON DELETE CASCADE``): here they are off (SQLite ignores that pragma inside a
    transaction, hence per connection, and NullPool so no server connection inherits it).
    """
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    engine = create_async_engine(url, poolclass=NullPool)
    event.listen(engine.sync_engine, "connect", _sqlite_for_migrations)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_for_migrations(dbapi_conn: Any, _record: object) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=OFF")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE: take the write lock now, so a second migrator waits instead of failing midway.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def head_revision() -> str:
    """The newest revision of this release's migrations."""
    return Migrations().head()


def revisions() -> list[Revision]:
    """This release's revisions, oldest first."""
    return Migrations().revisions()


async def schema_state(db: Database) -> SchemaState:
    """Where ``db`` stands against this release's migrations."""
    return await Migrations().state(db)


async def current_revision(db: Database) -> str | None:
    """The revision ``db`` is at; None when it has none (empty, or made before migrations)."""
    return (await Migrations().state(db)).current


async def upgrade(db: Database, target: str = "head", progress: Progress | None = None) -> None:
    """Apply the pending revisions up to ``target`` (adopting a database made before
    migrations); ``progress`` gets one line per revision applied."""
    await Migrations().upgrade(db, target, progress)


async def ensure_schema(db: Database) -> None:
    """At start-up: create an empty database at head, pass one at head, raise ``SchemaBehind``
    or ``SchemaAhead`` (one line, with what to run) for any other."""
    await Migrations().ensure(db)
