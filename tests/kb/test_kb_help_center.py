"""The public help center over HTTP, as a client with no scripts sees it: whole pages at stable
addresses, the search form, the category tree, feedback by form, and nothing unpublished."""

from __future__ import annotations

import re

from contactcenter.kb.model import NewArticle, NewCategory, State


async def _site(kb):  # type: ignore[no-untyped-def]
    help_ = await kb.save_category("sup", NewCategory("account", "Your account",
                                                      names={"fr": "Votre compte"}))
    security = await kb.save_category("sup", NewCategory("security", "Security",
                                                         parent_id=help_.id))
    english = await kb.create("sup", NewArticle(
        "en", "Two-factor authentication", "Use an **authenticator** app.\n\n"
        "<script>alert('x')</script>", category_id=security.id, tags=("login",),
        state=State.PUBLISHED))
    french = await kb.create("sup", NewArticle(
        "fr", "Double authentification", "Utilisez une application.",
        translation_of=english.id, state=State.PUBLISHED))
    draft = await kb.create("sup", NewArticle("en", "Secret plans", "authenticator plans"))
    return english, french, draft


async def test_pages_are_whole_html_at_stable_addresses(kb_env):
    await _site(kb_env.kb)
    anon = await kb_env.client()
    async with anon.get(kb_env.url("/help"), allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/help/en"
    async with anon.get(kb_env.url("/help/en")) as r:
        home = await r.text()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
        csp = r.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert '<html lang="en">' in home and "<script" not in home
    # The tree: Security inside Your account, with its article count.
    assert re.search(r'<a href="/help/en/categories/account">Your account</a>.*<ul><li>'
                     r'<a href="/help/en/categories/security">Security</a> '
                     r"<span class=count>1</span>", home)
    assert '<a href="/help/en/two-factor-authentication">Two-factor authentication</a>' in home
    assert "Secret plans" not in home
    async with anon.get(kb_env.url("/help/en/two-factor-authentication")) as r:
        page = await r.text()
    assert "<strong>authenticator</strong>" in page
    assert "&lt;script&gt;alert(" in page and "<script" not in page
    assert '<a href="/help/fr/double-authentification" hreflang="fr"' in page
    assert '<link rel="alternate" hreflang="fr" href="/help/fr/double-authentification">' in page
    assert '<a href="/help/en/categories/security">Security</a>' in page  # breadcrumbs
    async with anon.get(kb_env.url("/help/fr")) as r:
        assert "Votre compte" in await r.text()
    async with anon.get(kb_env.url("/help/en/categories/security")) as r:
        assert "Two-factor authentication" in await r.text()
    for path in ("/help/en/secret-plans", "/help/en/nothing-here", "/help/de",
                 "/help/en/categories/nothing", "/help/fr/two-factor-authentication"):
        async with anon.get(kb_env.url(path)) as r:
            assert r.status == 404, path
            assert "<form" in await r.text()  # the search box, to carry on from there


async def test_the_search_form_finds_published_articles_with_highlights(kb_env):
    await _site(kb_env.kb)
    anon = await kb_env.client()
    async with anon.get(kb_env.url("/help/en/search"), params={"q": "authenticator"}) as r:
        page = await r.text()
    assert page.count('<li><a href="/help/en/') == 1  # the draft says it too: not shown
    assert "<mark>authenticator</mark>" in page
    assert 'value="authenticator"' in page  # the box keeps the query
    async with anon.get(kb_env.url("/help/en/search"),
                        params={"q": '"><img src=zz onerror=zz(2)>'}) as r:
        page = await r.text()
    assert "<img" not in page and "&quot;&gt;&lt;img src=zz onerror=zz(2)&gt;" in page
    assert "No article matches your search." in page
    assert [g.query for g in await kb_env.kb.gaps()] == ['"><img src=zz onerror=zz(2)>']
    async with anon.get(kb_env.url("/help/en/search"), params={"q": "autenticator"}) as r:
        page = await r.text()
    assert "Showing results for “authentication”" in page  # the title's word
    assert "Two-factor authentication" in page


async def test_customers_say_whether_an_article_helped_with_a_form(kb_env):
    english, _french, draft = await _site(kb_env.kb)
    anon = await kb_env.client()
    action = kb_env.url("/help/en/two-factor-authentication/feedback")
    async with anon.post(action, data={"helpful": "yes"}, allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers["Location"] == "/help/en/two-factor-authentication?thanks=1"
    async with anon.post(action, data={"helpful": "no"}) as r:  # a change of mind
        assert "Thank you for your feedback." in await r.text()
    other = await kb_env.client(source="127.0.0.2")
    async with other.post(action, data={"helpful": "yes"}) as r:
        assert "Thank you for your feedback." in await r.text()
    async with anon.post(action, data={"helpful": "yes"},
                         headers={"Origin": "http://evil.example"}) as r:
        assert r.status == 403
    async with anon.post(kb_env.url("/help/en/secret-plans/feedback"),
                         data={"helpful": "yes"}) as r:
        assert r.status == 404
    counts = await kb_env.kb.feedback_counts(english.id)
    assert (counts.helpful, counts.not_helpful) == (1, 1)
    assert (await kb_env.kb.feedback_counts(draft.id)).helpful == 0
