"""Canned replies: supervisors manage them over the API (per queue or global, shortcuts,
placeholders checked), an agent gets its chat's replies filled in for that visitor, and in
Chromium typing ``/greet`` in the chat card inserts the reply."""

from __future__ import annotations

from chat_floor import chat_floor, site_channel
from playwright.async_api import expect
from test_chat_browser import T, agent_page, stage

GREET = "Hello {visitor_name}, this is {agent_name} from {queue}."


async def test_supervisors_manage_replies_and_agents_get_them_filled_in(tmp_path):
    async with chat_floor(tmp_path, channels=[site_channel(auto_accept=True)]) as floor:
        boss = await floor.agent("boss", "a2", login=False, role="supervisor")
        alice = await floor.agent("alice", "a1")

        created = await boss.post("/api/chat/canned-replies",
                                  {"shortcut": "greet", "text": "Hi {visitor_name}!"}, expect=201)
        own = await boss.post("/api/chat/canned-replies",
                              {"queue": "web", "shortcut": "/greet", "text": GREET}, expect=201)
        assert own["reply"]["shortcut"] == "greet"  # the slash is the agent's, not the name's
        await boss.post("/api/chat/canned-replies",
                        {"queue": "billing", "shortcut": "refund", "text": "Refunds: 5 days."},
                        expect=201)
        bye = await boss.post("/api/chat/canned-replies",
                              {"shortcut": "bye", "text": "Goodbye {visitor_name}"}, expect=201)

        # Refused: a taken shortcut in the same queue, an unknown placeholder or queue, agents.
        taken = await boss.post("/api/chat/canned-replies",
                                {"queue": "web", "shortcut": "greet", "text": "x"}, expect=409)
        assert taken["error"] == "/greet is taken in that queue"
        bad = await boss.post("/api/chat/canned-replies",
                              {"queue": "nowhere", "shortcut": "Bad one!", "text": "Hi {name}"},
                              expect=422)
        assert set(bad["errors"]) == {"queue", "shortcut", "text"}
        assert "unknown placeholder(s) {name}" in bad["errors"]["text"]
        await alice.post("/api/chat/canned-replies", {"shortcut": "mine", "text": "x"},
                         expect=403)

        v = floor.visitor()
        await v.start({"name": "Vera", "email": "vera@example.com"})
        await v.connect()
        await v.active()
        got = (await alice.get(f"/api/chat/conversations/{v.conversation_id}/canned"))["replies"]
        # The queue's own /greet wins over the global one; billing's /refund is not here.
        assert got == [{"shortcut": "bye", "text": "Goodbye Vera"},
                       {"shortcut": "greet", "text": "Hello Vera, this is Alice from web."}]

        async with alice.http.put(
                f"{floor.url}/api/chat/canned-replies/{bye['reply']['id']}",
                json={"shortcut": "bye", "text": "Bye {visitor_name}, take care"},
                headers={"X-CSRF-Token": alice.csrf}) as r:
            assert r.status == 403
        async with boss.http.put(
                f"{floor.url}/api/chat/canned-replies/{bye['reply']['id']}",
                json={"shortcut": "bye", "text": "Bye {visitor_name}, take care"},
                headers={"X-CSRF-Token": boss.csrf}) as r:
            assert r.status == 200
        async with boss.http.delete(
                f"{floor.url}/api/chat/canned-replies/{created['reply']['id']}",
                headers={"X-CSRF-Token": boss.csrf}) as r:
            assert r.status == 200
        listed = (await boss.get("/api/chat/canned-replies"))["replies"]
        assert [(r["queue"], r["shortcut"], r["text"]) for r in listed] == [
            (None, "bye", "Bye {visitor_name}, take care"),
            ("billing", "refund", "Refunds: 5 days."), ("web", "greet", GREET)]
        audit = await floor.server.audit.list(action_prefix="chat.canned")
        assert sorted((a.action, a.outcome) for a in audit) == sorted(
            [("chat.canned.create", "ok")] * 4 + [("chat.canned.create", "refused"),
                                                  ("chat.canned.update", "ok"),
                                                  ("chat.canned.delete", "ok")])

        # Another agent's chat: not mine.
        async with boss.http.get(
                f"{floor.url}/api/chat/conversations/{v.conversation_id}/canned") as r:
            assert r.status == 403  # the supervisor's user is linked to a2, not to Alice's a1


async def test_typing_a_shortcut_in_the_chat_card_inserts_the_reply(browser, tmp_path):
    async with stage(tmp_path, channel={"auto_accept": True}) as st:
        floor = st.floor
        boss = await floor.agent("boss", "a2", login=False, role="supervisor")
        await boss.post("/api/chat/canned-replies", {"queue": "web", "shortcut": "greet",
                                                     "text": GREET}, expect=201)
        await boss.post("/api/chat/canned-replies", {"shortcut": "great", "text": "Great!"},
                        expect=201)
        alice = await agent_page(browser, floor, "alice", "a1")
        v = floor.visitor(origin=st.site)
        await v.start({"name": "Vera", "email": "vera@example.com"})
        await v.connect()
        card = alice.locator(f".chat-card[data-conversation='{v.conversation_id}']")
        await expect(card).to_have_attribute("data-state", "active", timeout=T)

        box = card.locator(".chat-input")
        await box.fill("/gre")  # an input event as typing gives (keys could race the card's
        await expect(box).to_have_value("/gre")  # first render: the colleague list filling in)
        hints = card.locator(".chat-canned-hint .chat-canned")
        await expect(hints).to_have_text(["/great", "/greet"], timeout=T)
        await box.press_sequentially("et")
        await expect(hints).to_have_text(["/greet"], timeout=T)
        await box.press("Enter")  # expands, does not send
        await expect(box).to_have_value("Hello Vera, this is Alice from web.")
        await box.press("Enter")  # now it goes
        got = await v.frame(lambda f: f["type"] == "message" and f["from"] == "agent")
        assert got["text"] == "Hello Vera, this is Alice from web."
        await expect(box).to_have_value("")

        await box.press_sequentially("/gre")  # a click on a listed one inserts it too
        await hints.filter(has_text="/great").click()
        await expect(box).to_have_value("Great!")
