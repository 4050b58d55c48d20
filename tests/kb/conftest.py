"""Fixtures for the knowledge base's tests: the service over a real database (both backends
when CC_TEST_POSTGRES_URL is set), the web app on a real socket, a headless Chromium."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contactcenter.kb.settings import KbSettings
from contactcenter.web.auth import hash_password

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb_app import KbEnv, kb_app
from kb_support import PASSWORD, SETTINGS


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def kb_settings() -> KbSettings:
    """The knowledge base's settings; a test module may override this fixture."""
    return SETTINGS


@pytest.fixture
async def kb_env(database, password_hash, kb_settings) -> AsyncIterator[KbEnv]:
    """Auth and the knowledge base's routes on 127.0.0.1; users admin, sup, agent1."""
    async with kb_app(database, password_hash, kb_settings) as env:
        yield env
