"""In Chromium: files both ways between the widget on a shop's page (another origin) and the
agent's card; a type the chat does not take and a file too large are refused in the widget; a
colleague outside the chat cannot read a file; an HTML file is a download, never a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chat_floor import ChatFloor
from playwright.async_api import Page, expect
from test_chat_attachments import HTML, PNG
from test_chat_browser import T, agent_page, open_and_start, stage, visitor_page

from contactcenter.chat.settings import AttachmentSettings

FILES = AttachmentSettings(enabled=True, max_bytes=64 * 1024, types=["png", "txt", "pdf"])


async def loaded(page: Page, selector: str) -> None:
    """Wait until the image at ``selector`` has really been drawn (its bytes arrived)."""
    await page.wait_for_function(
        "s => { const i = document.querySelector(s) || document.querySelector('#cc-chat')"
        "?.shadowRoot?.querySelector(s); return !!i && i.complete && i.naturalWidth > 0; }",
        arg=selector, timeout=T)


async def chatting(browser: Any, st: Any) -> tuple[Page, Page, Any, str]:
    floor: ChatFloor = st.floor
    alice = await agent_page(browser, floor, "alice", "a1")
    visitor = await visitor_page(browser, st.site + "/")
    await open_and_start(visitor, "Vera", "vera@example.com")
    await expect(visitor.locator("#cc-chat .input")).to_be_visible(timeout=T)
    (conv,) = [r for r, _ in await floor.chat.store.open_conversations()]
    card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
    await card.locator(".chat-accept").click(timeout=T)
    await expect(card).to_have_attribute("data-state", "active", timeout=T)
    return alice, visitor, card, conv.id


async def test_files_both_ways_in_the_widget_and_the_card(browser, tmp_path):
    async with stage(tmp_path, channel={"attachments": FILES}) as st:
        alice, visitor, card, _cid = await chatting(browser, st)
        log = visitor.locator("#cc-chat .log")
        attach = visitor.locator("#cc-chat button.attach")
        await expect(attach).to_have_attribute("aria-label", "Attach a file")

        # The visitor sends a screenshot: a thumbnail on both sides.
        await visitor.locator("#cc-chat .file-input").set_input_files(
            {"name": "screenshot.png", "mimeType": "image/png", "buffer": PNG})
        thumb = card.locator(".chat-from-visitor img.chat-thumb")
        await expect(thumb).to_have_attribute("alt", "screenshot.png", timeout=T)
        await loaded(alice, ".chat-from-visitor img.chat-thumb")
        await expect(log.locator(".msg.visitor img.thumb")).to_have_attribute(
            "alt", "screenshot.png", timeout=T)
        await loaded(visitor, ".msg.visitor img.thumb")
        await expect(log.locator(".msg.pending")).to_have_count(0)

        # Alice sends a text file (HTML inside): a link in the widget that downloads it.
        await card.locator(".chat-attach").click()  # visible: this channel takes files
        await card.locator(".chat-file-input").set_input_files(
            {"name": "notes.txt", "mimeType": "text/html", "buffer": HTML})
        link = log.locator(".msg.agent a.file")
        await expect(link).to_contain_text("notes.txt", timeout=T)
        async with visitor.expect_download() as download:
            await link.click()
        got = await download.value
        assert got.suggested_filename == "notes.txt"
        assert Path(await got.path()).read_bytes() == HTML
        key = await card.locator(".chat-from-agent .chat-attachment").get_attribute("data-key")
        answer = await alice.request.get(f"{st.floor.url}/api/chat/attachments/{key}")
        assert answer.status == 200
        assert answer.headers["content-disposition"].startswith("attachment;")
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert answer.headers["x-content-type-options"] == "nosniff"

        # A type this chat does not take, and a file too large: refused, nothing sent.
        sent = await log.locator(".msg").count()
        error = visitor.locator("#cc-chat .attach-err")
        await visitor.locator("#cc-chat .file-input").set_input_files(
            {"name": "page.html", "mimeType": "text/html", "buffer": HTML})
        await expect(error).to_have_text("That kind of file cannot be sent here.", timeout=T)
        await visitor.locator("#cc-chat .file-input").set_input_files(
            {"name": "big.txt", "mimeType": "text/plain", "buffer": b"x" * (65 * 1024)})
        await expect(error).to_have_text("That file is too large (at most 64 KB).", timeout=T)
        await expect(log.locator(".msg")).to_have_count(sent)
        assert len(await st.floor.chat.transcript(_cid)) == sent

        # A colleague who is not in the chat gets nothing.
        bob = await agent_page(browser, st.floor, "bob", "a2")
        assert (await bob.request.get(f"{st.floor.url}/api/chat/attachments/{key}")).status \
            == 404


async def test_no_attach_button_where_the_chat_takes_no_files(browser, tmp_path):
    async with stage(tmp_path) as st:
        _alice, visitor, card, _cid = await chatting(browser, st)
        await expect(card.locator(".chat-send")).to_be_visible()
        await expect(card.locator(".chat-attach")).to_be_hidden()
        assert await visitor.locator("#cc-chat button.attach").count() == 0
