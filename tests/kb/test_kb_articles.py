"""Articles through the JSON API on a real socket: who may write and read what, versions with
conflicts, diff and restore, translations, categories, assist, feedback, and the audit trail."""

from __future__ import annotations

from contactcenter.kb.model import Audience, NewArticle, State


async def test_staff_write_agents_read_what_agents_may_and_every_change_is_audited(kb_env):
    sup, agent = await kb_env.client("sup"), await kb_env.client("agent1")
    anon = await kb_env.client()
    body = {"locale": "en", "title": "Resetting a password", "body": "Open *Settings*.",
            "tags": ["Account", "login"]}
    async with agent.post(kb_env.url("/api/kb/articles"), json=body) as r:
        assert r.status == 403
    async with sup.post(kb_env.url("/api/kb/articles"), json=body) as r:
        assert r.status == 201, await r.text()
        draft = await r.json()
    assert (draft["slug"], draft["state"], draft["version"], draft["tags"]) == (
        "resetting-a-password", "draft", 1, ["account", "login"])
    assert draft["html"] == "<p>Open <em>Settings</em>.</p>\n"
    assert draft["url"] == "/help/en/resetting-a-password"
    article_url = kb_env.url(f"/api/kb/articles/{draft['id']}")
    # A draft is the staff's: to an agent it does not exist.
    async with agent.get(article_url) as r:
        assert r.status == 404
    async with sup.post(f"{article_url}/state", json={"state": "internal", "version": 1}) as r:
        assert r.status == 200 and (await r.json())["version"] == 2
    async with agent.get(article_url) as r:
        assert r.status == 200 and (await r.json())["state"] == "internal"
    async with anon.get(kb_env.url("/api/help/search"), params={"q": "password"}) as r:
        assert r.status == 200 and (await r.json())["hits"] == []
    async with agent.get(kb_env.url("/api/kb/search"), params={"q": "password"}) as r:
        assert [h["id"] for h in (await r.json())["hits"]] == [draft["id"]]
    # An edit made on a stale version is refused, naming the current one.
    async with sup.put(article_url, json={"version": 1, "title": "Old"}) as r:
        assert r.status == 409 and (await r.json())["current_version"] == 2
    async with sup.put(article_url, json={"version": 2, "body": "Open *Security*."}) as r:
        assert r.status == 200 and (await r.json())["version"] == 3
    # A slug is an address: another article cannot take it.
    async with sup.post(kb_env.url("/api/kb/articles"),
                        json={**body, "slug": "resetting-a-password"}) as r:
        assert r.status == 409
    async with sup.post(kb_env.url("/api/kb/articles"), json={**body, "slug": "search"}) as r:
        assert r.status == 400  # a path of the help center
    async with agent.get(kb_env.url("/api/kb/gaps")) as r:
        assert r.status == 403
    actions = [(e.actor, e.action, e.target) for e in await kb_env.audit.list(
        action_prefix="kb.")]
    assert actions == [("sup", "kb.article.update", str(draft["id"])),
                       ("sup", "kb.article.state", str(draft["id"])),
                       ("sup", "kb.article.create", str(draft["id"]))]


async def test_versions_diff_and_restore(kb_env):
    admin = await kb_env.client("admin")
    async with admin.post(kb_env.url("/api/kb/articles"), json={
            "locale": "en", "title": "Roaming", "body": "Roaming is included in the EU.",
            "state": "published"}) as r:
        article = await r.json()
    url = kb_env.url(f"/api/kb/articles/{article['id']}")
    async with admin.put(url, json={"version": 1, "title": "Roaming abroad",
                                    "body": "Buy a travel pass."}) as r:
        assert (await r.json())["version"] == 2
    async with admin.get(f"{url}/diff", params={"from": "1", "to": "2"}) as r:
        diff = (await r.json())["diff"]
    assert "-# Roaming\n+# Roaming abroad" in diff
    assert "-Roaming is included in the EU.\n+Buy a travel pass." in diff
    async with admin.post(f"{url}/versions/1/restore", json={"version": 2}) as r:
        assert r.status == 200
        restored = await r.json()
    assert (restored["version"], restored["title"], restored["state"]) == (
        3, "Roaming", "published")
    assert restored["html"] == "<p>Roaming is included in the EU.</p>\n"
    async with admin.get(f"{url}/versions") as r:
        assert [(v["version"], v["action"]) for v in await r.json()] == [
            (3, "restore"), (2, "edit"), (1, "create")]
    async with admin.get(f"{url}/versions/2") as r:
        assert (await r.json())["body"] == "Buy a travel pass."
    async with admin.post(f"{url}/versions/9/restore", json={"version": 3}) as r:
        assert r.status == 404
    [entry] = await kb_env.audit.list(action_prefix="kb.article.restore")
    assert entry.detail == {"version": 3, "restored": 1}


async def test_translations_and_categories(kb_env):
    admin, agent = await kb_env.client("admin"), await kb_env.client("agent1")
    async with admin.post(kb_env.url("/api/kb/categories"), json={
            "slug": "billing", "name": "Billing", "names": {"fr": "Facturation"}}) as r:
        billing = await r.json()
    async with admin.post(kb_env.url("/api/kb/categories"), json={
            "slug": "refunds", "name": "Refunds", "parent_id": billing["id"]}) as r:
        refunds = await r.json()
    # A category cannot end up inside itself.
    async with admin.put(kb_env.url(f"/api/kb/categories/{billing['id']}"), json={
            "slug": "billing", "name": "Billing", "parent_id": refunds["id"]}) as r:
        assert r.status == 409
    async with admin.post(kb_env.url("/api/kb/articles"), json={
            "locale": "en", "title": "Refund policy", "body": "Within 14 days.",
            "category_id": refunds["id"], "state": "published"}) as r:
        english = await r.json()
    french_body = {"locale": "fr", "title": "Remboursements", "body": "Sous 14 jours.",
                   "translation_of": english["id"], "state": "published"}
    async with admin.post(kb_env.url("/api/kb/articles"), json=french_body) as r:
        french = await r.json()
    assert french["group"] == english["group"]
    async with admin.post(kb_env.url("/api/kb/articles"), json=french_body) as r:
        assert r.status == 409  # one translation per locale
    async with admin.post(kb_env.url("/api/kb/articles"), json={**french_body,
                                                                "locale": "de"}) as r:
        assert r.status == 400  # not a locale of kb.locales
    async with agent.get(kb_env.url(f"/api/kb/articles/{english['id']}")) as r:
        got = await r.json()
    assert got["translations"] == [{"id": french["id"], "locale": "fr",
                                    "slug": "remboursements", "title": "Remboursements",
                                    "state": "published"}]
    async with agent.get(kb_env.url("/api/kb/articles"),
                         params={"category_id": str(refunds["id"]), "locale": "en"}) as r:
        assert [a["id"] for a in await r.json()] == [english["id"]]
    assert french["category_id"] == refunds["id"]  # a translation takes the original's
    tree = await kb_env.kb.tree("fr")
    assert [(c.name_in("fr"), depth, count) for c, depth, count in tree] == [
        ("Facturation", 0, 0), ("Refunds", 1, 1)]


async def test_agent_assist_suggests_articles_and_takes_feedback(kb_env):
    kb = kb_env.kb
    refund = await kb.create("sup", NewArticle("en", "Refund policy",
                                               "Refunds go back to the card within 14 days.",
                                               state=State.PUBLISHED))
    await kb.create("sup", NewArticle("en", "Router setup", "Plug the router in.",
                                      state=State.PUBLISHED))
    secret = await kb.create("sup", NewArticle("en", "Refund exceptions for VIP",
                                               "Agents may refund VIP customers at once.",
                                               state=State.INTERNAL))
    agent, anon = await kb_env.client("agent1"), await kb_env.client()
    async with agent.post(kb_env.url("/api/kb/suggest"), json={
            "text": "hi, I was charged twice and want my money refunded",
            "context": {"ivr": {"menu": ["billing"]}, "caller_id": "+3225550100"}}) as r:
        assert r.status == 200
        hits = (await r.json())["hits"]
    assert {h["id"] for h in hits} == {refund.id, secret.id}
    assert all(h["url"].startswith("/help/en/") for h in hits)
    async with agent.post(kb_env.url("/api/kb/suggest"),
                          json={"context": {"ivr": {"topic": "router"}}}) as r:
        assert [h["title"] for h in (await r.json())["hits"]] == ["Router setup"]
    async with anon.post(kb_env.url("/api/kb/suggest"), json={"text": "refund"}) as r:
        assert r.status in (401, 403)
    for helpful in (True, True, False):
        async with agent.post(kb_env.url(f"/api/kb/articles/{refund.id}/feedback"),
                              json={"helpful": helpful}) as r:
            counts = await r.json()
    assert counts == {"helpful": 2, "not_helpful": 1}
    assert (await kb.feedback_counts(refund.id)).as_json() == counts
    # An agent's preview of markdown would be the same sanitized HTML, but it is the staff's.
    async with agent.post(kb_env.url("/api/kb/preview"), json={"body": "x"}) as r:
        assert r.status == 403
    sup = await kb_env.client("sup")
    async with sup.post(kb_env.url("/api/kb/preview"),
                        json={"body": "<script>alert(1)</script> **hi**"}) as r:
        assert (await r.json())["html"] == \
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; <strong>hi</strong></p>\n"
    assert (await kb.get(secret.id, Audience.AGENT)).id == secret.id
