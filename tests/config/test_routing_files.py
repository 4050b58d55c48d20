"""Queues and agents files: a missing default means "none yet", a missing named one is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from contactcenter.common.setting_errors import SettingError
from contactcenter.config.loader import database_url, load_settings
from contactcenter.config.routing_files import load_routing_files
from contactcenter.demo import demo_database
from contactcenter.routing.config_merge import Overrides, merge_config

REPO = Path(__file__).resolve().parents[2]


def test_missing_default_files_start_with_no_queues_and_say_so(tmp_path, caplog):
    cfg = tmp_path / "cc.yaml"
    cfg.write_text("web: {port: 9000}\n")
    settings = load_settings(cfg, environ={})
    with caplog.at_level(logging.INFO, logger="contactcenter.config.routing_files"):
        sources = load_routing_files(settings)
    merged = merge_config(sources, Overrides())
    assert merged.config.queues == {} and merged.config.agents == {}
    assert [r.levelname for r in caplog.records] == ["INFO", "INFO"]
    assert f"{tmp_path}/config/queues.yaml" in caplog.records[0].getMessage()
    assert f"{tmp_path}/config/agents.yaml" in caplog.records[1].getMessage()


def test_a_named_file_that_is_missing_names_the_setting_and_the_resolved_path(tmp_path):
    cfg = tmp_path / "cc.yaml"
    cfg.write_text("routing: {queues_file: mine/queues.yaml}\n")
    with pytest.raises(SettingError) as info:
        load_routing_files(load_settings(cfg, environ={}))
    assert info.value.setting == "routing.queues_file"
    message = str(info.value)
    assert f"{tmp_path}/mine/queues.yaml" in message and "CC_ROUTING__QUEUES_FILE" in message
    assert f"resolve against {tmp_path}" in message


def test_relative_files_resolve_against_the_config_files_directory(tmp_path):
    (tmp_path / "q.yaml").write_text((REPO / "config/queues.yaml").read_text())
    (tmp_path / "a.yaml").write_text((REPO / "config/agents.yaml").read_text())
    cfg = tmp_path / "cc.yaml"
    cfg.write_text("routing: {queues_file: q.yaml, agents_file: a.yaml}\n")
    sources = load_routing_files(load_settings(cfg, environ={}))
    assert sources.queues_file == str(tmp_path / "q.yaml")
    assert merge_config(sources, Overrides()).config.queues  # the shipped queues, all of them


@pytest.mark.parametrize("config", [None, "config/contactcenter.yaml"])
def test_the_demo_database_is_not_the_servers(config):
    settings = load_settings(config, environ={})
    demo_url = database_url(demo_database(settings))
    assert demo_url != database_url(settings)
    assert demo_url.endswith("/var/demo.sqlite3")
