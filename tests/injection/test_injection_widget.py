"""No payload runs in the chat widget, on the shop's page that embeds it (Chromium).

The visitor opens the widget on a page of another origin, gives a payload as their name and
types payloads into the widget; the agent a1 answers with every payload the chat takes. The
widget's log shows each as text, and the shop's page ran none of them.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from chat_floor import chat_floor, free_port, site_channel, site_page, site_server
from corpus import PAYLOADS, Payload, quick
from page_checks import assert_inert, hooked_page
from playwright.async_api import expect

T = 20_000  # ms: only catches hangs
TYPED = 3  # payloads the visitor types (the rest the agent sends: no typing rate to mind)


def _chat_says(p: Payload) -> bool:
    """A chat refuses control characters other than line feeds and tabs."""
    return p.utf8 and not any(unicodedata.category(c) == "Cc" and c not in "\n\t"
                              for c in p.text)


async def _run(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    said = [p for p in payloads if _chat_says(p)]
    named = next(p for p in said if p.kind == "html")
    site_port = free_port()
    site = f"http://127.0.0.1:{site_port}"
    channels = [site_channel(allowed_origins=[site])]
    async with chat_floor(tmp_path, channels=channels) as floor, \
            site_server(site_port, site_page(floor.url)):
        alice = await floor.agent("inj-alice", "a1")
        await alice.listen()
        page, dialogs = await hooked_page(browser)
        await page.goto(f"{site}/")
        await page.click("#cc-chat .bubble")
        await page.fill("#cc-chat #cc-f-name", named.upto(80))
        await page.fill("#cc-chat #cc-f-email", "vera@example.com")
        await page.click("#cc-chat button.start")
        await expect(page.locator("#cc-chat .input")).to_be_visible(timeout=T)
        await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
        (conv,) = [r for r, _ in await floor.chat.store.open_conversations()]
        await alice.post(f"/api/chat/conversations/{conv.id}/accept", {})
        log = page.locator("#cc-chat .log")
        for p in said[:TYPED]:
            await page.locator("#cc-chat .input").fill(p.upto(1000))
            await page.locator("#cc-chat .send").click()
            await expect(log.locator(".msg.visitor").last).to_contain_text(p.marker,
                                                                         timeout=T)
        for p in said:
            await alice.post(f"/api/chat/conversations/{conv.id}/messages",
                             {"text": p.upto(1000)})
            await expect(log.locator(".msg.agent").last).to_contain_text(p.marker,
                                                                       timeout=T)
        await alice.close()
        await assert_inert(page, dialogs)


async def test_no_payload_runs_in_the_chat_widget(browser, tmp_path):
    await _run(browser, tmp_path, quick(1))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_the_chat_widget(browser, tmp_path):
    await _run(browser, tmp_path, PAYLOADS)
