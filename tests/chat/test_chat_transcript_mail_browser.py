"""In Chromium: the visitor on a shop's page of another origin ends the chat and asks for the
transcript by email; the form has the pre-chat address, a wrong one is refused in place, and
the mail reaches a real SMTP relay on loopback."""

from __future__ import annotations

from chat_floor import free_port, site_channel, site_page, site_server
from playwright.async_api import expect
from test_chat_browser import open_and_start, visitor_page
from test_chat_transcript_mail import mailing_floor

T = 20_000  # ms: only catches hangs


async def test_the_visitor_gets_the_transcript_by_email(browser, tmp_path):
    site_port = free_port()
    site = f"http://127.0.0.1:{site_port}"
    channels = [site_channel(allowed_origins=[site])]
    async with mailing_floor(tmp_path, channels=channels) as (floor, relay), \
            site_server(site_port, site_page(floor.url)):
        alice = await floor.agent("alice", "a1")
        visitor = await visitor_page(browser, site + "/")
        await open_and_start(visitor, "Vera", "vera@example.com")
        widget = visitor.locator("#cc-chat")
        await expect(widget.locator(".input")).to_be_visible(timeout=T)
        (conv,) = [r for r, _ in await floor.chat.store.open_conversations()]
        await alice.post(f"/api/chat/conversations/{conv.id}/accept", {})
        await expect(widget.locator(".msg.system")).to_have_text("Alice joined the chat.",
                                                                 timeout=T)
        await widget.locator(".input").fill("Is it <b>shipped</b>?")
        await widget.locator(".send").click()
        await expect(widget.locator(".msg.visitor")).to_have_count(1, timeout=T)
        await alice.post(f"/api/chat/conversations/{conv.id}/messages", {"text": "Yes, today."})
        await expect(widget.locator(".msg.agent")).to_contain_text("Yes, today.", timeout=T)

        await widget.locator(".end").click()
        form = widget.locator("form.transcript")
        await expect(form).to_be_visible(timeout=T)
        email = form.get_by_label("Email address")
        await expect(email).to_have_value("vera@example.com")
        await email.fill("not an address")
        await form.get_by_role("button", name="Send transcript").click()
        await expect(form.locator(".err")).to_have_text("please enter a valid email address",
                                                        timeout=T)
        await expect(email).to_have_attribute("aria-invalid", "true")
        await email.fill("vera@example.com")
        await form.get_by_role("button", name="Send transcript").click()
        await expect(widget.locator(".transcript .sent")).to_have_text(
            "The transcript is on its way to vera@example.com.", timeout=T)
        envelope, mail = await relay.next()
        assert envelope.rcpt_tos == ["vera@example.com"]
        text = mail.get_content()
        assert "Vera: Is it <b>shipped</b>?" in text and "Alice: Yes, today." in text
