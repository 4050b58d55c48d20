"""Logging in through the panel's real login page, for quality's browser tests."""

from __future__ import annotations

PASSWORD = "correct horse battery"


async def browser_login(browser, base_url: str, username: str):  # type: ignore[no-untyped-def]
    """A new browser context logged in as ``username`` through the login page; its page."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base_url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page
