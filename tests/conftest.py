"""Shared fixtures: a real database per test (SQLite file; PostgreSQL when CC_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid

import pytest

from contactcenter.storage.database import Database

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")

_BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(params=_BACKENDS)
async def database(request, tmp_path):
    """A fresh, empty database with every table; both backends when PostgreSQL is configured."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")
        await db.create_all()
        yield db
        await db.close()
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await admin.close()
    db = Database(POSTGRES_URL, search_path=schema)
    await db.create_all()
    yield db
    async with db.engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await db.close()


CHROMIUM = os.environ.get("CC_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture
def chromium_args() -> list[str]:
    """Chromium's command line; a folder's conftest may override it (QA lets audio play)."""
    return list(CHROMIUM_ARGS)


@pytest.fixture
async def browser(chromium_args):  # type: ignore[no-untyped-def]
    """A headless Debian Chromium through Playwright for every folder's browser tests (each test
    opens its own contexts: separate cookie jars); skips when either is missing."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args)
        try:
            yield b
        finally:
            await b.close()

