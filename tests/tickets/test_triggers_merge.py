"""Triggers on merge and split, on the real server: ``merged`` runs on the ticket another was
merged into (seeing the merged one through ``other_*`` conditions and the webhook's
``other``), ``split`` on the new ticket a split made (after its ``created`` triggers); both in
the ticket's history by ``trigger:<name>``; the API checks the new event and conditions; and
the tickets page offers the events to choose from (Chromium)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from playwright.async_api import expect
from tickets_floor import T, logged_in_page, tickets_floor
from triggers_receiver import Receiver

from contactcenter.tickets.model import TicketError
from contactcenter.tickets.triggers import Facts, matches, parse_trigger

MS = T * 1000
ZOE = {"email": "zoe@customer.test", "name": "Zoe"}
MAX = {"email": "max@partner.test", "name": "Max"}
SECRET = "a secret for the merge test"


def _new(subject: str, requester: dict, text: str = "Hello.") -> dict:
    return {"subject": subject, "text": text, "requester": requester}


def _fired(history: list[dict]) -> list[tuple[str, str, int | None]]:
    return [(h["actor"], h["new"]["event"], h["new"].get("other")) for h in history
            if h["field"] == "trigger"]


async def test_merged_triggers_run_on_the_surviving_ticket_and_see_the_other(tmp_path):
    receiver = Receiver([])
    await receiver.start()
    try:
        async with tickets_floor(tmp_path, acknowledge=False) as floor:
            admin = await floor.user("root", None, "admin")
            # Only when a partner's ticket is merged in: tag it and tell the CRM.
            await admin.call("POST", "/api/tickets/triggers", {
                "name": "partner merged", "event": "merged",
                "conditions": [{"field": "other_requester", "op": "contains",
                                "value": "@PARTNER.test"},
                               {"field": "other_subject", "op": "contains",
                                "value": "order"}],
                "actions": [{"type": "add_tag", "value": "partner"},
                            {"type": "set_priority", "value": "high"},
                            {"type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook",
                             "secret": SECRET}]}, expect=201)
            await admin.call("POST", "/api/tickets/triggers", {
                "name": "any update", "event": "updated",
                "actions": [{"type": "add_tag", "value": "updated"}]}, expect=201)
            target = (await admin.call("POST", "/api/tickets", _new("Order 17", ZOE),
                                       expect=201))["id"]
            same = (await admin.call("POST", "/api/tickets", _new("Order 17 again", ZOE),
                                     expect=201))["id"]
            partner = (await admin.call("POST", "/api/tickets", _new("Order 17 for us", MAX),
                                        expect=201))["id"]

            # Zoe's own duplicate: the conditions do not hold, nothing fires.
            merged = await admin.call("POST", f"/api/tickets/{same}/merge", {"into": target},
                                      expect=200)
            assert merged["tags"] == [] and merged["priority"] == "normal"
            # The partner's: the trigger fires on the target, in the merge's answer already.
            merged = await admin.call("POST", f"/api/tickets/{partner}/merge",
                                      {"into": target}, expect=200)
            assert merged["tags"] == ["partner"] and merged["priority"] == "high"

            shown = await admin.call("GET", f"/api/tickets/{target}")
            # Its own changes start no cascade ("any update" did not run on them).
            assert _fired(shown["history"]) == [("trigger:partner merged", "merged", partner)]
            assert [(h["actor"], h["field"]) for h in shown["history"][-4:]] == [
                ("root", "merged"), ("trigger:partner merged", "priority"),
                ("trigger:partner merged", "tags"), ("trigger:partner merged", "trigger")]
            gone = await admin.call("GET", f"/api/tickets/{partner}")
            assert gone["ticket"]["tags"] == [] and _fired(gone["history"]) == []

            _headers, body, _code = await receiver.next()
            sent = json.loads(body)
            assert (sent["event"], sent["trigger"]) == ("merged", "partner merged")
            assert sent["ticket"]["id"] == target and sent["ticket"]["tags"] == ["partner"]
            assert sent["other"]["id"] == partner
            assert sent["other"]["status"] == "closed"
            assert sent["other"]["requester"]["email"] == "max@partner.test"
    finally:
        await receiver.close()


async def test_split_triggers_run_on_the_new_ticket_after_its_created_ones(tmp_path):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        admin = await floor.user("root", None, "admin")
        await admin.call("POST", "/api/tickets/triggers", {
            "name": "new", "event": "created",
            "actions": [{"type": "add_tag", "value": "new"}]}, expect=201)
        await admin.call("POST", "/api/tickets/triggers", {
            "name": "split off", "event": "split",
            "conditions": [{"field": "other_subject", "op": "contains", "value": "two"},
                           {"field": "tags", "op": "contains", "value": "new"}],
            "actions": [{"type": "add_tag", "value": "split"},
                        {"type": "set_queue", "value": "escalated"}]}, expect=201)
        number = (await admin.call("POST", "/api/tickets",
                                   _new("Two questions", ZOE, "First: the bill."),
                                   expect=201))["id"]
        await admin.call("POST", f"/api/tickets/{number}/notes", {"text": "Second: a refund."})
        articles = (await admin.call("GET", f"/api/tickets/{number}"))["articles"]

        made = await admin.call("POST", f"/api/tickets/{number}/split",
                                {"articles": [articles[-1]["id"]], "subject": "Refund"},
                                expect=201)
        assert made["tags"] == ["new", "split"] and made["queue"] == "escalated"
        shown = await admin.call("GET", f"/api/tickets/{made['id']}")
        assert _fired(shown["history"]) == [("trigger:new", "created", None),
                                            ("trigger:split off", "split", number)]
        # The ticket split from ran no split trigger (only its own created one, long ago).
        old = await admin.call("GET", f"/api/tickets/{number}")
        assert old["ticket"]["tags"] == ["new"] and old["ticket"]["queue"] == "email"
        assert _fired(old["history"]) == [("trigger:new", "created", None)]


async def test_the_api_checks_the_new_events_and_lists_them(tmp_path):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        admin = await floor.user("root", None, "admin")
        listed = await admin.call("GET", "/api/tickets/triggers")
        assert listed["events"] == ["created", "updated", "time", "merged", "split"]
        for event in ("created", "updated", "time"):
            refused = await admin.call("POST", "/api/tickets/triggers", {
                "name": "wrong", "event": event,
                "conditions": [{"field": "other_requester", "op": "is", "value": "x@y.test"},
                               {"field": "hours_in_status", "op": "at_least", "value": 1}],
                "actions": [{"type": "add_tag", "value": "x"}]}, expect=422)
            assert "only for merged and split triggers" in refused["error"], refused
        refused = await admin.call("POST", "/api/tickets/triggers", {
            "name": "wrong", "event": "merged",
            "conditions": [{"field": "changed", "op": "contains", "value": "status"}],
            "actions": [{"type": "add_tag", "value": "x"}]}, expect=422)
        assert "only for updated triggers" in refused["error"]
        await admin.call("POST", "/api/tickets/triggers", {
            "name": "dup", "event": "split", "actions": [{"type": "add_tag", "value": "x"}]},
            expect=201)


def test_other_conditions_read_the_other_ticket_only():
    """Without another ticket (a dry run) a condition on it does not hold."""
    rule = parse_trigger({"name": "r", "event": "merged", "conditions": [
        {"field": "other_requester", "op": "contains", "value": "@Partner.test"}],
        "actions": [{"type": "unassign"}]})
    facts = Facts("open", "normal", "email", "web", None, "zoe@customer.test", (), "Order",
                  0.0, 0.0, 0.0)
    assert not matches(rule, facts, 1.0)
    assert matches(rule, replace(facts, other_requester="max@partner.test"), 1.0)
    assert not matches(rule, replace(facts, other_requester="max@customer.test"), 1.0)
    with pytest.raises(TicketError, match="other_subject must be one of contains"):
        parse_trigger({"name": "r", "event": "split", "conditions": [
            {"field": "other_subject", "op": "is", "value": "x"}],
            "actions": [{"type": "unassign"}]})


async def test_the_page_offers_the_events_and_writes_the_choice_into_the_rule(
        tmp_path, browser):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        admin = await floor.user("root", None, "admin")
        page = await logged_in_page(browser, floor, "root")
        choice = page.get_by_label("Event of the new rule")
        await expect(choice).to_be_visible(timeout=MS)
        await expect(choice.locator("option")).to_have_text([
            "created: a ticket is made", "updated: a ticket is changed",
            "time: hours have passed", "merged: a ticket was merged into this one",
            "split: this ticket was split off another"])
        await expect(choice).to_have_value("time")  # the sample rule's

        await page.fill("#tr-json", json.dumps({
            "name": "partner merged", "event": "created",
            "conditions": [{"field": "other_requester", "op": "contains",
                            "value": "@partner.test"}],
            "actions": [{"type": "add_tag", "value": "partner"}]}))
        await expect(choice).to_have_value("created")
        await page.click("#tr-save")
        await expect(page.locator("#tr-status")).to_contain_text(
            "only for merged and split triggers", timeout=MS)
        await choice.select_option("merged")
        assert json.loads(await page.input_value("#tr-json"))["event"] == "merged"
        await page.click("#tr-save")
        await expect(page.locator("#tr-status")).to_have_text("Saved partner merged",
                                                              timeout=MS)
        row = page.locator('#tr-rules tr[data-trigger="partner merged"]')
        await expect(row).to_contain_text("merged", timeout=MS)
        listed = (await admin.call("GET", "/api/tickets/triggers"))["triggers"]
        assert [(t["name"], t["event"]) for t in listed] == [("partner merged", "merged")]
