"""In Chromium: the widget on a shop's page whose Content-Security-Policy allows scripts,
connections and styles from the chat server's origin only, with no 'unsafe-inline' for styles
(chat/static/widget/loader.js, addStyles). The bubble and the panel are styled, the chat runs,
and the browser reports no policy violation."""

from __future__ import annotations

from playwright.async_api import expect
from test_chat_browser import T, agent_page, open_and_start, stage, visitor_page


def strict_policy(widget: str) -> dict[str, str]:
    ws = "ws" + widget.removeprefix("http")
    return {"Content-Security-Policy": (
        f"default-src 'none'; script-src {widget}; connect-src {widget} {ws}; "
        f"style-src {widget}; img-src {widget} data:")}


async def test_widget_is_styled_under_a_strict_site_policy(browser, tmp_path):
    async with stage(tmp_path, site_headers=strict_policy) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        visitor = await visitor_page(browser, st.site + "/")
        violations: list[str] = []
        visitor.on("console", lambda m: violations.append(m.text)
                   if "Content Security Policy" in m.text else None)
        bubble = visitor.locator("#cc-chat .bubble")
        await expect(bubble).to_be_visible(timeout=T)
        # Unstyled, the button would sit in the page's flow with its default size.
        assert await bubble.evaluate(
            "b => [getComputedStyle(b).position, b.getBoundingClientRect().width]"
        ) == ["fixed", 56]
        await open_and_start(visitor, "Vera", "vera@example.com")
        panel = visitor.locator("#cc-chat .panel")
        await expect(panel).to_be_visible(timeout=T)
        assert await panel.evaluate("p => getComputedStyle(p).position") == "fixed"
        card = alice.locator(".chat-card")
        await expect(card).to_have_count(1, timeout=T)
        await card.locator(".chat-accept").click()
        await expect(card).to_have_attribute("data-state", "active", timeout=T)
        await visitor.locator("#cc-chat .input").fill("hello under a strict policy")
        await visitor.locator("#cc-chat .send").click()
        await expect(card.locator(".chat-msg.chat-from-visitor")).to_contain_text(
            "hello under a strict policy", timeout=T)
        await expect(visitor.locator("#cc-chat .log .msg.visitor")).to_have_css(
            "align-self", "flex-end")
        assert violations == []
