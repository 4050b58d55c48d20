"""Reports: the live aggregation's CPU per call, and how long a 90-day report takes.

    python bench/reports.py                  # SQLite; PostgreSQL too when CC_TEST_POSTGRES_URL
    python bench/reports.py --quick          # shorter, for a smoke run
    python bench/reports.py --only fold      # or: --only query

fold: the interaction-log rows of 200 calls/s (``bench/interaction_log.py``'s batches: 600
    agents, one queue, Poisson arrivals, answered after 0.2 s, 1 s of talk, 1 s of wrap-up) are
    written to a fresh database, then folded into the interval tables the way the running server
    does it: ``ReportService.catch_up`` every ``reports.refresh_s`` of calls (2 s: 400 calls,
    about 3,700 rows per fold; and 5 s), open agent states counted once a minute. Reported: CPU (``time.process_time``, every thread) per call of the folding, and in
    the same run the CPU per call of writing those rows (``InteractionLog.writer``, what the
    routing writer task does), as medians of several rounds.
query: interval rows as 90 days of a 50-queue center make them (every interval of every queue
    busy, 20 to 40 calls each: 432,000 queue rows, what about 10 million log rows fold into;
    50 agents' rows beside them), then the queues report by day, in total and all queues
    together by day, and the agents report in total over the 90 days, timed (wall clock,
    p50/p95 of 20 runs).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from interaction_log import make_batches

from contactcenter.reports import tables as t
from contactcenter.reports.aggregate import QueueRules
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery, ReportReader
from contactcenter.reports.service import CREDIT_EVERY_S, ReportService
from contactcenter.reports.settings import ReportSettings
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.storage.database import Database

RATE = 200.0
POSTGRES = os.environ.get("CC_TEST_POSTGRES_URL")


async def _drop(url: str | None, name: str) -> None:
    """Leave nothing behind in a shared PostgreSQL database."""
    if url is not None:
        import sqlalchemy as sa

        admin = Database(url)
        async with admin.engine.begin() as c:
            await c.execute(sa.text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        await admin.close()


async def _fresh(url: str | None, tmp: str, name: str) -> Database:
    if url is None:
        db = Database(f"sqlite+aiosqlite:///{tmp}/{name}.sqlite3")
    else:
        import sqlalchemy as sa

        admin = Database(url)
        async with admin.engine.begin() as c:
            await c.execute(sa.text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
            await c.execute(sa.text(f"CREATE SCHEMA {name}"))
        await admin.close()
        db = Database(url, search_path=name)
    await db.create_all()
    return db


def _rules(_queue: str) -> QueueRules:
    return QueueRules(20.0, 5.0)


async def fold_round(url: str | None, tmp: str, seconds: float, n: int,
                     every: float) -> tuple[float, float, int]:
    """(fold CPU per call, log write CPU per call, calls) of one round, in microseconds."""
    batches, calls = make_batches(RATE, seconds)
    db = await _fresh(url, tmp, f"bench_fold_{n}")
    try:
        writer = InteractionLog(db).writer()
        # Writing the log is timed too: the routing writer's cost per call, in the same run.
        stamps: list[float] = []
        cpu0 = time.process_time()
        for events, rows, agents in batches:
            await writer.append(events, rows, agents)
            if events:
                stamps.append(events[-1].at)
        write_cpu = time.process_time() - cpu0
        await writer.release()
        now = [0.0]
        service = ReportService(db, lambda: now[0], Calendar("UTC"), _rules, batch=5000)
        await service.load()
        cpu0 = time.process_time()
        # As the running server: a fold every ``every`` s of calls, agents' open states counted
        # once a minute (CREDIT_EVERY_S).
        credited = 0.0
        while now[0] < seconds + 10:
            now[0] += every
            due = now[0] - credited >= CREDIT_EVERY_S
            await service.catch_up(credit=due)
            credited = now[0] if due else credited
        fold_cpu = time.process_time() - cpu0
        return fold_cpu / calls * 1e6, write_cpu / calls * 1e6, calls
    finally:
        await db.close()
        await _drop(url, f"bench_fold_{n}")


async def bench_fold(url: str | None, tmp: str, quick: bool,
                     every: float) -> dict[str, float]:
    seconds, rounds = (10.0, 2) if quick else (30.0, 5)
    folds, writes, calls = [], [], 0
    for n in range(rounds):
        fold, write, calls = await fold_round(url, tmp, seconds, n, every)
        folds.append(fold)
        writes.append(write)
    return {"calls": calls, "fold_us": statistics.median(folds),
            "write_us": statistics.median(writes), "rounds": rounds}


async def _fill_intervals(db: Database, days: int, queues: int, agents: int) -> int:
    """Interval rows of a busy center: every interval, every queue; agents spread over queues."""
    rng = random.Random(7)
    cal = Calendar("UTC")
    first = dt.date(2026, 1, 1)
    start, _end = cal.day_range(first, first + dt.timedelta(days=days - 1))
    qrows, arows, srows = [], [], []
    day_sums: dict[tuple[str, str], dict[str, float]] = {}
    for i in range(days * 96):
        s = start + i * 900
        b = cal.bucket(s)
        for q in range(queues):
            answered = rng.randint(5, 40)
            qrows.append({"start": s, "hour": b.hour, "day": b.day, "queue": f"q{q:02d}",
                          "channel": "voice", "arrived": answered + 3, "answered": answered,
                          "answered_in_sl": answered - 2, "abandoned": 3, "abandoned_short": 1,
                          "abandoned_in_sl": 1, "handled": answered, "offers": answered + 1,
                          "wait_answered_s": answered * 12.0, "wait_abandoned_s": 90.0,
                          "talk_s": answered * 180.0, "hold_s": answered * 10.0,
                          "wrapup_s": answered * 20.0, "handle_s": answered * 210.0,
                          "max_wait_s": 60.0})
            # The day rows the aggregation keeps beside the intervals.
            sums = day_sums.setdefault((b.day, f"q{q:02d}"), {})
            for k, v in qrows[-1].items():
                if k not in ("start", "hour", "day", "queue", "channel"):
                    sums[k] = max(sums.get(k, 0), v) if k == "max_wait_s" else sums.get(k, 0) + v
        for a in range(agents):
            handled = rng.randint(0, 4)
            q = a % queues
            arows.append({"start": s, "hour": b.hour, "day": b.day, "agent_id": f"a{a:03d}",
                          "queue": f"q{q:02d}", "channel": "voice", "answered": handled,
                          "handled": handled, "offers": handled, "talk_s": handled * 180.0,
                          "handle_s": handled * 210.0, "wrapup_s": handled * 20.0})
            for state, secs in (("available", 200.0), ("busy", 600.0), ("wrapup", 100.0)):
                srows.append({"start": s, "hour": b.hour, "day": b.day, "agent_id": f"a{a:03d}",
                              "state": state, "reason": "", "seconds": secs})
        if len(srows) > 50_000 or i == days * 96 - 1:
            async with db.engine.begin() as c:
                for table, rows in ((t.queue_intervals, qrows), (t.agent_intervals, arows),
                                    (t.agent_states, srows)):
                    if rows:
                        await c.execute(table.insert(), rows)
            qrows, arows, srows = [], [], []
    async with db.engine.begin() as c:
        await c.execute(t.queue_days.insert(), [
            {"day": day, "queue": queue, "channel": "voice", **sums}
            for (day, queue), sums in day_sums.items()])
    if db.dialect == "postgresql":
        async with db.engine.begin() as c:
            import sqlalchemy as sa

            for table in (t.queue_intervals, t.queue_days, t.agent_intervals, t.agent_states):
                await c.execute(sa.text(f"ANALYZE {table.name}"))
    return days * 96 * queues


async def bench_query(url: str | None, tmp: str, quick: bool) -> dict[str, object]:
    days, queues, agents, repeats = (14, 10, 20, 5) if quick else (90, 50, 50, 20)
    db = await _fresh(url, tmp, "bench_query")
    try:
        t0 = time.perf_counter()
        rows = await _fill_intervals(db, days, queues, agents)
        fill_s = time.perf_counter() - t0
        reader = ReportReader(db, Calendar("UTC"), ReportSettings(timezone="UTC"))
        first = dt.date(2026, 1, 1)
        last = first + dt.timedelta(days=days - 1)
        out: dict[str, object] = {"days": days, "queues": queues, "agents": agents,
                                  "queue_rows": rows, "fill_s": fill_s}
        for label, run in (
            ("queues by hour", lambda: reader.queues(ReportQuery(first, last, "hour"))),
            ("queues by day", lambda: reader.queues(ReportQuery(first, last, "day"))),
            ("queues, total", lambda: reader.queues(ReportQuery(first, last, "total"))),
            ("all queues by day", lambda: reader.queues(ReportQuery(first, last, "day",
                                                                    group="none"))),
            ("agents, total", lambda: reader.agents(ReportQuery(first, last, "total"))),
        ):
            times = []
            for _ in range(repeats):
                t1 = time.perf_counter()
                await run()
                times.append(time.perf_counter() - t1)
            times.sort()
            out[label] = (statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)])
        return out
    finally:
        await db.close()
        await _drop(url, "bench_query")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=("fold", "query"))
    args = ap.parse_args(argv)
    backends: list[tuple[str, str | None]] = [("SQLite", None)]
    if POSTGRES:
        backends.append(("PostgreSQL", POSTGRES))
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in backends:
            for every in ((2.0, 5.0) if args.only in (None, "fold") else ()):
                r = asyncio.run(bench_fold(url, tmp, args.quick, every))
                print(f"{name} fold every {every:g} s: {r['calls']} calls at {RATE:g}/s, median "
                      f"of {r['rounds']}: folding {r['fold_us']:.0f} us CPU per call, writing "
                      f"the log {r['write_us']:.0f} us per call "
                      f"(fold/write x{r['fold_us'] / r['write_us']:.2f})")
            if args.only in (None, "query"):
                q = asyncio.run(bench_query(url, tmp, args.quick))
                print(f"{name} query: {q['days']} days x {q['queues']} queues x {q['agents']} "
                      f"agents, {q['queue_rows']} queue interval rows (filled in {q['fill_s']:.0f} s)")
                for label in ("queues by hour", "queues by day", "queues, total",
                              "all queues by day", "agents, total"):
                    p50, p95 = q[label]  # type: ignore[misc]
                    print(f"  {label:18} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
