"""In Chromium: a supervisor evaluates a chat on /qa (its messages shown, the disclosure
answered from the agent's message with its number and time), the agent reads it with the chat
and disputes it; the QA report section charts the average score per day with points."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from playwright.async_api import expect
from qa_browser import browser_login
from qa_written import add_chat

from contactcenter.domain.clock import Clock
from contactcenter.web.roles import Actor

T = 20_000  # ms: generous, only catches hangs
ADMIN = Actor(0, "admin", "admin")
SUP = Actor(1, "sup", "supervisor")
CARD = {"sections": [{"title": "Chat", "questions": [
    {"id": "disclosure", "text": "Says the chat is recorded", "weight": 10, "critical": True,
     "allow_na": False, "auto": {"phrase": "this chat may be recorded", "to_s": 60}},
    {"id": "tone", "text": "Friendly tone", "kind": "scale", "scale_max": 5, "weight": 5}]}]}


@dataclass
class Frozen(Clock):
    """The project Clock, stopped at ``at``."""

    at: float = 0.0

    def time(self) -> float:
        """The stopped time."""
        return self.at


async def test_a_chat_is_evaluated_on_the_qa_page_and_disputed(qa_env, browser):
    env = qa_env
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    await add_chat(env.qa.service.db, "chat-b1", "1001", start, [
        (2, "visitor", "hello"), (8, "agent", "Hi, this chat may be recorded."),
        (20, "visitor", "my parcel is late"), (30, "agent", "It ships today.")])
    await env.qa.service.save_scorecard(ADMIN, "Chats", CARD, True)
    base = env.url("/").rstrip("/")

    sup = await browser_login(browser, base, "sup")
    await sup.goto(f"{base}/qa?chat=chat-b1")
    await expect(sup.locator("#e-channel")).to_have_value("chat", timeout=T)
    await expect(sup.locator("#e-recording")).to_have_value("chat-b1")
    await expect(sup.locator("#e-item-label")).to_have_text("Chat")
    await expect(sup.locator("#e-scorecard option")).to_have_count(1, timeout=T)
    await sup.click("#e-start")
    await expect(sup.locator("#e-thread .line")).to_have_count(4, timeout=T)
    await expect(sup.locator("#e-thread .line.agent .text").first).to_have_text(
        "Hi, this chat may be recorded.")
    disclosure = sup.locator('.question[data-question="disclosure"]')
    await expect(disclosure.locator(".evidence")).to_have_text(
        re.compile(r'^auto: yes: wrote "this chat may be recorded" in message 2 at '), timeout=T)
    await expect(sup.locator("#q-disclosure-yes")).to_be_checked()
    await sup.select_option("#q-tone", "5")
    await sup.click("#e-submit")
    await expect(sup.locator("#e-result")).to_have_text("100% (15/15)", timeout=T)
    row = sup.locator('#evaluations tr[data-channel="chat"]')
    await expect(row).to_have_count(1, timeout=T)
    await expect(row.locator("td").nth(1)).to_have_text("chat")

    agent = await browser_login(browser, base, "agent1")
    await agent.goto(f"{base}/qa")
    mine = agent.locator('#evaluations tr[data-channel="chat"]')
    await mine.click(timeout=T)
    await expect(agent.locator("#d-thread .line")).to_have_count(4, timeout=T)
    await agent.fill("#d-agent-comment", "the customer was happy")
    await agent.click("#d-dispute")
    await expect(agent.locator("#d-response")).to_have_text(
        "disputed by agent1: the customer was happy", timeout=T)
    [stored] = await env.qa.service.listing(ADMIN, channel="chat")
    assert stored.status == "disputed" and stored.item_id == "chat-b1"


async def _canvas_points(page, rgb: tuple[int, int, int]) -> int:  # type: ignore[no-untyped-def]
    """Pixels of the report chart's canvas close to a series' colour."""
    return await page.evaluate("""([r, g, b]) => {
        const c = document.querySelector('#r-chart canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] > 200 && Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40
                && Math.abs(d[i + 2] - b) < 40) n++;
        }
        return n;
    }""", list(rgb))


async def test_the_qa_report_charts_the_average_score_per_day(qa_env, browser):
    env = qa_env
    service = env.qa.service
    clock = Frozen()
    service.clock = clock
    card = (await service.save_scorecard(ADMIN, "Chats", CARD, True)).id
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    # three days ago: 100 and 0 (a critical "no"), average 50; yesterday: 0 (critical "no")
    for n, (days, disclosure, tone) in enumerate(((3, "yes", 5), (3, "no", 5), (1, "no", 0))):
        item = f"chat-r{n}"
        await add_chat(service.db, item, "1001", today - timedelta(days=days + 1),
                       [(9, "agent", "hello")])
        clock.at = (today - timedelta(days=days)).timestamp()
        draft = await service.start_item(SUP, "chat", item, card)
        await service.update(SUP, draft.id, {"disclosure": {"value": disclosure},
                                             "tone": {"value": tone}}, None, True)
    base = env.url("/").rstrip("/")
    sup = await browser_login(browser, base, "sup")
    await sup.goto(f"{base}/qa#report")
    await expect(sup.locator("#r-agents tbody tr")).to_have_count(1, timeout=T)
    await expect(sup.locator('#r-agents tfoot td[data-col="average_percent"]')).to_have_text(
        "33.33")
    await sup.wait_for_function("() => window.__qaChart && window.__qaChart.data[0].length",
                                timeout=T)
    data = await sup.evaluate("window.__qaChart.data")
    averages = [v for v in data[1] if v is not None]
    assert averages == [50.0, 0.0], averages
    assert len(data[0]) == 28 and sum(data[2]) == 3
    await sup.locator("#report").scroll_into_view_if_needed()
    assert await _canvas_points(sup, (0x25, 0x63, 0xEB)) > 20  # the average's line and points
    # the question table: the disclosure passed once in three
    rate = sup.locator('#r-questions tr:has(td:text-is("disclosure")) td[data-col="pass_rate"]')
    await expect(rate).to_have_text("33.33")
    csv_link = await sup.get_attribute("#r-csv-periods", "href")
    assert csv_link is not None and "table=periods" in csv_link
