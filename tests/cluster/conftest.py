"""A fresh PostgreSQL database per test (the cluster's nodes are whole servers: each connects
with its own URL, so a schema on the search path would not reach them); skipped without
CC_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from throwaway_pg import throwaway_database

sys.path.insert(0, str(Path(__file__).resolve().parent))  # cluster_floor

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")


@pytest.fixture
async def cluster_db_url():
    """The SQLAlchemy URL of a new, empty database, dropped after the test."""
    if not POSTGRES_URL:
        pytest.skip("set CC_TEST_POSTGRES_URL to run the cluster tests (PostgreSQL)")
    async with throwaway_database(POSTGRES_URL, "cc_cluster") as url:
        yield url
