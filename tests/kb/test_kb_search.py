"""Search: one contract on SQLite (FTS5) and PostgreSQL (tsvector), each test on both databases
when CC_TEST_POSTGRES_URL is set; the relevance set of corpus.py, and the two agreeing."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from kb_corpus import QUERIES
from kb_support import SETTINGS, load_corpus

from contactcenter.domain.clock import Clock
from contactcenter.kb.model import ArticleChanges, Audience, NewArticle, State
from contactcenter.kb.service import KnowledgeBase
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")


def _kb(db: Database) -> KnowledgeBase:
    return KnowledgeBase(db, Clock(), AuditLog(db), SETTINGS)


async def _top3(kb: KnowledgeBase, ids: dict[int, str]) -> dict[str, list[str]]:
    out = {}
    for query, _expected in QUERIES:
        result = await kb.search(query, "en", Audience.PUBLIC, 3)
        out[query] = [ids[h.article_id] for h in result.hits]
    return out


def _recall(top: dict[str, list[str]]) -> float:
    return sum(bool(expected & set(top[q])) for q, expected in QUERIES) / len(QUERIES)


async def test_the_relevance_set_finds_the_right_article_in_the_first_three(database):
    kb = _kb(database)
    ids = await load_corpus(kb)
    top = await _top3(kb, ids)
    missed = {q: top[q] for q, expected in QUERIES if not expected & set(top[q])}
    assert len(QUERIES) >= 50
    assert _recall(top) >= 0.9, missed
    # The exclusion held: the article that says "express" is not among "delivery -express".
    assert "shipping-times" not in top["delivery -express"]


@pytest.mark.skipif(not POSTGRES_URL, reason="CC_TEST_POSTGRES_URL is not set")
async def test_sqlite_and_postgresql_give_the_same_first_answer(tmp_path):
    sqlite_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'kb.sqlite3'}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    assert POSTGRES_URL is not None
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    pg_db = Database(POSTGRES_URL, search_path=schema)
    try:
        tops = []
        for db in (sqlite_db, pg_db):
            await db.create_all()
            kb = _kb(db)
            tops.append(await _top3(kb, await load_corpus(kb)))
        lite, pg = tops
        assert {q: t[:1] for q, t in lite.items()} == {q: t[:1] for q, t in pg.items()}
        same = sum(set(lite[q]) == set(pg[q]) for q in lite)
        assert same >= 0.9 * len(lite)
    finally:
        await sqlite_db.close()
        await pg_db.close()
        async with admin.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


async def test_readers_find_only_what_they_may_read_in_their_locale(database):
    kb = _kb(database)
    made = {}
    for state in State:
        made[state] = await kb.create("ann", NewArticle(
            "en", f"Modem {state.value} guide", f"How to reboot the modem ({state.value}).",
            state=state))
    french = await kb.create("ann", NewArticle("fr", "Redémarrer le modem",
                                               "Comment redémarrer le modem.",
                                               state=State.PUBLISHED))

    async def found(audience: Audience, locale: str = "en") -> set[int]:
        return {h.article_id for h in (await kb.search("modem", locale, audience)).hits}

    assert await found(Audience.PUBLIC) == {made[State.PUBLISHED].id}
    assert await found(Audience.AGENT) == {made[State.PUBLISHED].id, made[State.INTERNAL].id}
    assert await found(Audience.STAFF) == {a.id for a in made.values()}
    assert await found(Audience.PUBLIC, "fr") == {french.id}
    # Suggestions are for agents: internal articles too, never drafts.
    assert {h.article_id for h in await kb.suggest("the modem keeps dropping", "en")} == \
        {made[State.PUBLISHED].id, made[State.INTERNAL].id}


async def test_words_are_stemmed_phrases_kept_and_snippets_escaped(database):
    kb = _kb(database)
    article = await kb.create("ann", NewArticle(
        "en", "Refund policy", "Refunds reach the <b>card</b> used within 14 days.",
        state=State.PUBLISHED))
    for query in ("refunded", "refunding cards", '"within 14 days"'):
        result = await kb.search(query, "en", Audience.PUBLIC)
        assert [h.article_id for h in result.hits] == [article.id], query
        assert result.mode == "all"
    # The article's "<b>" is text: escaped on SQLite; PostgreSQL's parser reads it as a tag
    # and leaves it out of the snippet. Either way the only markup is the highlight.
    [hit] = (await kb.search("card", "en", Audience.PUBLIC)).hits
    assert "<mark>card</mark>" in hit.snippet_html
    assert hit.snippet_html.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    # The words in another order are not the phrase: only the relaxed search finds them.
    assert (await kb.search('"days within"', "en", Audience.PUBLIC)).mode == "any"


async def test_misspelt_words_are_corrected_against_the_titles(database):
    kb = _kb(database)
    article = await kb.create("ann", NewArticle("en", "Voicemail greeting", "Record it.",
                                                state=State.PUBLISHED))
    result = await kb.search("voicemial greating", "en", Audience.PUBLIC)
    assert [h.article_id for h in result.hits] == [article.id]
    assert result.corrected == "voicemail greeting" and result.mode == "all"
    # Nothing close enough in any title: no correction, no hit.
    result = await kb.search("zebra", "en", Audience.PUBLIC)
    assert result.hits == () and result.mode == "none"
    # Words run together are no title word, but close to a whole title.
    result = await kb.search("voicemailgreeting", "en", Audience.PUBLIC)
    assert ([h.article_id for h in result.hits], result.mode) == ([article.id], "title")


async def test_searches_with_no_result_are_counted_as_content_gaps(database):
    kb = _kb(database)
    await kb.create("ann", NewArticle("en", "Opening hours", "Monday to Friday.",
                                      state=State.PUBLISHED))
    for text in ("Parking for visitors", "parking  FOR visitors", "opening hours"):
        await kb.search(text, "en", Audience.PUBLIC)
    await kb.search("Parking for visitors", "fr", Audience.PUBLIC)
    await kb.search("parking for visitors", "en", Audience.AGENT, record_gap=False)
    gaps = [(g.locale, g.query, g.count) for g in await kb.gaps()]
    assert gaps == [("en", "parking for visitors", 2), ("fr", "parking for visitors", 1)]
    assert [g.query for g in await kb.gaps("fr")] == ["parking for visitors"]


async def test_the_index_follows_every_change_of_an_article(database):
    kb = _kb(database)
    a = await kb.create("ann", NewArticle("en", "Router lights", "A green light means online.",
                                          state=State.PUBLISHED))

    async def ids(text: str) -> list[int]:
        return [h.article_id for h in (await kb.search(text, "en", Audience.PUBLIC)).hits]

    assert await ids("green") == [a.id]
    a = await kb.update("ann", a.id, a.version, ArticleChanges(
        body="A blue light means online.", tags=("hardware",)))
    assert await ids("green") == [] and await ids("blue") == [a.id]
    assert await ids("hardware") == [a.id]  # tags are searched too
    a = await kb.set_state("ann", a.id, a.version, State.ARCHIVED)
    assert await ids("blue") == []
    restored = await kb.restore("ann", a.id, a.version, 1)
    assert restored.state is State.ARCHIVED
    await kb.set_state("ann", a.id, restored.version, State.PUBLISHED)
    assert await ids("green") == [a.id] and await ids("blue") == []


async def test_any_text_is_a_query_that_neither_database_refuses(database):
    kb = _kb(database)
    article = await kb.create("ann", NewArticle("en", "Emoji 😀 guide", "Use foo_bar here.",
                                                state=State.PUBLISHED))
    odd = ["_", "___ or ___", "'", "\\", '"', "-", "or", "NOT", 'NEAR("a" "b")', "a" * 300,
           "😀", "title:x*", "x AND (y OR", "'; DROP TABLE kb_articles; --"]
    for text in odd:
        result = await kb.search(text, "en", Audience.PUBLIC)
        assert result.hits == (), text
    assert [h.article_id for h in (await kb.search("foo_bar", "en", Audience.PUBLIC)).hits] \
        == [article.id]
    assert await kb.suggest("  ...  ", "en") == []
