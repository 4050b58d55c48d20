"""What the knowledge base's tests share besides fixtures: the settings, the staff password and
the corpus loader. A module of its own, not ``conftest``: a test that imports ``conftest`` gets
whichever folder's conftest pytest loaded last when several folders run together."""

from __future__ import annotations

from kb_corpus import ARTICLES

from contactcenter.kb.model import NewArticle, State
from contactcenter.kb.settings import KbSettings

PASSWORD = "correct horse battery"
SETTINGS = KbSettings(locales=["en", "fr"], title="Example help")


async def load_corpus(kb, state: State = State.PUBLISHED) -> dict[int, str]:  # type: ignore[no-untyped-def]
    """The relevance set's articles, published in English; article id -> corpus key."""
    ids = {}
    for key, title, tags, body in ARTICLES:
        article = await kb.create("loader", NewArticle("en", title, body, tags=tags, state=state))
        ids[article.id] = key
    return ids


async def logged_in(kb_env, browser, username: str):  # type: ignore[no-untyped-def]
    """A new browser context logged in as ``username``, and its page."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(kb_env.url("/login"))
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return context, page
