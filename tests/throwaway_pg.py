"""A new, empty PostgreSQL database for one test, dropped after it (the server under test
connects with its own URL, so a schema on the search path would not reach it)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy.engine import make_url


@contextlib.asynccontextmanager
async def throwaway_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """The SQLAlchemy URL of a database named ``<prefix>_<random>`` on ``server_url``'s server."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_dsn = make_url(server_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
