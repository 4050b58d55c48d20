"""The staff's editing page in a real Chromium: write an article beside the server's preview,
publish it and find it on the help center, edit it, compare and restore a version, translate
it; an agent is turned away, and no script typed in the markdown runs in the preview."""

from __future__ import annotations

import pytest
from kb_support import logged_in
from playwright.async_api import expect
from test_kb_render import XSS

from contactcenter.kb.model import Audience, NewArticle, State
from contactcenter.storage.database import Database

MS = 10_000  # Playwright's waits, in milliseconds: a bound, not a measure


@pytest.fixture
async def database(tmp_path):  # type: ignore[no-untyped-def]
    """SQLite only: the page does not depend on the database (the API tests cover both)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")
    await db.create_all()
    yield db
    await db.close()


async def test_a_supervisor_writes_previews_publishes_edits_restores_and_translates(
        kb_env, browser):
    context, page = await logged_in(kb_env, browser, "sup")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"dialog {d.message}"))
    await page.goto(kb_env.url("/kb"))
    await expect(page.locator("#who")).to_have_text("sup (supervisor)", timeout=MS)
    await expect(page.locator("#list-empty")).to_be_visible(timeout=MS)

    # Write: the preview is the server's rendering, sanitized like the help center's.
    await page.click("#new")
    await page.fill("#e-title", "Keeping your number")
    await page.fill("#e-tags", "porting, Number")
    await page.fill("#e-body", "Ask your old operator for the **transfer code**.\n\n"
                               + "\n\n".join(XSS))
    preview = page.locator("#e-preview")
    await expect(preview.locator("strong")).to_have_text("transfer code", timeout=MS)
    assert await preview.locator("script, iframe, svg, object, embed").count() == 0
    assert await page.evaluate("typeof window.__xss") == "undefined"
    await page.fill("#e-body", "Ask your old operator for the **transfer code**.")
    await expect(preview).not_to_contain_text("alert", timeout=MS)
    await page.click("#save")
    await expect(page.locator("#e-saved")).to_have_text("Saved: version 1", timeout=MS)
    await expect(page.locator("#e-state")).to_have_text("draft")
    rows = page.locator("#articles tbody tr")
    await expect(rows).to_have_count(1)
    (article,) = await kb_env.kb.articles(Audience.STAFF)
    assert (article.slug, article.tags, article.state.value) == (
        "keeping-your-number", ("number", "porting"), "draft")

    # Publish, then the help center shows it.
    await page.click("#states button[data-state=published]")
    await expect(page.locator("#e-state")).to_have_text("published", timeout=MS)
    await expect(page.locator("#e-url")).to_have_text("/help/en/keeping-your-number")
    visitor = await (await browser.new_context(java_script_enabled=False)).new_page()
    await visitor.goto(kb_env.url("/help/en/search?q=operator"))
    await expect(visitor.locator("ul.articles li a")).to_have_text("Keeping your number")

    # Edit, then compare the first version with the current one and bring it back.
    await page.fill("#e-body", "Ask us for the **porting form**.")
    await expect(preview.locator("strong")).to_have_text("porting form", timeout=MS)
    await page.click("#save")
    await expect(page.locator("#e-saved")).to_have_text("Saved: version 3", timeout=MS)
    versions = page.locator("#versions tbody tr")
    await expect(versions).to_have_count(3)
    await page.click("#versions tr[data-version='1'] button.diff-button")
    diff = page.locator("#diff")
    await expect(diff.locator(".del")).to_contain_text("-Ask your old operator", timeout=MS)
    await expect(diff.locator(".add")).to_contain_text("+Ask us for the **porting form**.")
    await page.click("#versions tr[data-version='1'] button.restore-button")
    await expect(page.locator("#e-saved")).to_have_text("Version 1 restored as version 4",
                                                        timeout=MS)
    await expect(page.locator("#e-body")).to_have_value(
        "Ask your old operator for the **transfer code**.")
    await expect(page.locator("#e-state")).to_have_text("published")  # a restore keeps it

    # Translate: the new article is in the group, and each lists the other.
    await page.select_option("#tr-locale", "fr")
    await page.click("#translate")
    await expect(page.locator("#e-heading")).to_have_text(
        "New translation of “Keeping your number”")
    await expect(page.locator("#e-locale")).to_have_value("fr")
    await page.fill("#e-title", "Garder son numéro")
    await page.fill("#e-body", "Demandez le **code de transfert** à votre ancien opérateur.")
    await page.click("#save")
    await expect(page.locator("#e-saved")).to_have_text("Saved: version 1", timeout=MS)
    await expect(page.locator("#translations li[data-locale=en]")).to_contain_text(
        "Keeping your number")
    await page.click("#translations li[data-locale=en] a")
    await expect(page.locator("#e-heading")).to_have_text("Keeping your number", timeout=MS)
    await expect(page.locator("#translations li[data-locale=fr]")).to_contain_text(
        "Garder son numéro")

    # The list's search finds drafts too, in the chosen locale.
    await page.select_option("#f-locale", "fr")
    await page.fill("#q", "opérateur")
    await page.click("#search")
    await expect(rows).to_have_count(1, timeout=MS)
    await expect(rows.first).to_contain_text("Garder son numéro")
    assert errors == []
    await context.close()


async def test_an_agent_is_turned_away(kb_env, browser):
    context, page = await logged_in(kb_env, browser, "agent1")
    await page.goto(kb_env.url("/kb"))
    await expect(page.locator("#forbidden")).to_be_visible(timeout=MS)
    await context.close()


async def test_an_admin_schedules_an_article_and_keeps_the_synonyms(kb_env, browser):
    kb = kb_env.kb
    await kb.create("sup", NewArticle("en", "Ending your contract",
                                      "To terminate, call us.", state=State.PUBLISHED))
    roaming = await kb.create("sup", NewArticle("en", "Roaming", "Roaming is included."))
    context, page = await logged_in(kb_env, browser, "admin")
    await page.goto(kb_env.url(f"/kb?article={roaming.id}"))
    await expect(page.locator("#e-heading")).to_have_text("Roaming", timeout=MS)
    tomorrow = await page.evaluate("""() => {
        const d = new Date(Date.now() + 864e5);
        d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
        return d.toISOString().slice(0, 16); }""")
    await page.fill("#e-publish-at", tomorrow)
    await page.click("#schedule")
    await expect(page.locator("#e-state")).to_have_text("scheduled", timeout=MS)
    await expect(page.locator("#e-scheduled")).to_contain_text("shown from")
    scheduled = await kb.get(roaming.id, Audience.STAFF)
    assert scheduled.state is State.PUBLISHED and scheduled.publish_at is not None
    visitor = await (await browser.new_context(java_script_enabled=False)).new_page()
    response = await visitor.goto(kb_env.url("/help/en/roaming"))
    assert response is not None and response.status == 404

    await page.click("#synonyms-panel summary")
    await expect(page.locator("#syn-status")).to_have_text("0 group(s)", timeout=MS)
    await page.fill("#syn-text", "Cancel, terminate\nsim card, chip")
    await page.click("#syn-save")
    await expect(page.locator("#syn-status")).to_have_text("Saved: 2 group(s)", timeout=MS)
    await expect(page.locator("#syn-text")).to_have_value("cancel, terminate\nsim card, chip")
    await visitor.goto(kb_env.url("/help/en/search?q=cancel"))
    await expect(visitor.locator("ul.articles li a")).to_have_text("Ending your contract")
    await context.close()

    context, page = await logged_in(kb_env, browser, "sup")  # reads them, may not change them
    await page.goto(kb_env.url("/kb"))
    await page.click("#synonyms-panel summary")
    await expect(page.locator("#syn-text")).to_have_value("cancel, terminate\nsim card, chip",
                                                          timeout=MS)
    await expect(page.locator("#syn-save")).to_be_disabled()
    await context.close()
