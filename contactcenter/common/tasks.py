"""Stopping a background loop without cutting a database call in half."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def stop_gracefully(task: asyncio.Task[Any] | None, grace_s: float = 5.0) -> None:
    """Wait up to ``grace_s`` for ``task`` to end by itself (its owner has just asked it to,
    by a flag and a wake-up), then cancel what is left.

    A loop cancelled in the middle of a query leaves its connection for the garbage collector to
    roll back, outside any event loop: SQLAlchemy then logs a traceback at exit, and on
    PostgreSQL the transaction stays open until the connection dies.
    """
    if task is None or task.done():
        return
    await asyncio.wait({task}, timeout=grace_s)
    task.cancel()  # no effect when it has ended
    with contextlib.suppress(asyncio.CancelledError):
        await task
