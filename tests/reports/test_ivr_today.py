"""Today's IVR figures per flow (the wallboard's and /metrics'; docs/reports.md, The wallboard's
"today") equal the IVR report for today, figure for figure, against counts worked out by hand:
kept as the recorder commits, read back by a restarted server, a session that started the day
before left out, a new day starting from zero, flows not loaded summed as one for /metrics.
SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import datetime as dt

from ivr_results import session
from report_helpers import Now, utc

from contactcenter.reports.intervals import Calendar
from contactcenter.reports.ivr_recorder import IvrRecorder
from contactcenter.reports.ivr_report import IvrQuery, IvrReader
from contactcenter.reports.ivr_today import OTHER, IvrToday
from contactcenter.reports.queries import ReportQuery

DAY = dt.date(2026, 6, 4)
M = utc("2026-06-03 22:00:00")  # local midnight in Paris (UTC+2 in June)
H = 3600.0
CAL = Calendar("Europe/Paris")


async def _report(reader: IvrReader) -> dict[str, dict[str, object]]:
    report = await reader.report(IvrQuery(ReportQuery(DAY, DAY, "total", "flow")))
    return {r["flow"]: {k: v for k, v in r.items() if k not in ("period", "period_start",
                                                               "flow")}
            for r in report.rows}


async def test_today_per_flow_equals_the_report_for_today(database):
    now = Now(M + 12 * H)
    reader = IvrReader(database, CAL, now)
    today = IvrToday(CAL, now)
    await today.load(reader)
    assert today.by_flow() == {}
    recorder = IvrRecorder(database, written=today.add)
    for s in (session("y1", "main", ["menu"], "hangup", M - 60),  # yesterday 23:59: not today
              session("c1", "main", ["menu", "sales"], "queue:connected", M + 9 * H),
              session("c2", "main", ["menu", "bye"], "hangup", M + 9 * H + 10),
              session("c3", "main", ["menu"], "caller-hangup", M + 10 * H),
              session("c4", "support", ["start", "agent"], "transfer:answer", M + 11 * H)):
        recorder.session_ended(s)
    assert today.by_flow() == {}  # nothing committed yet
    await recorder.flush()

    got = today.by_flow()
    # main: c1 queued, c2 completed, c3 caller hung up: 2 of 3 contained; support: transferred
    assert {f: (v["sessions"], v["contained"], v["containment_pct"]) for f, v in got.items()} == {
        "main": (3, 2, 66.7), "support": (1, 0, 0.0)}
    assert got == await _report(reader)
    assert today.since_start({"main", "support"}) == {"main": (4, 3), "support": (1, 0)}

    # A restarted server reads today back from the database: the same figures.
    again = IvrToday(CAL, now)
    await again.load(reader)
    assert again.by_flow() == got

    # For /metrics, a flow the registry has not loaded is summed under one label.
    assert {f: v["sessions"] for f, v in today.by_flow({"main"}).items()} == {
        "main": 3, OTHER: 1}
    assert today.since_start({"support"}) == {OTHER: (4, 3), "support": (1, 0)}

    # Local midnight: a new day from zero, then its first session; still the report's.
    now.value = M + 24 * H + 60
    assert today.by_flow() == {}
    recorder.session_ended(session("d1", "main", ["menu", "bye"], "hangup", M + 24 * H + 30))
    await recorder.flush()
    assert {f: v["sessions"] for f, v in today.by_flow().items()} == {"main": 1}
    next_day = await reader.report(IvrQuery(ReportQuery(DAY + dt.timedelta(days=1),
                                                        DAY + dt.timedelta(days=1), "total",
                                                        "flow")))
    assert today.by_flow()["main"]["sessions"] == next_day.rows[0]["sessions"] == 1
