"""The shipped Grafana dashboard is a well-formed file Grafana imports as laid out.

Which series it charts is checked against a running server's /metrics in
tests/reports/test_report_golden.py; this checks the file itself: ids unique, panels on the
24-column grid without overlaps, every ``$variable`` a panel uses defined.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILTIN = {"__rate_interval", "__interval", "__range"}


def _dashboard() -> dict:
    return json.loads((REPO / "docs/grafana/contactcenter.json").read_text())


def test_panels_have_unique_ids_and_do_not_overlap():
    panels = _dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, (p["title"], cells.get((x, y)))
                cells[x, y] = p["title"]


def test_every_variable_used_is_defined_and_every_target_has_its_ref():
    d = _dashboard()
    defined = {v["name"] for v in d["templating"]["list"]} | BUILTIN
    for p in d["panels"]:
        refs = [t["refId"] for t in p.get("targets", [])]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p.get("targets", []):
            used = set(re.findall(r"\$\{?(\w+)", t["expr"]))
            assert used <= defined, (p["title"], used - defined)


def test_the_ivr_row_charts_the_ivr_families_filtered_by_flow():
    d = _dashboard()
    titles = [p["title"] for p in d["panels"]]
    row = titles.index("IVR")
    ivr = d["panels"][row + 1:]
    exprs = [t["expr"] for p in ivr for t in p.get("targets", [])]
    for family in ("cc_ivr_sessions_today", "cc_ivr_contained_today",
                   "cc_ivr_containment_today_ratio", "cc_ivr_sessions_total",
                   "cc_ivr_sessions_contained_total", "cc_flows_loaded"):
        assert any(family in e for e in exprs), family
    assert all('flow=~"$flow"' in e for e in exprs if "cc_ivr_" in e)
