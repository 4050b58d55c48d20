"""Every figure of docs/reports.md on a scenario played at exact times, against values worked
out by hand; the live aggregation (folding as the day goes, in tiny batches) and the rebuild
command give the same rows. SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import datetime as dt

from report_helpers import one_day, report_parts
from scenario import DAY, SETTINGS, T, by_key, day_floor, play_day, snapshot

from contactcenter.reports.intervals import Calendar
from contactcenter.reports.rebuild import rebuild
from contactcenter.reports.rules import queue_rules


async def test_every_figure_equals_the_hand_computed_table(database):
    f = day_floor(database)
    service, reader, now = report_parts(database, f, "UTC", SETTINGS, now=T)
    await service.start()
    try:
        async def fold(at: float) -> None:
            now.value = at
            await service.catch_up()

        service.batch = 3  # tiny batches: conversations span batches and need their history
        await play_day(f, fold)
        now.value = T + 500
        await service.catch_up()
    finally:
        await service.stop()

    queues = by_key((await reader.queues(one_day(DAY))).rows, "queue")
    sales, support = queues["sales"], queues["support"]
    assert sales | {"period": DAY} == sales and sales["period"] == DAY
    expected_sales = {
        "offered": 3, "arrived": 3, "overflowed_in": 0, "transferred_in": 0, "answered": 3,
        "abandoned": 0, "short_abandoned": 0, "exited": 1, "overflowed_out": 0,
        "transferred_out": 1, "transferred_external": 0, "callbacks_requested": 1,
        "callbacks_answered": 1,
        "service_level_pct": 50.0,  # c1 in 15 s of 20; c2 in 90 s; c5 is a callback
        "asa_s": 52.5, "abandon_rate_pct": 0.0, "longest_wait_s": 90.0,
        "handled": 3, "aht_s": 42.7,  # (85 + 30 + 13) / 3
        "avg_talk_s": 25.0, "avg_hold_s": 10.0, "avg_wrapup_s": 7.7,  # 75, 30, 23 over 3
        "holds": 1, "offers": 4, "rona": 1,
    }
    expected_support = {
        "offered": 3, "arrived": 2, "overflowed_in": 0, "transferred_in": 1, "answered": 1,
        "abandoned": 1, "short_abandoned": 1, "exited": 0, "overflowed_out": 0,
        "transferred_out": 0, "transferred_external": 0, "callbacks_requested": 0,
        "callbacks_answered": 0,
        "service_level_pct": 50.0,  # (0 answered + c4 abandoned in 18 s) / (1 + 2 - 1 short)
        "asa_s": 130.0, "abandon_rate_pct": 50.0, "longest_wait_s": 130.0,
        "handled": 1, "aht_s": 80.0, "avg_talk_s": 50.0, "avg_hold_s": 0.0,
        "avg_wrapup_s": 30.0, "holds": 0, "offers": 1, "rona": 0,
    }
    assert {k: sales[k] for k in expected_sales} == expected_sales
    assert {k: support[k] for k in expected_support} == expected_support

    agents = by_key((await reader.agents(one_day(DAY))).rows, "agent_id")
    expected_a = {
        "agent_name": "Alice", "answered": 3, "offers": 4, "rona": 1, "handled": 3,
        "aht_s": 65.0, "avg_talk_s": 38.3, "avg_hold_s": 10.0, "avg_wrapup_s": 16.7,
        "talk_s": 115.0, "hold_s": 30.0, "wrapup_s": 50.0, "transferred_out": 1,
        "transferred_external": 0, "holds": 1, "logged_in_s": 410.0, "available_s": 30.0,
        "ringing_s": 55.0, "busy_s": 145.0, "in_wrapup_s": 50.0, "paused_s": 130.0,
        "occupancy_pct": 89.3, "utilization_pct": 61.0,  # 250 handling of 280 / of 410
    }
    expected_b = {
        "answered": 1, "offers": 1, "rona": 0, "handled": 1, "aht_s": 13.0,
        "talk_s": 10.0, "wrapup_s": 3.0, "logged_in_s": 420.0, "available_s": 7.0,
        "ringing_s": 5.0, "busy_s": 10.0, "in_wrapup_s": 3.0, "paused_s": 395.0,
    }
    assert {k: agents["A"][k] for k in expected_a} == expected_a
    assert {k: agents["B"][k] for k in expected_b} == expected_b

    pauses = {(r["agent_id"], r["reason"]): r["paused_s"]
              for r in (await reader.pauses(one_day(DAY))).rows}
    assert pauses == {("A", "lunch"): 70.0, ("A", "no answer"): 60.0, ("B", "break"): 395.0}
    dispositions = {r["disposition"]: (r["count"], r["share_pct"])
                    for r in (await reader.dispositions(one_day(DAY))).rows}
    assert dispositions == {"(none)": (2, 50.0), "callback-done": (1, 25.0),
                            "sold": (1, 25.0)}

    # The totals are computed from the sums, not averaged: 4 handled, 208 s of handling.
    total = (await reader.queues(one_day(DAY))).totals
    assert (total["handled"], total["aht_s"], total["offered"]) == (4, 52.0, 6)

    # The rebuild command recomputes the same rows from the log.
    live = await snapshot(database)
    await rebuild(database, Calendar("UTC"), queue_rules(lambda: f.config.queues, SETTINGS),
                  dt.date(2026, 6, 1), dt.date(2026, 6, 1))
    assert await snapshot(database) == live
