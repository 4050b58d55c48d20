"""Files + stored entries: precedence, the skills catalogue, and errors that read like the
file loader's (field paths for JSON documents, line:col for YAML typed in the panel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.routing.config_merge import (
    FieldMark,
    Override,
    Overrides,
    field_of,
    load_routing_sources,
    merge_config,
    parse_entry_text,
    plain,
    to_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = load_routing_sources(ROOT / "config/queues.yaml", ROOT / "config/agents.yaml")
FRENCH = {"french": Override({"description": "French speakers"})}


def errors_of(overrides: Overrides) -> list[str]:
    with pytest.raises(SourceErrors) as exc:
        merge_config(SOURCES, overrides)
    return [str(e) for e in exc.value.errors]


def test_files_alone_are_the_baseline_and_their_skills_are_known():
    merged = merge_config(SOURCES, Overrides())
    assert list(merged.config.queues) == ["sales", "support", "billing", "operator"]
    assert set(merged.config.skills) == {"english", "sales", "spanish", "support", "billing"}
    assert merged.documents["queues"]["sales"]["recording"] == {"mode": "always",
                                                                "retention_days": 90}


def test_stored_entry_replaces_the_file_entry_in_place_and_new_ones_follow():
    overrides = Overrides(
        queues={"billing": Override({"strategy": "random", "skills": {"billing": 2}}),
                "french": Override({"skills": {"french": 1}})},
        agents={"1002": Override({"name": "Bob B", "skills": {"billing": 4}, "queues": ["billing"]}),
                "2001": Override({"name": "Zoé", "skills": {"french": 5}, "queues": ["french"]})},
        skills=FRENCH)
    merged = merge_config(SOURCES, overrides)
    assert list(merged.config.queues) == ["sales", "support", "billing", "operator", "french"]
    billing = merged.config.queues["billing"]
    assert (billing.strategy.value, dict(billing.skills), billing.max_wait_s) == (
        "random", {"billing": 2}, None)  # replaced as a whole: the file's keys do not leak in
    assert list(merged.config.agents)[1] == "1002" and list(merged.config.agents)[-1] == "2001"
    assert merged.config.agents["1002"].dial_string is None
    assert merged.config.skills["french"] == "French speakers"
    assert merged.documents["agents"]["2001"]["id"] == "2001"


def test_disabled_entries_remove_file_entries_and_are_cross_checked():
    merged = merge_config(SOURCES, Overrides(agents={"1010": Override({}, enabled=False)}))
    assert "1010" not in merged.config.agents
    problems = errors_of(Overrides(queues={"operator": Override({}, enabled=False)}))
    assert any(p.endswith("config/queues.yaml:16:9: overflow to unknown queue 'operator'")
               for p in problems)
    assert any(p.endswith("agent 1010: unknown queue 'operator'") for p in problems)


def test_unknown_skills_are_refused_where_they_are_written():
    problems = errors_of(Overrides(
        queues={"french": Override({"skills": {"french": 1},
                                    "relaxation": [{"after_s": 5, "drop": ["frnch"]}]})},
        agents={"2001": Override({"skills": {"french": 2}})}))
    hint = ": add it to the skills catalogue first"
    assert problems == [
        "queue french, field skills.french: unknown skill 'french'" + hint,
        "queue french, field relaxation.0: unknown skill 'frnch'" + hint,
        "agent 2001, field skills.french: unknown skill 'french'" + hint,
    ]
    # A catalogued skill is fine; disabling it while in use is refused the same way.
    ok = Overrides(queues={"french": Override({"skills": {"french": 1}})}, skills=FRENCH)
    assert "french" in merge_config(SOURCES, ok).config.queues
    off = Overrides(queues=ok.queues, skills={"french": Override({}, enabled=False)})
    assert errors_of(off)[0].startswith("queue french, field skills.french: unknown skill")


def test_skills_used_by_the_files_stay_known_even_when_their_entry_is_disabled():
    merged = merge_config(SOURCES, Overrides(skills={"spanish": Override({}, enabled=False)}))
    assert merged.config.agents["1003"].skills["spanish"] == 5


def test_json_errors_name_the_field_and_yaml_errors_the_line():
    problems = errors_of(Overrides(
        queues={"x": Override({"ring_timeout_s": "soon", "skills": {"english": 11},
                               "announce": {"interval_s": -1}, "colour": "red"})},
        agents={"2001": Override({"id": "2002", "dial_string": "PJSIP/1,2"})},
        skills={"Bad Name": Override({"description": "x"}),
                "ok": Override({"description": "a\r\nb"})}))
    assert set(problems) == {
        "skill Bad Name: invalid skill name 'Bad Name' (lower-case letters, digits, _ . -)",
        "skill ok, field description: description contains CR, LF or NUL",
        "agent 2001, field id: id must be '2001', the entry's own id",
        "queue x, field colour: unknown queue key 'colour'",
        "queue x, field skills.english: skill level must be an integer 1..10, got 11",
        "queue x, field ring_timeout_s: ring_timeout_s must be a number >= 0",
        "queue x, field announce.interval_s: announce interval_s must be a number >= 0",
        "agent 2001: invalid dial string 'PJSIP/1,2' (one device, e.g. PJSIP/1001)",
    }
    text = "strategy: most_skilled\nskills:\n  english: 1\n  englsh: 2\n"
    doc = parse_entry_text("queues", "x", text)
    with pytest.raises(SourceErrors) as exc:
        merge_config(SOURCES, Overrides(queues={"x": Override(doc)}))
    [err] = exc.value.errors
    assert str(err) == "queue x:4:3: unknown skill 'englsh': add it to the skills catalogue first"
    assert field_of(doc, err.mark) == "skills.englsh"


def test_yaml_syntax_errors_and_non_json_values_are_refused_with_positions():
    with pytest.raises(SourceErrors) as exc:
        parse_entry_text("agents", "2001", "name: [unclosed\n")
    assert str(exc.value.errors[0]).startswith("agent 2001:2:1:")
    with pytest.raises(SourceErrors) as exc:
        plain(parse_entry_text("queues", "x", "description: 2024-01-01\n"))
    assert str(exc.value.errors[0]).startswith("queue x:1:14: datetime.date(2024, 1, 1) is not")


def test_documents_round_trip_through_yaml_text():
    merged = merge_config(SOURCES, Overrides())
    for kind in ("queues", "agents"):
        for name, doc in merged.documents[kind].items():
            assert plain(parse_entry_text(kind, name, to_yaml(doc))) == doc


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2000) | st.floats(allow_nan=False, width=32)
    | st.sampled_from(["", "x", "english", "q", "PJSIP/1", "voice", "queue", "operator",
                       "longest_idle", "a\nb"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["skills", "strategy", "overflow", "relaxation", "after_s", "queue",
                         "lower_by", "drop", "announce", "interval_s", "callback", "capacity",
                         "voice", "queues", "dial_string", "name", "id", "english", "leave",
                         "digit", "destination", "type", "target", "exit", "max_wait_s",
                         "description", "wrapup_s"]), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["queues", "agents", "skills"]), document=_JSON)
def test_any_json_document_is_either_accepted_or_refused_with_errors(kind, document):
    json.dumps(document)
    try:
        merged = merge_config(SOURCES, Overrides(**{kind: {"zz1": Override(document)}}))
    except SourceErrors as exc:
        assert exc.errors and all(isinstance(e.mark, FieldMark) or ".yaml" in str(e)
                                  for e in exc.errors)
    else:
        json.dumps(merged.documents[kind])
