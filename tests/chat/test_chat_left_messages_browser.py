"""In Chromium: a supervisor's page of messages left. A message left while the page is open
appears without a reload, with the ticket it became; the filters narrow the list; reading one
shows it whole (a visitor's markup stays text); marking it handled moves it out of the
unhandled list, live."""

from __future__ import annotations

from typing import Any

from chat_floor import PASSWORD, ChatFloor, chat_floor, site_channel
from playwright.async_api import Page, expect
from test_chat_left_messages import leave

from contactcenter.chat.settings import ChatHours

T = 15_000  # ms: only catches hangs


async def left_messages_page(browser: Any, floor: ChatFloor, username: str) -> Page:
    """The supervisors' page, reached from the live chats page, live."""
    await floor.add_user(username, None, role="supervisor")
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: url.endswith("/wallboard"))
    await page.goto(f"{floor.url}/live-chats")
    await page.click("#left-messages-link")
    await page.wait_for_url(lambda url: url.endswith("/left-messages"))
    await expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=T)
    return page


async def test_messages_left_arrive_live_are_read_and_handled(browser, tmp_path):
    channel = site_channel(hours=ChatHours(weekly={"mon-sun": "closed"}))
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        sue = await left_messages_page(browser, floor, "sue")
        await expect(sue.locator("#no-messages")).to_be_visible(timeout=T)
        visitor = floor.visitor()
        first = await leave(visitor, "<b>Call me</b> about my order")
        row = sue.locator(f"#left-messages tr[data-message='{first['id']}']")
        await expect(row).to_contain_text("Olga", timeout=T)
        await expect(row.locator(".m-text")).to_have_text("<b>Call me</b> about my order")
        await expect(row.locator(".ticket-link")).to_have_text("#1", timeout=T)
        second = await leave(visitor, "Invoice question", topic="billing")
        other = sue.locator(f"#left-messages tr[data-message='{second['id']}']")
        await expect(other).to_contain_text("billing", timeout=T)

        await sue.select_option("#f-queue", "billing")
        await expect(sue.locator("#left-messages tbody tr")).to_have_count(1, timeout=T)
        await expect(other).to_be_visible()
        await sue.select_option("#f-queue", "")
        await expect(sue.locator("#left-messages tbody tr")).to_have_count(2, timeout=T)
        # A day long past: nothing left then.
        await sue.fill("#f-to", "2001-01-01")
        await sue.locator("#f-to").dispatch_event("change")
        await expect(sue.locator("#no-messages")).to_be_visible(timeout=T)
        await sue.fill("#f-to", "")
        await sue.locator("#f-to").dispatch_event("change")
        await expect(sue.locator("#left-messages tbody tr")).to_have_count(2, timeout=T)

        await row.locator(".read").click()
        detail = sue.locator("#left-detail")
        await expect(detail).to_have_attribute("data-message", first["id"], timeout=T)
        await expect(sue.locator("#d-text")).to_have_text("<b>Call me</b> about my order")
        await expect(sue.locator("#d-answers")).to_contain_text("olga@example.com")
        await expect(sue.locator("#d-ticket a")).to_have_attribute("href", "/tickets?id=1")
        await sue.click("#d-done")
        await expect(detail).to_have_attribute("data-state", "done", timeout=T)
        await expect(sue.locator("#d-state")).to_have_text("handled by sue")
        await expect(row).to_have_count(0, timeout=T)  # out of the unhandled list
        await sue.select_option("#f-state", "done")
        await expect(row.locator(".m-state")).to_have_text("handled by sue", timeout=T)
        await expect(sue.locator("#left-messages tbody tr")).to_have_count(1)

        # Handled elsewhere (another supervisor, over the API): this page follows.
        await sue.select_option("#f-state", "open")
        await expect(other).to_be_visible(timeout=T)
        boss = await floor.agent("boss", None, login=False, role="supervisor")
        await boss.post(f"/api/chat/offline-messages/{second['id']}/done", {})
        await expect(other).to_have_count(0, timeout=T)
