"""No payload runs in the chat's newer pages and fields, and each comes back as it was stored
(Chromium, the chat test floor).

* The rating at the end of a chat: a chat per payload, which the visitor ends and rates with
  the payload as comment; Alice's card (in wrap-up) shows the comment, as text, exactly as the
  rating rules store it (CR LF made LF, NUL dropped, trimmed).
* Canned replies: a supervisor saves one per payload (``{visitor_name}`` after it), the visitor
  being named with a payload; Alice types its shortcut in the card, the reply is inserted
  filled in and sent: the visitor receives exactly the filled text.
* Messages left: a message per payload (the visitor's name, the text, the page it came from);
  the supervisors' page lists each and shows it whole.
"""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any

import pytest
from chat_floor import PASSWORD, ChatFloor, chat_floor, site_channel
from corpus import PAYLOADS, Payload, quick
from page_checks import assert_inert, open_page
from playwright.async_api import expect

from contactcenter.chat.model import MAX_PAGE
from contactcenter.chat.settings import ChatHours
from contactcenter.chat.tables import ChatRatingRow

MS = 20_000  # only catches hangs
LIMITS = {"new_conversations_per_ip": 1000, "messages_per_minute": 1000}


def _one_line(p: Payload) -> bool:
    """What a pre-chat answer holds: no control character, no lone surrogate."""
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in p.text)


def _chat_says(p: Payload) -> bool:
    """What a chat message holds: line feeds and tabs, no other control character."""
    return not any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in p.text)


# What JavaScript's String.prototype.trim() takes off (the panel trims what it sends): Python's
# str.strip() takes the same but U+FEFF, and takes \x1c-\x1f and \x85 besides.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _js_trim(text: str) -> str:
    return text.strip(_JS_SPACE)


def _comment(p: Payload) -> str:
    """The payload as a rating comment is stored (chat/rating.py's documented rule)."""
    return p.upto(2000).replace("\r\n", "\n").replace("\x00", "").strip()


async def _agent_page(browser: Any, floor: ChatFloor) -> tuple[Any, list[str]]:
    page, dialogs = await open_page(browser, floor.url, "inj-alice", PASSWORD, "/agent", MS)
    await expect(page.locator("#state")).to_have_text("available", timeout=MS)
    return page, dialogs


async def _talking(floor: ChatFloor, alice: Any, name: str) -> Any:
    """A visitor named ``name`` whose chat Alice accepted (over the API)."""
    v = floor.visitor()
    status, body = await v.start({"name": name, "email": "vera@example.com"})
    assert status == 201, body
    await v.connect()
    await alice.next_event(lambda e: e["type"] == "chat" and e["offer"]
                           and e["conversation"]["id"] == v.conversation_id)
    await alice.post(f"/api/chat/conversations/{v.conversation_id}/accept", {})
    await v.frame(lambda f: f["type"] == "state" and f["state"] == "active")
    return v


async def _offer_stored(floor: ChatFloor, cid: str) -> None:
    """The rating offer is written in the background after the end (chat/rating.py): an
    answer before it is refused (409), so wait for its row."""
    async with asyncio.timeout(MS / 1000):
        while True:
            async with floor.server.db.session() as s:
                if await s.get(ChatRatingRow, cid) is not None:
                    return
            await asyncio.sleep(0.05)


async def _ratings(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with chat_floor(tmp_path, **LIMITS) as floor:
        alice = await floor.agent("inj-alice", "a1")
        await alice.listen()
        page, dialogs = await _agent_page(browser, floor)
        refused = []
        for i, p in enumerate(payloads):
            v = await _talking(floor, alice, f"Vera {i}")
            card = page.locator(f".chat-card[data-conversation='{v.conversation_id}']")
            await expect(card).to_be_visible(timeout=MS)
            await v.ws.send_json({"type": "close"})
            await expect(card).to_have_attribute("data-state", "wrap-up", timeout=MS)
            await _offer_stored(floor, v.conversation_id)
            async with v.http.post(f"{v.base}/rating", json={
                    "conversation_id": v.conversation_id, "token": v.token, "rating": 2,
                    "comment": p.upto(2000)}) as r:
                answer = await r.json()
                assert r.status in (201, 400, 422), (p.name, r.status, answer)
            if r.status == 400:  # a lone surrogate: JSON's escape of no text, refused whole
                assert not p.utf8 and answer == {"error": "body is not valid JSON"}, p.name
                refused.append(p)
            elif r.status == 422:  # refused as a whole, by field: never half stored
                assert set(answer["errors"]) == {"comment"}, (p.name, answer)
                refused.append(p)
            else:
                assert answer == {"rating": 2, "comment": _comment(p)}, (p.name, answer)
                shown = card.locator(".chat-rating q")
                await expect(shown).to_contain_text(p.marker, timeout=MS)
                assert await shown.text_content() == _comment(p), p.name
            await card.locator(".chat-close").click()  # "Done": the wrap-up ends
            await expect(card).to_have_count(0, timeout=MS)
            await v.ws.close()
        assert [p.name for p in refused if p.utf8] == []
        await assert_inert(page, dialogs)


async def _canned(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with chat_floor(tmp_path, channels=[site_channel()], **LIMITS) as floor:
        boss = await floor.agent("inj-boss", "a2", login=False, role="supervisor")
        alice = await floor.agent("inj-alice", "a1")
        await alice.listen()
        saved: list[tuple[Payload, str, str]] = []  # payload, shortcut, its text as stored
        for i, p in enumerate(payloads):
            text = p.upto(1900) + " {visitor_name}"
            async with boss.http.post(f"{floor.url}/api/chat/canned-replies",
                                      json={"shortcut": f"p{i:02d}", "text": text},
                                      headers={"X-CSRF-Token": boss.csrf}) as r:
                body = await r.json()
                assert r.status in (201, 400, 422), (p.name, r.status, body)
            if r.status == 400:  # a lone surrogate: JSON's escape of no text, refused whole
                assert not p.utf8 and body == {"error": "body is not valid JSON"}, p.name
            elif r.status == 201:
                assert body["reply"]["text"] == text.strip(), p.name
                saved.append((p, f"p{i:02d}", text.strip()))
            else:  # only a brace pair the text names as a placeholder of its own
                assert "unknown placeholder" in body["errors"]["text"], (p.name, body)
                assert "{" in p.text and "}" in p.text, (p.name, body)
        assert saved
        named = next(p for p in payloads if p.kind == "html")
        page, dialogs = await _agent_page(browser, floor)
        v = await _talking(floor, alice, named.upto(80))
        card = page.locator(f".chat-card[data-conversation='{v.conversation_id}']")
        await expect(card).to_have_attribute("data-state", "active", timeout=MS)
        box = card.locator(".chat-input")
        for p, shortcut, text in saved:
            filled = text.replace("{visitor_name}", named.upto(80))
            await box.fill(f"/{shortcut}")
            hint = card.locator(".chat-canned-hint .chat-canned", has_text=f"/{shortcut}")
            await expect(hint.first).to_have_attribute("title", filled, timeout=MS)
            await box.press("Enter")  # the shortcut typed whole: Enter inserts the reply
            await expect(box).not_to_have_value(f"/{shortcut}", timeout=MS)
            if not _chat_says(p):
                await box.fill("")  # a chat message refuses it anyway: nothing to send
                continue
            await expect(box).to_have_value(filled, timeout=MS)  # the insert may lag the clear
            await box.press("Enter")
            got = await v.frame(lambda f: f["type"] == "message" and f.get("from") == "agent")
            assert got["text"] == _js_trim(filled).strip(), p.name
            await expect(card.locator(".chat-from-agent").last).to_contain_text(p.marker,
                                                                              timeout=MS)
        await v.ws.close()
        await assert_inert(page, dialogs)


async def _left_messages(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    channel = site_channel(hours=ChatHours(weekly={"mon-sun": "closed"}))
    async with chat_floor(tmp_path, channels=[channel], **LIMITS) as floor:
        await floor.add_user("inj-sue", None, role="supervisor")
        left: list[tuple[Payload, dict[str, Any], str]] = []
        for p in payloads:
            name = p.upto(80).strip() if _one_line(p) else "Olga"
            visitor = floor.visitor()
            async with visitor.http.post(f"{visitor.base}/messages", json={
                    "answers": {"name": name, "email": "olga@example.com"},
                    "message": p.upto(2000), "page": p.upto(MAX_PAGE)}) as r:
                body = await r.json()
                assert r.status in (201, 400, 422), (p.name, r.status, body)
            if r.status == 400:  # a lone surrogate: JSON's escape of no text, refused whole
                assert not p.utf8 and body == {"error": "body is not valid JSON"}, p.name
                continue
            if r.status == 422:
                assert not _chat_says(p), (p.name, body)
                continue
            left.append((p, body, name))
        assert [p.name for p in payloads if _chat_says(p) and p not in [x[0] for x in left]] == []
        page, dialogs = await open_page(browser, floor.url, "inj-sue", PASSWORD,
                                        "/left-messages", MS)
        await expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=MS)
        for p, body, name in left:
            row = page.locator(f"#left-messages tr[data-message='{body['id']}']")
            await expect(row).to_be_visible(timeout=MS)
            await row.locator(".read").click()
            await expect(page.locator("#left-detail")).to_have_attribute(
                "data-message", body["id"], timeout=MS)
            text = p.upto(2000).strip()
            assert await page.locator("#d-text").text_content() == text, p.name
            assert await page.locator("#d-visitor").text_content() == name, p.name
            await expect(page.locator("#d-page")).to_contain_text(p.marker, timeout=MS)
        await assert_inert(page, dialogs)

        # The agent's panel lists them too, for the agent's queues.
        await floor.agent("inj-alice", "a1")
        agent, agent_dialogs = await _agent_page(browser, floor)
        for p, body, name in left:
            item = agent.locator(f"li.chat-message-left[data-message='{body['id']}']")
            await expect(item).to_be_visible(timeout=MS)
            text = item.locator(".chat-message-text")
            assert await text.text_content() == p.upto(2000).strip(), p.name
            assert await item.locator(".chat-message-name").text_content() == name, p.name
            await expect(item.locator("dd").last).to_contain_text(p.marker)
        await assert_inert(agent, agent_dialogs)


async def test_no_payload_runs_in_the_chat_rating_comment(browser, tmp_path):
    await _ratings(browser, tmp_path, quick(1))


async def test_no_payload_runs_in_chat_canned_replies(browser, tmp_path):
    await _canned(browser, tmp_path, quick(1))


async def test_no_payload_runs_in_the_messages_left_page(browser, tmp_path):
    await _left_messages(browser, tmp_path, quick(1))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_the_chat_rating_comment(browser,
                                                                              tmp_path):
    await _ratings(browser, tmp_path, PAYLOADS)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_chat_canned_replies(browser, tmp_path):
    await _canned(browser, tmp_path, PAYLOADS)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_the_messages_left_page(browser,
                                                                            tmp_path):
    await _left_messages(browser, tmp_path, PAYLOADS)
