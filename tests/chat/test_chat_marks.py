"""Delivered and read marks both ways: the widget says what it received and what the visitor
saw (the agent's card marks its messages), the agent's card says what the agent read (the
widget marks the visitor's messages). Over the socket for the protocol, in Chromium for both
pages."""

from __future__ import annotations

from chat_floor import chat_floor, site_channel
from playwright.async_api import expect
from test_chat_browser import T, agent_page, open_and_start, stage, visitor_page


async def test_marks_over_the_socket(tmp_path):
    async with chat_floor(tmp_path, channels=[site_channel(auto_accept=True)]) as floor:
        alice = await floor.agent("alice", "a1")
        await alice.listen()
        v = floor.visitor()
        await v.start()
        cid = v.conversation_id
        await v.connect()
        await v.active()
        sent = await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": "Hello"})
        seq = sent["message"]["seq"]
        await v.ws.send_json({"type": "seen", "delivered": seq})
        marks = await alice.next_event(lambda e: e["type"] == "chat-marks")
        assert (marks["delivered"], marks["read"]) == (seq, 0)
        await v.ws.send_json({"type": "seen", "delivered": seq, "read": seq + 50})  # capped
        marks = await alice.next_event(lambda e: e["type"] == "chat-marks")
        assert (marks["delivered"], marks["read"]) == (seq, seq)

        v2 = floor.visitor()
        v2.conversation_id, v2.token = cid, v.token
        await v2.connect()
        await v2.say("are you there?", client_id="q1")
        ack = await v2.frame(lambda f: f["type"] == "ack")
        await alice.post(f"/api/chat/conversations/{cid}/read", {"seq": ack["seq"]})
        assert (await v2.frame(lambda f: f["type"] == "read")) == {"type": "read",
                                                                  "seq": ack["seq"]}
        # A socket that comes back is told after its backlog.
        await v2.ws.close()
        await v2.connect(after=ack["seq"])
        assert (await v2.frame(lambda f: f["type"] == "read"))["seq"] == ack["seq"]
        (item,) = (await alice.get("/api/chat/conversations"))["conversations"]
        assert item["marks"] == {"delivered": seq, "read": seq, "agent_read": ack["seq"]}
        await alice.post(f"/api/chat/conversations/{cid}/read", {"seq": "x"}, expect=400)


async def test_marks_in_the_widget_and_the_card(browser, tmp_path):
    async with stage(tmp_path) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        visitor = await visitor_page(browser, st.site + "/")
        await open_and_start(visitor, "Vera", "vera@example.com")
        await expect(visitor.locator("#cc-chat .input")).to_be_visible(timeout=T)
        (conv,) = [r for r, _ in await st.floor.chat.store.open_conversations()]
        card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
        await card.locator(".chat-accept").click(timeout=T)
        await expect(card).to_have_attribute("data-state", "active", timeout=T)

        # The widget is open on a visible page: Alice's message is marked read on her card.
        await card.locator(".chat-input").fill("Hello Vera")
        await card.locator(".chat-send").click()
        line = card.locator(".chat-from-agent")
        await expect(line).to_have_attribute("data-mark", "read", timeout=T)
        await expect(line.locator(".chat-mark")).to_have_text("✓✓ read")

        # Closed panel: delivered, not read; opening it reads it.
        await visitor.click("#cc-chat .close")
        await card.locator(".chat-input").fill("Still there?")
        await card.locator(".chat-send").click()
        await expect(line.nth(1)).to_have_attribute("data-mark", "delivered", timeout=T)
        await visitor.click("#cc-chat .bubble")
        await expect(line.nth(1)).to_have_attribute("data-mark", "read", timeout=T)

        # The visitor writes; Alice clicks into the card: the widget marks it seen.
        await visitor.locator("#cc-chat .input").fill("Yes!")
        await visitor.locator("#cc-chat .send").click()
        mine = visitor.locator("#cc-chat .msg.visitor")
        await expect(card.locator(".chat-from-visitor")).to_have_count(1, timeout=T)
        await expect(mine).not_to_have_class("msg visitor read")
        await card.locator(".chat-log").click()
        await expect(mine).to_have_class("msg visitor read", timeout=T)
        await expect(mine.locator(".mark")).to_have_text("✓✓ seen")
