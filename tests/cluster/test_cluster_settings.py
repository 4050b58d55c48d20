"""The ``cluster:`` settings refuse timings under which two leaders could route at once."""

from __future__ import annotations

import pytest

from contactcenter.cluster.settings import ClusterSettings
from contactcenter.common.yamlfile import SourceErrors
from contactcenter.config.loader import load_settings
from contactcenter.config.schema import Settings


def test_the_leader_must_give_up_before_postgres_frees_its_lock():
    ClusterSettings(check_s=1.0, timeout_s=2.0, keepalive_idle_s=3)  # 3 s < 6 s: fine
    with pytest.raises(ValueError, match="two leaders"):
        ClusterSettings(check_s=2.0, timeout_s=5.0, keepalive_idle_s=3)  # 7 s >= 6 s


def test_a_cluster_needs_postgresql(tmp_path):
    path = tmp_path / "cc.yaml"
    path.write_text("cluster:\n  enabled: true\n")
    with pytest.raises(SourceErrors, match="needs a PostgreSQL database.url"):
        load_settings(path, environ={})
    settings = load_settings(path, environ={
        "CC_DATABASE__URL": "postgresql+asyncpg://cc@db.example/cc"})
    assert isinstance(settings, Settings) and settings.cluster.enabled


def test_timings_and_key_are_checked():
    with pytest.raises(ValueError, match="poll_s"):
        ClusterSettings(poll_s=0)
    with pytest.raises(ValueError, match="keepalive_count"):
        ClusterSettings(keepalive_count=0)
    with pytest.raises(ValueError, match="64 bits"):
        ClusterSettings(lock_key=2**63)
