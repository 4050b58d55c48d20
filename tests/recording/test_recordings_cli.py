"""`recordings purge` plumbing: queue policies from YAML, and a dry run then a real run."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contactcenter.common.yamlfile import SourceErrors, load_yaml
from contactcenter.recording.cli import add_recording_commands, policies_in_force, run_purge
from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.routing.config_merge import load_routing_sources
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database


async def test_purge_from_the_queues_file(tmp_path):
    # Policies come the way the server reads them (policies_in_force): the queues file is a
    # mapping keyed by queue name, checked like at start-up.
    qfile, afile = tmp_path / "queues.yaml", tmp_path / "agents.yaml"
    qfile.write_text("queues:\n  sales:\n    recording: {mode: always, retention_days: 10}\n"
                     "  vip: {}\n")
    afile.write_text("agents: []\n")
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    now = datetime(2026, 6, 1, tzinfo=UTC)
    db = Database(url)
    await db.create_all()
    await db.close()
    book = await policies_in_force(url, load_routing_sources(qfile, afile))
    assert book.for_queue("sales").retention_days == 10 and book.for_queue("vip").retention_days is None
    db = Database(url)
    for rid, queue in (("r1", "sales"), ("r2", "vip")):
        (tmp_path / "rec").mkdir(exist_ok=True)
        (tmp_path / "rec" / f"{rid}.wav").write_bytes(b"x")
        await RecordingIndex(db).add(Recording(rid, rid, "a", queue, None, "p", "c",
                                               now - timedelta(days=11), None, f"{rid}.wav", "complete"))
    await db.close()
    dry = await run_purge(url, tmp_path / "rec", book, dry_run=True, now=now)
    assert [i.recording_id for i in dry.items] == ["r1"] and (tmp_path / "rec/r1.wav").exists()
    real = await run_purge(url, tmp_path / "rec", book, dry_run=False, now=now)
    assert real.deleted == 1 and not (tmp_path / "rec/r1.wav").exists() and (tmp_path / "rec/r2.wav").exists()
    db = Database(url)
    assert [e.target for e in await AuditLog(db).list()] == ["r1"]
    await db.close()
    ap = argparse.ArgumentParser()
    add_recording_commands(ap.add_subparsers(dest="cmd"))
    assert ap.parse_args(["recordings", "purge", "--dry-run"]).dry_run is True


REPO = Path(__file__).resolve().parents[2]
QUEUES, AGENTS = REPO / "config/queues.yaml", REPO / "config/agents.yaml"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


async def _db_with_saved_queues(tmp_path: Path) -> str:
    """A database where "vip" exists only as a saved queue (5 days), "sales" (90 days in the
    file) was saved with 5 days, and "billing" is the file's alone (365 days); one 6-day-old
    recording in each."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    db = Database(url)
    await db.create_all()
    store = RoutingConfigStore(db)
    await store.put("queues", "vip", {"strategy": "longest_idle", "skills": {"english": 1},
                                      "recording": {"mode": "always", "retention_days": 5}},
                    True, 0, "admin", 1.0)
    sales = dict(load_yaml(QUEUES)["queues"]["sales"])
    assert sales["recording"]["retention_days"] == 90
    sales["recording"] = {**sales["recording"], "retention_days": 5}
    await store.put("queues", "sales", sales, True, 0, "admin", 1.0)
    (tmp_path / "rec").mkdir()
    for rid, queue in (("r-vip", "vip"), ("r-sales", "sales"), ("r-billing", "billing")):
        (tmp_path / "rec" / f"{rid}.wav").write_bytes(b"x")
        await RecordingIndex(db).add(Recording(rid, rid, "a", queue, None, "p", "c",
                                               NOW - timedelta(days=6), None, f"{rid}.wav",
                                               "complete"))
    await db.close()
    return url


async def test_a_queues_file_the_server_refuses_purges_nothing(tmp_path):
    # The list form of queues: is not what the server reads; nor is it a basis for deleting.
    qfile, afile = tmp_path / "queues.yaml", tmp_path / "agents.yaml"
    qfile.write_text("queues:\n  - name: sales\n    recording: {mode: always, retention_days: 1}\n")
    afile.write_text("agents: []\n")
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    db = Database(url)
    await db.create_all()
    await db.close()
    with pytest.raises(SourceErrors) as err:
        await policies_in_force(url, load_routing_sources(qfile, afile))
    assert "queues must be a mapping" in str(err.value)


async def test_purge_uses_queues_saved_in_the_database(tmp_path):
    url = await _db_with_saved_queues(tmp_path)
    book = await policies_in_force(url, load_routing_sources(QUEUES, AGENTS))
    assert (book.for_queue("vip").retention_days, book.for_queue("sales").retention_days,
            book.for_queue("billing").retention_days) == (5, 5, 365)
    report = await run_purge(url, tmp_path / "rec", book, dry_run=False, now=NOW)
    assert sorted(i.recording_id for i in report.items) == ["r-sales", "r-vip"]
    assert report.deleted == 2
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == ["r-billing.wav"]


def test_purge_command_reads_the_database_queues(tmp_path, capsys):
    asyncio.run(_db_with_saved_queues(tmp_path))
    cfg = tmp_path / "settings.yaml"
    cfg.write_text(f"database: {{url: 'sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}'}}\n"
                   f"recordings_dir: {tmp_path / 'rec'}\n"
                   f"routing: {{queues_file: {QUEUES}, agents_file: {AGENTS}}}\n")
    ap = argparse.ArgumentParser()
    add_recording_commands(ap.add_subparsers(dest="cmd"))
    args = ap.parse_args(["recordings", "purge", "--dry-run", "--config", str(cfg)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "r-vip" in out and "r-sales" in out and "r-billing" not in out
    assert "would purge 2 recording(s)" in out
