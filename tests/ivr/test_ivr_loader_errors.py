"""Flow files: the shipped flows load; each broken fixture gives exactly one precise error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.ivr.cli import flows_check, flows_test, main_flows
from contactcenter.ivr.loader import load_flow, load_flow_text
from contactcenter.ivr.model import MenuNode

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).parent / "fixtures" / "broken"

# fixture -> (line, col, words the message must contain)
EXPECTED = {
    "unknown_key": (7, 5, "unknown key 'retires'"),
    "dangling_goto": (9, 13, "'nowhere', which does not exist"),
    "unreachable": (7, 3, "'orphan' is unreachable"),
    "loop_no_exit": (3, 3, "loop with no exit: start -> again -> start"),
    "wrong_type": (7, 14, "'timeout' must be a number of seconds"),
    "tab_indent": (5, 1, "tab character"),
    "duplicate_key": (9, 3, "duplicate key 'start'"),
    "python_tag": (5, 13, "python/object"),
}


def test_every_broken_fixture_is_covered():
    assert {p.stem for p in BROKEN.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_fixture_gives_one_precise_error(name):
    line, col, words = EXPECTED[name]
    path = BROKEN / f"{name}.yaml"
    with pytest.raises(SourceErrors) as info:
        load_flow(path)
    assert len(info.value.errors) == 1, info.value.errors
    err = info.value.errors[0]
    assert (err.mark.file, err.mark.line, err.mark.col) == (str(path), line, col)
    assert words in err.message
    assert str(err).startswith(f"{path}:{line}:{col}: ")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_flows_check_reports_file_line_and_fails(name):
    out = io.StringIO()
    path = BROKEN / f"{name}.yaml"
    assert flows_check([str(path)], out) == 1
    line, col, _ = EXPECTED[name]
    assert f"{path}:{line}:{col}: " in out.getvalue()


def test_shipped_flows_pass_check_and_test():
    flows_dir = str(ROOT / "ivr_flows")
    out = io.StringIO()
    assert flows_check([flows_dir], out) == 0, out.getvalue()
    out = io.StringIO()
    assert flows_test([flows_dir], out) == 0, out.getvalue()
    assert " 0 failed" in out.getvalue()
    assert out.getvalue().count("PASS ") >= 10


def test_main_flows_entry_point_returns_exit_codes():
    assert main_flows(["check", str(ROOT / "ivr_flows")]) == 0
    assert main_flows(["check", str(BROKEN / "wrong_type.yaml")]) == 1


def test_several_errors_in_one_file_are_all_reported():
    text = (
        "entry: m\n"
        "colour: blue\n"
        "nodes:\n"
        "  m:\n"
        "    type: menu\n"
        "    prompt: 'bad name'\n"
        "    choices: {x: m}\n"
        "    retries: 99\n"
        "    on_timeout: m\n"
    )
    with pytest.raises(SourceErrors) as info:
        load_flow_text(text, "f.yaml")
    got = sorted((e.mark.line, e.message.split(" ")[0]) for e in info.value.errors)
    assert [line for line, _ in got] == [2, 6, 7, 8]


def test_expression_syntax_error_points_into_the_value():
    text = "entry: s\nnodes:\n  s:\n    type: set\n    vars: {x: 1 +}\n    next: h\n  h:\n    type: hangup\n"
    with pytest.raises(SourceErrors) as info:
        load_flow_text(text, "f.yaml")
    (err,) = info.value.errors
    assert err.mark.line == 5 and "bad expression" in err.message


@pytest.mark.parametrize(
    "snippet, words",
    [
        (("    type: hours\n    timezone: Mars/Olympus\n    weekly: {mon: closed}\n"
          "    open: h\n    closed: h\n"), "unknown time zone"),
        (("    type: hours\n    timezone: UTC\n    weekly: {mon: '18:00-08:00'}\n"
          "    open: h\n    closed: h\n"), "bad time range"),
        ("    type: transfer\n    to: 'PJSIP/1001,30,tT'\n", "not a dial string"),
        ("    type: input\n    prompt: p\n    var: caller_id\n    next: h\n    on_failure: h\n",
         "cannot be assigned"),
        (("    type: input\n    prompt: p\n    var: acct\n    pattern: '[0-9'\n    next: h\n"
          "    on_failure: h\n"), "bad regular expression"),
        ("    type: wobble\n", "unknown type 'wobble'"),
        ("    type: say\n    digits: x\n    number: y\n    next: h\n", "exactly one of"),
    ],
)
def test_schema_refuses_bad_values(snippet, words):
    text = "entry: s\nnodes:\n  s:\n" + snippet + "  h:\n    type: hangup\n"
    with pytest.raises(SourceErrors) as info:
        load_flow_text(text, "f.yaml")
    assert any(words in e.message for e in info.value.errors), info.value.errors


def test_loop_through_a_menu_with_an_exit_is_fine():
    text = (
        "entry: m\nnodes:\n  m:\n    type: menu\n    prompt: p\n    choices: {1: m, 2: bye}\n"
        "    on_timeout: m\n  bye:\n    type: hangup\n"
    )
    flow = load_flow_text(text, "ok.yaml")
    node = flow.nodes["m"]
    assert isinstance(node, MenuNode) and node.choices == {"1": "m", "2": "bye"}
    assert flow.name == "ok" and len(flow.version) == 12
