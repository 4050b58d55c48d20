"""One database handle: engine, session factory and schema creation, from one URL.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is the same code with another
URL. Table modules register with ``Base`` on import; ``create_all`` imports them all first so a
fresh file or schema always has every table.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from contactcenter.storage.base import Base


def _import_table_modules() -> None:
    import contactcenter.storage as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in {"base", "database"}:
            importlib.import_module(f"{pkg.__name__}.{info.name}")


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
        if search_path and parsed.get_backend_name() == "postgresql":
            # Tests isolate themselves in a schema; production leaves the server's default.
            kwargs["connect_args"] = {"server_settings": {"search_path": search_path}}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    async def create_all(self) -> None:
        """Create every registered table that does not exist yet."""
        _import_table_modules()
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

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
