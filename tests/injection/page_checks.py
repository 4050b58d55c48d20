"""What the injection page tests do to every page: open it logged in with alert/confirm/prompt
hooked, and, once the payloads are on screen, check that none of them ran or became markup."""

from __future__ import annotations

import asyncio
from typing import Any

HOOK = """
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (...args) => { window.__pwned = (window.__pwned || []).concat([name]); };
}
"""
# Elements a payload would make if a page set it as HTML; none of ours carries a marker.
_MARKUP = ("script, style, iframe, svg, img, object, embed, a[href^='javascript' i], "
           "[onerror], [onload], [ontoggle], [srcdoc]")


async def hooked_page(browser: Any) -> tuple[Any, list[str]]:
    """A page of a new context with the dialogs hooked (nobody logged in); the dialogs seen."""
    context = await browser.new_context()
    await context.add_init_script(HOOK)
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
    return page, dialogs


async def open_page(browser: Any, url: str, username: str, password: str, path: str,
                    timeout_ms: int) -> tuple[Any, list[str]]:
    """A new context logged in through the login page at ``path``; the page and its dialogs."""
    page, dialogs = await hooked_page(browser)
    await page.goto(f"{url}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login-submit")
    await page.wait_for_url(lambda u: "/login" not in u, timeout=timeout_ms)
    await page.goto(f"{url}{path}")
    return page, dialogs


async def assert_inert(page: Any, dialogs: list[str]) -> None:
    """No payload ran (no ``window.__pwned``, no dialog) and none became an element."""
    assert await page.evaluate("window.__pwned") is None, page.url
    assert dialogs == [], (page.url, dialogs)
    made = await page.locator(_MARKUP).evaluate_all(
        "els => els.filter(e => /pwn/i.test(e.outerHTML)).map(e => e.outerHTML.slice(0, 200))")
    assert made == [], (page.url, made)
