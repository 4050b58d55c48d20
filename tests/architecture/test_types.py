"""mypy (the settings in pyproject.toml) finds no type errors in the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
def test_mypy_is_clean(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy comes with the test extras: pip install -e '.[test]'")
    # A fresh cache each run: a shared one could hide errors behind another checkout's results.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "contactcenter", "--cache-dir", str(tmp_path / "mypy")],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
