"""In Chromium, two browser contexts: a visitor on a shop's page served from another origin
(the widget's one script tag), and agents in the panel. The visitor's traffic goes through a
relay the test can cut, so a network cut is a real one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from chat_floor import (
    PASSWORD,
    ChatFloor,
    CuttableProxy,
    chat_floor,
    free_port,
    site_channel,
    site_page,
    site_server,
)
from playwright.async_api import Page, expect

from contactcenter.chat.model import sign_visitor

T = 20_000  # ms: generous, only catches hangs


@dataclass
class Stage:
    floor: ChatFloor
    proxy: CuttableProxy
    site: str  # the shop's origin (allowed)


@contextlib.asynccontextmanager
async def stage(tmp_path: Any, *, channel: dict[str, Any] | None = None,
                scripts: dict[str, str] | None = None,
                site_headers: Callable[[str], dict[str, str]] | None = None,
                **kwargs: Any) -> AsyncIterator[Stage]:
    """Server, relay in front of it, and the shop's site on another port (``scripts``: more
    pages, by path, each the shop's page with that script of the site's after the tag;
    ``site_headers``: the site's response headers, given the widget's origin)."""
    site_port = free_port()
    site = f"http://127.0.0.1:{site_port}"
    channels = [site_channel(allowed_origins=[site], **(channel or {}))]
    async with chat_floor(tmp_path, channels=channels, **kwargs) as floor:
        proxy = CuttableProxy(floor.port)
        await proxy.start()
        more = {path: site_page(proxy.url, after=f"<script>{js}</script>")
                for path, js in (scripts or {}).items()}
        try:
            headers = site_headers(proxy.url) if site_headers else None
            async with site_server(site_port, site_page(proxy.url), more, headers):
                yield Stage(floor, proxy, site)
        finally:
            await proxy.stop()


async def agent_page(browser: Any, floor: ChatFloor, username: str, agent_id: str) -> Page:
    """The agent's panel, logged in to the queues and available."""
    await floor.add_user(username, agent_id)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: url.endswith("/agent"))
    await expect(page.locator("#live-status")).to_have_text("live", timeout=T)
    await page.click("#queues-login")
    await expect(page.locator("#state")).to_have_text("available", timeout=T)
    return page


async def visitor_page(browser: Any, url: str) -> Page:
    context = await browser.new_context(viewport={"width": 390, "height": 740})  # a phone
    page = await context.new_page()
    await page.goto(url)
    return page


async def open_and_start(page: Page, name: str, email: str) -> None:
    await page.click("#cc-chat .bubble")
    await page.fill("#cc-chat #cc-f-name", name)
    await page.fill("#cc-chat #cc-f-email", email)
    await page.click("#cc-chat button.start")


async def test_visitor_and_agent_chat_through_a_cut_network(browser, tmp_path):
    async with stage(tmp_path) as st:
        floor = st.floor
        alice = await agent_page(browser, floor, "alice", "a1")
        visitor = await visitor_page(browser, st.site + "/")
        bubble = visitor.locator("#cc-chat .bubble")
        await expect(bubble).to_be_visible(timeout=T)
        await expect(bubble).to_have_attribute("aria-expanded", "false")

        # The pre-chat form: a failing pattern is refused by the server, nothing starts.
        await open_and_start(visitor, "Vera", "vera-at-example")
        await expect(visitor.locator("#cc-chat #cc-f-email-err")).to_have_text(
            "Please enter a valid email", timeout=T)
        await expect(visitor.locator("#cc-chat #cc-f-email")).to_have_attribute(
            "aria-invalid", "true")
        assert await floor.chat.store.open_conversations() == []
        await visitor.fill("#cc-chat #cc-f-email", "vera@example.com")
        await visitor.click("#cc-chat button.start")
        log = visitor.locator("#cc-chat .log")
        await expect(visitor.locator("#cc-chat .input")).to_be_visible(timeout=T)
        await expect(log).to_have_attribute("aria-live", "polite")
        (conv,) = [r for r, _ in await floor.chat.store.open_conversations()]

        # The offer reaches Alice's panel with the pre-chat answers; she accepts.
        card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
        await expect(card).to_be_visible(timeout=T)
        await expect(card.locator(".chat-answers")).to_contain_text("vera@example.com")
        await expect(card.locator(".chat-visitor")).to_have_text("Vera")
        await card.locator(".chat-accept").click()
        await expect(card).to_have_attribute("data-state", "active", timeout=T)
        await expect(log.locator(".msg.system")).to_have_text("Alice joined the chat.",
                                                              timeout=T)

        # Typing and messages both ways.
        await card.locator(".chat-input").press_sequentially("Hel")
        await expect(visitor.locator("#cc-chat .typing")).to_have_text("Alice is typing…",
                                                                      timeout=T)
        await card.locator(".chat-input").press_sequentially("lo Vera")
        await card.locator(".chat-send").click()
        await expect(log.locator(".msg.agent")).to_contain_text("Hello Vera", timeout=T)
        await visitor.locator("#cc-chat .input").press_sequentially("Hi")
        await expect(card.locator(".chat-typing")).to_have_text("Vera is typing…", timeout=T)
        evil = "<script>window.pwned = 1</script><b>bold</b>"
        await visitor.locator("#cc-chat .input").fill(evil)
        await visitor.locator("#cc-chat .send").click()
        visitor_line = card.locator(".chat-msg.chat-from-visitor")
        await expect(visitor_line).to_contain_text(evil, timeout=T)  # as text, on both sides
        await expect(log.locator(".msg.visitor")).to_contain_text(evil, timeout=T)
        assert await card.locator(".chat-log b, .chat-log script").count() == 0
        assert await visitor.locator("#cc-chat .log b, #cc-chat .log script").count() == 0
        assert await alice.evaluate("window.pwned") is None
        assert await visitor.evaluate("window.pwned") is None

        # The visitor's network goes: Alice sends three messages meanwhile.
        st.proxy.cut()
        await visitor.context.set_offline(True)
        await expect(visitor.locator("#cc-chat .status")).to_have_text("Reconnecting…",
                                                                      timeout=T)
        for text in ("one", "two", "three"):
            await card.locator(".chat-input").fill(text)
            await card.locator(".chat-send").click()
            await expect(card.locator(".chat-from-agent").last).to_contain_text(text, timeout=T)
        assert [m.text for m in (await floor.chat.transcript(conv.id))[-3:]] == [
            "one", "two", "three"]
        agent_lines = log.locator(".msg.agent")
        await expect(agent_lines).to_have_count(1)  # only "Hello Vera" got through
        await visitor.context.set_offline(False)
        st.proxy.restore()
        await expect(agent_lines).to_have_count(4, timeout=T)
        texts = [t.removeprefix("Alice") for t in await agent_lines.all_text_contents()]
        assert texts == ["Hello Vera", "one", "two", "three"]  # each once, in order

        # Alice closes with a disposition; the visitor sees the end, the wrap-up is recorded.
        await card.locator(".chat-disposition").select_option("resolved")
        await card.locator(".chat-close").click()
        await expect(visitor.locator("#cc-chat .status")).to_have_text("The chat has ended.",
                                                                      timeout=T)
        await expect(visitor.locator("#cc-chat .input")).to_be_disabled()
        await expect(card).to_have_count(0, timeout=T)
        await expect(alice.locator("#state")).to_have_text("available", timeout=T)
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(interaction_id=conv.id)
        assert [r["disposition"] for r in rows if r["kind"] == "wrapup-done"] == ["resolved"]
        await visitor.click("#cc-chat button.again")  # and may start over
        await expect(visitor.locator("#cc-chat #cc-f-email")).to_be_visible(timeout=T)
        assert await visitor.evaluate("localStorage.length") == 0  # nothing left to resume


async def test_a_site_not_allowed_gets_no_widget_and_no_chat(browser, tmp_path):
    async with stage(tmp_path) as st:
        # The same page addressed as localhost: another origin, not in the channel's list.
        other = st.site.replace("127.0.0.1", "localhost")
        page = await visitor_page(browser, "about:blank")
        async with page.expect_response(lambda r: "/chat/widget.js" in r.url,
                                        timeout=T) as response:
            await page.goto(other + "/")
        assert (await response.value).status == 403
        assert await page.locator("#cc-chat").count() == 0
        # A page that got the code some other way still gets no form, no chat, no socket.
        api = f"{st.proxy.url}/api/chat/widget/site"
        outcome = await page.evaluate("""async (api) => {
            const config = await fetch(api + "/config", {mode: "cors"})
              .then((r) => "answered " + r.status, () => "blocked");
            const start = await fetch(api + "/conversations", {method: "POST", mode: "cors",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({answers: {name: "Eve", email: "eve@example.com"}})})
              .then((r) => "answered " + r.status, () => "blocked");
            const socket = await new Promise((done) => {
              const ws = new WebSocket(api.replace("http", "ws") + "/ws");
              ws.onopen = () => done("open");
              ws.onclose = () => done("refused");
            });
            return [config, start, socket];
        }""", api)
        assert outcome == ["blocked", "blocked", "refused"]
        assert await st.floor.chat.store.open_conversations() == []


async def test_capacity_and_a_place_in_line_that_moves(browser, tmp_path):
    # AHT 300 s so that the expected wait reads in different whole minutes as the line moves.
    async with stage(tmp_path, aht_s=300) as st:
        floor = st.floor
        alice = await agent_page(browser, floor, "alice", "a1")  # one chat at a time
        first = floor.visitor(origin=st.site)
        await first.start()
        card = alice.locator(f".chat-card[data-conversation='{first.conversation_id}']")
        await card.locator(".chat-accept").click(timeout=T)
        await expect(card).to_have_attribute("data-state", "active", timeout=T)

        # Bob (two chats) logs in: the next two go to him, none to Alice, who is full.
        await floor.agent("bob", "a2")
        others = [floor.visitor(origin=st.site) for _ in range(3)]
        for v in others[:2]:
            await v.start()
        bob = {w["interaction_id"] for w in floor.server.routing.agent("a2").work}
        assert bob == {others[0].conversation_id, others[1].conversation_id}
        await expect(alice.locator(".chat-card")).to_have_count(1)

        # Every agent is busy: one visitor waits, then ours joins the line behind them.
        await others[2].start()
        visitor = await visitor_page(browser, st.site + "/")
        await open_and_start(visitor, "Wanda", "wanda@example.com")
        status = visitor.locator("#cc-chat .status")
        # EWT = position x AHT / staffed chat slots = 2 x 300 s / 3 = 200 s.
        await expect(status).to_have_text(
            "You are number 2 in line. Expected wait: about 3 min.", timeout=T)
        await expect(status).to_have_attribute("data-ewt", "200")
        # The one ahead gives up: ours is next, and the wait shrinks to 1 x 300 / 3 = 100 s.
        await others[2].connect()
        await others[2].ws.send_json({"type": "close"})
        await expect(status).to_have_text(
            "You are number 1 in line. Expected wait: about 2 min.", timeout=T)
        # Alice ends her chat: the line moves on and she is offered ours.
        await card.locator(".chat-close").click()
        await expect(status).to_have_text("Connecting you to an agent…", timeout=T)
        offered = alice.locator(".chat-card[data-state='offered']")
        await expect(offered).to_have_count(1, timeout=T)
        await expect(offered.locator(".chat-answers")).to_contain_text("wanda@example.com")


async def test_a_wrong_identity_signature_is_refused_and_a_right_one_is_a_known_customer(
        browser, tmp_path):
    secret = "site-secret-0123456789"
    good = sign_visitor(secret, "crm-42")
    identify = 'ContactCenterChat.identify({id: "crm-42", signature: "SIG", name: "Ada"});'
    scripts = {"/forged": identify.replace("SIG", "0" * 64),
               "/signed": identify.replace("SIG", good)}
    async with stage(tmp_path, channel={"identity_secret": secret}, scripts=scripts) as st:
        forged = await visitor_page(browser, st.site + "/forged")
        await forged.click("#cc-chat .bubble")
        await expect(forged.locator("#cc-chat #cc-f-name")).to_have_value("Ada", timeout=T)
        await forged.fill("#cc-chat #cc-f-email", "ada@example.com")
        await forged.click("#cc-chat button.start")
        await expect(forged.locator("#cc-chat .prechat .err[role=alert]")).to_have_text(
            "the visitor's identity could not be verified", timeout=T)
        assert await st.floor.chat.store.open_conversations() == []

        signed = await visitor_page(browser, st.site + "/signed")
        await signed.click("#cc-chat .bubble")
        await signed.fill("#cc-chat #cc-f-email", "ada@example.com")
        await signed.click("#cc-chat button.start")
        await expect(signed.locator("#cc-chat .input")).to_be_visible(timeout=T)
        ((record, _),) = await st.floor.chat.store.open_conversations()
        assert record.visitor_id == "crm-42" and record.verified
