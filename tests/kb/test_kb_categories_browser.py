"""The editing page's category panel in a real Chromium: a supervisor adds categories, renames
one and moves it, sees the article editor's list follow, is told why a category with an
article in it cannot be deleted, and deletes it once it is empty."""

from __future__ import annotations

import pytest
from kb_support import logged_in
from playwright.async_api import expect

from contactcenter.kb.model import ArticleChanges, NewArticle
from contactcenter.storage.database import Database

MS = 10_000  # Playwright's waits, in milliseconds: a bound, not a measure


@pytest.fixture
async def database(tmp_path):  # type: ignore[no-untyped-def]
    """SQLite only: the page does not depend on the database (the API tests cover both)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")
    await db.create_all()
    yield db
    await db.close()


async def test_a_supervisor_adds_renames_moves_and_deletes_categories(kb_env, browser):
    kb = kb_env.kb
    context, page = await logged_in(kb_env, browser, "sup")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"dialog {d.message}"))
    await page.goto(kb_env.url("/kb"))
    await expect(page.locator("#who")).to_have_text("sup (supervisor)", timeout=MS)
    await page.click("#categories-panel summary")
    rows = page.locator("#categories tbody tr")

    # Add: the slug comes from the name unless one is typed.
    await page.fill("#c-name", "Billing & Payments")
    await page.click("#c-add")
    await expect(page.locator("#c-status")).to_have_text("Added “Billing & Payments”",
                                                         timeout=MS)
    await page.fill("#c-name", "Refunds")
    await page.select_option("#c-parent", label="Billing & Payments")
    await page.click("#c-add")
    await expect(rows).to_have_count(2, timeout=MS)
    billing, refunds = await kb.categories()
    assert (billing.slug, refunds.slug, refunds.parent_id) == (
        "billing-payments", "refunds", billing.id)
    category = page.locator("#e-category option")
    await expect(category).to_have_text(["(none)", "Billing & Payments",
                                         "Billing & Payments › Refunds"])
    # A category cannot be put inside its own subcategory: the list does not offer it.
    await expect(page.locator(f"#categories tr[data-id='{billing.id}'] .c-row-parent option")
                 ).to_have_text(["(top)"])

    # Rename and move to the top.
    row = page.locator(f"#categories tr[data-id='{refunds.id}']")
    await row.locator(".c-row-name").fill("Money back")
    await row.locator(".c-row-parent").select_option("")
    await row.locator(".c-save").click()
    await expect(page.locator("#c-status")).to_have_text("Saved “Money back”", timeout=MS)
    await expect(category).to_have_text(["(none)", "Billing & Payments", "Money back"])
    moved = next(c for c in await kb.categories() if c.id == refunds.id)
    assert (moved.name, moved.slug, moved.parent_id) == ("Money back", "refunds", None)

    # Delete: refused with the reason while an article is in it, done once it is empty.
    article = await kb.create("sup", NewArticle("en", "Card payments", "We take cards.",
                                                category_id=billing.id))
    await page.locator(f"#categories tr[data-id='{billing.id}'] .c-delete").click()
    await expect(page.locator("#c-error")).to_have_text(
        "category 'Billing & Payments' still holds 1 article: move or delete them first",
        timeout=MS)
    await expect(rows).to_have_count(2)
    await kb.update("sup", article.id, article.version, ArticleChanges(category_id=None))
    await page.locator(f"#categories tr[data-id='{billing.id}'] .c-delete").click()
    await expect(page.locator("#c-status")).to_have_text("Deleted “Billing & Payments”",
                                                         timeout=MS)
    await expect(page.locator("#c-error")).to_have_text("")
    await expect(rows).to_have_count(1)
    await expect(category).to_have_text(["(none)", "Money back"])
    assert [c.name for c in await kb.categories()] == ["Money back"]
    assert errors == []
    await context.close()
