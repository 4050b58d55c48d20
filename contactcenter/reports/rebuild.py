"""``contactcenter reports rebuild``: recompute the interval rows of a date range from the log.

Design note: the range is rebuilt one local day at a time, each day in its own transaction, so
a long range never holds the database (SQLite has one writer: the routing log waits for a
rebuild's commit, a day at a time). A day's rows are computed from the log rows the live
aggregation has folded in (ids up to its position), then, holding the position row, the few
rows it folded in meanwhile are added and the day's rows are replaced: the running server's
later batches add to the rebuilt rows as they would have to the old ones. The same
``Aggregator`` as the live path does the counting, fed the same rows in the same order, from
the agents' states and the calls in progress at the range's first midnight.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.reports.aggregate import Aggregator, Deltas, QueueRules
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.store import ReportStore
from contactcenter.storage.database import Database

BATCH = 5000


@dataclass(frozen=True, slots=True)
class DayRebuilt:
    """One local day rebuilt: how many log rows it read, how long it took (real seconds)."""

    day: dt.date
    rows: int
    seconds: float


async def rebuild(db: Database, calendar: Calendar, rules: Callable[[str], QueueRules],
                  first: dt.date, last: dt.date,
                  progress: Callable[[DayRebuilt], None] = lambda _d: None,
                  batch: int = BATCH) -> list[DayRebuilt]:
    """Recompute every interval of the local days ``first`` to ``last`` (inclusive)."""
    if last < first:
        raise ValueError("the range ends before it starts")
    store = ReportStore(db)
    await store.ensure_cursor()
    agg = Aggregator(calendar, rules)
    start = calendar.midnight(first)
    agg.opens = await store.states_at(start)
    agg.credited_to = float(start)
    after = await store.last_id_before(start)
    done: list[DayRebuilt] = []
    day = first
    while day <= last:
        began = time.monotonic()
        d0, d1 = calendar.day_range(day, day)
        out = Deltas()
        cursor = await store.read_cursor()
        after, rows = await _feed(store, agg, out, after, cursor.last_event_id, d1, batch)
        async with store.locked() as (conn, cursor):
            after, more = await _feed(store, agg, out, after, cursor.last_event_id, d1, batch,
                                      conn)
            agg.credit_open(min(float(d1), cursor.credited_to), out)
            await store.replace(conn, d0, d1, day.isoformat(), out)
        item = DayRebuilt(day, rows + more, time.monotonic() - began)
        done.append(item)
        progress(item)
        day += dt.timedelta(days=1)
    return done


async def _feed(store: ReportStore, agg: Aggregator, out: Deltas, after: int, upto: int,
                before_at: int, batch: int,
                conn: AsyncConnection | None = None) -> tuple[int, int]:
    """Fold the log rows after ``after`` (up to id ``upto``, stamped before ``before_at``)."""
    total = 0
    while True:
        rows = await store.fetch(after, batch, upto_id=upto, before_at=before_at, conn=conn)
        if not rows:
            return after, total
        need = agg.needs_history(rows)
        if need:
            agg.learn(await store.history(need, rows[0].id, conn), need)
        agg.feed(rows, out)
        after = rows[-1].id
        total += len(rows)
        if len(rows) < batch:
            return after, total
