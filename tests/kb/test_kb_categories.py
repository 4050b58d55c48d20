"""Categories through the JSON API on a real socket: create, rename, move, and delete, which
is refused while an article (in any state) or a subcategory is in it; every change audited;
the delete declared in the OpenAPI document like the other routes."""

from __future__ import annotations

import pytest

from contactcenter.kb.model import KbError, NewArticle, NewCategory
from contactcenter.web.openapi import build_openapi


async def test_a_category_is_deleted_only_once_nothing_is_in_it(kb_env):
    sup, agent = await kb_env.client("sup"), await kb_env.client("agent1")
    url = kb_env.url("/api/kb/categories")
    async with sup.post(url, json={"slug": "billing", "name": "Billing"}) as r:
        billing = await r.json()
    async with sup.post(url, json={"slug": "refunds", "name": "Refunds",
                                   "parent_id": billing["id"]}) as r:
        refunds = await r.json()
    async with sup.post(url, json={"slug": "misc", "name": "Misc"}) as r:
        misc = await r.json()
    # Rename and move: a PUT replaces the category.
    async with sup.put(f"{url}/{refunds['id']}", json={
            "slug": "money-back", "name": "Money back", "parent_id": misc["id"]}) as r:
        assert r.status == 200, await r.text()
        moved = await r.json()
    assert (moved["slug"], moved["name"], moved["parent_id"]) == (
        "money-back", "Money back", misc["id"])
    async with sup.post(kb_env.url("/api/kb/articles"), json={
            "locale": "en", "title": "Refund policy", "body": "Within 14 days.",
            "category_id": moved["id"]}) as r:
        draft = await r.json()

    async with agent.delete(f"{url}/{misc['id']}") as r:
        assert r.status == 403
    async with sup.delete(f"{url}/{misc['id']}") as r:
        assert r.status == 409
        assert (await r.json())["error"] == (
            "category 'Misc' still holds 1 subcategory: move or delete them first")
    async with sup.delete(f"{url}/{moved['id']}") as r:  # a draft counts too
        assert r.status == 409
        assert (await r.json())["error"] == (
            "category 'Money back' still holds 1 article: move or delete them first")
    async with sup.put(kb_env.url(f"/api/kb/articles/{draft['id']}"), json={
            "version": draft["version"], "category_id": None}) as r:
        assert r.status == 200
    for category in (moved, misc, billing):  # the child first, then its parent
        async with sup.delete(f"{url}/{category['id']}") as r:
            assert r.status == 204, await r.text()
    async with sup.delete(f"{url}/{billing['id']}") as r:
        assert r.status == 404
    async with agent.get(url) as r:
        assert await r.json() == []

    deleted = await kb_env.audit.list(action_prefix="kb.category.delete")
    assert sorted((e.actor, e.target) for e in deleted) == sorted(
        ("sup", str(c["id"])) for c in (moved, misc, billing))
    # The version that named the category is still restorable: the category goes, not it.
    restored = await kb_env.kb.restore("sup", draft["id"], draft["version"] + 1, 1)
    assert restored.category_id is None


async def test_the_counts_in_the_refusal(kb_env):
    kb = kb_env.kb
    top = await kb.save_category("sup", NewCategory("top", "Top"))
    for slug in ("a", "b"):
        await kb.save_category("sup", NewCategory(slug, slug.upper(), parent_id=top.id))
    for title in ("One", "Two", "Three"):
        await kb.create("sup", NewArticle("en", title, "text", category_id=top.id))
    with pytest.raises(KbError) as refused:
        await kb.delete_category("sup", top.id)
    assert refused.value.kind == "conflict"
    assert str(refused.value) == ("category 'Top' still holds 3 articles and 2 subcategories: "
                                  "move or delete them first")


async def test_the_delete_is_declared_in_the_openapi_document(kb_env):
    doc = build_openapi(kb_env.server.app)
    operation = doc["paths"]["/api/kb/categories/{category_id}"]["delete"]
    assert {"204", "404", "409"} <= set(operation["responses"])
    assert set(operation["x-roles"]) == {"supervisor", "admin"}
