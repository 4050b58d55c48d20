"""No payload runs in a browser: the agent's panel (a chat card) and the tickets page, holding
the corpus's HTML and script payloads, in Chromium (the shared ``browser`` fixture).

Every page gets an init script that turns any alert/confirm/prompt into a ``window.__pwned``
entry; the payloads themselves append their marker to ``window.__pwned`` when they run. After
the pages showed the data (a marker is on screen), ``window.__pwned`` must still be undefined.
"""

from __future__ import annotations

import aiohttp
from chat_floor import SITE
from corpus import PAYLOADS
from page_checks import open_page
from playwright.async_api import expect
from text_floor import T, panel_user, raw_mail, send_mail, text_floor
from tickets_floor import PASSWORD

MS = int(T * 1000)
HTML = [p for p in PAYLOADS if p.kind == "html"] + [
    p for p in PAYLOADS if p.kind in ("unicode", "expansion")][:3]


async def _open(browser, floor, username: str, path: str):
    return await open_page(browser, floor.url, username, PASSWORD, path, MS)


async def test_no_payload_runs_in_the_agent_and_tickets_pages(browser, tmp_path):
    async with text_floor(tmp_path) as floor:
        agent = await panel_user(floor, "inj-alice", "agent", "a1")
        admin = await panel_user(floor, "inj-admin", "admin")
        async with agent.post(f"{floor.url}/api/agents/a1/login", json={}) as r:
            assert r.status == 200

        # Tickets: one per payload, with every payload as a note on the first one.
        for n, p in enumerate(HTML):
            await send_mail(floor, raw_mail(p.text, p.text, n))
        async with admin.get(f"{floor.url}/api/tickets?view=all&limit=500") as r:
            tickets = (await r.json())["tickets"]
        assert len(tickets) == len(HTML)
        for p in HTML:
            async with admin.post(f"{floor.url}/api/tickets/{tickets[0]['id']}/notes",
                                  json={"text": p.text}) as r:
                assert r.status == 201, await r.text()

        # Chat: a visitor named with a payload says every payload; it is offered to a1.
        visitor = aiohttp.ClientSession(headers={"Origin": SITE})
        floor.clients.append(visitor)
        base = f"{floor.url}/api/chat/widget/site"
        async with visitor.post(f"{base}/conversations", json={
                "answers": {"name": HTML[0].text[:80], "email": "vera@example.com"}}) as r:
            assert r.status == 201, await r.text()
            conv = await r.json()
        ws = await visitor.ws_connect(f"{base}/ws")
        await ws.send_json({"type": "hello", "conversation_id": conv["conversation_id"],
                            "token": conv["token"], "after": 0})
        for p in HTML:
            await ws.send_json({"type": "message", "text": p.text})

        # The agent's panel: the chat card, accepted, shows the visitor's lines as text.
        page, dialogs = await _open(browser, floor, "inj-alice", "/agent")
        card = page.locator(f".chat-card[data-conversation='{conv['conversation_id']}']")
        await expect(card).to_be_visible(timeout=MS)
        await card.locator(".chat-accept").click()
        await expect(card.locator(".chat-msg.chat-from-visitor").last).to_contain_text(
            HTML[-1].marker, timeout=MS)
        await expect(card.locator(".chat-msg.chat-from-visitor").first).to_contain_text(
            HTML[0].text, timeout=MS)
        await ws.close()

        # The tickets page as the admin: the list, then each ticket's thread.
        tpage, tdialogs = await _open(browser, floor, "inj-admin", "/tickets")
        rows = tpage.locator("#tickets tbody tr")
        await expect(rows).to_have_count(len(HTML), timeout=MS)
        for i in range(len(HTML)):  # each click waits for its own ticket: a click's answer
            row = rows.nth(i)       # may come after the next click's
            number = await row.get_attribute("data-id")
            await row.click()
            await expect(tpage.locator("#t-number")).to_have_text(f"#{number}", timeout=MS)
            await expect(tpage.locator("#thread")).to_contain_text("pwn", timeout=MS)
        await tpage.locator(f'#tickets tbody tr[data-id="{tickets[0]["id"]}"]').click()
        await expect(tpage.locator("#t-number")).to_have_text(f"#{tickets[0]['id']}", timeout=MS)
        for p in HTML:  # the notes on it, each shown
            await expect(tpage.locator("#thread")).to_contain_text(p.marker, timeout=MS)

        for pg in (page, tpage):
            assert await pg.evaluate("window.__pwned") is None
            assert await pg.locator("script:not([src])").evaluate_all(
                "els => els.filter(e => e.textContent.includes('pwn')).length") == 0
        assert dialogs == [] and tdialogs == []
