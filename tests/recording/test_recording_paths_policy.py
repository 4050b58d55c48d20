"""Recording paths (dated layout, traversal gate) and per-queue policies."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from contactcenter.recording.paths import RecordingPaths, UnsafePathError, safe_name
from contactcenter.recording.policy import (
    PolicyBook,
    RecordingMode,
    RecordingPolicy,
    policy_from_mapping,
)


def test_dated_layout_and_asterisk_view(tmp_path):
    paths = RecordingPaths(tmp_path / "rec", asterisk_root="/var/spool/asterisk/monitor/cc")
    at = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    rel = paths.relative_for("INT-42", "abc123", at)
    assert rel == "2026/03/09/INT-42-abc123.wav"
    assert paths.asterisk_path(rel) == "/var/spool/asterisk/monitor/cc/2026/03/09/INT-42-abc123.wav"
    assert RecordingPaths(tmp_path).asterisk_path(rel) == f"{tmp_path.resolve()}/{rel}"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "a,b", "x\n", "a b", "..", "x" * 70])
def test_unsafe_ids_refused(bad):
    with pytest.raises(UnsafePathError):
        safe_name(bad)


def test_resolve_refuses_traversal_and_symlinks_out(tmp_path):
    root = tmp_path / "rec"
    (root / "2026/01/01").mkdir(parents=True)
    (root / "2026/01/01/ok.wav").write_bytes(b"x")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, root / "2026/01/01/link.wav")
    os.symlink(tmp_path, root / "2026/01/02")
    paths = RecordingPaths(root)
    assert paths.resolve("2026/01/01/ok.wav") == (root / "2026/01/01/ok.wav").resolve()
    for bad in ["../secret.txt", "2026/../../secret.txt", "/etc/passwd", "2026/01/01/link.wav",
                "2026/01/02/secret.txt", ".", "", "a\x00b"]:
        with pytest.raises(UnsafePathError):
            paths.resolve(bad)


def test_policy_book_and_config_mapping():
    book = PolicyBook(
        {"sales": policy_from_mapping({"mode": "always", "retention_days": 30, "agent_access": True}),
         "support": policy_from_mapping({"mode": "on-demand"})},
        default=RecordingPolicy(RecordingMode.NEVER),
    )
    assert book.for_queue("sales") == RecordingPolicy(RecordingMode.ALWAYS, 30, True)
    assert book.for_queue("support").mode is RecordingMode.ON_DEMAND
    assert book.for_queue("other").mode is RecordingMode.NEVER
    for bad in [{"mode": "sometimes"}, {"retention_days": "10"}, {"retention_days": -1},
                {"agent_access": "yes"}, {"colour": "red"}]:
        with pytest.raises(ValueError):
            policy_from_mapping(bad)
