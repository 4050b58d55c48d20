"""``contactcenter reports rebuild``: run as a command on a database the server left, it re-counts
the days with the settings in force (here a new short-abandon threshold), a line per day."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from report_helpers import LogFloor, one_day, report_parts, utc

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import QueueConfig
from contactcenter.reports.settings import ReportSettings
from contactcenter.storage.database import Database

REPO = Path(__file__).resolve().parents[2]


async def _command(*args: str) -> tuple[int, str, str]:
    """``python -m contactcenter reports rebuild ARGS`` with no CC_* variable from this shell."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "contactcenter", "reports", "rebuild", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={"PATH": "/usr/bin"})
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_rebuild_recounts_the_days_with_the_thresholds_in_force(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    db = Database(url)
    await db.create_all()
    f = LogFloor(db, [QueueConfig("sales")], [AgentConfig("A", name="Alice",
                                                          dial_string="PJSIP/A")])
    for iid, enter, wait in (("c1", "2026-06-01 10:00:00", 8), ("c2", "2026-06-02 10:00:00", 3)):
        await f.call(utc(enter), iid, "sales")
        await f.do(utc(enter) + wait, "abandon", iid)
    live, reader, _now = report_parts(db, f, "UTC", ReportSettings(timezone="UTC"))
    await live.catch_up()
    before = (await reader.queues(one_day("2026-06-01"))).rows[0]
    assert (before["abandoned"], before["short_abandoned"]) == (1, 0)  # 8 s, over 5
    await db.close()

    config = tmp_path / "cc.yaml"
    config.write_text(f"base_dir: {REPO}\ndatabase: {{url: '{url}'}}\n"
                      "reports: {timezone: UTC, short_abandon_s: 10}\n")
    code, out, err = await _command("--from", "2026-05-31", "--to", "2026-06-02", "--config",
                                    str(config))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("database sqlite+aiosqlite:///") and "time zone UTC" in lines[0]
    assert [line.split(":")[0] for line in lines[1:4]] == ["2026-05-31", "2026-06-01",
                                                            "2026-06-02"]
    assert lines[1].startswith("2026-05-31: 0 log row(s)")
    assert lines[2].startswith("2026-06-01: 2 log row(s)")  # enter + abandon
    assert lines[-1] == "rebuilt 3 day(s), 4 log row(s)"

    db = Database(url)
    try:
        _live, reader, _now = report_parts(db, f, "UTC", ReportSettings(timezone="UTC",
                                                                        short_abandon_s=10))
        after = (await reader.queues(one_day("2026-06-01"))).rows[0]
        assert (after["abandoned"], after["short_abandoned"]) == (0, 1)  # 8 s, under 10
    finally:
        await db.close()

    code, _out, err = await _command("--from", "2026-06-02", "--to", "2026-06-01", "--config",
                                     str(config))
    assert code == 2 and "--to is before --from" in err
