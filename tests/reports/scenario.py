"""The day of tests/reports/test_report_figures.py: two queues, two agents, five calls played at
exact times through the real engine and interaction log, and a snapshot of the figure tables."""

from __future__ import annotations

import sqlalchemy as sa
from report_helpers import LogFloor, utc

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import QueueConfig
from contactcenter.reports import tables as t
from contactcenter.reports.settings import ReportQueueSettings, ReportSettings

T = utc("2026-06-01 09:00:00")
DAY = "2026-06-01"
SETTINGS = ReportSettings(
    timezone="UTC", short_abandon_s=5.0,
    queues={"support": ReportQueueSettings(short_abandon_s=10.0,
                                           service_level="answered_and_abandoned")})


def day_floor(database) -> LogFloor:  # type: ignore[no-untyped-def]
    """The engine of the day: sales and support; Alice (both) and B, whose name is a formula."""
    return LogFloor(database, [
        QueueConfig("sales", wrapup_s=30, ring_timeout_s=20, service_level_s=20),
        QueueConfig("support", wrapup_s=30, ring_timeout_s=20, service_level_s=30),
    ], [
        AgentConfig("A", name="Alice", dial_string="PJSIP/A", capacity={"voice": 1},
                    queues=("sales", "support")),
        AgentConfig("B", name="=cmd|' /C calc'!A0", dial_string="PJSIP/B",
                    capacity={"voice": 1}, queues=("sales",)),
    ])


async def play_day(f: LogFloor, after_each=None,  # type: ignore[no-untyped-def]
                   between: tuple[int, int] = (0, 10**6)) -> None:
    """The day's steps at T + s for s in ``between`` (all of them by default);
    ``after_each(t)`` runs after every step."""
    steps = [
        (0, "agent_login", "A", None), (0, "agent_login", "B", None),
        (5, "agent_pause", "B", "break"),
        (10, "call", "c1", "sales"), (12, "ring", "c1"), (25, "answer", "c1"),
        (40, "hold", "c1"), (70, "unhold", "c1"), (100, "complete", "c1"),
        (110, "wrapup_done", "A", "sold", None),
        (120, "call", "c2", "sales"), (125, "ring", "c2"), (140, "fail", "c2"),
        (150, "call", "c3", "support"), (153, "abandon", "c3"),
        (160, "call", "c4", "support"), (178, "abandon", "c4"),
        (200, "agent_unpause", "A"), (205, "ring", "c2"), (210, "answer", "c2"),
        (230, "transfer", "c2", "support"),
        (240, "wrapup_done", "A", None, None),  # c2 comes back to A from support at once
        (245, "ring", "c2"), (250, "answer", "c2"), (300, "complete", "c2"),
        # support's 30 s wrap-up runs out at 330 (the engine fires it on its next call)
        (340, "agent_pause", "A", "lunch"),
        (350, "call", "c5", "sales"), (380, "withdraw", "c5", "flow-max-wait"),
        (385, "request_callback", "c5", "+15551234"),
        (400, "agent_unpause", "B"), (402, "ring", "c5"), (405, "answer", "c5"),
        (415, "complete", "c5"), (418, "wrapup_done", "B", "callback-done", None),
        (410, "agent_logout", "A"), (420, "agent_logout", "B"),
    ]
    steps.sort(key=lambda s: s[0])  # stable: same-second steps keep their order
    for s, what, *args in steps:
        now = T + s
        if what is None or not between[0] <= s < between[1]:
            continue
        if what == "call":
            await f.call(now, args[0], args[1])
        elif what in ("ring", "answer", "fail"):
            method = {"ring": "offer_ringing", "answer": "offer_answered",
                      "fail": "offer_failed"}[what]
            extra = ("no-answer",) if what == "fail" else ()
            await f.do(now, method, f.offer_of(args[0]), *extra)
        else:
            await f.do(now, what, *args)
        if after_each is not None:
            await after_each(now)


def by_key(rows, key):  # type: ignore[no-untyped-def]
    """Report rows by one of their columns."""
    return {r[key]: r for r in rows}


async def snapshot(database) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every row of the figure tables, in key order (floats to 1e-6: sums in another order)."""
    async with database.engine.connect() as c:
        out = {}
        for table in (*t.FIGURE_TABLES, t.queue_days):
            keys = [col for col in table.primary_key.columns]
            rows = (await c.execute(sa.select(table).order_by(*keys))).all()
            out[table.name] = [tuple(round(v, 6) if isinstance(v, float) else v for v in r)
                               for r in rows]
        return out
