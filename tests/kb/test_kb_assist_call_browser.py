"""Agent assist on a call, in Chromium against the real server and the PBX simulator: the
screen pop's IVR path and inputs bring the article to the call card (open it, mark it; a call
has no reply box, so nothing to insert)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "browser"))
sys.path.insert(0, str(_TESTS / "e2e"))

from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.kb.model import NewArticle, State
from contactcenter.sim import CallerScript, Press

T = 20_000  # ms: generous, only catches hangs


async def test_the_call_card_suggests_from_the_ivr_path_and_inputs(browser, tmp_path):
    async with panel_floor(tmp_path) as floor:
        kb = floor.server.kb.service
        wanted = await kb.create("sup", NewArticle(
            "en", "Finding your account number",
            "Your support account number is on every invoice.", state=State.INTERNAL))
        await kb.create("sup", NewArticle("en", "Roaming", "Roaming is free in the EU.",
                                          state=State.PUBLISHED))
        await floor.add_user("carla", "agent", "1003")
        page = await login(browser, floor, "carla")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # The page's buttons work once it has shown the agent's state.
        await expect(page.locator("#state")).to_have_text("logged_out", timeout=T)
        await page.click("#queues-login")
        await expect(page.locator("#state")).not_to_have_text("logged_out", timeout=T)
        await page.click("#available")
        await expect(page.locator("#state")).to_have_text("available", timeout=T)

        # Support (2), then an account number: the path main_menu/support_account.
        await floor.sim.place_call(CallerScript(
            caller_id="5551234", exten="200", hangup_after=None,
            steps=[Press("2", after=0.5), Press("12345#", after=0.5)]))
        await expect(page.locator("#pop-path")).to_contain_text("support_account", timeout=T)
        item = page.locator(f"#pop-assist .kb-assist-item[data-article='{wanted.id}']")
        await expect(item).to_be_visible(timeout=T)
        assert await item.locator(".kb-assist-link, .kb-assist-text").count() == 0
        await item.locator(".kb-assist-open").focus()
        await page.keyboard.press("Enter")
        await expect(item.locator(".kb-assist-body")).to_contain_text("on every invoice",
                                                                      timeout=T)
        await expect(item.locator(".kb-assist-open")).to_have_attribute("aria-expanded", "true")
        await item.locator(".kb-assist-no").click()
        await expect(item).to_have_attribute("data-voted", "not-helpful", timeout=T)
        counts = await kb.feedback_counts(wanted.id)
        assert (counts.helpful, counts.not_helpful) == (0, 1)
        await page.click("#hangup")
        await expect(page.locator("#state")).to_have_text("wrapup", timeout=T)
        assert errors == []
