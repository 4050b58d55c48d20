"""The reports tests import their helpers by name, and the floors of tests/e2e, tests/browser
and tests/tickets (as those folders do); the ``browser`` fixture is tests/conftest.py's."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tickets"))

