"""Ticket types and typed custom fields: admins define them, every write is checked (400 for
a body of the wrong form, 422 for a value its field does not take), a field required on solve
stops the solve, the list filters and searches by them, every change is in the history."""

from __future__ import annotations

import pytest
from tickets_floor import tickets_floor

from contactcenter.tickets.fields import FieldDef, FieldRefused, Kind, check_value, parse_field

NEW = {"subject": "Printer on fire", "text": "Smoke everywhere.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}
PRODUCT = {"key": "product", "label": "Product", "kind": "dropdown",
           "options": ["Widget", "Gadget"], "required_on_solve": True}


def test_each_kind_takes_its_values_and_names_what_it_refuses():
    number = FieldDef("units", "Units", Kind.NUMBER)
    assert check_value(number, 42.0) == (42, "42")
    assert check_value(number, 2.5) == (2.5, "2.5")
    assert check_value(FieldDef("d", "D", Kind.DATE), "2026-12-07") == ("2026-12-07",
                                                                        "2026-12-07")
    assert check_value(FieldDef("c", "C", Kind.CHECKBOX), True) == (True, "true")
    assert check_value(FieldDef("c", "C", Kind.CHECKBOX), False) is None
    assert check_value(FieldDef("t", "T", Kind.TEXT), "  ") is None
    for field, value, says in [
        (number, "42", "takes a number"), (number, True, "takes a number"),
        (FieldDef("d", "D", Kind.DATE), "2026-02-30", "YYYY-MM-DD"),
        (FieldDef("p", "P", Kind.DROPDOWN, ("a", "b")), "c", "one of a, b"),
        (FieldDef("c", "C", Kind.CHECKBOX), "yes", "true or false"),
        (FieldDef("t", "T", Kind.TEXT), "x" * 1001, "at most 1000"),
    ]:
        with pytest.raises(FieldRefused, match=says):
            check_value(field, value)
    with pytest.raises(FieldRefused, match="needs its options"):
        parse_field({"key": "p", "kind": "dropdown"})
    with pytest.raises(FieldRefused, match="only a dropdown"):
        parse_field({"key": "n", "kind": "number", "options": ["1"]})


async def test_admins_define_fields_agents_fill_them_and_solving_needs_the_required(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        admin = await floor.user("root", None, "admin")
        alice = await floor.user("alice", "a1")
        await alice.call("PUT", "/api/tickets/fields/types", {"types": ["question"]},
                         expect=403)
        await admin.call("PUT", "/api/tickets/fields/types",
                         {"types": ["question", "incident", "problem", "task"]}, expect=200)
        await admin.call("POST", "/api/tickets/fields", PRODUCT, expect=201)
        await admin.call("POST", "/api/tickets/fields",
                         {"key": "units", "label": "Units", "kind": "number"}, expect=201)
        await admin.call("POST", "/api/tickets/fields",
                         {"key": "since", "label": "Broken since", "kind": "date"}, expect=201)
        await admin.call("POST", "/api/tickets/fields", PRODUCT, expect=409)
        await admin.call("POST", "/api/tickets/fields", {"key": "x", "kind": "colour"},
                         expect=400)  # not of the declared form
        defs = await alice.call("GET", "/api/tickets/fields")
        assert defs["types"] == ["question", "incident", "problem", "task"]
        assert [f["key"] for f in defs["fields"]] == ["product", "units", "since"]

        number = (await admin.call("POST", "/api/tickets", NEW, expect=201))["id"]
        other = (await admin.call("POST", "/api/tickets", {**NEW, "subject": "Paper jam"},
                                  expect=201))["id"]
        await floor.settled()
        path = f"/api/tickets/{number}/fields"
        # Every write is checked, naming the field and what it takes.
        refused = await alice.call("PATCH", path, {"values": {"units": "many"}}, expect=422)
        assert "'units' (number) takes a number" in refused["error"]
        refused = await alice.call("PATCH", path, {"values": {"product": "Sprocket"}},
                                   expect=422)
        assert "one of Widget, Gadget" in refused["error"]
        assert "no field 'colour'" in (await alice.call(
            "PATCH", path, {"values": {"colour": "red"}}, expect=422))["error"]
        assert "no ticket type 'chat'" in (await alice.call(
            "PATCH", path, {"type": "chat"}, expect=422))["error"]
        await alice.call("PATCH", path, {"values": {"units": [1]}}, expect=400)

        # Required on solve: the solve is refused until the product is set.
        refused = await alice.call("PATCH", f"/api/tickets/{number}", {"status": "solved"},
                                   expect=422)
        assert "fields are filled: Product" in refused["error"]
        await alice.call("POST", f"/api/tickets/{number}/replies",
                         {"text": "Done.", "status": "solved"}, expect=422)
        after = await alice.call("PATCH", path, {"type": "incident", "values": {
            "product": "Widget", "units": 3, "since": "2026-12-01"}})
        assert after == {"type": "incident", "values": {"product": "Widget", "units": 3,
                                                        "since": "2026-12-01"}}
        await alice.call("PATCH", path, {"values": {"units": None}})
        assert (await alice.call("GET", path))["values"] == {"product": "Widget",
                                                             "since": "2026-12-01"}

        # The list filters by type and by a field's value, and searches the values.
        def ids(found):
            return [t["id"] for t in found["tickets"]]
        assert ids(await admin.call("GET", "/api/tickets?type=incident")) == [number]
        assert ids(await admin.call("GET", "/api/tickets?field=product:Widget")) == [number]
        assert ids(await admin.call("GET", "/api/tickets?field=product:Gadget")) == []
        assert ids(await admin.call(
            "GET", "/api/tickets?field=product:Widget&field=since:2026-12-01")) == [number]
        assert ids(await admin.call("GET", "/api/tickets?q=widg")) == [number]
        assert other in ids(await admin.call("GET", "/api/tickets?q=paper"))

        await alice.call("PATCH", f"/api/tickets/{number}", {"status": "solved"})
        history = (await admin.call("GET", f"/api/tickets/{number}"))["history"]
        changes = [(h["actor"], h["field"], h["old"], h["new"]) for h in history
                   if h["field"] == "type" or h["field"].startswith("field:")]
        assert changes == [
            ("alice", "type", None, "incident"),
            ("alice", "field:product", None, "Widget"),
            ("alice", "field:units", None, 3),
            ("alice", "field:since", None, "2026-12-01"),
            ("alice", "field:units", 3, None),
        ]
        # Another agent's ticket does not exist for her, nor do its fields.
        bob = await floor.user("bob", "a2", login=False)
        await bob.call("GET", path, expect=404)
        await bob.call("PATCH", path, {"type": "task"}, expect=404)
        await admin.call("DELETE", "/api/tickets/fields/units", expect=204)
        await admin.call("DELETE", "/api/tickets/fields/units", expect=404)
