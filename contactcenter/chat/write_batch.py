"""One transaction for one batch of the chat writer (``store.ChatWriter``), straight on the
driver's connection, kept from batch to batch while the writer is busy.

Design note (issue #14, ``bench/chat.py``): every visitor message waits for its batch's commit
before it is relayed, so the commit's cost is on the delivery path.
* Through SQLAlchemy's async layer a batch of one message was eight round trips to aiosqlite's
  thread (a cursor, each statement, the commit, the pool's checkout and its reset rollback)
  and about 0.9 ms of CPU; on a busy two-core machine every round trip also waits for the
  thread to be scheduled. Here it is one round trip (``_sqlite_transaction``) and about
  0.06 ms. PostgreSQL (asyncpg) runs the same statements in one driver transaction; another
  driver goes through SQLAlchemy Core, as before.
* Even one round trip to the thread was most of what a message cost beyond a bare relay: the
  thread's wake-up, the loop's wake-up by ``call_soon_threadsafe``, and the GIL changing hands
  twice (p99 3.2 ms against the relay's 1.0 ms on a quiet machine). So a batch commits on the
  loop's own thread (``_sqlite_transaction_now``, 50-150 us of blocking, less than the round
  trip cost), but only when SQLite's write lock is free at once: with a busy timeout of 0
  (the connection's while the writer has it, like the checkpoint limit below), a lock held
  by another connection (an async session's transaction elsewhere in the server, which may
  need this very loop to finish) sends the batch to the thread as before, where it may wait.
  In WAL mode with ``synchronous=NORMAL`` a commit writes the log without an fsync, and the
  checkpoints, which do fsync, stay off this path. An idle writer commits a message in its
  sender's own call (``write_now``), without the turns of the loop to its task and back.
* SQLite copies its write-ahead log into the database (a checkpoint, with an fsync: 30 ms and
  more on this machine kind) inside the commit that fills the log past
  ``wal_autocheckpoint`` pages, about every 250 messages: every message behind that commit
  waited for it. The writer's commits skip that (the connection's limit is 0 while the writer
  has it, put back when it gives it back: ``_Waits``), and ``Checkpointer`` runs the same
  PASSIVE checkpoint on another connection, in another thread, while the writer goes on. A
  PASSIVE checkpoint never waits for the writer, but the log only starts over from its
  beginning when a commit finds it wholly copied; under writes that never pause, that may not
  happen, so when the log has grown past ``LOG_FRAMES_LIMIT`` pages the writer's next commit
  checkpoints itself, as SQLite would have (rare: the costly part, the copy, was done in the
  background).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.chat.model import ConversationRecord, Message
from contactcenter.chat.tables import ChatConversationRow, ChatMessageRow
from contactcenter.storage.database import Database
from contactcenter.storage.sqlite_batch import run_writes

log = logging.getLogger(__name__)

STATE_COLUMNS = ("state", "agent_id", "queue", "offered_at", "accepted_at", "closed_at",
                 "closed_by", "bot_outcome")
MESSAGE_COLUMNS = ("conversation_id", "seq", "sender", "name", "agent_id", "text", "client_id",
                   "at", "attachment")
# A background checkpoint after this many of the writer's commits, or this long after the last
# one began, whichever comes first, and only after writes. Each one ends in an fsync, and a
# commit's writes meanwhile may wait for the file system's journal (a few ms, for every message
# then in flight): once a second, bench/chat.py's chat p99 was 1.8-2.8 ms, 1.2-1.4 with no
# checkpoint in the run. 1,000 commits are 2,000-4,000 pages of log, well under the limit below.
CHECKPOINT_EVERY_S = 5.0
CHECKPOINT_EVERY_COMMITS = 1000
LOG_FRAMES_LIMIT = 10_000  # pages (40 MB at 4 KiB): past this the writer's commit checkpoints
Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class BatchRows:
    """What one transaction writes, as the driver's rows (JSON as text, as ``sa.JSON`` does)."""

    states: Rows  # STATE_COLUMNS values, then the conversation's id
    messages: Rows  # MESSAGE_COLUMNS values
    last_seqs: Rows  # (last_seq, conversation id): the highest of the batch per conversation

    @classmethod
    def of(cls, states: list[ConversationRecord], messages: list[Message]) -> BatchRows:
        last: dict[str, int] = {}
        for m in messages:
            last[m.conversation_id] = max(m.seq, last.get(m.conversation_id, 0))
        return cls(
            [(c.state.value, c.agent_id, c.queue, c.offered_at, c.accepted_at, c.closed_at,
              c.closed_by, c.bot_outcome, c.id) for c in states],
            [(m.conversation_id, m.seq, m.sender.value, m.name, m.agent_id, m.text,
              m.client_id, m.at, None if m.attachment is None else json.dumps(m.attachment))
             for m in messages],
            [(seq, cid) for cid, seq in last.items()])


@dataclass(frozen=True, slots=True)
class _Sql:
    """The batch's three statements in one parameter style (``?`` or asyncpg's ``$n``)."""

    update_state: str
    insert_message: str
    update_last_seq: str

    @classmethod
    def of(cls, dollar: bool) -> _Sql:
        def mark(i: int) -> str:
            return f"${i}" if dollar else "?"

        n = len(STATE_COLUMNS)
        sets = ", ".join(f"{c} = {mark(i)}" for i, c in enumerate(STATE_COLUMNS, 1))
        marks = ", ".join(mark(i) for i in range(1, len(MESSAGE_COLUMNS) + 1))
        return cls(
            f"UPDATE chat_conversations SET {sets} WHERE id = {mark(n + 1)}",
            f"INSERT INTO chat_messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({marks})",
            f"UPDATE chat_conversations SET last_seq = {mark(1)} WHERE id = {mark(2)}")

    def writes(self, rows: BatchRows) -> list[tuple[str, Rows]]:
        """The statements with rows, in order: states, then messages, then the numbers."""
        return [(sql, r) for sql, r in ((self.update_state, rows.states),
                                        (self.insert_message, rows.messages),
                                        (self.update_last_seq, rows.last_seqs)) if r]


def is_integrity_error(exc: BaseException) -> bool:
    """A constraint refused a row (a resend's ``client_id``), whichever layer raised it."""
    if isinstance(exc, (sa.exc.IntegrityError, sqlite3.IntegrityError)):
        return True
    return str(getattr(exc, "sqlstate", "") or "").startswith("23")  # asyncpg's class 23


@dataclass(frozen=True, slots=True)
class _Waits:
    """A pooled connection's own settings, put back when the writer gives it back."""

    busy_timeout: int  # ms SQLite waits for a lock
    autocheckpoint: int  # log pages past which a commit checkpoints

    @classmethod
    def take(cls, conn: sqlite3.Connection) -> _Waits:
        """Read the connection's settings and set both to 0 for the writer (module note)."""
        waits = cls(conn.execute("PRAGMA busy_timeout").fetchone()[0],
                    conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return waits

    def give_back(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout)}")
        conn.execute(f"PRAGMA wal_autocheckpoint={int(self.autocheckpoint)}")


def _sqlite_transaction(conn: sqlite3.Connection, writes: list[tuple[str, Rows]],
                        checkpoint: bool, busy_timeout: int) -> bool:
    """Run in aiosqlite's thread: the batch and its commit in one round trip, waiting up to
    ``busy_timeout`` ms for the write lock, then, when ``checkpoint``, a checkpoint on this
    connection; returns whether one ran."""
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
    try:
        run_writes(conn, writes)
        if checkpoint:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.execute("PRAGMA busy_timeout=0")
    return checkpoint


def _sqlite_transaction_now(conn: sqlite3.Connection, writes: list[tuple[str, Rows]]) -> bool:
    """On the event loop's thread (busy timeout 0): the batch and its commit if the write lock
    is free right away; False, with nothing written, when another connection holds it (or
    SQLite is busy for any other reason), so that the loop never waits on a lock."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        run_writes(conn, writes)
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.rollback()
        if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return False
        raise
    return True


def _sqlite_checkpoint(conn: sqlite3.Connection) -> tuple[int, int]:
    """Run in aiosqlite's thread: a PASSIVE checkpoint; (pages in the log, pages copied)."""
    _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
    return int(frames), int(copied)


class BatchConnection:
    """The writer's connection: ``write`` commits one batch; ``release`` gives it back to the
    pool. Not for concurrent use: one task (the writer's) owns it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: AsyncConnection | None = None
        self._driver: Any = None
        self._waits: _Waits | None = None  # the pooled connection's, while the writer has it
        self._kind = db.engine.dialect.driver  # aiosqlite, asyncpg, or another (Core)
        self._sql = _Sql.of(dollar=self._kind == "asyncpg")
        self.checkpointer = Checkpointer(db) if self._kind == "aiosqlite" else None

    async def write(self, states: list[ConversationRecord], messages: list[Message]) -> None:
        """One transaction: the conversations' states, then the messages and each
        conversation's ``last_seq``; committed when this returns. A failure writes nothing."""
        rows = BatchRows.of(states, messages)
        if self._kind not in ("aiosqlite", "asyncpg"):
            await self._write_core(states, messages, rows.last_seqs)
            return
        if self._conn is None:
            conn = await self.db.engine.connect()
            try:
                self._driver = (await conn.get_raw_connection()).driver_connection
                if self._kind == "aiosqlite" and hasattr(self._driver, "_execute"):
                    self._waits = _Waits.take(self._driver._conn)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        conn, writes = self._conn, self._sql.writes(rows)
        try:
            if self._kind == "asyncpg":
                async with self._driver.transaction():
                    for sql, r in writes:
                        await self._driver.executemany(sql, r)
            else:
                await self._sqlite_write(writes)
        except BaseException as exc:
            if not is_integrity_error(exc):
                # Whatever it was (a cancelled round trip, a lost server), the next batch
                # starts on a fresh connection, not on one in an unknown state.
                self._conn = self._driver = self._waits = None
                await asyncio.shield(_discard(conn))
            raise

    def write_now(self, messages: list[Message]) -> bool:
        """SQLite only, with the connection already held: commit ``messages`` on this thread,
        right away, if the write lock is free; False (nothing written) when it cannot, and then
        ``write`` is the way. A failure writes nothing and raises."""
        if self._waits is None:
            return False
        return self._commit_now(self._sql.writes(BatchRows.of([], messages)))

    def _commit_now(self, writes: list[tuple[str, Rows]]) -> bool:
        """``writes`` committed on this thread if the lock is free and no checkpoint is due
        (that one goes to the thread); False, nothing written, otherwise."""
        cp = self.checkpointer
        if cp is None or cp.log_too_long or not _sqlite_transaction_now(self._driver._conn,
                                                                         writes):
            return False
        cp.wrote(False)
        return True

    async def _sqlite_write(self, writes: list[tuple[str, Rows]]) -> None:
        cp = self.checkpointer
        assert cp is not None
        run_in_thread = getattr(self._driver, "_execute", None)  # aiosqlite's own (private)
        if run_in_thread is None or self._waits is None:  # public calls: a trip a statement
            try:
                for sql, r in writes:
                    await self._driver.executemany(sql, r)
                await self._driver.commit()
            except BaseException:
                await self._driver.rollback()
                raise
            return
        if self._commit_now(writes):
            return
        checkpointed = await run_in_thread(_sqlite_transaction, self._driver._conn, writes,
                                           cp.log_too_long, self._waits.busy_timeout)
        cp.wrote(checkpointed)

    async def _write_core(self, states: list[ConversationRecord],
                          messages: list[Message], last_seqs: Rows) -> None:
        async with self.db.engine.begin() as conn:
            if states:
                await conn.execute(
                    sa.update(ChatConversationRow)
                    .where(ChatConversationRow.id == sa.bindparam("b_id"))
                    .values({k: sa.bindparam(k) for k in STATE_COLUMNS}),
                    [{"b_id": c.id, "state": c.state.value, "agent_id": c.agent_id,
                      "queue": c.queue, "offered_at": c.offered_at,
                      "accepted_at": c.accepted_at, "closed_at": c.closed_at,
                      "closed_by": c.closed_by, "bot_outcome": c.bot_outcome} for c in states])
            if messages:
                await conn.execute(sa.insert(ChatMessageRow), [
                    {"conversation_id": m.conversation_id, "seq": m.seq,
                     "sender": m.sender.value, "name": m.name, "agent_id": m.agent_id,
                     "text": m.text, "client_id": m.client_id, "at": m.at,
                     "attachment": m.attachment} for m in messages])
            if last_seqs:
                await conn.execute(
                    sa.update(ChatConversationRow)
                    .where(ChatConversationRow.id == sa.bindparam("b_id"))
                    .values(last_seq=sa.bindparam("b_seq")),
                    [{"b_seq": seq, "b_id": cid} for seq, cid in last_seqs])

    async def release(self) -> None:
        """Give the connection back to the pool (the next ``write`` takes one again)."""
        conn, driver, waits = self._conn, self._driver, self._waits
        self._conn = self._driver = self._waits = None
        if conn is None:
            return
        if waits is not None:
            try:
                waits.give_back(driver._conn)
            except sqlite3.Error:  # a broken connection: not back in the pool as it is
                await asyncio.shield(_discard(conn))
                return
        await asyncio.shield(conn.close())  # back in the pool even if we are cancelled

    async def close(self) -> None:
        """Release the connection and wait for a background checkpoint to end."""
        await self.release()
        if self.checkpointer is not None:
            await self.checkpointer.close()


class Checkpointer:
    """SQLite's checkpoints for the chat writer, off its path (see the module's note)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.log_too_long = False  # the writer's next commit checkpoints itself
        self._last = -1e9  # monotonic time of the last checkpoint's start
        self._commits = 0  # the writer's commits since
        self._task: asyncio.Task[None] | None = None

    def wrote(self, checkpointed: bool) -> None:
        """After a commit (``checkpointed``: it ran a checkpoint itself): start a background
        checkpoint when none runs and it is time (``CHECKPOINT_EVERY_*``)."""
        if checkpointed:
            self.log_too_long = False
            self._commits = 0
        self._commits += 1
        now = time.monotonic()
        if self._task is None and (now - self._last >= CHECKPOINT_EVERY_S
                                   or self._commits >= CHECKPOINT_EVERY_COMMITS):
            self._last, self._commits = now, 0
            self._task = asyncio.create_task(self._run(), name="chat-checkpoint")

    async def _run(self) -> None:
        try:
            async with self.db.engine.connect() as conn:
                driver: Any = (await conn.get_raw_connection()).driver_connection
                run_in_thread = getattr(driver, "_execute", None)
                if run_in_thread is None:
                    cur = await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    _busy, frames, _copied = await cur.fetchone()
                    await cur.close()
                else:
                    frames, _copied = await run_in_thread(_sqlite_checkpoint, driver._conn)
            if frames > LOG_FRAMES_LIMIT:
                self.log_too_long = True
        except Exception:  # the next one tries again; the writer's commits go on regardless
            log.exception("chat: SQLite checkpoint failed")
        finally:
            self._task = None

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)


async def _discard(conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.invalidate()
    await conn.close()
