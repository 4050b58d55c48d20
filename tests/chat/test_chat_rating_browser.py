"""In Chromium: the visitor on a shop's page of another origin talks with Alice, whose panel
ends the chat; the widget offers the 1-5 rating (a labelled radio group, chosen by keyboard)
with a comment, once. A visitor who ends the chat themselves rates it while Alice wraps up:
her chat card shows the answer. A visitor who skips the form leaves the offer unanswered."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect
from test_chat_browser import agent_page, open_and_start, stage, visitor_page

from contactcenter.chat.tables import ChatRatingRow

T = 20_000  # ms: only catches hangs


async def _talking(browser, st, alice, name: str):  # type: ignore[no-untyped-def]
    """A visitor's page with a chat Alice accepted; the page, the widget, the card."""
    visitor = await visitor_page(browser, st.site + "/")
    await open_and_start(visitor, name, f"{name.lower()}@example.com")
    widget = visitor.locator("#cc-chat")
    await expect(widget.locator(".input")).to_be_visible(timeout=T)
    (conv,) = [r for r, _ in await st.floor.chat.store.open_conversations()]
    card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
    await card.locator(".chat-accept").click(timeout=T)
    await expect(widget.locator(".msg.system")).to_have_text("Alice joined the chat.",
                                                             timeout=T)
    return visitor, widget, card, conv


async def test_the_visitor_rates_the_chat_the_agent_sees_it(browser, tmp_path):
    async with stage(tmp_path) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        visitor, widget, card, conv = await _talking(browser, st, alice, "Vera")

        await card.locator(".chat-close").click()
        form = widget.locator("form.rating")
        await expect(form).to_be_visible(timeout=T)
        group = form.get_by_role("group", name="How would you rate this chat? (5 is best)")
        await expect(group.get_by_role("radio")).to_have_count(5)
        # Sent with nothing chosen: told in place, nothing stored.
        await form.get_by_role("button", name="Send rating").click()
        await expect(form.locator(".err")).to_have_text("choose a rating from 1 to 5",
                                                        timeout=T)
        # By keyboard: Tab into the group lands on the first (5), an arrow moves to 4.
        await group.get_by_role("radio", name="5 Very satisfied").focus()
        await visitor.keyboard.press("Space")
        await visitor.keyboard.press("ArrowDown")
        await expect(group.get_by_role("radio", name="4 Satisfied")).to_be_checked()
        await form.get_by_label("Comment (optional)").fill("Helpful <b>and</b> quick")
        await form.get_by_role("button", name="Send rating").click()
        await expect(widget.locator(".rating .sent")).to_have_text(
            "Thank you for your rating.", timeout=T)

        async with st.floor.server.db.session() as s:
            row = await s.get(ChatRatingRow, conv.id)
        assert row is not None and (row.rating, row.comment) == (4, "Helpful <b>and</b> quick")
        await expect(form.locator("input")).to_have_count(0)  # once: the form is gone


async def test_the_visitor_ends_and_rates_the_card_in_wrap_up_shows_it(browser, tmp_path):
    async with stage(tmp_path) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        _visitor, widget, card, _conv = await _talking(browser, st, alice, "Vera")
        await widget.locator(".end").click()
        form = widget.locator("form.rating")
        await expect(card).to_have_attribute("data-state", "wrap-up", timeout=T)
        await form.get_by_text("2 Unsatisfied").click()  # the whole label is the target
        await form.get_by_label("Comment (optional)").fill("Slow <b>answers</b>")
        await form.get_by_role("button", name="Send rating").click()
        await expect(widget.locator(".rating .sent")).to_have_text(
            "Thank you for your rating.", timeout=T)
        # Alice's card, still in wrap-up, shows it live (as text).
        rating = card.locator(".chat-rating")
        await expect(rating).to_contain_text("2/5", timeout=T)
        await expect(rating).to_contain_text("Slow <b>answers</b>")
        assert await card.locator(".chat-rating b").count() == 0

async def test_the_visitor_skips(browser, tmp_path):
    async with stage(tmp_path) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        _visitor, widget, card, conv = await _talking(browser, st, alice, "Vic")
        await card.locator(".chat-close").click()
        form = widget.locator("form.rating")
        await expect(form).to_be_visible(timeout=T)
        await form.get_by_role("button", name="Skip").click()
        await expect(form).to_have_count(0)
        await expect(widget.locator(".again")).to_be_visible()
        row = None
        for _ in range(200):  # the offer is written in the background (chat/rating.py)
            async with st.floor.server.db.session() as s:
                row = await s.get(ChatRatingRow, conv.id)
            if row is not None:
                break
            await asyncio.sleep(0.05)
        assert row is not None and row.rating is None  # offered, not answered
