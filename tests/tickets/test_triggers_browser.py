"""The admin section of /tickets in Chromium: the rules in order, a new rule from JSON, enable
and disable, a dry run listing the tickets a rule matches (and writing nothing), the webhook
delivery log; an agent does not see the section."""

from __future__ import annotations

from playwright.async_api import expect
from tickets_floor import T, logged_in_page, tickets_floor
from triggers_receiver import Receiver

MS = T * 1000
NEW = {"subject": "Printer on fire", "text": "Smoke.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}
RULE = ('{"name": "printers", "event": "updated", "conditions": '
        '[{"field": "subject", "op": "contains", "value": "printer"}], '
        '"actions": [{"type": "add_tag", "value": "printer"}]}')


async def _login(browser, floor, username):
    page = await logged_in_page(browser, floor, username)
    return page


async def test_an_admin_manages_triggers_from_the_tickets_page(tmp_path, browser):
    receiver = Receiver([])
    await receiver.start()
    try:
        async with tickets_floor(tmp_path, acknowledge=False) as floor:
            admin = await floor.user("root", None, "admin")
            await floor.user("alice", "a1", login=False)
            await admin.call("POST", "/api/tickets/triggers", {
                "name": "hook", "event": "created", "actions": [
                    {"type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook",
                     "secret": "a secret for the page test"}]}, expect=201)
            number = (await admin.call("POST", "/api/tickets", NEW, expect=201))["id"]
            await receiver.next()

            page = await _login(browser, floor, "root")
            panel = page.locator("#triggers-panel")
            await expect(panel).to_be_visible(timeout=MS)
            await expect(page.locator("#tr-rules tbody tr")).to_have_count(1, timeout=MS)
            await expect(page.locator("#tr-deliveries tbody tr")).to_have_count(1, timeout=MS)
            row = page.locator("#tr-deliveries tbody tr").first
            await expect(row).to_contain_text("delivered")
            await expect(row).to_contain_text(f"#{number}")

            await page.fill("#tr-json", RULE)
            await page.click("#tr-try")
            await expect(page.locator("#tr-dry li")).to_have_count(1, timeout=MS)
            await expect(page.locator("#tr-dry li")).to_contain_text(
                'tags: [] → ["printer"]')
            await page.click("#tr-save")
            rule_row = page.locator('#tr-rules tr[data-trigger="printers"]')
            await expect(rule_row).to_have_count(1, timeout=MS)
            await rule_row.get_by_label("Enable printers").uncheck()
            await expect(page.locator("#tr-status")).to_have_text("printers disabled",
                                                                  timeout=MS)
            listed = (await admin.call("GET", "/api/tickets/triggers"))["triggers"]
            assert [(t["name"], t["enabled"]) for t in listed] == [
                ("hook", True), ("printers", False)]
            # The dry runs wrote nothing.
            shown = await admin.call("GET", f"/api/tickets/{number}")
            assert shown["ticket"]["tags"] == []

            await page.fill("#tr-json", '{"name": "bad", "event": "created", "actions": '
                                        '[{"type": "webhook", "url": "ftp://x.test/"}]}')
            await page.click("#tr-save")
            await expect(page.locator("#tr-status")).to_contain_text("Refused", timeout=MS)

            agent = await _login(browser, floor, "alice")
            await expect(agent.locator("#tickets")).to_be_visible(timeout=MS)
            await expect(agent.locator("#triggers-panel")).to_be_hidden()
    finally:
        await receiver.close()
