"""Metadata reading (real WAVs, missing, corrupt) and retention purge with audit rows."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import numpy as np
import soundfile

from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.recording.metadata import (
    AudioMetadata,
    MetadataProblem,
    read_metadata,
    silent_spans,
)
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode, RecordingPolicy
from contactcenter.recording.retention import purge
from contactcenter.storage.audit import AuditLog

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _wav(path, seconds, rate=8000, silent=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    data = 0.3 * np.sin(2 * np.pi * 440 * t)
    if silent:
        data[int(silent[0] * rate): int(silent[1] * rate)] = 0.0
    soundfile.write(str(path), data, rate, subtype="PCM_16")


def test_metadata_of_real_missing_and_corrupt_files(tmp_path):
    _wav(tmp_path / "a.wav", 2.5, silent=(1.0, 1.8))
    meta = read_metadata(tmp_path / "a.wav")
    assert isinstance(meta, AudioMetadata)
    assert meta.sample_rate == 8000 and meta.channels == 1 and abs(meta.duration_s - 2.5) < 1e-6
    assert meta.size_bytes == (tmp_path / "a.wav").stat().st_size
    spans = silent_spans(tmp_path / "a.wav")
    assert len(spans) == 1 and abs(spans[0][0] - 1.0) < 0.01 and abs(spans[0][1] - 1.8) < 0.01
    assert read_metadata(tmp_path / "none.wav") == MetadataProblem("missing", "file not found")
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    bad = read_metadata(tmp_path / "bad.wav")
    assert isinstance(bad, MetadataProblem) and bad.status == "corrupt" and bad.size_bytes == 130
    whole = (tmp_path / "a.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[:30])  # header cut short, as after a crash
    assert read_metadata(tmp_path / "cut.wav").status == "corrupt"
    (tmp_path / "dir.wav").mkdir()
    assert read_metadata(tmp_path / "dir.wav").status == "corrupt"


def _rec(rec_id, queue, days_old, file, status="complete", agent="a1"):
    return Recording(
        id=rec_id, interaction_id=f"i-{rec_id}", agent_id=agent, queue=queue, caller_id="555",
        pbx="pbx1", channel="PJSIP/x-01", started_at=NOW - timedelta(days=days_old),
        ended_at=None, file=file, status=status,
    )


async def test_purge_removes_exactly_what_is_past_retention_and_audits(database, tmp_path):
    root = tmp_path / "rec"
    paths = RecordingPaths(root)
    index = RecordingIndex(database)
    audit = AuditLog(database)
    book = PolicyBook({
        "sales": RecordingPolicy(RecordingMode.ALWAYS, retention_days=30),
        "vip": RecordingPolicy(RecordingMode.ALWAYS, retention_days=None),
    }, default=RecordingPolicy(RecordingMode.ALWAYS, retention_days=7))
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    layout = {
        "old1": ("sales", 31, True), "young": ("sales", 29, False), "vipold": ("vip", 400, False),
        "other8": ("misc", 8, True), "other6": ("misc", 6, False), "gone": ("sales", 40, True),
        "link": ("sales", 45, True), "live": ("sales", 50, False),
    }
    for rid, (queue, age, _) in layout.items():
        rel = f"2026/05/{rid}.wav"
        if rid == "link":
            (root / "2026/05").mkdir(parents=True, exist_ok=True)
            os.symlink(outside, root / rel)
        elif rid != "gone":
            _wav(root / rel, 0.2)
        await index.add(_rec(rid, queue, age, rel, status="recording" if rid == "live" else "complete"))

    dry = await purge(index, paths, book, audit, NOW, dry_run=True)
    assert sorted(i.recording_id for i in dry.items) == ["gone", "link", "old1", "other8"]
    assert (root / "2026/05/old1.wav").exists() and await audit.list() == []

    report = await purge(index, paths, book, audit, NOW)
    outcomes = {i.recording_id: i.outcome for i in report.items}
    assert outcomes == {"old1": "deleted", "other8": "deleted", "gone": "already-missing", "link": "deleted"}
    for rid, (_, _, expired) in layout.items():
        rec = await index.get(rid)
        assert (rec.status == "purged") == expired, rid
        if rid not in ("gone", "link"):
            assert (root / f"2026/05/{rid}.wav").exists() != expired, rid
    assert outside.read_text() == "keep me"  # the planted link went, its target did not
    rows = await audit.list(action_prefix="recording.purge")
    assert sorted(r.target for r in rows) == ["gone", "link", "old1", "other8"]
    assert all(r.actor == "system:retention" and r.detail["file"] for r in rows)
    again = await purge(index, paths, book, audit, NOW)
    assert again.items == []
