"""The rules the contract run found only in handlers, now in their declarations: for each one,
what the declaration lets through the handler's own check takes (or refuses only with a 422,
for what no schema says), and schemathesis' validator reads the declaration as our check does.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contactcenter.kb.routes import STATE_BODY, SYNONYMS_BODY
from contactcenter.qa.keywords import KeywordError, check_list
from contactcenter.qa.routes import _KEYWORDS_BODY, _SCORECARD_BODY
from contactcenter.qa.sampling import RuleError, check_rule
from contactcenter.qa.scorecards import FormError, parse_form
from contactcenter.qa.worklist_routes import _RULE_BODY
from contactcenter.web.openapi import SPACE_CLASS, char_class, check_schema, not_blank


def _agree(schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` is valid for our check, asserting schemathesis' validator agrees."""
    ours = check_schema(schema, value) == []
    assert jsonschema_rs.validator_for(schema).is_valid(value) == ours, (schema, value)
    return ours


@pytest.mark.parametrize(("schema", "value", "valid"), [
    ({"anyOf": [{"required": ["a"]}, {"required": ["b", "c"]}]}, {"b": 1, "c": 2}, True),
    ({"anyOf": [{"required": ["a"]}, {"required": ["b", "c"]}]}, {"b": 1}, False),
    ({"if": {"properties": {"p": {"const": 0}}}, "then": {"required": ["m"]}}, {"p": 0.0}, False),
    ({"if": {"properties": {"p": {"const": 0}}}, "then": {"required": ["m"]}}, {"p": 1}, True),
    ({"if": {"required": ["x"]}, "then": {"required": ["y"]}, "else": {"required": ["z"]}},
     {}, False),
    ({"allOf": [{"required": ["x"]}, {"required": ["y"]}]}, {"x": 1}, False),
    ({"const": False}, 0, False),
    ({"enum": [1]}, True, False),
    ({"enum": [1]}, 1.0, True),
    ({"type": "array", "uniqueItems": True}, [1, 1.0], False),
    ({"type": "array", "uniqueItems": True}, [1, True, [1], {"a": 1}, {"a": True}], True),
    ({"type": "array", "minItems": 2, "maxItems": 3}, [1], False),
    ({"type": "array", "minItems": 2, "maxItems": 3}, [1, 2, 3, 4], False),
    ({"type": "number", "exclusiveMinimum": 0}, 0, False),
    ({"type": "number", "exclusiveMaximum": 1}, 0.5, True),
])
def test_the_keywords_the_declarations_use_read_as_json_schema_says(schema, value, valid):
    assert _agree(schema, value) == valid


def test_the_space_class_is_what_str_isspace_takes():
    assert SPACE_CLASS == char_class(str.isspace)


@settings(deadline=None)  # no timing decides a test (the first builds a pattern)
@given(st.text(max_size=8))
@example("\x1c")  # Python's isspace, not the validator's \s: the class is spelled out
@example("\u0301")
@example("a\x00")
def test_not_blank_is_what_strip_keeps(text):
    assert _agree(not_blank(5), text) == (0 < len(text) <= 5 and bool(text.strip())
                                          and "\x00" not in text)


@settings(deadline=None)  # no timing decides a test (the first builds a pattern)
@given(st.text(max_size=210))
@example("\u0130")  # its lowercase holds an i
@example("\u212a")  # the Kelvin sign: a k once lowercased
@example("?!")
@example("'")
def test_a_declared_phrase_is_one_check_list_takes(phrase):
    body = {"phrases": [phrase]}
    try:
        check_list("churn", [phrase], 0.8)
        taken = True
    except KeywordError:
        taken = False
    if len(phrase) <= 200:
        assert _agree(_KEYWORDS_BODY, body) == taken
    else:
        assert not _agree(_KEYWORDS_BODY, body)


_PERCENT = st.one_of(st.integers(-1, 101), st.floats(-1, 101, allow_nan=False),
                     st.sampled_from([0, 0.0, 100]))


@settings(deadline=None)  # no timing decides a test (the first builds a pattern)
@given(st.one_of(st.text(max_size=70), st.from_regex(r"\s*[A-Za-z0-9][A-Za-z0-9 _.-]{0,66}\s*",
                                                    fullmatch=True)),
       _PERCENT, st.one_of(st.none(), st.integers(-1, 1001)),
       st.one_of(st.none(), st.text(max_size=5), st.from_regex(r"[a-z.]{0,3}", fullmatch=True)))
@example("\x1csales\u3000", 0, 1, None)
@example("sales", 0, 0, None)
@example("sales", 0.0, None, "")
def test_a_declared_sampling_rule_is_one_check_rule_takes(name, percent, minimum, queue):
    body: dict[str, Any] = {"name": name, "percent": percent, "queue": queue}
    if minimum is not None:
        body["minimum"] = minimum
    try:
        check_rule(body)
        taken = True
    except RuleError:
        taken = False
    assert _agree(_RULE_BODY, body) == taken


_TEXT = st.one_of(st.text(max_size=6), st.sampled_from(["Greets", " ", "", "a" * 501]))
_NUMBER = st.one_of(st.integers(-1, 86401), st.floats(-1, 86401, allow_nan=False), st.none())
_AUTO = st.one_of(st.none(), st.integers(), st.fixed_dictionaries(
    {"phrase": _TEXT}, optional={"from_s": _NUMBER, "to_s": _NUMBER,
                                 "expect": st.sampled_from(["present", "absent", "maybe"]),
                                 "min_match": st.sampled_from([0.05, 0.1, 0.8, 1, 1.5]),
                                 "extra": st.just(1)}))
_QUESTION = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["q1", "q2", "a.b-c_d"]), st.text(max_size=3))},
    optional={"text": _TEXT, "kind": st.sampled_from(["yes_no", "scale", "stars"]),
              "weight": st.one_of(st.integers(-1, 1001), st.booleans(), st.none()),
              "critical": st.one_of(st.booleans(), st.none()),
              "allow_na": st.one_of(st.booleans(), st.integers(0, 1)),
              "scale_max": st.one_of(st.integers(0, 11), st.floats(0, 11, allow_nan=False)),
              "auto": _AUTO})
_SECTION = st.fixed_dictionaries({"questions": st.lists(_QUESTION, max_size=3)},
                                 optional={"title": st.one_of(_TEXT, st.none())})
# what parse_form refuses and no schema says: the body had the declared form (422)
_BEYOND_SCHEMA = ("is used twice", "must not be before from_s", "more than")


@settings(deadline=None)  # no timing decides a test (the first builds a pattern)
@given(st.fixed_dictionaries({"sections": st.lists(_SECTION, max_size=3)}))
@example({"sections": [{"questions": [{"id": "q", "text": "t", "kind": "scale",
                                       "auto": None, "critical": False}]}]})
@example({"sections": [{"questions": [{"id": "q", "text": "t", "auto": {
    "phrase": "hello", "from_s": 30, "to_s": 10}}]}]})
def test_a_declared_form_is_one_parse_form_takes_but_for_what_no_schema_says(form):
    declared = _agree(_SCORECARD_BODY, {"name": "Card", "form": form})
    try:
        parse_form(form)
        problems: list[str] = []
    except FormError as exc:
        problems = exc.problems
    if declared:
        assert all(any(b in p for b in _BEYOND_SCHEMA) for p in problems), problems
    else:
        assert problems or any(not s["questions"] for s in form["sections"]) \
            or not form["sections"] or any("title" not in s or s["title"] is None
                                           for s in form["sections"]), form


@pytest.mark.parametrize(("body", "valid"), [
    ({"state": "draft", "version": 1, "publish_at": "2027-01-31T09:00:00Z"}, False),
    ({"state": "published", "version": 1, "publish_at": "2027-01-31t09:00:00z"}, True),
    ({"state": "archived", "version": 1, "publish_at": None}, True),
])
def test_publish_at_goes_only_with_published(body, valid):
    assert _agree(STATE_BODY, body) == valid


def test_a_synonym_group_names_each_synonym_once():
    assert _agree(SYNONYMS_BODY, {"groups": [["cancel", "terminate"]]})
    assert not _agree(SYNONYMS_BODY, {"groups": [["cancel", "cancel"]]})
