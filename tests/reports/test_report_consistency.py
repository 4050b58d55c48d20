"""The aggregation's position keeps every log row counted once: a rebuild while the server is
folding rows in, and two processes folding the same log, end with the rows a rebuild from
scratch gives. SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import datetime as dt

from report_helpers import one_day, report_parts
from scenario import DAY, SETTINGS, T, day_floor, play_day, snapshot

from contactcenter.reports.intervals import Calendar
from contactcenter.reports.rebuild import rebuild
from contactcenter.reports.rules import queue_rules
from contactcenter.reports.store import ReportStore

D = dt.date.fromisoformat(DAY)


async def _last_id(database) -> int:  # type: ignore[no-untyped-def]
    return await ReportStore(database).last_id_before(1e12)


async def _rebuild(database, f) -> None:  # type: ignore[no-untyped-def]
    await rebuild(database, Calendar("UTC"), queue_rules(lambda: f.config.queues, SETTINGS), D, D)


async def test_a_rebuild_between_two_batches_counts_each_row_once(database):
    f = day_floor(database)
    live, reader, now = report_parts(database, f, "UTC", SETTINGS, now=T + 200)
    await live.load()
    await play_day(f, between=(0, 200))
    await live.catch_up()
    await play_day(f, between=(200, 10**6))  # logged, not folded in yet
    await _rebuild(database, f)  # rebuilds what was folded in: the first 200 s
    answered = sum(r["answered"] for r in (await reader.queues(one_day(DAY))).rows)
    assert answered == 1  # c1 only: c2 and c5 are after the live position
    now.value = T + 500
    await live.catch_up()
    folded = await snapshot(database)
    await _rebuild(database, f)
    assert await snapshot(database) == folded
    assert sum(r["answered"] for r in (await reader.queues(one_day(DAY))).rows) == 4


async def test_two_processes_folding_the_same_log_count_each_row_once(database):
    f = day_floor(database)
    one, reader, now = report_parts(database, f, "UTC", SETTINGS, now=T + 100)
    other, _r, _n = report_parts(database, f, "UTC", SETTINGS, now=T + 100)
    other.now = now
    await one.load()
    await other.load()
    await play_day(f, between=(0, 100))
    assert await one.catch_up() == await _last_id(database) > 0
    first = one.cursor.last_event_id
    await play_day(f, between=(100, 300))
    now.value = T + 300
    # ``other`` still stands at position 0: its commit is refused, it takes the stored
    # position and folds in only what ``one`` has not.
    second = await _last_id(database)
    assert await other.catch_up() == second - first
    await play_day(f, between=(300, 10**6))
    now.value = T + 500
    assert await one.catch_up() == await _last_id(database) - second  # refused once, too
    folded = await snapshot(database)
    await _rebuild(database, f)
    assert await snapshot(database) == folded
    agents = {r["agent_id"]: r["logged_in_s"] for r in (await reader.agents(one_day(DAY))).rows}
    assert agents == {"A": 410.0, "B": 420.0}


async def test_a_restarted_aggregation_carries_on_where_it_stopped(database):
    # The first process folds in the day up to 235 s: c2 is talking to Alice (transferred to
    # support at 230, waiting for her), Alice and B logged in. A new process, knowing nothing
    # but what was stored, folds in the rest: c2's talk and hold are found in the log.
    f = day_floor(database)
    first, reader, _now = report_parts(database, f, "UTC", SETTINGS, now=T + 235)
    await first.start()
    await play_day(f, between=(0, 235))
    await first.catch_up()
    await first.stop()
    await play_day(f, between=(235, 10**6))
    second, _r, _n = report_parts(database, f, "UTC", SETTINGS, now=T + 500)
    await second.load()
    assert second.cursor == first.cursor
    await second.catch_up()
    folded = await snapshot(database)
    await _rebuild(database, f)
    assert await snapshot(database) == folded
    agents = {r["agent_id"]: (r["logged_in_s"], r["aht_s"])
              for r in (await reader.agents(one_day(DAY))).rows}
    assert agents == {"A": (410.0, 65.0), "B": (420.0, 13.0)}
