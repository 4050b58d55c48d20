"""Types and custom fields on the tickets page in a real browser: an admin defines them in the
admin section, an agent sets them on a ticket (a refused solve names the missing field), the
history shows each change and the list filters by a field's value."""

from __future__ import annotations

from playwright.async_api import expect
from tickets_floor import T, logged_in_page, tickets_floor

MS = T * 1000
NEW = {"subject": "Printer on fire", "text": "Smoke everywhere.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}


async def _login(browser, floor, username):
    page = await logged_in_page(browser, floor, username)
    await expect(page.locator("#who")).to_contain_text(username, timeout=MS)
    return page


async def test_an_admin_defines_fields_and_an_agent_fills_them(tmp_path, browser):
    async with tickets_floor(tmp_path) as floor:
        await floor.user("root", None, "admin")
        alice = await floor.user("alice", "a1")
        number = (await alice.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await alice.call("POST", "/api/tickets", {**NEW, "subject": "Paper jam"}, expect=201)
        await floor.settled()

        admin = await _login(browser, floor, "root")
        await expect(admin.locator("#fields-panel")).to_be_visible(timeout=MS)
        await admin.fill("#fd-types", "question, incident")
        await admin.click("#fd-types-save")
        await expect(admin.locator("#fd-status")).to_have_text("Types saved", timeout=MS)
        await admin.fill("#fd-key", "product")
        await admin.fill("#fd-label", "Product")
        await admin.select_option("#fd-kind", "dropdown")
        await admin.fill("#fd-options", "Widget, Gadget")
        await admin.check("#fd-required")
        await admin.click("#fd-add")
        await expect(admin.locator("#fd-fields tbody tr")).to_have_count(1, timeout=MS)
        await admin.fill("#fd-key", "Bad key")
        await admin.click("#fd-add")
        await expect(admin.locator("#fd-status")).to_contain_text("Refused", timeout=MS)

        page = await _login(browser, floor, "alice")
        await expect(page.locator("#tickets tbody tr")).to_have_count(2, timeout=MS)
        await page.locator("#tickets tbody tr", has_text="Printer on fire").click()
        await expect(page.locator("#t-fields")).to_be_visible(timeout=MS)
        # Solving without the required product is refused, naming it.
        await page.select_option("#t-status", "solved")
        await page.click("#t-save")
        await expect(page.locator("#t-error")).to_contain_text("Product", timeout=MS)

        await page.select_option("#t-type", "incident")
        await page.select_option("#tf-product", "Widget")
        await page.click("#t-fields-save")
        await expect(page.locator("#t-fields-status")).to_have_text("Saved.", timeout=MS)
        await expect(page.locator("#history")).to_contain_text('field:product null → "Widget"')
        await expect(page.locator("#tf-product")).to_have_value("Widget")

        # The list filters by the field's value.
        await page.select_option("#f-field", "product")
        await page.fill("#f-value", "Widget")
        await page.press("#f-value", "Enter")
        await expect(page.locator("#tickets tbody tr")).to_have_count(1, timeout=MS)
        await expect(page.locator("#tickets tbody tr")).to_contain_text(f"#{number}")

        # Solved with a reply (a live reload of the ticket leaves the reply box as it is).
        await page.fill("#text", "Replaced the widget.")
        await page.select_option("#reply-status", "solved")
        await page.click("#send-reply")
        await expect(page.locator("#t-status")).to_have_value("solved", timeout=MS)
