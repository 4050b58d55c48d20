"""In Chromium, on a shop's page of another origin: the channel's bot flow talks first. A
question gets an article and "Yes" closes the chat as a deflection of the flow; "agent" hands
the chat over to the agent's panel with the whole transcript and the original arrival time."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect
from test_chat_browser import T, agent_page, open_and_start, stage, visitor_page
from test_chat_faq import KB, write_articles

from contactcenter.chat.bot import outcomes

REPO = Path(__file__).resolve().parents[2]
BOT = {"bot": "help_bot"}


def install_flow(tmp_path: Path) -> None:
    """The shipped bot flow, sending to the test floor's queue, with no holiday."""
    (tmp_path / "flows").mkdir(exist_ok=True)
    text = (REPO / "ivr_flows/help_bot.yaml").read_text()
    text = text.replace("queue: support", "queue: web").replace('["2026-12-25"]', "[]")
    (tmp_path / "flows" / "help_bot.yaml").write_text(text)


async def test_a_question_gets_an_article_and_yes_counts_a_deflection(browser, tmp_path):
    install_flow(tmp_path)
    async with stage(tmp_path, channel=BOT, kb=KB) as st:
        await write_articles(st.floor)
        visitor = await visitor_page(browser, st.site + "/")
        await open_and_start(visitor, "Vera", "vera@example.com")
        widget = visitor.locator("#cc-chat")
        bot = widget.locator(".log .msg.bot")
        await expect(bot.first).to_contain_text("Hi Vera! I am the help bot.", timeout=T)
        buttons = widget.locator(".bot-buttons button")
        await expect(buttons).to_have_text(["A question", "My order", "Talk to a person"])
        await buttons.first.click()
        await expect(bot.last).to_contain_text("What is your question?", timeout=T)
        await expect(buttons).to_have_count(0)
        await widget.locator(".input").fill("How do I reset my password?")
        await widget.locator(".input").press("Enter")
        link = widget.locator(".bot-articles a").first
        await expect(link).to_have_text("Reset your password", timeout=T)
        await expect(link).to_have_attribute("href",
                                             st.proxy.url + "/help/en/reset-your-password")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(bot.last).to_contain_text("Did that answer your question?", timeout=T)
        await expect(buttons).to_have_text(["Yes", "No"])
        await buttons.first.click()
        await expect(bot.last).to_contain_text("Glad I could help. Goodbye!", timeout=T)
        await expect(widget.locator("button.again")).to_be_visible(timeout=T)
        (stats,) = await outcomes(st.floor.server.db)
        assert (stats["flow"], stats["deflected"], stats["handover"]) == ("help_bot", 1, 0)
        assert st.floor.chat.metrics()["counters"]["bot_deflected"] == 1


async def test_agent_hands_over_with_the_transcript_and_the_original_arrival(browser,
                                                                              tmp_path):
    install_flow(tmp_path)
    async with stage(tmp_path, channel=BOT, kb=KB) as st:
        floor = st.floor
        alice = await agent_page(browser, floor, "alice", "a1")
        visitor = await visitor_page(browser, st.site + "/")
        await open_and_start(visitor, "Vera", "vera@example.com")
        widget = visitor.locator("#cc-chat")
        await expect(widget.locator(".log .msg.bot").first).to_contain_text("help bot",
                                                                            timeout=T)
        (conv,) = [r for r, _ in await floor.chat.store.open_conversations()]
        assert conv.state.value == "bot"
        await widget.locator(".input").fill("agent")
        await widget.locator(".input").press("Enter")
        await expect(widget.locator(".log .msg.system").last).to_contain_text(
            "Connecting you to a person", timeout=T)

        card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
        await expect(card).to_be_visible(timeout=T)
        await card.locator(".chat-accept").click()
        await expect(card.locator(".chat-msg.chat-from-bot").first).to_contain_text(
            "Hi Vera! I am the help bot.", timeout=T)
        await expect(card.locator(".chat-msg.chat-from-visitor").first).to_contain_text(
            "agent")
        await expect(widget.locator(".log .msg.system").last).to_have_text(
            "Alice joined the chat.", timeout=T)
        live = floor.server.routing.engine.live[conv.id]
        assert live.arrived_at == conv.created_at < live.queue_entered_at
        (stats,) = await outcomes(floor.server.db)
        assert (stats["handover"], stats["deflected"]) == (1, 0)
