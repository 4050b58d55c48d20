"""In Chromium: a visitor waiting on a shop's page of another origin is offered "leave a
message" after the channel's ``leave_message_after_s``, leaves one instead of waiting, and a
supervisor finds it as a ticket on /tickets."""

from __future__ import annotations

from chat_floor import PASSWORD
from playwright.async_api import expect
from test_chat_browser import T, open_and_start, stage, visitor_page


async def test_a_long_wait_turns_into_a_message_and_a_ticket(browser, tmp_path):
    async with stage(tmp_path, channel={"leave_message_after_s": 60}, speed=60.0) as st:
        floor = st.floor  # nobody logged in: the chat waits
        visitor = await visitor_page(browser, st.site + "/")
        await open_and_start(visitor, "Vera", "vera@example.com")
        widget = visitor.locator("#cc-chat")
        offer = widget.locator(".wait-offer[role=status]")
        await expect(offer).to_contain_text("You may keep waiting or leave us a message",
                                            timeout=T)
        await offer.locator("button.leave-instead").click()
        await expect(widget.locator(".head h2")).to_have_text("Leave us a message", timeout=T)
        await expect(widget.locator("#cc-f-name")).to_have_count(0)  # the server has answers
        await visitor.fill("#cc-chat #cc-f-cc_message", "Please call me about order 42")
        await visitor.click("#cc-chat button.leave")
        await expect(widget.locator(".offline-thanks")).to_have_text(
            "Thank you, we have your message and will get back to you.", timeout=T)
        (msg,) = await floor.chat.offline.listing(None, False)
        assert msg.reason == "waited" and msg.visitor_name == "Vera"
        assert await floor.chat.store.open_conversations() == []  # the wait ended with it

        await floor.add_user("sue", None, role="supervisor")
        page = await (await browser.new_context()).new_page()
        await page.goto(f"{floor.url}/login")
        await page.fill("#username", "sue")
        await page.fill("#password", PASSWORD)
        await page.click("#login-submit")
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.goto(f"{floor.url}/tickets")
        row = page.locator("#tickets tbody tr", has_text="Chat message from Vera")
        await expect(row).to_have_count(1, timeout=T)
        await row.click()
        await expect(page.locator("#t-subject")).to_have_text("Chat message from Vera",
                                                              timeout=T)
        await expect(page.locator("#thread li.customer pre.body")).to_contain_text(
            "Please call me about order 42")
        await expect(page.locator("#t-calls li[data-kind=chat]")).to_contain_text(
            f"Chat message ({msg.id})")
