"""The demo flow with a self-service branch, for the IVR funnel's tests: 9 in the main menu
tells the opening hours and says goodbye, no agent involved."""

from __future__ import annotations

from pathlib import Path

import yaml


def add_self_service(flows_dir: Path) -> None:
    """Rewrite ``demo.yaml`` under ``flows_dir`` (a copy of the repository's flows)."""
    path = flows_dir / "demo.yaml"
    demo = yaml.safe_load(path.read_text())
    demo["nodes"]["main_menu"]["choices"][9] = "opening_hours"
    demo["nodes"]["opening_hours"] = {"type": "play", "prompt": "cc/welcome",
                                      "next": "goodbye"}
    demo["nodes"]["goodbye"] = {"type": "hangup", "prompt": "goodbye"}
    path.write_text(yaml.safe_dump(demo, sort_keys=False))
