"""A ticket made with its type and custom fields, and triggers on the fields, on the real
server: POST /api/tickets takes ``type`` and ``fields`` checked exactly as PATCH .../fields
(a refusal names the field and makes no ticket); a ``created`` trigger sees the values the
ticket was made with; an ``updated`` trigger fires on ``changed`` of a field and tests its
value; ``set_field`` sets one (and does not fire triggers again); a rule naming an unknown
field, an operator its kind does not take or a value it would not take is refused, naming it;
the dry run reads the fields; the SLA policy is chosen with the fields the ticket was made
with."""

from __future__ import annotations

import pytest
from tickets_floor import tickets_floor

from contactcenter.tickets.settings import SlaPolicy, SlaSettings

NEW = {"subject": "Printer on fire", "text": "Smoke everywhere.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}
FIELDS = [
    {"key": "product", "label": "Product", "kind": "dropdown", "options": ["Widget", "Gadget"],
     "required_on_solve": True},
    {"key": "units", "label": "Units", "kind": "number"},
    {"key": "since", "label": "Broken since", "kind": "date"},
    {"key": "serial", "label": "Serial", "kind": "text"},
    {"key": "warranty", "label": "Under warranty", "kind": "checkbox"},
]


async def _define(admin) -> None:
    await admin.call("PUT", "/api/tickets/fields/types", {"types": ["question", "incident"]},
                     expect=200)
    for f in FIELDS:
        await admin.call("POST", "/api/tickets/fields", f, expect=201)


async def _history(client, number: int) -> list[tuple[str, str, object, object]]:
    shown = await client.call("GET", f"/api/tickets/{number}")
    return [(h["actor"], h["field"], h["old"], h["new"]) for h in shown["history"]]


async def test_a_ticket_is_made_with_its_type_and_fields_or_not_at_all(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        admin = await floor.user("root", None, "admin")
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        await _define(admin)

        made = await alice.call("POST", "/api/tickets", {
            **NEW, "type": "incident", "fields": {
                "product": "Widget", "units": 12.0, "since": "2026-12-01",
                "serial": "  SN-1  ", "warranty": True, "product_note": None}},
            expect=422)  # product_note: no such field, nothing made
        assert "no field 'product_note'" in made["error"]
        for fields, says in [
            ({"units": "many"}, "field 'units' (number) takes a number"),
            ({"product": "Sprocket"}, "field 'product' (dropdown) takes one of Widget, Gadget"),
            ({"since": "2026-02-30"}, "field 'since' (date) takes a date as YYYY-MM-DD"),
            ({"warranty": "yes"}, "field 'warranty' (checkbox) takes true or false"),
        ]:
            refused = await alice.call("POST", "/api/tickets", {**NEW, "fields": fields},
                                       expect=422)
            assert says in refused["error"], refused
        refused = await alice.call("POST", "/api/tickets", {**NEW, "type": "chat"}, expect=422)
        assert "no ticket type 'chat'" in refused["error"]
        await alice.call("POST", "/api/tickets", {**NEW, "fields": {"units": [1]}},
                         expect=400)  # not of the declared form
        assert (await boss.call("GET", "/api/tickets?view=all"))["total"] == 0

        made = await alice.call("POST", "/api/tickets", {
            **NEW, "type": "incident", "fields": {
                "product": "Widget", "units": 12.0, "since": "2026-12-01",
                "serial": "  SN-1  ", "warranty": False}}, expect=201)
        number = made["id"]
        got = await boss.call("GET", f"/api/tickets/{number}/fields")
        assert got == {"type": "incident", "values": {
            "product": "Widget", "units": 12, "since": "2026-12-01", "serial": "SN-1"}}
        history = await _history(boss, number)
        assert ("alice", "type", None, "incident") in history
        assert ("alice", "field:units", None, 12) in history
        assert not any(h[1] == "field:warranty" for h in history)  # false is no value
        # The list filters by what the ticket was made with.
        listed = await boss.call("GET", "/api/tickets?view=all&field=product:Widget")
        assert [t["id"] for t in listed["tickets"]] == [number]


async def test_triggers_test_fields_on_create_and_on_change_and_set_them(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        admin = await floor.user("root", None, "admin")
        boss = await floor.user("boss", None, "supervisor")
        await _define(admin)
        path = "/api/tickets/triggers"
        # Refused rules name what is wrong.
        for cond, says in [
            ({"field": "fields.colour", "op": "is", "value": "red"}, "no custom field 'colour'"),
            ({"field": "fields.units", "op": "contains", "value": "1"},
             "op for fields.units (number) must be one of"),
            ({"field": "fields.product", "op": "is", "value": "Sprocket"},
             "takes one of Widget, Gadget"),
            ({"field": "fields.since", "op": "at_least", "value": "soon"}, "YYYY-MM-DD"),
            ({"field": "type", "op": "is", "value": "chat"}, "no ticket type 'chat'"),
        ]:
            refused = await admin.call("POST", path, {
                "name": "bad", "event": "created", "conditions": [cond],
                "actions": [{"type": "add_tag", "value": "x"}]}, expect=422)
            assert says in refused["error"], (cond, refused)
        refused = await admin.call("POST", path, {
            "name": "bad", "event": "updated",
            "conditions": [{"field": "changed", "op": "contains", "value": "fields.colour"}],
            "actions": [{"type": "add_tag", "value": "x"}]}, expect=422)
        assert "no custom field 'colour'" in refused["error"]
        refused = await admin.call("POST", path, {
            "name": "bad", "event": "created", "conditions": [],
            "actions": [{"type": "set_field", "field": "units", "value": "lots"}]}, expect=422)
        assert "'units' (number) takes a number" in refused["error"]

        await admin.call("POST", path, {
            "name": "big widget orders", "event": "created",
            "conditions": [{"field": "fields.product", "op": "is", "value": "Widget"},
                           {"field": "fields.units", "op": "at_least", "value": 10},
                           {"field": "type", "op": "in", "value": ["incident"]},
                           {"field": "fields.warranty", "op": "is", "value": True}],
            "actions": [{"type": "add_tag", "value": "big"},
                        {"type": "set_field", "field": "serial", "value": "checked"}]},
            expect=201)
        # On a change of the units: more than 100 is urgent, and the note says so; the
        # trigger's own set_field must not fire it (or another) again.
        await admin.call("POST", path, {
            "name": "many units", "event": "updated",
            "conditions": [{"field": "changed", "op": "contains", "value": "fields.units"},
                           {"field": "fields.units", "op": "at_least", "value": 100}],
            "actions": [{"type": "set_priority", "value": "urgent"},
                        {"type": "set_field", "field": "units", "value": 99}]}, expect=201)
        await admin.call("POST", path, {
            "name": "serial told", "event": "updated",
            "conditions": [{"field": "changed", "op": "contains", "value": "fields.serial"}],
            "actions": [{"type": "add_tag", "value": "serial-changed"}]}, expect=201)

        big = await boss.call("POST", "/api/tickets", {
            **NEW, "type": "incident",
            "fields": {"product": "Widget", "units": 10, "warranty": True}}, expect=201)
        assert big["tags"] == ["big"]
        small = await boss.call("POST", "/api/tickets", {
            **NEW, "type": "incident", "fields": {"product": "Widget", "units": 9,
                                                  "warranty": True}}, expect=201)
        unticked = await boss.call("POST", "/api/tickets", {
            **NEW, "type": "incident", "fields": {"product": "Widget", "units": 10}},
            expect=201)
        assert small["tags"] == [] and unticked["tags"] == []
        got = await boss.call("GET", f"/api/tickets/{big['id']}/fields")
        assert got["values"]["serial"] == "checked"
        assert ("trigger:big widget orders", "field:serial", None, "checked") in \
            await _history(boss, big["id"])

        # A person changes the units: "many units" fires once, its own change fires nothing.
        await boss.call("PATCH", f"/api/tickets/{small['id']}/fields",
                        {"values": {"units": 150}}, expect=200)
        after = (await boss.call("GET", f"/api/tickets/{small['id']}"))["ticket"]
        assert after["priority"] == "urgent" and after["tags"] == []
        got = await boss.call("GET", f"/api/tickets/{small['id']}/fields")
        assert got["values"]["units"] == 99
        fired = [h for h in await _history(boss, small["id"]) if h[0].startswith("trigger:")]
        assert [(h[0], h[1]) for h in fired] == [
            ("trigger:many units", "priority"), ("trigger:many units", "field:units"),
            ("trigger:many units", "trigger")]
        # A change of another field does not fire it; "serial told" sees its own field.
        await boss.call("PATCH", f"/api/tickets/{unticked['id']}/fields",
                        {"values": {"serial": "SN-9"}}, expect=200)
        after = (await boss.call("GET", f"/api/tickets/{unticked['id']}"))["ticket"]
        assert after["priority"] == "normal" and after["tags"] == ["serial-changed"]

        # The dry run reads the fields: which open tickets have units below 50 now.
        dry = await admin.call("POST", f"{path}/dry-run", {
            "name": "dry", "event": "updated",
            "conditions": [{"field": "fields.units", "op": "less_than", "value": 50}],
            "actions": [{"type": "set_field", "field": "units", "value": 50}]}, expect=200)
        assert sorted(m["ticket"]["id"] for m in dry["matches"]) == [big["id"], unticked["id"]]
        assert all(m["changes"] == {"fields.units": [10, 50]} for m in dry["matches"])

        # A field deleted later: its rules still load; their conditions do not hold.
        await admin.call("DELETE", "/api/tickets/fields/units", expect=204)
        listed = (await admin.call("GET", path))["triggers"]
        assert [t["name"] for t in listed] == ["big widget orders", "many units",
                                               "serial told"]
        late = await boss.call("POST", "/api/tickets", {
            **NEW, "type": "incident", "fields": {"product": "Widget", "warranty": True}},
            expect=201)
        assert late["tags"] == []


async def test_the_sla_policy_is_chosen_with_the_type_and_fields_it_was_made_with(tmp_path):
    gold = SlaPolicy(name="gold-incident", type="incident", fields={"product": "Widget"},
                     first_response_s=300, resolution_s=7200)
    std = SlaPolicy(name="std", first_response_s=14400, resolution_s=172800)
    async with tickets_floor(tmp_path, sla=SlaSettings(policies=[gold, std])) as floor:
        admin = await floor.user("root", None, "admin")
        await _define(admin)
        made = await admin.call("POST", "/api/tickets", {
            **NEW, "type": "incident", "fields": {"product": "Widget"}}, expect=201)
        assert made["sla"]["policy"] == "gold-incident"
        assert made["sla"]["first_response"]["due"] - made["created_at"] == pytest.approx(300)
        history = [h["field"] for h in (await admin.call(
            "GET", f"/api/tickets/{made['id']}"))["history"]]
        assert "sla_policy" not in history  # chosen once, not re-targeted
        other = await admin.call("POST", "/api/tickets", {
            **NEW, "type": "incident", "fields": {"product": "Gadget"}}, expect=201)
        assert other["sla"]["policy"] == "std"
