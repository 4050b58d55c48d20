"""The help center in a real Chromium: found and read with JavaScript off; and with it on, no
script an author put in an article's markdown runs, wherever the article shows."""

from __future__ import annotations

import pytest
from test_kb_render import XSS

from contactcenter.kb.model import NewArticle, State
from contactcenter.storage.database import Database


@pytest.fixture
async def database(tmp_path):  # type: ignore[no-untyped-def]
    """SQLite only: what the browser sees does not depend on the database (the search tests
    cover both)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")
    await db.create_all()
    yield db
    await db.close()


async def test_a_visitor_without_javascript_finds_an_article_by_a_word_of_its_body(kb_env,
                                                                                   browser):
    kb = kb_env.kb
    await kb.create("sup", NewArticle("en", "Keeping your number", "Ask your old operator "
                                      "for the **transfer code** and give it to us.",
                                      state=State.PUBLISHED))
    await kb.create("sup", NewArticle("en", "Voicemail", "Dial 123.", state=State.PUBLISHED))
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(kb_env.url("/help"))
    assert page.url.endswith("/help/en")
    await page.fill("input[name=q]", "operator")
    await page.press("input[name=q]", "Enter")
    await page.wait_for_url("**/help/en/search?q=operator")
    results = page.locator("ul.articles li")
    assert await results.count() == 1
    assert await results.locator("mark").inner_text() == "operator"
    await results.locator("a").click()
    await page.wait_for_url("**/help/en/keeping-your-number")
    assert await page.locator("h1").inner_text() == "Keeping your number"
    assert await page.locator("article strong").inner_text() == "transfer code"
    # The feedback buttons are a form: they work without scripts too.
    await page.click("button[value=yes]")
    await page.wait_for_url("**?thanks=1")
    assert "Thank you" in await page.locator(".feedback").inner_text()
    await context.close()


async def test_no_script_in_an_article_runs_with_javascript_on(kb_env, browser):
    body = "Whatever you type here stays text.\n\n" + "\n\n".join(XSS)
    await kb_env.kb.create("sup", NewArticle("en", "Scripts <script>alert(2)</script>", body,
                                             state=State.PUBLISHED))
    context = await browser.new_context()  # scripts allowed: only the page may stop them
    page = await context.new_page()
    events: list[str] = []
    page.on("dialog", lambda d: events.append(f"dialog {d.message}"))
    page.on("console", lambda m: events.append(f"console {m.text}"))
    page.on("pageerror", lambda e: events.append(f"error {e}"))
    for path in ("/help/en/scripts-script-alert-2-script",
                 "/help/en/search?q=alert", "/help/en"):
        await page.goto(kb_env.url(path))
        await page.wait_for_load_state("load")
        assert await page.locator("script, iframe, svg, object, embed").count() == 0, path
        assert await page.evaluate("typeof window.__xss") == "undefined"
    await page.goto(kb_env.url("/help/en/scripts-script-alert-2-script"))
    assert await page.locator("h1").inner_text() == "Scripts <script>alert(2)</script>"
    assert "<script>alert(1)</script>" in await page.locator("article .body").inner_text()
    hrefs = await page.locator("article a").evaluate_all("links => links.map(a => a.href)")
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert events == []
    await context.close()
