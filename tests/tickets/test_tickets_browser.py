"""The agent's tickets page in a real browser: a mail's ticket in the list, its thread, a
reply that sets it pending (and leaves by SMTP), an internal note."""

from __future__ import annotations

from playwright.async_api import expect
from test_email_flow import HTML_ONLY
from tickets_floor import T, logged_in_page, mail, tickets_floor

MS = T * 1000  # Playwright counts milliseconds


async def test_an_agent_reads_a_ticket_and_replies_from_the_page(tmp_path, browser):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        await floor.user("alice", "a1")  # logged in to the queue: the engine gives her tickets
        await floor.send_mail(mail("Broken login", "I cannot log in since Monday."))
        await floor.send_mail(HTML_ONLY, sender="html@customer.test")
        await floor.settled()

        page = await logged_in_page(browser, floor, "alice")
        rows = page.locator("#tickets tbody tr")
        await expect(rows).to_have_count(2, timeout=MS)

        await page.locator("#tickets tbody tr", has_text="Fancy").click()
        await expect(page.locator("#t-subject")).to_have_text("Fancy", timeout=MS)
        # The HTML mail shows as text; its markup only in a sandboxed frame, scripts gone.
        await expect(page.locator("#thread pre.body")).to_contain_text("Hello team")
        frame = page.locator("#thread iframe")
        assert await frame.get_attribute("sandbox") == ""
        assert "script" not in (await frame.get_attribute("srcdoc")).lower()

        await page.locator("#tickets tbody tr", has_text="Broken login").click()
        await expect(page.locator("#t-subject")).to_have_text("Broken login", timeout=MS)
        await expect(page.locator("#thread li.customer pre.body")).to_have_text(
            "I cannot log in since Monday.")
        await page.fill("#text", "Please try the reset link.")
        await page.select_option("#reply-status", "pending")
        await page.click("#send-reply")
        await expect(page.locator("#thread li.agent pre.body")).to_have_text(
            "Please try the reset link.", timeout=MS)
        await expect(page.locator("#t-status")).to_have_value("pending")
        envelope, sent = await floor.relay.next()
        assert envelope.rcpt_tos == ["ann@customer.test"]
        assert "Please try the reset link." in sent.get_content()

        await page.fill("#text", "Customer is on the old app version.")
        await page.click("#add-note")
        await expect(page.locator("#thread li.internal pre.body")).to_have_text(
            "Customer is on the old app version.", timeout=MS)
        assert floor.relay.mails.empty()  # a note never leaves
