"""The tickets page's "New ticket" form in a real browser: it offers the type and one typed
input per custom field (required-on-solve ones marked), names what the page checks before
sending, sends the values with the ticket, and shows the server's refusal naming the field
(an option an admin withdrew while the form was open) without making a ticket."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect
from tickets_floor import T, logged_in_page, tickets_floor

MS = T * 1000
FIELDS: list[dict[str, Any]] = [
    {"key": "product", "label": "Product", "kind": "dropdown", "options": ["Widget", "Gadget"],
     "required_on_solve": True},
    {"key": "units", "label": "Units", "kind": "number"},
    {"key": "since", "label": "Broken since", "kind": "date"},
    {"key": "serial", "label": "Serial", "kind": "text"},
    {"key": "warranty", "label": "Under warranty", "kind": "checkbox"},
]


async def _login(browser, floor, username):
    page = await logged_in_page(browser, floor, username)
    await expect(page.locator("#who")).to_contain_text(username, timeout=MS)
    return page


async def test_a_ticket_is_created_with_its_fields_from_the_form(tmp_path, browser):
    async with tickets_floor(tmp_path) as floor:
        admin = await floor.user("root", None, "admin")
        boss = await floor.user("boss", None, "supervisor")
        await admin.call("PUT", "/api/tickets/fields/types", {"types": ["question", "incident"]})
        for f in FIELDS:
            await admin.call("POST", "/api/tickets/fields", f, expect=201)
        await admin.call("POST", "/api/tickets/triggers", {
            "name": "widgets tagged", "event": "created",
            "conditions": [{"field": "fields.product", "op": "is", "value": "Widget"}],
            "actions": [{"type": "add_tag", "value": "widget"}]}, expect=201)

        page = await _login(browser, floor, "boss")
        await page.click("#new-ticket summary")
        await expect(page.locator("#nf-units")).to_be_visible(timeout=MS)
        await expect(page.locator("#nf-units")).to_have_attribute("type", "number")
        await expect(page.locator("#nf-since")).to_have_attribute("type", "date")
        await expect(page.locator("#nf-warranty")).to_have_attribute("type", "checkbox")
        await expect(page.locator("#nt-fields label", has_text="Product *")).to_have_attribute(
            "title", "required before solving")
        await expect(page.locator("#nf-type option")).to_have_text(["—", "question", "incident"])

        # What the page checks itself is named before anything is sent.
        await page.fill("#nt-subject", "Printer on fire")
        await page.fill("#nt-text", "Smoke everywhere.")
        await page.click("#nt-create")
        await expect(page.locator("#nt-error")).to_contain_text(
            "the requester needs an email address or a phone", timeout=MS)

        await page.fill("#nt-email", "zoe@customer.test")
        await page.select_option("#nf-type", "incident")
        await page.select_option("#nf-product", "Widget")
        await page.fill("#nf-units", "12")
        await page.fill("#nf-since", "2026-12-01")
        await page.fill("#nf-serial", "SN-17")
        await page.check("#nf-warranty")
        # Meanwhile an admin withdraws "Widget": the server refuses, naming the field.
        await admin.call("PUT", "/api/tickets/fields/product",
                         {**FIELDS[0], "options": ["Gadget", "Gizmo"]}, expect=200)
        await page.click("#nt-create")
        await expect(page.locator("#nt-error")).to_contain_text(
            "field 'product' (dropdown) takes one of Gadget, Gizmo", timeout=MS)
        assert (await boss.call("GET", "/api/tickets?view=all"))["total"] == 0
        await admin.call("PUT", "/api/tickets/fields/product", FIELDS[0], expect=200)

        await page.click("#nt-create")
        link = page.locator("#nt-link")
        await expect(link).to_be_visible(timeout=MS)
        number = int((await link.text_content()).removeprefix("ticket #"))
        # The form is empty again; the new ticket is open with its type and values.
        await expect(page.locator("#nt-subject")).to_have_value("")
        await expect(page.locator("#t-number")).to_have_text(f"#{number}", timeout=MS)
        await expect(page.locator("#t-type")).to_have_value("incident", timeout=MS)
        await expect(page.locator("#tf-product")).to_have_value("Widget")
        await expect(page.locator("#tf-units")).to_have_value("12")
        await expect(page.locator("#tf-warranty")).to_be_checked()

        got = await boss.call("GET", f"/api/tickets/{number}/fields")
        assert got == {"type": "incident", "values": {
            "product": "Widget", "units": 12, "since": "2026-12-01", "serial": "SN-17",
            "warranty": True}}
        ticket = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]
        assert ticket["tags"] == ["widget"]  # its created trigger saw the field
        assert ticket["origin"] == "web"
