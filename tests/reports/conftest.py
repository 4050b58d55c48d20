"""The reports tests import their helpers by name, and the floors of tests/e2e and
tests/browser (as those folders do)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))


def _browser_fixture():  # type: ignore[no-untyped-def]
    """tests/browser's ``browser`` fixture (headless Debian Chromium; skips without it)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "browser" / "conftest.py"
    spec = importlib.util.spec_from_file_location("browser_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.browser


browser = _browser_fixture()
