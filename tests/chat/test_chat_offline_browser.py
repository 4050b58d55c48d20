"""In Chromium: the widget on a shop's page of another origin turns into "leave a message"
outside the channel's hours, or when the last agent logs out between opening the form and
starting; the message left shows on the agent's page, which marks it done."""

from __future__ import annotations

from playwright.async_api import expect
from test_chat_browser import T, agent_page, stage, visitor_page

from contactcenter.chat.settings import ChatHours


async def test_outside_hours_the_widget_takes_a_message_at_once(browser, tmp_path):
    hours = ChatHours(timezone="Europe/Paris", weekly={"mon-sun": "closed"})
    async with stage(tmp_path, channel={"hours": hours}) as st:
        visitor = await visitor_page(browser, st.site + "/")
        await visitor.click("#cc-chat .bubble")
        widget = visitor.locator("#cc-chat")
        await expect(widget.locator(".head h2")).to_have_text("Leave us a message", timeout=T)
        await expect(widget.locator(".offline-intro")).to_contain_text("not available right now")
        await expect(widget.locator("button.start")).to_have_count(0)
        await visitor.fill("#cc-chat #cc-f-name", "Olga")
        await visitor.fill("#cc-chat #cc-f-email", "olga@example.com")
        await visitor.click("#cc-chat button.leave")  # no message yet: refused in the form
        await expect(widget.locator("#cc-f-cc_message-err")).to_have_text(
            "This field is required.", timeout=T)
        await expect(widget.locator("#cc-f-cc_message")).to_have_attribute("aria-invalid", "true")
        await visitor.fill("#cc-chat #cc-f-cc_message", "Call me back please")
        await visitor.click("#cc-chat button.leave")
        thanks = widget.locator(".offline-thanks[role=status]")
        await expect(thanks).to_have_text(
            "Thank you, we have your message and will get back to you.", timeout=T)
        (msg,) = await st.floor.chat.offline.listing(None, False)
        assert (msg.visitor_name, msg.text, msg.reason) == ("Olga", "Call me back please",
                                                            "closed")
        assert msg.page == st.site + "/"
        assert await st.floor.chat.store.open_conversations() == []


async def test_the_last_agent_leaves_the_visitor_leaves_a_message_the_agent_sees_it(
        browser, tmp_path):
    async with stage(tmp_path, channel={"offline_when_nobody_logged_in": True}) as st:
        floor = st.floor
        bob = await floor.agent("bob", "a2")  # logged in: the widget loads as available
        visitor = await visitor_page(browser, st.site + "/")
        await visitor.click("#cc-chat .bubble")
        widget = visitor.locator("#cc-chat")
        await visitor.fill("#cc-chat #cc-f-name", "Vera")
        await visitor.fill("#cc-chat #cc-f-email", "vera@example.com")
        await bob.post("/api/agents/a2/logout", {})  # meanwhile the last agent goes
        await visitor.click("#cc-chat button.start")
        # The start is refused as offline: the same form, now for a message, answers kept.
        await expect(widget.locator(".head h2")).to_have_text("Leave us a message", timeout=T)
        await expect(widget.locator("#cc-f-name")).to_have_value("Vera")
        evil = "<b>urgent</b> please call"
        await visitor.fill("#cc-chat #cc-f-cc_message", evil)
        await visitor.click("#cc-chat button.leave")
        await expect(widget.locator(".offline-thanks")).to_be_visible(timeout=T)
        assert await floor.chat.store.open_conversations() == []

        # Alice opens her page: the message is listed for her queue, as text; she marks it done.
        alice = await agent_page(browser, floor, "alice", "a1")
        item = alice.locator("#chat-messages .chat-message-left")
        await expect(item).to_have_count(1, timeout=T)
        await expect(item.locator(".chat-message-name")).to_have_text("Vera")
        await expect(item.locator(".chat-message-text")).to_have_text(evil)
        await expect(item.locator("dd").first).to_have_text("Vera")
        assert await item.locator(".chat-message-text b").count() == 0
        await item.locator(".chat-message-done").click()
        await expect(item).to_have_count(0, timeout=T)
        await expect(alice.locator("#chat-messages")).to_be_hidden()
        assert await floor.chat.offline.listing(None, False) == []
        (done,) = await floor.chat.offline.listing(None, True)
        assert (done.reason, done.done_by) == ("nobody", "alice")

        # A new message while Alice's page is open shows up live.
        second = floor.visitor(origin=st.site)
        async with second.http.post(f"{second.base}/messages", json={
                "answers": {"name": "Max", "email": "max@example.com"},
                "message": "Another one"}) as r:
            assert r.status == 201
        await expect(item).to_have_count(1, timeout=T)
        await expect(item.locator(".chat-message-text")).to_have_text("Another one")
