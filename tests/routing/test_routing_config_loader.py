"""Queue and agent config files: the demo files load; mistakes point at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.routing.config_loader import load_routing_config, load_routing_config_text

ROOT = Path(__file__).resolve().parents[2]

AGENTS = """agents:
  - {id: a1, dial_string: PJSIP/1001, skills: {en: 2}, queues: [q]}
"""


def test_demo_config_loads():
    cfg = load_routing_config(ROOT / "config/queues.yaml", ROOT / "config/agents.yaml")
    assert set(cfg.queues) == {"sales", "support", "billing", "operator"}
    assert len(cfg.agents) == 10
    assert cfg.agents["1001"].dial_string == "PJSIP/1001"
    assert cfg.queues["sales"].overflow[0].queue == "operator"


@pytest.mark.parametrize("queues,agents,expected", [
    ("queues:\n  q:\n    strategy: fastest\n", AGENTS, "queues.yaml:3:15"),
    ("queues:\n  q:\n    wrapup_s: -1\n", AGENTS, "queues.yaml:3:15"),
    ("queues:\n  q:\n    colour: red\n", AGENTS, "queues.yaml:3:5: unknown queue key"),
    ("queues:\n  q:\n    overflow:\n      - {after_s: 5, queue: nowhere}\n", AGENTS,
     "queues.yaml:4:9: overflow to unknown queue"),
    ("queues:\n  q: {}\n", "agents:\n  - {id: a1, dial_string: 'PJSIP/1,tT'}\n",
     "agents.yaml:2:5"),
    ("queues:\n  q: {}\n", "agents:\n  - {id: a1, queues: [zz]}\n",
     "agents.yaml:2:22: agent a1: unknown queue"),
    ("queues:\n  q: {}\n", "agents:\n  - {id: a1}\n  - {id: a1}\n",
     "agents.yaml:3:5: duplicate agent id"),
])
def test_errors_point_at_the_source(queues, agents, expected):
    with pytest.raises(SourceErrors) as err:
        load_routing_config_text(queues, agents)
    assert expected in str(err.value)
