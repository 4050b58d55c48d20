"""IVR sessions kept for the reports: each finished session becomes rows, written in batches.

Design note. The IVR hands every finished session to ``session_ended`` on the caller's own
task (``ivr/handler.py``, a ``SessionObserver``): it only turns the result into rows and
appends them to a list, so a caller never waits for the database. A background loop writes
what is pending every ``flush_s`` real seconds (sooner once ``batch`` sessions wait), all of
it in one transaction. A database that fails keeps the rows pending and is tried again at the
next turn; past ``max_pending`` sessions the oldest are dropped (counted in ``dropped`` and
logged): the figures lose a few sessions, the calls lose nothing. A batch the database refuses
for one of its rows (a constraint, a value it cannot store) is written one session at a time and
the refused ones are dropped, so one bad row cannot hold back the rest; any other failure is the
database's and keeps everything. What each session's ``ending`` means is docs/reports.md, IVR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contactcenter.common.tasks import stop_gracefully
from contactcenter.ivr.ports import IvrResult
from contactcenter.reports.intervals import INTERVAL_S
from contactcenter.reports.tables import NAME, ivr_session_nodes, ivr_sessions
from contactcenter.storage.database import Database

log = logging.getLogger(__name__)

# How a session ended, in the report's words (docs/reports.md, IVR).
QUEUED, TRANSFERRED, CALLER_HANGUP, COMPLETED, FALLBACK = (
    "queued", "transferred", "caller_hangup", "completed", "fallback")
ENDINGS = (QUEUED, TRANSFERRED, CALLER_HANGUP, COMPLETED, FALLBACK)
CONTAINED = frozenset({CALLER_HANGUP, COMPLETED})  # ended in the IVR
LEFT = frozenset({CALLER_HANGUP, COMPLETED})  # "left at" its last node, when by a hang-up
# What a database says of a row it will never take (a constraint, a value it cannot store),
# as opposed to its own trouble (locked, gone, disk full): those rows are dropped, not retried.
_REFUSED = (sa.exc.IntegrityError, sa.exc.DataError)
NODE = 2 * NAME + 1  # a subflow's node is "flow:node"


def ending_of(result: IvrResult) -> str:
    """The kind of end of one session: queued, transferred, caller_hangup, completed or
    fallback (a flow that failed at run time, whatever came after)."""
    out = result.outcome
    if result.error is not None or out.startswith("fallback"):
        return FALLBACK
    if out.startswith("queue:"):
        return QUEUED
    if out.startswith("transfer:"):
        return TRANSFERRED
    if out == "caller-hangup":
        # A caller who hangs up while waiting in line was queued: an abandon of the queue.
        last = result.steps[-1] if result.steps else None
        queued = last is not None and last.kind == "queue" and result.path \
            and last.node == result.path[-1].rpartition(":")[2]
        return QUEUED if queued else CALLER_HANGUP
    return COMPLETED  # the flow's hangup node, or its end


@dataclass(frozen=True, slots=True)
class SessionRows:
    """One session as rows of ``ivr_sessions`` and ``ivr_session_nodes``."""

    session: dict[str, Any]
    nodes: list[dict[str, Any]]


def session_rows(result: IvrResult) -> SessionRows:
    """The rows that keep ``result`` (texts cut to their columns: a row must always fit)."""
    sid = uuid.uuid4().hex
    ending = ending_of(result)
    started = result.started_at or (result.entered_at[0] if result.entered_at else 0.0)
    ended = max(result.ended_at, started)
    path = result.path
    times = list(result.entered_at) + [ended] * (len(path) - len(result.entered_at))
    return SessionRows(
        {"id": sid, "call_id": result.call_id[:NAME], "flow": result.flow[:NAME],
         "version": (result.version or None) and result.version[:NAME],
         "started_at": started, "ended_at": ended,
         "slot": int(started // INTERVAL_S) * INTERVAL_S,
         "outcome": result.outcome[:NAME], "ending": ending,
         "last_node": path[-1][:NODE] if path else "", "nodes": len(path),
         "interaction_id": result.call_id[:NAME] if ending == QUEUED else None},
        [{"session_id": sid, "seq": i, "node": node[:NODE], "entered_at": times[i]}
         for i, node in enumerate(path)])


class IvrRecorder:
    """Keeps finished IVR sessions, written off the call path in batches."""

    def __init__(self, db: Database, *, flush_s: float = 0.5, batch: int = 500,
                 max_pending: int = 20_000,
                 written: Callable[[list[SessionRows]], None] = lambda _b: None) -> None:
        self.db = db
        self.written = written  # told each batch once committed (today's figures)
        self.flush_s = flush_s
        self.batch = batch
        self.max_pending = max_pending
        self.recorded = 0  # sessions written by this process
        self.dropped = 0  # sessions given up (database away too long, or a row refused)
        self._pending: deque[SessionRows] = deque()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._closing = False
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Sessions not written yet."""
        return len(self._pending)

    def session_ended(self, result: IvrResult) -> None:
        """Queue one finished session (``SessionObserver``): returns at once."""
        self._pending.append(session_rows(result))
        if len(self._pending) > self.max_pending:
            self._pending.popleft()
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("ivr sessions: %d dropped so far (the database is not keeping up)",
                            self.dropped)
        if len(self._pending) >= self.batch:
            self._wake.set()

    async def start(self) -> None:
        """Start writing in the background."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="ivr-sessions-writer")

    async def close(self) -> None:
        """Write what is pending (one try) and stop."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        await stop_gracefully(task)
        with contextlib.suppress(Exception):
            await self.flush()
        if self._pending:
            log.warning("ivr sessions: %d not written at stop", len(self._pending))

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                await self.flush()
            except Exception:
                if not self._failing:  # once per outage, not every turn
                    log.exception("ivr sessions: writing failed; %d kept for the next tries",
                                  len(self._pending))
                self._failing = True
            else:
                if self._failing:
                    log.info("ivr sessions: written again")
                self._failing = False

    async def flush(self) -> int:
        """Write every pending session now (a report read calls it first); the count written.
        Raises when the database fails (the sessions stay pending)."""
        written = 0
        async with self._lock:
            while self._pending:
                # Taken out while written: ``session_ended`` may trim the queue meanwhile.
                batch = [self._pending.popleft()
                         for _ in range(min(self.batch, len(self._pending)))]
                try:
                    try:
                        await self._write(batch)
                        written += len(batch)
                    except _REFUSED:  # a row the database will never take: find it
                        written += await self._one_by_one(batch)
                except Exception:
                    self._pending.extendleft(reversed(batch))
                    self.recorded += written
                    raise
        self.recorded += written
        return written

    async def _write(self, batch: list[SessionRows]) -> None:
        nodes = [n for s in batch for n in s.nodes]
        async with self.db.engine.begin() as conn:
            await conn.execute(ivr_sessions.insert(), [s.session for s in batch])
            if nodes:
                await conn.execute(ivr_session_nodes.insert(), nodes)
        self.written(batch)

    async def _one_by_one(self, batch: list[SessionRows]) -> int:
        """Write each session alone and drop the ones the database refuses; any other failure
        raises with ``batch`` cut to what is left."""
        written = 0
        while batch:
            rows = batch[0]
            try:
                await self._write([rows])
                written += 1
            except _REFUSED:
                self.dropped += 1
                log.exception("ivr sessions: session of call %s refused; dropped",
                              rows.session["call_id"])
            except Exception:
                self.recorded += written
                raise
            del batch[0]
        return written
