"""Limits per visitor over real sockets: new chats per hour per visitor id (a 429 that says
when), messages per minute per visitor across their chats (an error frame naming the message
and when to send it again; sent again with its client_id it lands once), and in Chromium the
widget saying so and sending the refused message by itself."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_floor import T, Visitor, chat_floor
from playwright.async_api import expect
from test_chat_browser import agent_page, open_and_start, stage, visitor_page


async def said(v: Visitor, text: str, client_id: str) -> dict[str, Any]:
    """Send a message; the ack or the error frame that answers it."""
    await v.say(text, client_id=client_id)
    return await v.frame(lambda f: f["type"] == "ack" and f["client_id"] == client_id
                         or f["type"] == "error")


async def test_new_chats_per_hour_per_visitor_id(tmp_path):
    async with chat_floor(tmp_path, conversations_per_visitor_per_hour=2) as floor:
        v = floor.visitor()
        for _ in range(2):
            status, _ = await v.start(visitor_id="cust-1")
            assert status == 201
        async with v.http.post(f"{v.base}/conversations", json={
                "answers": {"name": "Vera", "email": "vera@example.com"},
                "visitor_id": "cust-1"}) as r:
            body = await r.json()
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
        assert body["retry_after"] >= 1 and "try again later" in body["error"]
        status, _ = await v.start(visitor_id="cust-2")  # another visitor, same address
        assert status == 201


async def test_messages_per_minute_per_visitor_and_the_refused_one_lands_once(tmp_path):
    # 10x: a clock minute is six real seconds: room for a loaded machine to send the first
    # frames within it, short enough for the test to wait for the window to pass.
    async with chat_floor(tmp_path, speed=10, messages_per_minute=2) as floor:
        v = floor.visitor()
        assert (await v.start(visitor_id="cust-1"))[0] == 201
        await v.connect()
        assert (await said(v, "one", "m1"))["seq"] == 1
        assert (await said(v, "two", "m2"))["seq"] == 2
        refused = await said(v, "three", "m3")
        assert refused["code"] == "rate-limited" and refused["client_id"] == "m3"
        assert 0 < refused["retry_after"] <= 6.0  # real seconds
        # The same visitor's other chat shares the budget.
        other = floor.visitor()
        assert (await other.start(visitor_id="cust-1"))[0] == 201
        await other.connect()
        assert (await said(other, "elsewhere", "o1"))["code"] == "rate-limited"
        # Sent again (as the widget does after retry_after) until taken: stored once.
        async with asyncio.timeout(T):
            while "seq" not in (answer := await said(v, "three", "m3")):
                await asyncio.sleep(answer["retry_after"])
        await said(v, "three", "m3")  # a late duplicate of the resend: the same message
        texts = [m.text for m in await floor.chat.transcript(v.conversation_id)]
        assert texts == ["one", "two", "three"]


async def test_the_widget_says_slow_down_and_sends_the_message_itself(browser, tmp_path):
    # 12x: the refused message waits under five real seconds, long enough to read the notice.
    async with stage(tmp_path, speed=12, messages_per_minute=1) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        visitor = await visitor_page(browser, st.site + "/")
        await open_and_start(visitor, "Vera", "vera@example.com")
        await expect(visitor.locator("#cc-chat .input")).to_be_visible(timeout=20_000)
        (conv,) = [r for r, _ in await st.floor.chat.store.open_conversations()]
        card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
        await card.locator(".chat-accept").click(timeout=20_000)
        await expect(card).to_have_attribute("data-state", "active", timeout=20_000)
        box = visitor.locator("#cc-chat .input")
        for text in ("first", "second"):
            await box.fill(text)
            await visitor.locator("#cc-chat .send").click()
        status = visitor.locator("#cc-chat .status")
        await expect(status).to_contain_text("You are sending messages quickly",
                                             timeout=20_000)
        await expect(visitor.locator("#cc-chat .msg.pending")).to_have_text("second")
        # It goes by itself once the minute (five real seconds) has passed; once.
        await expect(card.locator(".chat-from-visitor")).to_have_count(2, timeout=20_000)
        await expect(card.locator(".chat-from-visitor").last).to_contain_text("second")
        await expect(visitor.locator("#cc-chat .msg.pending")).to_have_count(0, timeout=20_000)
        texts = [m.text for m in await st.floor.chat.transcript(conv.id)]
        assert texts.count("second") == 1
