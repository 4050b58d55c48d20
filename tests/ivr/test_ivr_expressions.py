"""The flow expression language: a table of results, refusals, and a fuzz of the parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.ivr.expressions import ExprError, ExprSyntaxError, parse

ENV = {"a": 2, "s": "12345", "tier": "vip", "customer.tier": "gold", "none": None, "flag": True}


@pytest.mark.parametrize(
    "text, value",
    [
        ("a + 1", 3),
        ("s == 12345", True),
        ("s == '12345'", True),
        ('"PJSIP/" + s', "PJSIP/12345"),
        ("tier == 'vip' and 10 or 1", 10),
        ("if(customer.tier in ['vip', 'gold'], 10, 1)", 10),
        ("s matches '[0-9]{5}'", True),
        ("s matches '[0-9]{4}'", False),
        ("not none", True),
        ("none == null", True),
        ("missing", None),
        ("default(missing, 'x')", "x"),
        ("len(s) >= 5 and startswith(s, '12')", True),
        ("a * 3 - 1", 5),
        ("-a", -2),
        ("upper(tier) + lower('X')", "VIPx"),
        ("int(s) + 1", 12346),
        ("a not in [1, 3]", True),
        ("contains('hello', 'ell')", True),
        ("digits('+33 (1) 23')", "33123"),
        ("(a + 1) * 2", 6),
        ("flag and not false", True),
    ],
)
def test_evaluate(text, value):
    assert parse(text).evaluate(ENV) == value


@pytest.mark.parametrize("text", ["", "a +", "(a", "foo(1)", "len(1, 2)", "a = 1", "$x", "'open",
                                  "__import__('os')", "a.b.", "[1, 2"])
def test_syntax_errors(text):
    with pytest.raises(ExprSyntaxError):
        parse(text)


@pytest.mark.parametrize("text", ["a < 'x'", "none < 1", "int('abc')", "tier - 1", "s matches '('",
                                  "1 < [1]", "flag < 2"])
def test_runtime_errors(text):
    with pytest.raises(ExprError):
        parse(text).evaluate(ENV)


def test_names_are_collected():
    assert parse("customer.tier == 'vip' and len(s) > a").names == {"customer.tier", "s", "a"}


def test_deep_nesting_is_refused():
    with pytest.raises(ExprSyntaxError):
        parse("(" * 50 + "1" + ")" * 50)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 ()[],'\"=<>!+-*.xnotandorin_")), max_size=40))
def test_parser_either_parses_or_raises_syntax_error(text):
    try:
        expr = parse(text)
    except ExprSyntaxError:
        return
    try:
        expr.evaluate(ENV)
    except ExprError:
        pass
    assert expr.source == text
