"""Stopping the live aggregation: a stop right after start lets the batch in progress commit
(its task ends by itself, it is not cancelled mid-transaction), and the next start carries on
from the committed position to the same figures as a fold in one go."""

from __future__ import annotations

import asyncio

from report_helpers import report_parts
from scenario import SETTINGS, T, day_floor, play_day, snapshot

from contactcenter.reports import tables as t
from contactcenter.reports.store import ReportStore


async def test_stop_right_after_start_finishes_the_batch_then_the_next_start_carries_on(database):
    f = day_floor(database)
    await play_day(f)
    service, _reader, _now = report_parts(database, f, "UTC", SETTINGS, now=T + 500)
    service.batch = 2  # the whole log is many batches: the loop is mid-catch-up at the stop
    service.refresh_s = 0.05
    await service.start()
    task = service._task
    assert task is not None
    while service.folded == 0:  # the loop has committed a batch and is working on the next
        await asyncio.sleep(0)
    await service.stop()
    assert task.done() and not task.cancelled()  # it returned by itself between batches
    stored = await ReportStore(database).read_cursor()
    assert stored == service.cursor  # what it committed is what it stands on
    total = (await ReportStore(database).fetch(0, 10**6))[-1].id
    assert stored.last_event_id < total  # it stopped early: the rest is left for the next start

    again, _r, _n = report_parts(database, f, "UTC", SETTINGS, now=T + 500)
    await again.start()
    try:
        await again.catch_up()
    finally:
        await again.stop()
    assert again.cursor.last_event_id == total
    live = await snapshot(database)

    # The same log folded in one go, in a fresh database's worth of tables: same rows.
    async with database.engine.begin() as c:
        for table in (*t.FIGURE_TABLES, t.queue_days, t.cursor, t.agent_open):
            await c.execute(table.delete())
    once, _r2, _n2 = report_parts(database, f, "UTC", SETTINGS, now=T + 500)
    await once.load()
    await once.catch_up()
    assert await snapshot(database) == live


async def test_stop_before_the_first_refresh_ends_the_idle_loop(database):
    f = day_floor(database)
    service, _reader, _now = report_parts(database, f, "UTC", SETTINGS, now=T)
    service.refresh_s = 3600.0  # asleep: only the stop's wake-up can end it in time
    await service.start()
    task = service._task
    assert task is not None
    await asyncio.sleep(0)
    await service.stop()
    assert task.done() and not task.cancelled()
