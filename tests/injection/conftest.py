"""Injection tests import the shared corpus (``corpus.py``) and the floors of tests/e2e,
tests/tickets, tests/chat and tests/browser."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "e2e", HERE.parent / "tickets", HERE.parent / "chat",
               HERE.parent / "browser"):
    sys.path.insert(0, str(folder))
