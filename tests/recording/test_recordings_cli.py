"""`recordings purge` plumbing: queue policies from YAML, and a dry run then a real run."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from contactcenter.recording.cli import add_recording_commands, policies_from_queues_file, run_purge
from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database


async def test_purge_from_queue_yaml(tmp_path):
    qfile = tmp_path / "queues.yaml"
    qfile.write_text("queues:\n  - name: sales\n    recording: {mode: always, retention_days: 10}\n"
                     "  - name: vip\n")
    book = policies_from_queues_file(qfile)
    assert book.for_queue("sales").retention_days == 10 and book.for_queue("vip").retention_days is None
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    now = datetime(2026, 6, 1, tzinfo=UTC)
    db = Database(url)
    await db.create_all()
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
