"""IVR sessions' retention (docs/reports.md, IVR): a purge deletes the sessions that started before
the days kept and keeps their 15-minute sums, so the IVR report (per flow, per node, by hour and
in total) is the same before and after, against counts worked out by hand; a session written
late for a slot already purged is counted and purged in turn; 0 days keeps everything; a rebuild
reaching before what is kept says so. SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

import sqlalchemy as sa
from ivr_results import session
from report_helpers import utc

from contactcenter.ivr.ports import IvrResult
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.ivr_recorder import IvrRecorder
from contactcenter.reports.ivr_report import IvrQuery, IvrReader
from contactcenter.reports.ivr_retention import (
    IvrRetention,
    kept_from,
    not_kept_note,
    purged_before,
)
from contactcenter.reports.queries import ReportQuery
from contactcenter.storage.database import Database

REPO = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 6, 4)
M = utc("2026-06-03 22:00:00")  # local midnight in Paris (UTC+2 in June)
H = 3600.0
CAL = Calendar("Europe/Paris")


OLD = [  # 09:00 and 10:30 local: purged with one day kept at noon the next day
    session("o1", "main", ["menu", "sales"], "queue:connected", M + 9 * H),
    session("o2", "main", ["menu", "menu", "bye"], "hangup", M + 9 * H + 60),
    session("o3", "main", ["menu"], "caller-hangup", M + 9 * H + 120),
    session("o4", "other", ["start"], "return", M + 10.5 * H),
]
KEPT = [  # 14:00 local: kept
    session("k1", "main", ["menu", "bye"], "hangup", M + 14 * H),
]
NOW = M + 36 * H  # noon the next day: one day kept reaches back to noon on DAY


async def _record(db: Database, sessions: list[IvrResult]) -> None:
    recorder = IvrRecorder(db)
    for s in sessions:
        recorder.session_ended(s)
    assert await recorder.flush() == len(sessions)


def _q(by: str, group: str) -> IvrQuery:
    return IvrQuery(ReportQuery(DAY, DAY, by, group))


async def _reports(db: Database) -> list[tuple[object, ...]]:
    reader = IvrReader(db, CAL, lambda: NOW)
    out: list[tuple[object, ...]] = []
    for by in ("total", "hour"):
        for group in ("flow", "node", "none"):
            r = await reader.report(_q(by, group))
            out.append((by, group, r.columns, r.rows, r.totals))
    return out


async def _count(db: Database, table: str) -> int:
    async with db.engine.connect() as c:
        return int((await c.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_a_purge_keeps_every_figure_of_the_report(database):
    await _record(database, OLD + KEPT)
    before = await _reports(database)
    retention = IvrRetention(database, 1, lambda: NOW)
    purged = await retention.purge()
    assert purged.sessions == 4 and purged.before == M + 12 * H == kept_from(NOW, 1)
    assert await _count(database, "ivr_sessions") == 1  # k1
    assert await _count(database, "ivr_session_nodes") == 2
    assert await _reports(database) == before

    reader = IvrReader(database, CAL, lambda: NOW)
    flows = {r["flow"]: r for r in (await reader.report(_q("total", "flow"))).rows}
    # main: o1 queued, o2 and k1 completed, o3 caller hung up: 3 of 4 contained
    assert (flows["main"]["sessions"], flows["main"]["contained"],
            flows["main"]["containment_pct"]) == (4, 3, 75.0)
    assert flows["main"]["avg_duration_s"] == round((2 + 3 + 1 + 2) / 4, 1)
    assert (flows["other"]["sessions"], flows["other"]["completed"]) == (1, 1)
    funnel = [(r["node"], r["reached"], r["left"], r["ended"])
              for r in (await reader.report(_q("total", "node"))).rows if r["flow"] == "main"]
    # o2 entered menu twice: counted once, from the sums as from the sessions
    assert funnel == [("menu", 4, 1, 1), ("bye", 2, 2, 2), ("sales", 1, 0, 1)]
    assert await reader.flows() == ["main", "other"]  # "other" is only in the sums now

    # A session of a purged slot written late counts at once, and goes at the next purge.
    await _record(database, [session("o5", "main", ["menu"], "caller-hangup", M + 9 * H + 300)])
    late = {r["flow"]: r for r in (await reader.report(_q("total", "flow"))).rows}
    assert (late["main"]["sessions"], late["main"]["caller_hangups"]) == (5, 2)
    assert (await retention.purge()).sessions == 1 and retention.purged == 5
    again = {r["flow"]: r for r in (await reader.report(_q("total", "flow"))).rows}
    assert again == late
    reached = {r["node"]: r["reached"] for r in (await reader.report(_q("total", "node"))).rows
               if r["flow"] == "main"}
    assert reached == {"menu": 5, "bye": 2, "sales": 1}
    assert (await retention.purge()).sessions == 0


async def test_zero_days_keeps_every_session(database):
    await _record(database, OLD)
    purged = await IvrRetention(database, 0, lambda: NOW + 1000 * 86400).purge()
    assert (purged.sessions, purged.before) == (0, 0)
    assert await _count(database, "ivr_sessions") == 4
    assert await purged_before(database) is None


async def test_a_rebuild_says_what_is_no_longer_kept(database):
    await _record(database, OLD + KEPT)
    assert not_kept_note(CAL, DAY, await purged_before(database)) is None  # nothing purged
    await IvrRetention(database, 1, lambda: NOW).purge()
    before = await purged_before(database)
    assert before == M + 10.75 * H  # the end of the last slot folded (o4's, 10:30)
    note = not_kept_note(CAL, DAY, before)
    assert note is not None and "before 2026-06-04T10:45:00+02:00" in note
    assert not_kept_note(CAL, DAY + dt.timedelta(days=1), before) is None


async def test_the_rebuild_command_prints_it(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    db = Database(url)
    try:
        await db.create_all()
        await _record(db, OLD)
        await IvrRetention(db, 1, lambda: NOW).purge()
    finally:
        await db.close()
    config = tmp_path / "cc.yaml"
    config.write_text(f"base_dir: {REPO}\ndatabase: {{url: '{url}'}}\n"
                      "reports: {timezone: Europe/Paris}\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "contactcenter", "reports", "rebuild", "--from", "2026-06-04",
        "--to", "2026-06-04", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={"PATH": "/usr/bin"})
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[1].startswith("IVR sessions that started before 2026-06-04T10:45:00+02:00 "
                               "are no longer kept"), lines
    assert lines[-1] == "rebuilt 1 day(s), 0 log row(s)"
