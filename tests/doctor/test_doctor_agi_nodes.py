"""contactcenter doctor: the dialplan's FastAGI node list against the servers' (cluster.nodes)."""

from __future__ import annotations

import io
from pathlib import Path

from test_doctor import REPO, make_asterisk_dir, settings

from contactcenter.config.loader import load_settings
from contactcenter.doctor.agi_nodes import check_agi_nodes, dialplan_nodes
from contactcenter.doctor.asterisk_conf import read_conf
from contactcenter.doctor.report import run_doctor

NODES = ["agi://10.0.0.1:4573", "agi://10.0.0.2:4573"]
MANAGER = (REPO / "dialplan/manager_contactcenter.conf").read_text()


def doctor(tmp_path: Path, extra_globals: str, nodes: list[str] | None,
           dialplan: str | None = None) -> tuple[int, str]:
    d = make_asterisk_dir(tmp_path, MANAGER, extra_globals=extra_globals)
    if dialplan is not None:
        (d / "extensions_contactcenter.conf").write_text(dialplan)
    out = io.StringIO()
    code = run_doctor(d, settings(tmp_path), [], out, agi_nodes=nodes)
    return code, out.getvalue()


def test_a_dialplan_with_every_node_passes(tmp_path):
    code, text = doctor(tmp_path, f"CONTACTCENTER_AGI_NODES = {'&'.join(NODES)}\n", NODES)
    assert code == 1  # neither node is this machine's FastAGI (127.0.0.1:4573): that one fails
    assert "the dialplan tries every configured node: agi://10.0.0.1:4573, " \
           "agi://10.0.0.2:4573" in text
    # Both nodes are cluster nodes: calls to them are ours, not "not our FastAGI".
    assert "[contactcenter-inbound] hands calls to agi://10.0.0.2:4573/ivr (another node)" in text
    assert "no dialplan hands calls to our FastAGI 127.0.0.1:4573" in text
    assert "[contactcenter-callback] hands calls to agi://10.0.0.1:4573/callback" in text
    assert "not our FastAGI 127.0.0.1" not in text


def test_this_node_among_the_nodes_passes_everything(tmp_path):
    nodes = ["agi://127.0.0.1:4573", "agi://10.0.0.2:4573"]
    code, text = doctor(tmp_path, f"CONTACTCENTER_AGI_NODES = {'&'.join(nodes)}\n", nodes)
    assert code == 0, text
    assert "All checks passed." in text


def test_a_node_missing_from_the_dialplan_is_reported(tmp_path):
    nodes = [*NODES, "agi://10.0.0.3:4573"]
    code, text = doctor(tmp_path, f"CONTACTCENTER_AGI_NODES = {'&'.join(NODES)}\n", nodes)
    assert code == 1
    where = f"{tmp_path / 'asterisk' / 'extensions.conf'}:2"
    assert ("FAIL node agi://10.0.0.3:4573 (cluster.nodes) is missing from "
            f"CONTACTCENTER_AGI_NODES: it never gets a call when it leads  ({where})") in text


def test_a_dialplan_node_the_settings_do_not_know_is_warned_about(tmp_path):
    listed = [*NODES, "agi://10.0.0.9"]
    _code, text = doctor(tmp_path, f"CONTACTCENTER_AGI_NODES = {'&'.join(listed)}\n", NODES)
    assert "WARN CONTACTCENTER_AGI_NODES lists agi://10.0.0.9, which is not in cluster.nodes" in text


def test_a_dialplan_on_one_url_with_several_nodes_fails(tmp_path):
    code, text = doctor(tmp_path, "CONTACTCENTER_AGI = agi://10.0.0.1:4573\n", NODES)
    assert code == 1
    assert ("FAIL 2 nodes are configured (cluster.nodes) but the dialplan points at one URL "
            "(CONTACTCENTER_AGI = agi://10.0.0.1:4573): set CONTACTCENTER_AGI_NODES = "
            "agi://10.0.0.1:4573&agi://10.0.0.2:4573 in [globals]") in text
    # Nothing set at all: the default, one URL too.
    d2 = tmp_path / "second"
    d2.mkdir()
    _code, text = doctor(d2, "", NODES)
    assert "the dialplan points at one URL (default = agi://127.0.0.1:4573)" in text


def test_an_older_dialplan_without_the_node_loop_fails_with_several_nodes(tmp_path):
    old = (REPO / "dialplan/extensions_contactcenter.conf").read_text()
    start = old.index("exten => agi-nodes,1,")
    old = old[:start] + old[old.index("exten => agi-url,1,"):]  # no agi-nodes / agi-next
    code, text = doctor(tmp_path, f"CONTACTCENTER_AGI_NODES = {'&'.join(NODES)}\n", NODES,
                        dialplan=old)
    assert code == 1
    assert "2 nodes are configured (cluster.nodes) but the dialplan is an older " \
           "extensions_contactcenter.conf that tries one URL (agi://127.0.0.1:4573)" in text


def test_malformed_node_lists_fail(tmp_path):
    conf_path = tmp_path / "extensions.conf"
    cases = {
        "agi://10.0.0.1:4573&&agi://10.0.0.2:4573": "has an empty entry",
        "agi://10.0.0.1:4573&agi://10.0.0.2:4573&": "has an empty entry",
        "agi://10.0.0.1:4573/ivr&agi://10.0.0.2:4573": "has a path; the dialplan appends /ivr",
        "agi://10.0.0.1:4573&sip://10.0.0.2": "is not an agi:// or hagi:// URL",
        "agi://10.0.0.1:4573 & agi://10.0.0.2:4573": "has spaces",
    }
    subs = (REPO / "dialplan/extensions_contactcenter.conf").read_text()
    for value, message in cases.items():
        conf_path.write_text(f"[globals]\nCONTACTCENTER_AGI_NODES = {value}\n\n{subs}")
        found = check_agi_nodes(read_conf(conf_path), NODES)
        assert any(f.level == "fail" and message in f.message for f in found), (value, found)


def test_hagi_srv_form_is_accepted_but_not_resolved(tmp_path):
    conf_path = tmp_path / "extensions.conf"
    subs = (REPO / "dialplan/extensions_contactcenter.conf").read_text()
    conf_path.write_text(f"[globals]\nCONTACTCENTER_AGI = hagi://cc.example.com\n\n{subs}")
    found = check_agi_nodes(read_conf(conf_path), NODES)
    assert [f.level for f in found] == ["warn"]
    assert "hagi://cc.example.com: the targets of its SRV record (_agi._tcp.<name>) are not " \
           "checked here" in found[0].message
    conf_path.write_text(f"[globals]\nCONTACTCENTER_AGI = hagi://cc.example.com:4573\n\n{subs}")
    found = check_agi_nodes(read_conf(conf_path), NODES)
    assert any("turns Asterisk's SRV lookup off" in f.message for f in found)


def test_one_server_has_nothing_to_compare(tmp_path):
    conf_path = tmp_path / "extensions.conf"
    subs = (REPO / "dialplan/extensions_contactcenter.conf").read_text()
    conf_path.write_text(f"[globals]\n\n{subs}")
    conf = read_conf(conf_path)
    assert check_agi_nodes(conf, []) == [] and check_agi_nodes(conf, NODES[:1]) == []
    nodes = dialplan_nodes(conf)
    assert (nodes.urls, nodes.source, nodes.loops) == (["agi://127.0.0.1:4573"], "default", True)


def test_the_settings_cluster_nodes_are_used_by_default(tmp_path):
    d = make_asterisk_dir(tmp_path, MANAGER, extra_globals="CONTACTCENTER_AGI = agi://127.0.0.1:4573\n")
    cfg = tmp_path / "cc.yaml"
    cfg.write_text("asterisk:\n  - name: pbx1\n    username: contactcenter\n    secret: change-me\n"
                   "cluster:\n  nodes: [agi://127.0.0.1:4573, agi://10.0.0.2:4573]\n")
    out = io.StringIO()
    assert run_doctor(d, load_settings(cfg, environ={}), [], out) == 1
    assert "2 nodes are configured (cluster.nodes) but the dialplan points at one URL" in \
        out.getvalue()
