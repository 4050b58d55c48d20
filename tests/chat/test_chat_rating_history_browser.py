"""In Chromium: a past chat's rating on the customer page (panel/static/customer.js). Vera, a
known customer by her email, had two chats: Alice's, which she rated 4/5 with a comment, and
Bob's, which she left unrated. A supervisor sees the score and the comment (as text, never
HTML) on Alice's chat and nothing on Bob's; Bob, who may open the page for his own chat, does
not see the rating of Alice's (the rating's own rule: staff, or the chat's agent)."""

from __future__ import annotations

from typing import Any

from chat_floor import PASSWORD, ChatFloor, Visitor, chat_floor
from playwright.async_api import Page, expect

from contactcenter.storage.tables import CustomerRow

T = 20_000  # ms: only catches hangs


async def _ended_chat(floor: ChatFloor, agent: Any) -> Visitor:
    """Vera's chat, taken by ``agent`` (the only one available) and closed by them while her
    widget is connected, so the rating is offered."""
    v = floor.visitor()
    status, _ = await v.start()
    assert status == 201
    await v.connect()
    await agent.post(f"/api/chat/conversations/{v.conversation_id}/accept", {})
    await v.active()
    await agent.post(f"/api/chat/conversations/{v.conversation_id}/close", {})
    await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
    assert any(f["type"] == "rating" for f in v.frames)
    return v


async def _customer_page(browser: Any, floor: ChatFloor, username: str,
                         customer_id: int) -> Page:
    """``username`` logged in, on the customer's page."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: not url.endswith("/login"))  # their home page
    await page.goto(f"{floor.url}/customers/{customer_id}")
    await expect(page.locator("#c-name")).to_have_text("Vera", timeout=T)
    return page


async def test_the_customer_page_shows_a_past_chats_rating(browser, tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        bob = await floor.agent("bob", "a2", login=False)
        await floor.add_user("sue", None, role="supervisor")
        async with floor.server.db.session() as s, s.begin():
            customer = CustomerRow(phone="5550100", name="Vera", email="vera@example.com")
            s.add(customer)
            await s.flush()
            customer_id = int(customer.id)

        rated = await _ended_chat(floor, alice)
        async with rated.http.post(f"{rated.base}/rating", json={
                "conversation_id": rated.conversation_id, "token": rated.token, "rating": 4,
                "comment": "Helpful <b>and</b> quick"}) as r:
            assert r.status == 201, await r.text()
        await bob.post("/api/agents/a2/login", {})  # Alice is in wrap-up: the next is Bob's
        unrated = await _ended_chat(floor, bob)

        sue = await _customer_page(browser, floor, "sue", customer_id)
        first = sue.locator(f'#c-chats li[data-conversation="{rated.conversation_id}"]')
        second = sue.locator(f'#c-chats li[data-conversation="{unrated.conversation_id}"]')
        await expect(first).to_have_attribute("data-rating", "4", timeout=T)
        shown = first.locator(".chat-rating")
        await expect(shown).to_have_text(
            "— visitor's rating: 4/5 Helpful <b>and</b> quick", use_inner_text=True)
        await expect(shown.locator("q")).to_have_text("Helpful <b>and</b> quick")
        assert await first.locator("b").count() == 0  # the comment stayed text
        await expect(second).to_have_attribute("data-rating", "none", timeout=T)
        await expect(second.locator(".chat-rating")).to_have_count(0)

        # Bob opens the page for his own chat; Alice's rating is not his to see.
        page = await _customer_page(browser, floor, "bob", customer_id)
        first = page.locator(f'#c-chats li[data-conversation="{rated.conversation_id}"]')
        await expect(first).to_have_attribute("data-rating", "none", timeout=T)
        await expect(first.locator(".chat-rating")).to_have_count(0)
