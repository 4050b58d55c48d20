"""One database handle: engine, session factory and schema creation, from one URL.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is the same code with another
URL. Every context keeps its tables in its own ``tables.py``, registered with ``Base`` on import;
``import_table_modules`` finds them by that name, so the schema (and Alembic's view of it) always
has every table without this floor naming the contexts above it.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from contactcenter.storage.base import Base


def import_table_modules() -> None:
    """Import every context's ``tables`` module, so ``Base.metadata`` holds the whole schema."""
    import contactcenter as root

    for info in pkgutil.iter_modules(root.__path__):
        if info.ispkg and (Path(root.__path__[0]) / info.name / "tables.py").exists():
            importlib.import_module(f"{root.__name__}.{info.name}.tables")


def shown_url(url: str) -> str:
    """``url`` as commands print it (which database they touched), its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """Owns the async engine for one URL; build it in the composition root and pass it in."""

    def __init__(self, url: str, *, search_path: str | None = None) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        # A server can drop a connection; a SQLite file cannot, and the ping is a thread hop
        # through aiosqlite before every transaction.
        kwargs: dict = {"pool_pre_ping": parsed.get_backend_name() != "sqlite"}
        if parsed.get_backend_name() == "postgresql":
            # asyncpg prepares every statement, and after five runs PostgreSQL may keep a
            # generic plan, blind to the values: the overdue tickets' count became a 330 ms
            # scan of a million rows instead of a 20 ms bitmap of the few active ones
            # (bench/tickets.py). Planning each time costs a fraction of a millisecond.
            settings = {"plan_cache_mode": "force_custom_plan"}
            if search_path:
                # Tests isolate themselves in a schema; production leaves the server's default.
                settings["search_path"] = search_path
            kwargs["connect_args"] = {"server_settings": settings}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    async def create_all(self) -> None:
        """Create every registered table that does not exist yet; a new database is recorded
        at the newest migration, which tests/storage/test_migrations.py keeps identical.

        The tests' fast path to a fresh database: the server runs the migrations instead
        (``schema.ensure_schema``), and an existing database is upgraded, never created over.
        """
        # schema.py builds on this module: imported here, not at the top, to avoid a cycle.
        from contactcenter.storage.schema import Migrations

        import_table_modules()

        def create(conn: Connection) -> None:
            new = not set(inspect(conn).get_table_names()) & set(Base.metadata.tables)
            Base.metadata.create_all(conn)
            if new:
                Migrations().stamp_head(conn)

        async with self.engine.begin() as conn:
            await conn.run_sync(create)

    def session(self) -> AsyncSession:
        """A new session; use as ``async with db.session() as s``."""
        return self.sessions()

    async def close(self) -> None:
        """Dispose of the connection pool."""
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the web readers work while the router writes; foreign keys are off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
