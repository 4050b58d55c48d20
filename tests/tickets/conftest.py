"""The tickets tests import their floor helper (``tickets_floor.py``) from this folder; the
browser fixture is as tests/browser's (Debian's Chromium through Playwright)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

