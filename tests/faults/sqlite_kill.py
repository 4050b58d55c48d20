"""SIGKILL the interaction log's writer at random moments; the SQLite file must lose nothing.

A child process runs the server's own writer (``InteractionLog.writer()``, the routing
service's batch path: one transaction per batch, straight on aiosqlite's connection) on a real
SQLite file opened through ``storage.database.Database``, so the server's PRAGMAs are in force
(``journal_mode=WAL``, ``synchronous=NORMAL``, ``foreign_keys=ON``). Each batch is
``BATCH_SIZE`` ``enter`` events plus the same interactions' current-state rows, all tagged with
the batch number. Only after ``append`` has returned (the commit is done) does the child send
the batch number to the parent over a pipe.

The parent kills the child with SIGKILL after a random delay (seeded), drains the pipe (what
the child wrote before it died is still in the kernel's pipe buffer), then opens the file
with plain ``sqlite3`` as a restarting server would (which runs WAL recovery) and checks:
``PRAGMA integrity_check`` is ``ok``, the journal mode is still WAL, every reported batch is
there, and every batch present is whole (a transaction is all or nothing). The next child
carries on in the same file from the highest batch found, like a restarted server; every
``per_file`` cycles a fresh file starts, so that the full check of every batch ever reported
(not only the last cycle's) stays cheap.

Children come from a ``forkserver`` that has already imported SQLAlchemy and our modules, so
a cycle costs a fork, not an interpreter start. Used by ``test_sqlite_kill.py`` and
``bench/kill_cycles.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

BATCH_SIZE = 20  # events per batch (and as many interaction rows): a busy 50 ms batch
TAG = "kill-"  # interaction ids are f"{TAG}{batch:08d}-{k:02d}"
PRELOAD = ["sqlalchemy", "aiosqlite", "contactcenter.routing.interaction_log",
           "contactcenter.routing.tables", "contactcenter.storage.database"]


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _create(path: Path) -> None:
    from contactcenter.storage.database import Database

    db = Database(_url(path))
    await db.create_all()
    await db.close()


def create_database(path: Path) -> None:
    """A new database with every table (the tests' fast path, equal to the migrations)."""
    asyncio.run(_create(path))


def _batch(n: int, now: float) -> tuple[list, list]:
    from contactcenter.domain.routing_events import Entered
    from contactcenter.domain.routing_records import InteractionRecord

    events, records = [], []
    for k in range(BATCH_SIZE):
        iid = f"{TAG}{n:08d}-{k:02d}"
        events.append(Entered(now, iid, "sales", "voice", 5, {"english": 1}, k + 1))
        records.append(InteractionRecord(
            id=iid, channel="voice", queue="sales", priority=5, skills={"english": 1},
            data={"batch": n, "caller": "+3312345678" * 3}, callback=None, state="waiting",
            arrived_at=now, queue_entered_at=now, seq=n * BATCH_SIZE + k, updated_at=now))
    return events, records


async def _write_forever(path: Path, first: int, report: Connection, early: bool) -> None:
    from contactcenter.routing.interaction_log import InteractionLog
    from contactcenter.storage.database import Database

    db = Database(_url(path))  # the server's engine and its connect-time PRAGMAs
    writer = InteractionLog(db).writer()
    n = first
    while True:
        events, records = _batch(n, time.time())
        if early:  # the harness's own check: reported before the commit, so losses show
            report.send_bytes(n.to_bytes(8, "big"))
        await writer.append(events, records)  # one transaction: committed when it returns
        if not early:
            report.send_bytes(n.to_bytes(8, "big"))  # reported only after the commit
        n += 1


def writer_child(path: str, first: int, report: Connection, early: bool = False) -> None:
    """The child's body: append batches ``first``, ``first + 1``, ... until killed (``early``:
    report each batch before its commit instead, which must show up as lost batches)."""
    asyncio.run(_write_forever(Path(path), first, report, early))


@dataclass
class Check:
    """What the parent found after one kill."""

    reported: int  # batches reported committed (this file, all cycles so far)
    found: int  # batches in the file
    lost: list[int]  # reported but missing: must stay empty
    partial: list[int]  # present with fewer or more rows than a batch has: must stay empty
    integrity: str
    journal_mode: str
    highest: int


def check_database(path: Path, reported: set[int]) -> Check:
    """Open the file as a restarted server would and compare it with what was reported."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        events = dict(conn.execute(
            "SELECT substr(interaction_id, ?, 8), count(*) FROM routing_events "
            "WHERE interaction_id LIKE ? GROUP BY 1", (len(TAG) + 1, TAG + "%")).fetchall())
        rows = dict(conn.execute(
            "SELECT substr(id, ?, 8), count(*) FROM routing_interactions "
            "WHERE id LIKE ? GROUP BY 1", (len(TAG) + 1, TAG + "%")).fetchall())
    finally:
        conn.close()
    batches = {int(b) for b in events} | {int(b) for b in rows}
    partial = sorted(b for b in batches if events.get(f"{b:08d}") != BATCH_SIZE
                     or rows.get(f"{b:08d}") != BATCH_SIZE)
    return Check(len(reported), len(batches), sorted(reported - batches), partial, integrity,
                 journal_mode, max(batches, default=-1))


@dataclass
class Run:
    """The figures of a run of kill cycles."""

    cycles: int = 0
    reported: int = 0  # committed batches reported to the parent, over all cycles
    lost: set[str] = field(default_factory=set)  # "file:batch" reported but missing
    partial: set[str] = field(default_factory=set)  # "file:batch" not whole
    bad_opens: list[str] = field(default_factory=list)  # integrity or journal mode not right
    killed_before_first_commit: int = 0
    unreported_commits: int = 0  # committed, killed before the report: found, never lost
    batches_checked: int = 0  # batches in the files at their last check, all files
    seconds: float = 0.0
    delays_ms: list[float] = field(default_factory=list)


def run_cycles(folder: Path, cycles: int, seed: int, max_delay_s: float = 0.5,
               from_start: float = 0.25, per_file: int = 50, early: bool = False,
               on_cycle: Callable[[int, Check], None] | None = None) -> Run:
    """``cycles`` times: start a writer child, SIGKILL it at a random moment, check the file.

    The moment is, in a ``from_start`` share of the cycles, a delay from the child's start
    (uniform in 0..``max_delay_s``; its first commit comes ~0.15 s after it starts, so some
    land in the open and the WAL recovery); otherwise after a random number (1..199) of reported
    commits plus 0..4 ms, i.e. anywhere in a batch, a commit or an automatic checkpoint (one
    every ~1,000 WAL pages). Database files go in ``folder``."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    rng = random.Random(seed)
    run = Run()
    started = time.monotonic()
    first, all_reported = 0, set()
    path = folder / "log-0.sqlite3"
    for cycle in range(cycles):
        if cycle % per_file == 0:
            path = folder / f"log-{cycle // per_file}.sqlite3"
            create_database(path)
            first, all_reported = 0, set()
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=writer_child, args=(str(path), first, send, early),
                            daemon=True)
        child.start()
        send.close()  # the parent keeps only the reading end: EOF once the child is gone
        reported: set[int] = set()
        if rng.random() < from_start:  # a moment from the start: the open, the first batches
            delay = rng.uniform(0.0, max_delay_s)
            time.sleep(delay)
        else:  # a moment in the stream of commits, whatever the machine's load
            wait_for = rng.randrange(1, 200)
            with contextlib.suppress(EOFError):  # (a child that died early: seen below)
                while len(reported) < wait_for and receive.poll(30):
                    reported.add(int.from_bytes(receive.recv_bytes(), "big"))
            delay = rng.uniform(0.0, 0.004)  # a batch commits every few ms: land anywhere
            time.sleep(delay)
        run.delays_ms.append(delay * 1000)
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        while True:  # what the child sent before it died is still in the pipe
            try:
                reported.add(int.from_bytes(receive.recv_bytes(), "big"))
            except EOFError:
                break
        receive.close()
        if child.exitcode != -signal.SIGKILL:  # it died of something else: a harness fault
            raise RuntimeError(f"writer child exited with {child.exitcode}")
        all_reported |= reported
        check = check_database(path, all_reported)
        run.cycles += 1
        run.reported += len(reported)
        run.lost |= {f"{path.name}:{b}" for b in check.lost}
        run.partial |= {f"{path.name}:{b}" for b in check.partial}
        if check.integrity != "ok" or check.journal_mode != "wal":
            run.bad_opens.append(f"cycle {cycle}: {check.integrity} / {check.journal_mode}")
        if not reported:
            run.killed_before_first_commit += 1
        run.unreported_commits += max(0, check.highest - max(reported, default=first - 1))
        if cycle % per_file == per_file - 1 or cycle == cycles - 1:
            run.batches_checked += check.found
        first = max(check.highest + 1, first)
        if on_cycle is not None:
            on_cycle(cycle, check)
    run.seconds = time.monotonic() - started
    return run
