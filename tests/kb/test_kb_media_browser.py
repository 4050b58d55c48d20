"""In a real Chromium: a supervisor uploads an image in the editing page, sees it in the
preview and on the published help-center page; a solved ticket becomes a draft article that
opens in the editor; the ticket page suggests articles and inserts one into the reply."""

from __future__ import annotations

import pytest
from kb_media_support import desk, png
from kb_support import PASSWORD
from playwright.async_api import expect

from contactcenter.kb.model import NewArticle, State
from contactcenter.storage.database import Database
from contactcenter.tickets.model import (
    Author,
    NewTicket,
    Origin,
    Requester,
    Status,
    Visibility,
)
from contactcenter.tickets.service import Who
from contactcenter.tickets.store import ArticleDraft

MS = 10_000  # Playwright's waits, in milliseconds: a bound, not a measure


@pytest.fixture
async def database(tmp_path):  # type: ignore[no-untyped-def]
    """SQLite only: the pages do not depend on the database (the API tests cover both)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")
    await db.create_all()
    yield db
    await db.close()


@pytest.fixture
async def env(database, password_hash, kb_settings):  # type: ignore[no-untyped-def]
    async with desk(database, password_hash, kb_settings) as running:
        yield running


async def _logged_in(env, browser, username: str):  # type: ignore[no-untyped-def]
    page = await (await browser.new_context()).new_page()
    await page.goto(env.url("/login"))
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


async def _decoded(page, selector: str, width: int) -> None:  # type: ignore[no-untyped-def]
    """Wait until the image is loaded and decoded at ``width`` pixels (0 if it failed)."""
    await page.wait_for_function(
        "([sel, w]) => { const i = document.querySelector(sel);"
        " return !!i && i.complete && i.naturalWidth === w; }",
        arg=[selector, width], timeout=MS)


async def test_an_uploaded_image_shows_in_the_preview_and_on_the_help_center(env, browser):
    page = await _logged_in(env, browser, "sup")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(env.url("/kb"))
    # The page's script is set up once it shows who is logged in: "New" does nothing before.
    await expect(page.locator("#who")).to_have_text("sup (supervisor)", timeout=MS)
    await page.click("#new")
    await page.fill("#e-title", "Router lights")
    await page.fill("#e-body", "The lights of the router:")
    await page.click("#save")
    await expect(page.locator("#e-saved")).to_have_text("Saved: version 1", timeout=MS)

    await page.locator("#e-file").set_input_files(
        {"name": "lights.png", "mimeType": "image/png", "buffer": png(4, 3)})
    await page.click("#upload")
    await expect(page.locator("#media li")).to_have_count(1, timeout=MS)
    body = await page.input_value("#e-body")
    assert body.startswith("The lights of the router:\n\n![lights.png](/kb/media/")
    image = page.locator("#e-preview img")
    await expect(image).to_have_attribute("alt", "lights.png", timeout=MS)
    await _decoded(page, "#e-preview img", 4)
    # Refused: an SVG, whatever its name says.
    await page.locator("#e-file").set_input_files(
        {"name": "logo.png", "mimeType": "image/png",
         "buffer": b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'})
    await page.click("#upload")
    await expect(page.locator("#e-upload-error")).to_contain_text("no SVG", timeout=MS)

    await page.click("#save")
    await expect(page.locator("#e-saved")).to_have_text("Saved: version 2", timeout=MS)
    await page.click("#states button[data-state=published]")
    await expect(page.locator("#e-state")).to_have_text("published", timeout=MS)

    visitor = await (await browser.new_context()).new_page()  # nobody logged in
    await visitor.goto(env.url("/help/en/router-lights"))
    shown = visitor.locator("img[alt='lights.png']")
    await expect(shown).to_have_count(1, timeout=MS)
    await _decoded(visitor, "img[alt='lights.png']", 4)
    assert errors == []


async def test_a_solved_ticket_becomes_a_draft_and_the_ticket_page_suggests_articles(
        env, browser):
    kb = env.kb
    await kb.create("sup", NewArticle(
        "en", "Printing invoices", "Turn on *background graphics* when printing invoices.",
        state=State.INTERNAL))
    staff = Who("sup", staff=True)
    ticket = await env.tickets.create(
        NewTicket("Invoices print blank", Origin.WEB, "support",
                  Requester(email="ann@example.com", name="Ann")), staff,
        ArticleDraft(Visibility.PUBLIC, Author.CUSTOMER, "Ann",
                     "Every invoice I print comes out blank."))
    page = await _logged_in(env, browser, "sup")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(env.url(f"/tickets?id={ticket.id}"))
    await expect(page.locator("#t-subject")).to_have_text("Invoices print blank", timeout=MS)
    await expect(page.locator("#t-draft")).to_be_hidden()  # not solved yet

    # Assist: the internal article is suggested; its text goes into the reply box.
    item = page.locator("#t-assist .kb-assist-item")
    await expect(item).to_have_count(1, timeout=MS)
    await expect(item.locator(".kb-assist-open")).to_have_text("Printing invoices")
    await item.locator(".kb-assist-link").click()  # internal: no public link to give
    await expect(page.locator("#t-assist .kb-assist-status")).to_contain_text("internal")
    await item.locator(".kb-assist-text").click()
    await expect(page.locator("#text")).to_have_value(
        "Turn on background graphics when printing invoices.", timeout=MS)
    await page.select_option("#reply-status", "solved")
    await page.click("#send-reply")
    await expect(page.locator("#thread li")).to_have_count(2, timeout=MS)

    # Solved: it becomes a draft article, opened in the editor.
    await expect(page.locator("#t-draft")).to_be_visible(timeout=MS)
    await page.click("#t-draft")
    await page.wait_for_url(lambda url: "/kb?article=" in url, timeout=MS)
    await expect(page.locator("#e-title")).to_have_value("Invoices print blank", timeout=MS)
    await expect(page.locator("#e-state")).to_have_text("draft")
    await expect(page.locator("#e-origin")).to_have_text(f"/tickets?id={ticket.id}")
    body = await page.input_value("#e-body")
    assert body == ("## Question\n\n> Every invoice I print comes out blank.\n\n## Answer\n\n"
                    "Turn on background graphics when printing invoices.\n")
    await expect(page.locator("#e-preview h2")).to_have_count(2, timeout=MS)
    solved = await env.tickets.ticket(ticket.id, staff)
    assert solved.status is Status.SOLVED
    assert errors == []
