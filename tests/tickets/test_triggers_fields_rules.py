"""Conditions on a ticket's type and custom fields as pure rules (triggers.py): each kind's
operators, a rule checked against the field definitions when saved and read back without
them, a value of another kind never matching, ``set_field`` in a cascade."""

from __future__ import annotations

import pytest

from contactcenter.tickets.fields import FieldDef, Kind
from contactcenter.tickets.model import TicketError
from contactcenter.tickets.triggers import (
    Catalog,
    Facts,
    cascade,
    matches,
    parse_trigger,
    plan,
)

NOW = 1_800_000_000.0
CATALOG = Catalog(("question", "incident"), {
    "product": FieldDef("product", "Product", Kind.DROPDOWN, ("Widget", "Gadget")),
    "units": FieldDef("units", "Units", Kind.NUMBER),
    "since": FieldDef("since", "Since", Kind.DATE),
    "serial": FieldDef("serial", "Serial", Kind.TEXT),
    "warranty": FieldDef("warranty", "Warranty", Kind.CHECKBOX),
})


def facts(**values) -> Facts:
    return Facts("open", "normal", "email", "web", None, "zoe@customer.test", (), "Order",
                 NOW - 100, NOW - 50, NOW - 100, ticket_type="incident", fields=values)


def rule(*conditions, actions=({"type": "add_tag", "value": "x"},), event="created",
         catalog=CATALOG):
    return parse_trigger({"name": "r", "event": event, "conditions": list(conditions),
                          "actions": list(actions)}, catalog=catalog)


def cond(field, op, value=None):
    return {"field": field, "op": op, "value": value}


def test_each_kind_takes_its_operators():
    f = facts(product="Widget", units=12, since="2026-12-01", serial="SN-17 blue",
              warranty=True)
    yes = [cond("fields.product", "is", "Widget"), cond("fields.product", "in", ["Gadget",
                                                                                   "Widget"]),
           cond("fields.product", "is_not", "Gadget"), cond("fields.units", "at_least", 12),
           cond("fields.units", "less_than", 12.5), cond("fields.units", "is", 12.0),
           cond("fields.since", "at_least", "2026-11-30"),
           cond("fields.since", "less_than", "2026-12-02"),
           cond("fields.serial", "contains", "sn-17"), cond("fields.serial", "is", "sn-17 BLUE"),
           cond("fields.serial", "not_contains", "red"), cond("fields.warranty", "is", True),
           cond("fields.warranty", "is_set"), cond("type", "is", "incident"),
           cond("type", "is_set")]
    for c in yes:
        assert matches(rule(c), f, NOW), c
    no = [cond("fields.product", "not_in", ["Widget"]), cond("fields.units", "at_least", 13),
          cond("fields.since", "less_than", "2026-12-01"), cond("fields.warranty", "is", False),
          cond("fields.serial", "not_set"), cond("type", "is_not", "incident")]
    for c in no:
        assert not matches(rule(c), f, NOW), c
    empty = facts()  # nothing filled: only "not set", "is not" and "is false" hold
    assert matches(rule(cond("fields.units", "not_set")), empty, NOW)
    assert matches(rule(cond("fields.product", "is_not", "Widget")), empty, NOW)
    assert matches(rule(cond("fields.warranty", "is", False)), empty, NOW)
    for c in [cond("fields.units", "at_least", 0), cond("fields.units", "less_than", 5),
              cond("fields.serial", "contains", "a"), cond("fields.product", "in", ["Widget"])]:
        assert not matches(rule(c), empty, NOW), c


@pytest.mark.parametrize("c, says", [
    (cond("fields.colour", "is", "red"), "no custom field 'colour'"),
    (cond("fields.Bad", "is", "x"), "is not fields.<key>"),
    (cond("fields.units", "contains", "1"), r"fields.units \(number\) must be one of"),
    (cond("fields.units", "is", "ten"), "takes a number"),
    (cond("fields.product", "in", ["Widget", "Sprocket"]), "takes one of Widget, Gadget"),
    (cond("fields.warranty", "is", "yes"), "is true or false"),
    (cond("fields.serial", "is", "   "), "not blank"),
    (cond("type", "in", ["incident", "chat"]), "no ticket type 'chat'"),
    (cond("changed", "contains", "fields.colour"), "no custom field 'colour'"),
])
def test_a_rule_is_checked_against_the_fields_when_saved(c, says):
    with pytest.raises(TicketError, match=says):
        rule(c, event="updated")


def test_a_stored_rule_reads_back_without_the_fields_and_a_changed_kind_never_matches():
    saved = rule(cond("fields.units", "at_least", 10), cond("changed", "contains",
                                                             "fields.units"),
                 actions=[{"type": "set_field", "field": "units", "value": 5}], event="updated")
    data = saved.as_json()
    again = parse_trigger(data)  # as triggers_store reads it: no catalog
    assert again == saved
    # The field became a text field since: "12" is not a number, the rule does not hold.
    f = facts(units="12")
    assert not matches(rule(cond("fields.units", "at_least", 10), catalog=None), f, NOW)
    assert not matches(rule(cond("fields.units", "is", 12), catalog=None), f, NOW)


def test_set_field_is_planned_and_seen_by_the_next_trigger_of_the_cascade():
    first = parse_trigger({"name": "a", "event": "created", "conditions": [], "actions": [
        {"type": "set_field", "field": "units", "value": 3.0},
        {"type": "set_field", "field": "serial", "value": None}]}, catalog=CATALOG,
        position=1, trigger_id=1)
    second = parse_trigger({"name": "b", "event": "created",
                            "conditions": [cond("fields.units", "is", 3)],
                            "actions": [{"type": "add_tag", "value": "three"}]},
                           catalog=CATALOG, position=2, trigger_id=2)
    f = facts(serial="SN-1")
    step = plan(first, f)
    assert step.fields == (("units", 3), ("serial", None))
    assert step.as_json(f)["changes"] == {"fields.units": [None, 3],
                                          "fields.serial": ["SN-1", None]}
    out = cascade([second, first], "created", f, NOW)
    assert [p.trigger.name for p in out.plans] == ["a", "b"]
    assert out.facts is not None and out.facts.fields == {"units": 3}
    assert out.facts.tags == ("three",)
    # Setting what is already there is no change.
    assert plan(first, facts(units=3)).fields == ()
