"""Fixtures for the panel's browser tests: headless Chromium (Playwright) and a live floor.

Browser tests skip cleanly when Playwright or /usr/bin/chromium is missing, so the README's
test command passes on a machine without them; CI installs both (see docs/panel.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
