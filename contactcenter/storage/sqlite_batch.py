"""A batch of writes and its commit in one call on a ``sqlite3`` connection: run in aiosqlite's
thread (``run_in_thread``), it is one round trip where SQLAlchemy's async layer makes one per
statement, the cursor, the commit and the pool's checkout and reset (the interaction log's and
the chat writer's hot paths)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

Writes = Sequence[tuple[str, Sequence[Any]]]  # (driver SQL, rows) in the order they run


def run_writes(conn: sqlite3.Connection, writes: Writes) -> None:
    """Every write, then the commit; a failure rolls the whole batch back."""
    if not conn.in_transaction:
        conn.execute("BEGIN")  # also when the driver is in autocommit mode
    try:
        for sql, rows in writes:
            conn.executemany(sql, rows)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
