"""The admins' synonym list on both databases: a search finds an article by any word or phrase
of a group, per locale; the query as typed still counts first, exclusions stay; the list is
the admins' to change, checked, and applied at once."""

from __future__ import annotations

import pytest
from kb_support import SETTINGS

from contactcenter.domain.clock import Clock
from contactcenter.kb.model import Audience, KbError, NewArticle, State
from contactcenter.kb.query import parse
from contactcenter.kb.service import KnowledgeBase
from contactcenter.kb.synonyms import synonym_map, with_synonyms
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database


def _kb(db: Database) -> KnowledgeBase:
    return KnowledgeBase(db, Clock(), AuditLog(db), SETTINGS)


async def _ids(kb: KnowledgeBase, text: str, locale: str = "en") -> list[int]:
    result = await kb.search(text, locale, Audience.PUBLIC, record_gap=False)
    return [h.article_id for h in result.hits] if result.mode == "all" else []


async def test_a_search_finds_articles_by_any_synonym_on_both_databases(database):
    kb = _kb(database)

    async def article(locale: str, title: str, body: str) -> int:
        return (await kb.create("ann", NewArticle(locale, title, body,
                                                  state=State.PUBLISHED))).id

    ending = await article("en", "Ending your contract", "To terminate, call us a month "
                                                         "before the end of the term.")
    swap = await article("en", "Replacing a chip", "A new chip is free if yours is damaged.")
    fees = await article("en", "Early termination fees", "Terminating early costs a fee.")
    fr = await article("fr", "Résilier son contrat", "Pour résilier, appelez-nous.")
    assert await _ids(kb, "cancel") == []
    assert await _ids(kb, "broken sim card") == []
    await kb.save_synonyms("root", "en", [["Cancel", "terminate", "end contract"],
                                          ["sim card", "chip", "sim"]])
    assert set(await _ids(kb, "cancel")) == {ending, fees}  # the stemmer still applies
    assert await _ids(kb, "damaged sim card") == [swap]  # a run of words as one synonym
    assert await _ids(kb, '"sim card"') == [swap]  # a quoted phrase too
    assert await _ids(kb, "cancel -fee") == [ending]  # exclusions stay as typed
    assert await _ids(kb, "cancel", "fr") == []  # another locale, another list
    await kb.save_synonyms("root", "fr", [["annuler", "résilier"]])
    assert await _ids(kb, "annuler", "fr") == [fr]
    # A gap is recorded only when the synonyms did not help either.
    await kb.search("cancel", "en", Audience.PUBLIC)
    assert await kb.gaps() == []
    # Agent assist reads the list too.
    assert swap in {h.article_id for h in await kb.suggest("my sim card is broken", "en")}
    # Emptying the list takes effect at once.
    await kb.save_synonyms("root", "en", [])
    assert await _ids(kb, "cancel") == []
    assert await kb.synonyms("fr") == [["annuler", "résilier"]]


async def test_the_list_is_checked(database):
    kb = _kb(database)
    saved = await kb.save_synonyms("root", "en", [["  Cancel ", "TERMINATE", "cancel"],
                                                  ["sim-card", "chip"]])
    assert saved == [["cancel", "terminate"], ["sim card", "chip"]]
    for groups, message in (([["cancel"]], "2 to 20"),
                            ([["cancel", "stop"], ["stop", "halt"]], "one group"),
                            ([["!!", "stop"]], "1 to 4 words"),
                            ([["a b c d e", "stop"]], "1 to 4 words")):
        with pytest.raises(KbError, match=message):
            await kb.save_synonyms("root", "en", groups)
    with pytest.raises(KbError, match="locale"):
        await kb.save_synonyms("root", "de", [["a", "b"]])
    assert await kb.synonyms("en") == saved  # a refused list changes nothing


def test_the_expansion_keeps_the_query_as_typed_first_and_stays_bounded():
    groups = synonym_map([["cancel", "terminate", "end contract"]])
    expanded = with_synonyms(parse("cancel contract -fee", "en"), groups)
    assert expanded.websearch() == ("cancel contract -fee or terminate contract -fee or "
                                    '"end contract" contract -fee')
    many = synonym_map([[f"w{i}x", *(f"w{i}s{j}" for j in range(9))] for i in range(5)])
    big = with_synonyms(parse("w0x w1x w2x w3x w4x", "en"), many)
    assert len(big.alternatives) == 32
    assert big.alternatives[0] == parse("w0x w1x w2x w3x w4x", "en").alternatives[0]


async def test_only_admins_change_the_list(kb_env):
    admin, sup, agent = (await kb_env.client("admin"), await kb_env.client("sup"),
                         await kb_env.client("agent1"))
    url = kb_env.url("/api/kb/synonyms/en")
    body = {"groups": [["cancel", "terminate"]]}
    for client, status in ((agent, 403), (sup, 403), (admin, 200)):
        async with client.put(url, json=body) as r:
            assert r.status == status
    async with sup.get(url) as r:
        assert r.status == 200 and await r.json() == body
    async with agent.get(url) as r:
        assert r.status == 403
    async with admin.put(url, json={"groups": [["cancel", "stop"], ["stop", "x"]]}) as r:
        assert r.status == 422 and "one group" in (await r.json())["error"]
    async with admin.put(kb_env.url("/api/kb/synonyms/de"), json=body) as r:
        assert r.status == 404  # not a locale of kb.locales: nothing at that path
    actions = [(e.actor, e.action, e.target) for e in await kb_env.audit.list(
        action_prefix="kb.synonyms")]
    assert actions == [("admin", "kb.synonyms.update", "en")]
