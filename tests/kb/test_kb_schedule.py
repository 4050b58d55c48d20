"""Scheduled publishing on both databases: a published article with a time ahead is the staff's
until the project Clock reaches it, then everybody's, everywhere an article shows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from kb_support import SETTINGS

from contactcenter.domain.clock import Clock
from contactcenter.kb.model import Audience, KbError, NewArticle, NewCategory, State
from contactcenter.kb.service import KnowledgeBase
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database

DAY = timedelta(days=1)


def _kb(db: Database, clock: Clock) -> KnowledgeBase:
    return KnowledgeBase(db, clock, AuditLog(db, clock), SETTINGS)


async def _seen_by(kb: KnowledgeBase, article_id: int, audience: Audience) -> dict[str, bool]:
    """Where ``audience`` finds the article: by id, by slug, in lists, search and assist."""
    try:
        article = await kb.get(article_id, audience)
        by_id = True
    except KbError:
        article, by_id = None, False
    slug = "roaming-in-the-eu"
    try:
        await kb.by_slug("en", slug, audience)
        by_slug = True
    except KbError:
        by_slug = False
    listed = article_id in {a.id for a in await kb.articles(audience, locale="en")}
    searched = await kb.search("roaming", "en", audience, record_gap=False)
    typo = await kb.search("roamnig", "en", audience, record_gap=False)  # the titles' path
    tree = sum(n for _c, _d, n in await kb.tree("en"))
    out = {"id": by_id, "slug": by_slug, "list": listed,
           "search": article_id in {h.article_id for h in searched.hits},
           "typo": article_id in {h.article_id for h in typo.hits}}
    if audience is Audience.PUBLIC:
        out["tree"] = tree == 1
    if audience is Audience.AGENT:
        out["assist"] = article_id in {h.article_id for h in await kb.suggest(
            "is roaming included", "en")}
    assert article is None or article.id == article_id
    return out


async def test_a_scheduled_article_shows_when_the_clock_reaches_its_time(database):
    clock = Clock()
    kb = _kb(database, clock)
    travel = await kb.save_category("sup", NewCategory("travel", "Travel"))
    article = await kb.create("sup", NewArticle("en", "Roaming in the EU",
                                                "Roaming is included in every plan.",
                                                category_id=travel.id))
    at = datetime.fromtimestamp(clock.time(), UTC) + DAY
    scheduled = await kb.set_state("sup", article.id, 1, State.PUBLISHED, at)
    assert (scheduled.state, scheduled.version) == (State.PUBLISHED, 2)
    assert scheduled.publish_at == scheduled.published_at
    assert abs((scheduled.publish_at - at).total_seconds()) < 1e-3
    for audience in (Audience.PUBLIC, Audience.AGENT):
        assert not any((await _seen_by(kb, article.id, audience)).values()), audience
    staff = await _seen_by(kb, article.id, Audience.STAFF)
    assert staff["id"] and staff["list"] and staff["search"]

    # Another server on the same database whose clock runs a million times faster: once its
    # clock is past the time, the article is everybody's there (and nothing was written).
    later = _kb(database, Clock(speed=1_000_000))
    while later.clock.time() < at.timestamp():
        await asyncio.sleep(0.01)
    for audience in (Audience.PUBLIC, Audience.AGENT):
        assert all((await _seen_by(later, article.id, audience)).values()), audience
    assert not any((await _seen_by(kb, article.id, Audience.PUBLIC)).values())


async def test_scheduling_rules(database):
    clock = Clock()
    kb = _kb(database, clock)
    now = datetime.fromtimestamp(clock.time(), UTC)
    a = await kb.create("sup", NewArticle("en", "Roaming in the EU", "Roaming is included."))
    try:
        await kb.set_state("sup", a.id, 1, State.INTERNAL, now + DAY)
        raise AssertionError("publish_at with another state")
    except KbError as exc:
        assert exc.kind == "invalid"
    a = await kb.set_state("sup", a.id, 1, State.PUBLISHED, now + DAY)
    a = await kb.set_state("sup", a.id, 2, State.PUBLISHED, now + 2 * DAY)  # moved
    assert a.version == 3 and a.publish_at is not None and a.publish_at > now + DAY
    # Published now after all: the time goes, the article shows.
    a = await kb.set_state("sup", a.id, 3, State.PUBLISHED)
    assert a.publish_at is None and a.published_at is not None
    assert a.published_at <= datetime.fromtimestamp(clock.time(), UTC)
    assert (await kb.get(a.id, Audience.PUBLIC)).id == a.id
    try:  # shown already: scheduling it would hide it
        await kb.set_state("sup", a.id, 4, State.PUBLISHED, now + DAY)
        raise AssertionError("rescheduled a shown article")
    except KbError as exc:
        assert exc.kind == "conflict"
    # A time already past publishes at once; back to draft forgets any time.
    b = await kb.create("sup", NewArticle("en", "Voicemail", "Dial 123."))
    b = await kb.set_state("sup", b.id, 1, State.PUBLISHED, now - DAY)
    assert b.publish_at is None and (await kb.get(b.id, Audience.PUBLIC)).id == b.id
    c = await kb.create("sup", NewArticle("en", "Router", "Plug it in."))
    c = await kb.set_state("sup", c.id, 1, State.PUBLISHED, now + DAY)
    c = await kb.set_state("sup", c.id, 2, State.DRAFT)
    assert c.publish_at is None


async def test_the_api_schedules_and_the_help_center_waits(kb_env):
    sup, anon = await kb_env.client("sup"), await kb_env.client()
    async with sup.post(kb_env.url("/api/kb/articles"), json={
            "locale": "en", "title": "Roaming in the EU", "body": "Roaming is included."}) as r:
        article = await r.json()
    state_url = kb_env.url(f"/api/kb/articles/{article['id']}/state")
    at = datetime.fromtimestamp(kb_env.context.service.clock.time(), UTC) + DAY
    async with sup.post(state_url, json={"state": "published", "version": 1,
                                         "publish_at": "2030-01-01T09:00:00"}) as r:
        assert r.status == 400 and "zone" in (await r.json())["error"]
    async with sup.post(state_url, json={"state": "published", "version": 1,
                                         "publish_at": at.isoformat()}) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
    assert body["state"] == "published"
    assert datetime.fromisoformat(body["publish_at"]) == at
    async with anon.get(kb_env.url("/help/en/roaming-in-the-eu")) as r:
        assert r.status == 404
    async with anon.get(kb_env.url("/api/help/search"), params={"q": "roaming"}) as r:
        assert (await r.json())["hits"] == []
    async with sup.get(kb_env.url(f"/api/kb/articles/{article['id']}")) as r:
        assert (await r.json())["publish_at"] == body["publish_at"]
    async with sup.post(state_url, json={"state": "published", "version": 2}) as r:
        assert r.status == 200 and (await r.json())["publish_at"] is None
    async with anon.get(kb_env.url("/help/en/roaming-in-the-eu")) as r:
        assert r.status == 200
    actions = [(e.action, e.detail.get("publish_at")) for e in await kb_env.audit.list(
        action_prefix="kb.article.state")]
    assert actions == [("kb.article.state", None), ("kb.article.state", at.isoformat())]
