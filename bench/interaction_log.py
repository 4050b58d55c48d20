"""Interaction log writer: CPU per call of ``InteractionLog.append``, against the previous writer.

    python bench/interaction_log.py              # ~1 min; SQLite, plus PostgreSQL when
                                                 # CC_TEST_POSTGRES_URL is set
    python bench/interaction_log.py --quick      # shorter, for a smoke run

The batches are what ``RoutingService`` hands the log at 200 calls/s: a queue engine (600
agents, one queue, wrap-up 1 s) in virtual time takes Poisson arrivals; phones answer after
0.2 s and talk for 1 s, as in ``bench/entry_to_dial.py``; every 50 ms of events and changed
rows is one ``append`` (the writer's gather window). The same batches are written by the
current ``InteractionLog`` and by the previous writer kept below (``BaselineLog``: SQLAlchemy
connection, one ``exec_driver_sql`` executemany per table, ``json.dumps`` per value), each to
a fresh database, alternately, several rounds. Reported: CPU (``time.process_time``: every
thread, aiosqlite's included; and the event loop's thread alone) per call, as medians, and the
ratio baseline / current. "append" is ``InteractionLog.append`` (a pooled connection per
batch), "writer" is ``InteractionLog.writer()``, which the routing writer task uses (one
connection kept while busy). All databases must end with the same rows (checked).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import operator
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import Offered, RoutingEvent
from contactcenter.domain.routing_records import AgentRecord, InteractionRecord
from contactcenter.routing import interaction_log as il
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.engine import Engine
from contactcenter.storage.database import Database

Batch = tuple[list[RoutingEvent], list[InteractionRecord], list[AgentRecord]]
GATHER_S = 0.05
_GET_EVENT = operator.itemgetter(*il._EVENT_FIELDS)


# --- workload -----------------------------------------------------------------------------

def make_batches(rate: float, seconds: float, agents: int = 600, seed: int = 4) -> tuple[
        list[Batch], int]:
    """(batches, calls): the login batch first, then one batch per 50 ms of engine time."""
    queue = QueueConfig("bench", wrapup_s=1.0, ring_timeout_s=20, max_wait_s=600)
    ags = {str(3000 + i): AgentConfig(str(3000 + i), name=f"Agent{i}",
                                      dial_string=f"PJSIP/{3000 + i}", capacity={"voice": 1},
                                      queues=("bench",)) for i in range(agents)}
    engine = Engine(RoutingConfig({"bench": queue}, ags), rng_seed=seed)
    rng = random.Random(seed)
    order = itertools.count()
    actions: list[tuple[float, int, str, str]] = []
    batches: list[Batch] = []
    current: Batch = ([], [], [])

    def take(events: list[RoutingEvent]) -> None:
        current[0].extend(events)
        for ev in events:
            if isinstance(ev, Offered):
                heapq.heappush(actions, (ev.at + 0.2, next(order), "answer", ev.offer_id))
                heapq.heappush(actions, (ev.at + 1.2, next(order), "end", ev.interaction_id))

    def close(batch: Batch) -> Batch:
        # As RoutingService's writer: each batch carries the latest rows of what changed.
        rows, changed = engine.take_changes()
        batch[1].extend(rows)
        batch[2].extend(changed)
        return batch

    for agent_id in ags:
        take(engine.agent_login(agent_id, None, 0.0))
    batches.append(close(current))
    current = ([], [], [])
    t, calls = 0.0, 0
    while True:
        t += rng.expovariate(rate)
        if t >= seconds:
            break
        calls += 1
        heapq.heappush(actions, (t, next(order), "arrive", f"call-{calls}"))
    window_end = GATHER_S
    while actions:
        at, _, what, key = heapq.heappop(actions)
        while (deadline := engine.next_deadline()) is not None and deadline <= at:
            take(engine.tick(deadline))
        while at >= window_end:
            batches.append(close(current))
            current = ([], [], [])
            window_end += GATHER_S
        if what == "arrive":
            take(engine.enqueue(Interaction("voice", "bench", 1, id=key), at))
        elif what == "answer":
            take(engine.offer_answered(key, at))
        else:
            take(engine.complete(key, at))
    while (deadline := engine.next_deadline()) is not None and deadline < window_end + 5:
        take(engine.tick(deadline))
    batches.append(close(current))
    return [b for b in batches if any(b)], calls


# --- the previous writer (baseline) ---------------------------------------------------------

def _old_event_row(ev: RoutingEvent) -> dict[str, Any]:
    return {
        "at": ev.at, "kind": ev.kind,
        "interaction_id": getattr(ev, "interaction_id", None),
        "agent_id": getattr(ev, "agent_id", None),
        "queue": getattr(ev, "queue", None),
        "payload": ev.payload(),
    }


class _OldWrite:
    def __init__(self, table: Any, names: tuple[str, ...], key: str | None, style: str) -> None:
        self.sql = il._insert_sql(table, names, key, style)
        self.json_at = [i for i, n in enumerate(names) if isinstance(table.c[n].type, sa.JSON)]

    async def run(self, conn: Any, rows: list[Any], get: Callable[[Any], tuple]) -> None:
        dumps, params = json.dumps, []
        for row in rows:
            values = list(get(row))
            for i in self.json_at:
                values[i] = dumps(values[i])
            params.append(tuple(values))
        await conn.exec_driver_sql(self.sql, params)


class BaselineLog(il.InteractionLog):
    """The writer before this change (commit d029d9e), for the ratio."""

    async def append(self, events: Sequence[RoutingEvent],
                     interactions: Iterable[InteractionRecord] = (),
                     agents: Iterable[AgentRecord] = ()) -> None:
        if not hasattr(self, "_old"):
            style = self.db.engine.dialect.paramstyle
            self._old = (
                _OldWrite(il.RoutingEventRow.__table__, il._EVENT_FIELDS, None, style),
                _OldWrite(il.RoutingInteractionRow.__table__, il._INTERACTION_FIELDS, "id",
                          style),
                _OldWrite(il.RoutingAgentRow.__table__, il._AGENT_FIELDS, "agent_id", style))
        rows = [_old_event_row(e) for e in events if e.persist]
        irows = {r.id: r for r in interactions}
        arows = {r.agent_id: r for r in agents}
        if not (rows or irows or arows):
            return
        ins, upi, upa = self._old
        async with self.db.engine.begin() as conn:
            if rows:
                await ins.run(conn, rows, _GET_EVENT)
            if irows:
                await upi.run(conn, list(irows.values()), il._GET_INTERACTION)
            if arows:
                await upa.run(conn, list(arows.values()), il._GET_AGENT)


# --- measurement ----------------------------------------------------------------------------

async def fresh_db(url: str | None, tmp: str) -> tuple[Database, Callable[[], Any]]:
    if url is None:
        db = Database(f"sqlite+aiosqlite:///{tmp}/{uuid.uuid4().hex}.sqlite3")
        await db.create_all()
        return db, db.close
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = Database(url)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await admin.close()
    db = Database(url, search_path=schema)
    await db.create_all()

    async def drop() -> None:
        async with db.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await db.close()
    return db, drop


async def dump(db: Database) -> list[list[tuple]]:
    """Every row of the three tables, JSON columns as the text stored."""
    out = []
    async with db.engine.connect() as conn:
        for table, key in (("routing_events", "id"), ("routing_interactions", "id"),
                           ("routing_agents", "agent_id")):
            columns = il.Base.metadata.tables[table].columns
            text = "::text" if db.dialect == "postgresql" else ""  # the stored JSON text
            sel = ", ".join(c.name + (text if isinstance(c.type, sa.JSON) else "")
                            for c in columns)
            rows = await conn.exec_driver_sql(f"SELECT {sel} FROM {table} ORDER BY {key}")
            out.append([tuple(r) for r in rows])
    return out


WRITERS: dict[str, Callable[[Database], Any]] = {
    "baseline": BaselineLog,  # the previous InteractionLog.append
    "append": il.InteractionLog,  # InteractionLog.append: a pooled connection per batch
    "writer": lambda db: il.InteractionLog(db).writer(),  # as RoutingService's writer task
}


async def run_once(name: str, url: str | None, tmp: str, batches: list[Batch],
                   keep: bool) -> tuple[float, float, Any]:
    db, close = await fresh_db(url, tmp)
    log = WRITERS[name](db)
    await log.append(*batches[0])  # logins, and warm the connection pool
    await asyncio.sleep(0)
    cpu, main = time.process_time(), time.thread_time()
    for batch in batches[1:]:
        await log.append(*batch)
    cpu, main = time.process_time() - cpu, time.thread_time() - main
    if isinstance(log, il.LogWriter):
        await log.release()
    rows = await dump(db) if keep else None
    await close()
    return cpu, main, rows


async def measure(url: str | None, batches: list[Batch], calls: int, rounds: int) -> dict:
    tmp = tempfile.mkdtemp()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in WRITERS}
    kept: dict[str, Any] = {}
    for r in range(rounds):
        names = list(WRITERS)
        for name in (names if r % 2 == 0 else names[::-1]):
            cpu, main, rows = await run_once(name, url, tmp, batches, keep=r == 0)
            results[name].append((cpu, main))
            if rows is not None:
                kept[name] = rows
    same = all(rows == kept["baseline"] for rows in kept.values())
    med = {name: (statistics.median(c for c, _ in v) / calls * 1e6,
                  statistics.median(m for _, m in v) / calls * 1e6)
           for name, v in results.items()}
    return {"med": med, "same": same, "rows": [len(t) for t in kept["baseline"]]}


def report(label: str, res: dict) -> None:
    print(f"{label}: rows events/interactions/agents = {res['rows']}, "
          f"identical to baseline: {'yes' if res['same'] else 'NO'}")
    base_cpu, base_main = res["med"]["baseline"]
    print(f"  {'us CPU per call':28s} {'process':>8s} {'ratio':>6s} {'loop thread':>12s} {'ratio':>6s}")
    for name, (cpu, main) in res["med"].items():
        print(f"  {name + ':':28s} {cpu:8.1f} {base_cpu / cpu:5.2f}x {main:12.1f} "
              f"{base_main / main:5.2f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0, help="call arrivals per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="engine time simulated")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each writer (alternated)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds = 3.0, 2
    batches, calls = make_batches(args.rate, args.seconds)
    events = sum(len(b[0]) for b in batches[1:])
    print(f"{calls} calls at {args.rate:g}/s, {len(batches) - 1} batches of 50 ms, "
          f"{events / calls:.1f} events per call; median of {args.rounds} rounds")
    ok = True
    targets = [("SQLite", None)]
    if os.environ.get("CC_TEST_POSTGRES_URL"):
        targets.append(("PostgreSQL", os.environ["CC_TEST_POSTGRES_URL"]))
    for label, url in targets:
        res = asyncio.run(measure(url, batches, calls, args.rounds))
        report(label, res)
        ok &= res["same"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
