"""Who leads: a PostgreSQL session-level advisory lock, a term, and the fence on writes.

The lock lives on one dedicated connection (not the pool's: a pooled connection is handed
back and forth, and the lock belongs to the session). PostgreSQL frees it when that session
ends: at once when the node's process dies (the kernel closes the socket), after the TCP
keep-alive gives up when the node vanishes from the network (``tcp_keepalives_*`` are set on
this session so that is seconds, not PostgreSQL's default two hours).

Taking the lock raises the term in ``cluster_leader``. The interaction log's writes read that
term in their own transaction (``Fence.check``, ``FOR SHARE``: a term being raised waits for
them, and they wait for it) and refuse to commit under another leader's term, so a leader that
lost its lock and has not noticed yet cannot write a routing decision.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

TERM_SQL = "SELECT term FROM cluster_leader WHERE id = 1 FOR SHARE"
_RAISE_TERM = (
    "INSERT INTO cluster_leader (id, term, node, since) VALUES (1, 1, $1, now()) "
    "ON CONFLICT (id) DO UPDATE SET term = cluster_leader.term + 1, node = excluded.node, "
    "since = excluded.since RETURNING term")


class Fenced(RuntimeError):
    """A write under a term that is no longer the leader's."""


@dataclass
class Fence:
    """This node's term; a write that finds another one sets ``lost`` and is refused."""

    term: int
    lost: asyncio.Event = field(default_factory=asyncio.Event)

    async def check(self, driver: Any) -> None:
        """Inside an asyncpg transaction: raise ``Fenced`` unless our term is the current one."""
        current = await driver.fetchval(TERM_SQL)
        if current != self.term:
            self.lost.set()
            raise Fenced(f"term {self.term} is over (the leader's is {current})")


@dataclass(frozen=True)
class LeaseSettings:
    """What the lease needs of ``cluster:`` (storage cannot import the settings' floor)."""

    key: int
    node: str
    timeout_s: float
    keepalive_idle_s: int
    keepalive_interval_s: int
    keepalive_count: int


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL of a PostgreSQL database as a plain ``postgresql://`` DSN."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("leader election needs PostgreSQL (database.url postgresql+asyncpg://...)")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class LeaderLease:
    """The advisory lock on its own connection: take it, prove it is still held, let it go."""

    def __init__(self, url: str, settings: LeaseSettings) -> None:
        self.dsn = asyncpg_dsn(url)
        self.settings = settings
        self._conn: Any = None
        self.term: int | None = None

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            s = self.settings
            self._conn = await asyncio.wait_for(asyncpg.connect(
                self.dsn, timeout=s.timeout_s, command_timeout=s.timeout_s,
                server_settings={
                    "application_name": f"contactcenter leader lock {s.node}"[:63],
                    "tcp_keepalives_idle": str(s.keepalive_idle_s),
                    "tcp_keepalives_interval": str(s.keepalive_interval_s),
                    "tcp_keepalives_count": str(s.keepalive_count),
                }), s.timeout_s * 2)
        return self._conn

    async def try_acquire(self, prepare: Callable[[], Awaitable[None]] | None = None,
                          ) -> int | None:
        """Take the lock if it is free: the new term, else None. ``prepare`` runs while the
        lock is held, before the term is raised (the schema: on a new database only one node
        creates it). Raises if the database is unreachable (a standby just tries again)."""
        conn = await self._connection()
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.settings.key):
            return None
        try:
            if prepare is not None:
                await prepare()
            self.term = int(await conn.fetchval(_RAISE_TERM, self.settings.node))
        except BaseException:
            await self.release()
            raise
        return self.term

    async def holds(self) -> bool:
        """One round trip on the lock's session within ``timeout_s``: False if it is gone."""
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            held = await asyncio.wait_for(conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objsubid = 1 "
                "AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid",
                self.settings.key), self.settings.timeout_s)
        except Exception:  # noqa: BLE001  # any failure (timeout, closed, refused): no proof
            return False
        return bool(held)

    async def release(self) -> None:
        """End the lock's session (PostgreSQL frees the lock with it); never raises."""
        conn, self._conn, self.term = self._conn, None, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), self.settings.timeout_s)
        if not conn.is_closed():
            conn.terminate()


async def current_leader(url: str, timeout_s: float = 2.0) -> tuple[str, int] | None:
    """The node named in ``cluster_leader`` and its term (for a standby's health answer)."""
    conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(url), timeout=timeout_s), timeout_s)
    try:
        row = await conn.fetchrow("SELECT node, term FROM cluster_leader WHERE id = 1")
    finally:
        await conn.close()
    return (row["node"], int(row["term"])) if row else None
