"""In Chromium: a supervisor writes a sampling rule on /qa, samples now, sees the picked calls
in "To evaluate", and one click puts a call and the rule's scorecard in the evaluation form."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from qa_audio import tone
from qa_browser import browser_login

from contactcenter.qa.sampling import week_of
from contactcenter.web.roles import Actor

T = 20_000  # ms: generous, only catches hangs


async def test_a_rule_fills_the_worklist_and_a_pick_is_evaluated(qa_env, browser):
    env = qa_env
    _, monday, _ = week_of(env.qa.service.now(), ZoneInfo("UTC"))
    for i in range(10):
        await env.add_recording(f"{i:032x}", tone(0.2), queue="sales",
                                agent_id="1001" if i < 8 else "1002",
                                started=monday - timedelta(days=6, hours=-i))
    card = await env.qa.service.save_scorecard(
        Actor(0, "admin", "admin"), "Sales", {"sections": [{"title": "S", "questions": [
            {"id": "q", "text": "Q", "weight": 1}]}]}, True)
    base = env.url("/").rstrip("/")

    sup = await browser_login(browser, base, "sup")
    await sup.goto(f"{base}/qa")
    await expect(sup.locator("#worklist")).to_be_visible(timeout=T)
    await expect(sup.locator("#w-none")).to_be_visible(timeout=T)
    await sup.fill("#w-name", "Weekly sales")
    await sup.fill("#w-queue", "sales")
    await sup.fill("#w-percent", "25")
    await sup.fill("#w-minimum", "1")
    await sup.select_option("#w-scorecard", str(card.id))
    await sup.click("#w-save")
    await expect(sup.locator("#w-status")).to_have_text("saved Weekly sales", timeout=T)
    await expect(sup.locator("#w-rules tr[data-rule] td").nth(4)).to_have_text("Sales")

    await sup.click("#w-run")
    await expect(sup.locator("#w-run-status")).to_have_text("3 interaction(s) added", timeout=T)
    rows = sup.locator('#w-items tr[data-status="open"]')
    await expect(rows).to_have_count(3)  # 25 % of 8 -> 2, at least 1 of 2 -> 1

    first = rows.first
    recording = await first.get_attribute("data-recording")
    await first.locator(".w-evaluate").click()
    await expect(sup.locator("#e-recording")).to_have_value(recording)
    await expect(sup.locator("#e-scorecard")).to_have_value(str(card.id))
    await sup.click("#e-start")
    await expect(sup.locator("#e-form")).to_be_visible(timeout=T)
    await expect(rows).to_have_count(2, timeout=T)  # the draft left the open ones
