"""What the restart tests that check real times share: the interaction log of one call, and
the operator queue's report row once the agent's wrap-up is over (ASA, talk)."""

from __future__ import annotations

from typing import Any

from test_floor_restart import wait_until

from contactcenter.reports.queries import ReportQuery


async def log_of(server: Any, iid: str) -> list[dict]:
    """The call's rows in the interaction log, everything written so far included."""
    await server.routing.flush()
    return await server.routing.log.events(interaction_id=iid)


def one(rows: list[dict], kind: str) -> dict:
    """The one row of ``kind``."""
    [row] = [r for r in rows if r["kind"] == kind]
    return row


async def operator_row(server: Any, clock: Any, since: float, timeout: float = 60) -> dict:
    """The operator queue's report row from ``since``'s day to today, once agent 1001's
    wrap-up is over and the reports caught up with the log: one call answered and handled."""
    await wait_until(lambda: server.routing.agent("1001").state != "wrapup", clock, timeout)
    await server.routing.flush()
    await server.reports.service.catch_up()
    cal = server.reports.calendar
    [row] = (await server.reports.reader.queues(ReportQuery(
        cal.today(since), cal.today(clock.time()), "total", "queue",
        queues=("operator",)))).rows
    assert row["answered"] == row["handled"] == 1, row
    return row
