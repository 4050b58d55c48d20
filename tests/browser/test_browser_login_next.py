"""In Chromium: a page opened without a session sends people to /login and back to it after
they log in; a ``next`` that is not a local page of ours is never followed."""

from __future__ import annotations

import re

from panel_floor import PASSWORD, panel_floor

T = 20_000  # ms: generous, only catches hangs


async def _log_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")


async def test_login_returns_to_the_page_that_asked_and_refuses_other_targets(browser, tmp_path):
    async with panel_floor(tmp_path) as floor:
        await floor.add_user("sue", "supervisor")
        context = await browser.new_context()
        page = await context.new_page()
        # Not sue's home page (the wallboard), nor one of the panel's first three pages.
        await page.goto(f"{floor.url}/recordings")
        await page.wait_for_url(re.compile(r"/login\?next=%2Frecordings$"), timeout=T)
        await _log_in(page, "sue")
        await page.wait_for_url(re.compile(r"/recordings$"), timeout=T)

        for target in ("//evil.example/x", "https://evil.example/", "/admin/../x"):
            fresh = await (await browser.new_context()).new_page()
            await fresh.goto(f"{floor.url}/login?next={target}")
            await _log_in(fresh, "sue")
            await fresh.wait_for_url(re.compile(r"/wallboard$"), timeout=T)
            assert fresh.url.startswith(floor.url), (target, fresh.url)
