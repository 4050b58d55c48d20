"""Agent assist in a real Chromium against the real server: during a chat the agent panel
suggests the article from the visitor's words, "Insert link" (from the keyboard) puts it in
the reply box, the agent sends it and the visitor's socket receives it; the agent opens the
article and marks it helpful."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chat"))

from chat_floor import PASSWORD, chat_floor
from playwright.async_api import Page, expect

from contactcenter.kb.model import NewArticle, State

T = 20_000  # ms: generous, only catches hangs


async def _agent_page(browser: Any, floor: Any, username: str, agent_id: str) -> Page:
    await floor.add_user(username, agent_id)
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: url.endswith("/agent"))
    await expect(page.locator("#live-status")).to_have_text("live", timeout=T)
    await page.click("#queues-login")
    await expect(page.locator("#state")).to_have_text("available", timeout=T)
    return page


async def test_the_panel_suggests_an_article_during_a_chat_and_inserts_it(tmp_path, browser):
    async with chat_floor(tmp_path) as floor:
        kb = floor.server.kb.service
        wanted = await kb.create("sup", NewArticle(
            "en", "Router lights blinking red",
            "A **red light** means the line is down: restart the router.",
            state=State.PUBLISHED))
        await kb.create("sup", NewArticle("en", "Refund policy", "Refunds take five days.",
                                          state=State.PUBLISHED))
        alice = await _agent_page(browser, floor, "alice", "a1")
        errors: list[str] = []
        alice.on("pageerror", lambda e: errors.append(str(e)))

        visitor = floor.visitor()
        status, _body = await visitor.start()
        assert status == 201
        await visitor.connect()
        card = alice.locator(f".chat-card[data-conversation='{visitor.conversation_id}']")
        await card.locator(".chat-accept").click(timeout=T)
        await expect(card).to_have_attribute("data-state", "active", timeout=T)

        await visitor.say("Hello, the router has a red light blinking since this morning")
        item = card.locator(f".kb-assist-item[data-article='{wanted.id}']")
        await expect(item).to_be_visible(timeout=T)
        await expect(card.locator(".kb-assist-item")).to_have_count(1)

        # Open it: the server's sanitized HTML.
        await item.locator(".kb-assist-open").click()
        await expect(item.locator(".kb-assist-body strong")).to_have_text("red light",
                                                                        timeout=T)
        # Insert the link from the keyboard, then send it.
        await item.locator(".kb-assist-link").focus()
        await alice.keyboard.press("Enter")
        link = f"{floor.url}/help/en/router-lights-blinking-red"
        reply = card.locator(".chat-input")
        await expect(reply).to_have_value(f"Router lights blinking red: {link}", timeout=T)
        await expect(reply).to_be_focused()
        await alice.keyboard.press("Enter")
        got = await visitor.frame(lambda f: f["type"] == "message" and f["from"] == "agent")
        assert got["text"] == f"Router lights blinking red: {link}"
        await expect(reply).to_have_value("", timeout=T)

        # Insert the text (no markup), and mark the article helpful.
        await item.locator(".kb-assist-text").click()
        await expect(reply).to_have_value(
            "A red light means the line is down: restart the router.", timeout=T)
        await item.locator(".kb-assist-yes").click()
        await expect(item).to_have_attribute("data-voted", "helpful", timeout=T)
        counts = await kb.feedback_counts(wanted.id)
        assert (counts.helpful, counts.not_helpful) == (1, 0)
        assert errors == []


async def _logged_in(browser: Any, floor: Any, username: str, role: str) -> Page:
    await floor.add_user(username, None, role)
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


async def test_the_admin_console_and_the_wallboard_link_to_the_knowledge_base(tmp_path,
                                                                             browser):
    async with chat_floor(tmp_path) as floor:
        for username, role, start in (("root", "admin", "/admin"),
                                      ("sue", "supervisor", "/wallboard")):
            page = await _logged_in(browser, floor, username, role)
            await page.goto(f"{floor.url}{start}")
            await page.click("#kb-link")
            await page.wait_for_url(lambda url: url.endswith("/kb"), timeout=T)
            await expect(page.locator("#who")).to_have_text(f"{username} ({role})", timeout=T)
