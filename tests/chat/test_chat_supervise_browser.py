"""In Chromium: a supervisor watches a chat on /live-chats, sends a private note only the agent
sees (the visitor's page on another origin and its socket never get it; the backlog after a
reconnect is tested over the socket, test_chat_supervise.py), joins and talks to
the visitor; an agent invites a colleague in, then transfers the chat to that colleague, whose
card has the whole conversation."""

from __future__ import annotations

from typing import Any

from chat_floor import PASSWORD, ChatFloor
from playwright.async_api import Page, expect
from test_chat_browser import T, agent_page, open_and_start, stage, visitor_page


async def supervisor_page(browser: Any, floor: ChatFloor, username: str) -> Page:
    """The supervisors' live chats page, reached from the wallboard."""
    await floor.add_user(username, None, role="supervisor")
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: url.endswith("/wallboard"))
    await page.click("#live-chats-link")
    await page.wait_for_url(lambda url: url.endswith("/live-chats"))
    await expect(page.locator("#live-status")).to_have_text("live", timeout=T)
    return page


async def visitor_chatting(browser: Any, st: Any) -> tuple[Page, list[str], Page, Any, str]:
    """Vera on the shop's page chatting with Alice; every frame her socket got is kept."""
    floor = st.floor
    alice = await agent_page(browser, floor, "alice", "a1")
    visitor = await visitor_page(browser, st.site + "/")
    frames: list[str] = []
    visitor.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
        payload if isinstance(payload, str) else payload.decode())))
    await open_and_start(visitor, "Vera", "vera@example.com")
    await expect(visitor.locator("#cc-chat .input")).to_be_visible(timeout=T)
    (conv,) = [r for r, _ in await floor.chat.store.open_conversations()]
    card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
    await card.locator(".chat-accept").click(timeout=T)
    await expect(card).to_have_attribute("data-state", "active", timeout=T)
    return visitor, frames, alice, card, conv.id


async def test_a_private_note_is_for_the_agent_only_and_a_join_reaches_the_visitor(
        browser, tmp_path):
    async with stage(tmp_path) as st:
        visitor, frames, _alice, card, cid = await visitor_chatting(browser, st)
        log = visitor.locator("#cc-chat .log")
        sue = await supervisor_page(browser, st.floor, "sue")
        row = sue.locator(f"#live-chats tr[data-conversation='{cid}']")
        await expect(row).to_contain_text("Alice", timeout=T)
        await row.locator(".watch").click()
        watch = sue.locator("#watch-log")
        await expect(watch.locator(".chat-from-system")).to_have_text("Alice joined the chat.",
                                                                      timeout=T)
        await visitor.locator("#cc-chat .input").fill("Where is my parcel?")
        await visitor.locator("#cc-chat .send").click()
        await expect(watch.locator(".chat-from-visitor")).to_contain_text("Where is my parcel?",
                                                                          timeout=T)

        # The note: on Alice's card, marked as such; never on the visitor's side.
        await sue.fill("#note-text", "Offer the refund")
        await sue.click("#note-send")
        note = card.locator(".chat-from-note")
        await expect(note).to_contain_text("Offer the refund", timeout=T)
        await expect(note.locator(".chat-who")).to_have_text("Private note from sue")
        await expect(watch.locator(".chat-from-note")).to_have_count(1)
        await card.locator(".chat-input").fill("We can refund you")
        await card.locator(".chat-send").click()
        await expect(log.locator(".msg.agent")).to_contain_text("We can refund you", timeout=T)
        await expect(log).not_to_contain_text("Offer the refund")
        assert frames and not [f for f in frames if "Offer the refund" in f]
        # Join (barge): the visitor is told and reads the supervisor's words under her name.
        await sue.click("#join")
        await expect(log.locator(".msg.system").last).to_have_text("sue joined the chat.",
                                                                   timeout=T)
        await sue.fill("#say-text", "I am the supervisor")
        await sue.click("#say-send")
        said = log.locator(".msg.agent").last
        await expect(said).to_contain_text("I am the supervisor", timeout=T)
        await expect(said.locator(".who")).to_have_text("sue")
        theirs = card.locator(".chat-from-agent").last
        await expect(theirs.locator(".chat-who")).to_have_text("sue", timeout=T)
        audit = await st.floor.server.audit.list(action_prefix="chat.")
        assert {a.action for a in audit if a.actor == "sue"} == {
            "chat.watch", "chat.note", "chat.join"}


async def test_invite_a_colleague_then_transfer_the_chat_to_them(browser, tmp_path):
    async with stage(tmp_path) as st:
        visitor, _frames, alice, card, cid = await visitor_chatting(browser, st)
        log = visitor.locator("#cc-chat .log")
        await visitor.locator("#cc-chat .input").fill("I need Bob")
        await visitor.locator("#cc-chat .send").click()
        await expect(card.locator(".chat-from-visitor")).to_have_count(1, timeout=T)
        bob = await agent_page(browser, st.floor, "bob", "a2")
        await alice.reload()  # the colleagues logged in now
        await expect(card.locator(".chat-colleague option")).to_have_text(["Bob"], timeout=T)

        # Invite: Bob's card has the transcript; both talk; the visitor sees both names.
        # Each action is audited just before its answer, after the chat already shows it,
        # so the answer is awaited to check the audit's order below.
        async with alice.expect_response(lambda r: r.url.endswith("/invite")):
            await card.locator(".chat-invite").click()
        guest = bob.locator(f".chat-card[data-conversation='{cid}']")
        await expect(guest).to_have_attribute("data-state", "guest", timeout=T)
        await expect(guest.locator(".chat-from-visitor")).to_contain_text("I need Bob",
                                                                          timeout=T)
        await expect(log.locator(".msg.system").last).to_have_text("Bob joined the chat.",
                                                                   timeout=T)
        await guest.locator(".chat-input").fill("Bob here")
        await guest.locator(".chat-send").click()
        bobs = log.locator(".msg.agent").last
        await expect(bobs).to_contain_text("Bob here", timeout=T)
        await expect(bobs.locator(".who")).to_have_text("Bob")
        await expect(card.locator(".chat-from-agent .chat-who")).to_have_text("Bob", timeout=T)
        async with bob.expect_response(lambda r: r.url.endswith("/leave")):
            await guest.locator(".chat-leave").click()
        await expect(guest).to_have_count(0, timeout=T)
        await expect(log.locator(".msg.system").last).to_have_text("Bob left the chat.",
                                                                   timeout=T)

        # Transfer to Bob by name: Alice wraps up, Bob is offered the whole conversation.
        await card.locator(".chat-transfer-agent").click()
        await expect(card).to_have_attribute("data-state", "wrap-up", timeout=T)
        theirs = bob.locator(f".chat-card[data-conversation='{cid}']")
        await expect(theirs).to_have_attribute("data-state", "offered", timeout=T)
        await expect(theirs.locator(".chat-from-visitor")).to_contain_text("I need Bob",
                                                                           timeout=T)
        await expect(theirs.locator(".chat-from-agent")).to_contain_text("Bob here")
        await theirs.locator(".chat-accept").click()
        await expect(theirs).to_have_attribute("data-state", "active", timeout=T)
        await expect(log.locator(".msg.system").last).to_have_text("Bob joined the chat.",
                                                                   timeout=T)
        assert (await st.floor.chat.record(cid)).agent_id == "a2"
        audit = await st.floor.server.audit.list(action_prefix="chat.")
        assert [(a.action, a.actor) for a in reversed(audit)
                if a.action in ("chat.invite", "chat.leave", "chat.transfer")] == [
            ("chat.invite", "alice"), ("chat.leave", "bob"), ("chat.transfer", "alice")]
