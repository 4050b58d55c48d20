"""Fuzz tests: each target runs a small example count in the main suite and >= 10,000 in the
slow suite (``python -m pytest -m slow -n 0``); ``fuzz_budget`` names the two counts in one place."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
