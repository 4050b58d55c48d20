"""The IVR report (docs/reports.md, IVR) on sessions written through the recorder at chosen
times, against values worked out by hand: how each outcome ends (a caller who hangs up while
waiting in line was queued), a node entered twice counts once, a subflow's nodes are named with
their flow, a session counts in the local period it started in (Europe/Paris), the flow and
channel filters; and a database that fails keeps the sessions until it is back.
SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from ivr_results import session
from report_helpers import utc

from contactcenter.reports.intervals import Calendar
from contactcenter.reports.ivr_recorder import IvrRecorder, ending_of
from contactcenter.reports.ivr_report import IvrQuery, IvrReader
from contactcenter.reports.queries import ReportQuery
from contactcenter.storage.database import Database

DAY = dt.date(2026, 6, 4)
M = utc("2026-06-03 22:00:00")  # local midnight in Paris (UTC+2 in June)
H = 3600.0


SESSIONS = [
    # 09:00-09:15 local
    session("c1", "main", ["menu", "sales"], "queue:connected", M + 9 * H,
            kinds={"sales": "queue"}),
    session("c2", "main", ["menu", "menu", "menu"], "caller-hangup", M + 9 * H + 60),
    session("c3", "main", ["menu", "hours", "bye"], "hangup", M + 9 * H + 120),
    session("c4", "main", ["menu", "sales"], "caller-hangup", M + 9 * H + 180,
            kinds={"sales": "queue"}),  # hung up while waiting in line: queued
    # 10:30 local
    session("c5", "main", ["menu", "ask:start", "ask:done", "agent"], "transfer:answer",
            M + 10.5 * H),
    session("c6", "main", ["menu"], "fallback:queue:connected", M + 10.5 * H + 30,
            error="FlowRuntimeError: boom"),
    session("c7", "other", ["start"], "return", M + 10.5 * H + 60),
    # the day before (23:50 local) and the day after: outside
    session("c8", "main", ["menu"], "hangup", M - 600),
    session("c9", "main", ["menu"], "hangup", M + 24 * H),
]


async def record(db: Database) -> IvrRecorder:
    recorder = IvrRecorder(db)
    for s in SESSIONS:
        recorder.session_ended(s)
    assert recorder.pending == len(SESSIONS)
    assert await recorder.flush() == len(SESSIONS)
    return recorder


def reader(db: Database) -> IvrReader:
    return IvrReader(db, Calendar("Europe/Paris"), lambda: M + 30 * H)


def q(by: str = "total", group: str = "flow", flows: tuple[str, ...] = (),
      channels: tuple[str, ...] = ()) -> IvrQuery:
    return IvrQuery(ReportQuery(DAY, DAY, by, group, channels=channels), flows)


def test_endings():
    got = [ending_of(s) for s in SESSIONS[:7]]
    assert got == ["queued", "caller_hangup", "completed", "queued", "transferred", "fallback",
                   "completed"]


async def test_flows_and_containment(database):
    await record(database)
    report = await reader(database).report(q())
    rows = {r["flow"]: r for r in report.rows}
    assert {k: rows["main"][k] for k in (
        "sessions", "queued", "transferred", "fallback", "caller_hangups", "completed",
        "contained", "containment_pct")} == {
        "sessions": 6, "queued": 2, "transferred": 1, "fallback": 1, "caller_hangups": 1,
        "completed": 1, "contained": 2, "containment_pct": 33.3}
    assert rows["main"]["avg_duration_s"] == round((2 + 3 + 3 + 2 + 4 + 1) / 6, 1)
    assert rows["other"]["contained"] == 1 and rows["other"]["containment_pct"] == 100.0
    assert report.totals["sessions"] == 7 and report.totals["contained"] == 3
    assert report.totals["containment_pct"] == 42.9

    by_hour = await reader(database).report(q(by="hour", group="none"))
    assert [(r["period"], r["sessions"]) for r in by_hour.rows] == [
        ("2026-06-04T09:00:00+02:00", 4), ("2026-06-04T10:00:00+02:00", 3)]
    assert "flow" not in by_hour.columns

    only = await reader(database).report(q(flows=("other",)))
    assert [r["flow"] for r in only.rows] == ["other"] and only.totals["sessions"] == 1
    chats = await reader(database).report(q(channels=("chat",)))
    assert chats.rows == [] and chats.totals["sessions"] == 0


async def test_funnel_per_node(database):
    await record(database)
    report = await reader(database).report(q(group="node", flows=("main",)))
    rows = [(r["node"], r["reached"], r["left"], r["caller_hangups"], r["ended"])
            for r in report.rows]
    assert rows == [
        ("menu", 6, 1, 1, 2),  # c2 entered it three times: once; c6 failed there (no "left")
        ("sales", 2, 0, 0, 2),  # c4 hung up while in line: queued, not left
        # reached by one each: in the order met in a path, then by name
        ("ask:start", 1, 0, 0, 0),
        ("hours", 1, 0, 0, 0),
        ("ask:done", 1, 0, 0, 0),
        ("bye", 1, 1, 0, 1),
        ("agent", 1, 0, 0, 1),
    ]
    assert report.rows[0]["reached_pct"] == 100.0 and report.rows[1]["reached_pct"] == 33.3
    assert report.totals["sessions"] == 6 and report.totals["left"] == 2
    assert report.totals["left_pct"] == 33.3 and report.totals["ended"] == 6


async def test_a_failing_database_keeps_the_sessions(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'late.sqlite3'}")  # no tables yet
    try:
        recorder = IvrRecorder(db)
        recorder.session_ended(SESSIONS[0])  # never raises, never waits
        try:
            await recorder.flush()
            raise AssertionError("the write should have failed")
        except sa.exc.OperationalError:
            pass
        assert recorder.pending == 1 and recorder.recorded == 0
        await db.create_all()
        assert await recorder.flush() == 1
        assert recorder.pending == 0 and recorder.dropped == 0
        report = await reader(db).report(q())
        assert report.totals["sessions"] == 1
    finally:
        await db.close()


async def test_past_its_limit_the_oldest_sessions_are_dropped(database):
    recorder = IvrRecorder(database, max_pending=3)
    for s in SESSIONS[:5]:
        recorder.session_ended(s)
    assert recorder.pending == 3 and recorder.dropped == 2
    await recorder.flush()
    async with database.engine.connect() as c:
        calls = {r[0] for r in await c.execute(sa.text("SELECT call_id FROM ivr_sessions"))}
    assert calls == {"c3", "c4", "c5"}
