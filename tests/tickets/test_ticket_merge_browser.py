"""Merge and split from the tickets page in a real browser: merge a ticket into another (its
messages show in the other, linked back), then split a ticked message off into a new ticket."""

from __future__ import annotations

from playwright.async_api import expect
from tickets_floor import T, logged_in_page, tickets_floor

MS = T * 1000  # Playwright counts milliseconds
NEW = {"text": "", "requester": {"phone": "+15550100", "name": "Zoe"}}


async def test_an_agent_merges_and_splits_tickets_from_the_page(tmp_path, browser):
    async with tickets_floor(tmp_path) as floor:
        boss = await floor.user("boss", None, "supervisor")
        await floor.user("alice", "a1")
        target = (await boss.call("POST", "/api/tickets", {
            **NEW, "subject": "Router broken", "text": "The router is dead."}))["id"]
        source = (await boss.call("POST", "/api/tickets", {
            **NEW, "subject": "Router again", "text": "Still no internet."}))["id"]
        await floor.settled()

        page = await logged_in_page(browser, floor, "alice", f"/tickets?id={source}")
        await expect(page.locator("#t-subject")).to_have_text("Router again", timeout=MS)

        await page.fill("#t-merge-into", str(target))
        await page.click("#t-merge")
        await expect(page.locator("#t-subject")).to_have_text("Router broken", timeout=MS)
        await expect(page.locator("#t-links")).to_contain_text(f"Merged from #{source}")
        bodies = page.locator("#thread pre.body")
        await expect(bodies).to_have_text(["The router is dead.", "Still no internet."])

        await page.locator("#thread li", has_text="Still no internet.").locator(
            ".split-pick").check()
        await page.click("#t-split")
        await expect(page.locator("#t-links")).to_contain_text(f"Split from #{target}",
                                                               timeout=MS)
        await expect(bodies).to_have_text(["Still no internet."])
        await page.click(f"#t-links a[data-ticket='{target}']")
        await expect(page.locator("#t-subject")).to_have_text("Router broken", timeout=MS)
        await expect(bodies).to_have_text(["The router is dead."])

        # The merged ticket is closed: its page offers no merge or split.
        await page.goto(f"{floor.url}/tickets?id={source}")
        await expect(page.locator("#t-links")).to_contain_text(f"Merged into #{target}",
                                                               timeout=MS)
        await expect(page.locator("#t-merge-tools")).to_be_hidden()
