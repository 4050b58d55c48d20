"""Transfer of a chat to another queue, through the queue engine as a voice transfer: the
visitor is told and waits again, the next agent gets the whole transcript (the colleague's
messages under the colleague's name), the first agent wraps up. In Chromium for the card's
button; over the API for the refusals."""

from __future__ import annotations

from chat_floor import chat_floor
from playwright.async_api import expect
from test_chat_browser import T, agent_page, stage


async def test_the_card_transfers_a_chat_and_the_transcript_follows(browser, tmp_path):
    async with stage(tmp_path) as st:
        floor = st.floor
        bob = await agent_page(browser, floor, "bob", "a2")  # web only
        v = floor.visitor(origin=st.site)
        await v.start({"name": "Vera", "email": "vera@example.com"})
        cid = v.conversation_id
        await v.connect()
        card = bob.locator(f".chat-card[data-conversation='{cid}']")
        await card.locator(".chat-accept").click(timeout=T)
        await expect(card).to_have_attribute("data-state", "active", timeout=T)
        await v.say("I was charged twice")
        await expect(card.locator(".chat-from-visitor")).to_have_count(1, timeout=T)
        await card.locator(".chat-input").fill("Passing you to billing")
        await card.locator(".chat-send").click()
        await expect(card.locator(".chat-from-agent")).to_have_count(1, timeout=T)
        alice = await agent_page(browser, floor, "alice", "a1")  # web and billing, free

        # Transfer to billing: the card turns to wrap-up, Alice is offered the chat.
        await expect(card.locator(".chat-transfer-queue option")).to_have_text(["billing"])
        await card.locator(".chat-transfer").click()
        await expect(card).to_have_attribute("data-state", "wrap-up", timeout=T)
        await expect(card.locator(".chat-close")).to_have_text("Done")
        await expect(card.locator(".chat-reply")).to_be_hidden()
        theirs = alice.locator(f".chat-card[data-conversation='{cid}']")
        await expect(theirs).to_have_attribute("data-state", "offered", timeout=T)
        told = await v.frame(lambda f: f["type"] == "message" and f["from"] == "system"
                             and "transferred" in f["text"])
        assert told["text"] == ("Bob transferred the chat; the next agent will be with you "
                                "shortly.")

        # Alice's card has the whole transcript, Bob's message under his name.
        (item,) = await floor.chat.agent_conversations("a1")
        assert item["conversation"]["queue"] == "billing"
        assert [(m["from"], m["text"]) for m in item["messages"]] == [
            ("system", "Bob joined the chat."), ("visitor", "I was charged twice"),
            ("agent", "Passing you to billing"), ("system", told["text"])]
        await expect(theirs.locator(".chat-msg")).to_have_count(4, timeout=T)
        await expect(theirs.locator(".chat-from-agent .chat-who")).to_have_text("Bob")
        await expect(theirs.locator(".chat-from-visitor")).to_contain_text("I was charged twice")
        await theirs.locator(".chat-accept").click()
        joined = await v.frame(lambda f: f["type"] == "message" and f["from"] == "system"
                               and f["text"] == "Alice joined the chat.")
        assert joined["seq"] == told["seq"] + 1
        await theirs.locator(".chat-input").fill("Hi, Alice here")
        await theirs.locator(".chat-send").click()
        await expect(theirs.locator(".chat-from-agent .chat-who")).to_have_text(["Bob", "You"],
                                                                             timeout=T)
        got = await v.frame(lambda f: f["type"] == "message" and f["from"] == "agent")
        assert (got["name"], got["text"]) == ("Alice", "Hi, Alice here")

        # Bob ends his wrap-up with a disposition; the chat goes on with Alice.
        await card.locator(".chat-disposition").select_option("escalated")
        await card.locator(".chat-close").click()
        await expect(card).to_have_count(0, timeout=T)
        await expect(bob.locator("#state")).to_have_text("available", timeout=T)
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(interaction_id=cid)
        assert [(r["kind"], r.get("disposition")) for r in rows
                if r["kind"] in ("transfer", "wrapup-done")] == [("transfer", None),
                                                                 ("wrapup-done", "escalated")]
        assert (await floor.chat.record(cid)).agent_id == "a1"
        audit = await floor.server.audit.list(action_prefix="chat.transfer")
        assert [(a.action, a.outcome, a.target) for a in audit] == [("chat.transfer", "ok", cid)]


async def test_transfers_that_cannot_be_are_refused(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        bob = await floor.agent("bob", "a2")
        v = floor.visitor()
        await v.start()
        cid = v.conversation_id
        holder = alice if floor.chat._live[cid].record.agent_id == "a1" else bob
        other = bob if holder is alice else alice
        path = f"/api/chat/conversations/{cid}"
        refused = await holder.post(f"{path}/transfer", {"queue": "billing"}, expect=409)
        assert refused["error"] == "the conversation is offered, not active"
        await holder.post(f"{path}/accept", {})
        await other.post(f"{path}/transfer", {"queue": "billing"}, expect=403)
        await holder.post(f"{path}/transfer", {"queue": "nowhere"}, expect=400)
        same = await holder.post(f"{path}/transfer", {"queue": "web"}, expect=409)
        assert same["error"] == "the chat is already in web"
        await holder.post(f"{path}/transfer", {"queue": "billing"}, expect=200)
        assert floor.server.routing.queue_of(cid) == "billing"
