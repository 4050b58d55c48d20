"""Fixtures for the panel's browser tests: headless Chromium (Playwright) and a live floor.

Browser tests skip cleanly when Playwright or /usr/bin/chromium is missing, so the README's
test command passes on a machine without them; CI installs both (see docs/panel.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

CHROMIUM = os.environ.get("CC_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _playwright_or_skip():  # type: ignore[no-untyped-def]
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return async_playwright


@pytest.fixture
async def browser():
    """A headless Chromium; each test opens its own contexts (separate cookie jars)."""
    async_playwright = _playwright_or_skip()
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()
