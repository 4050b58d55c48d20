"""Answers from the knowledge base before a person (``chat/faq.py``), over real sockets: the
real server on a real database, articles written through the knowledge base's service, the
widget's HTTP calls from an allowed (and a refused) site."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from chat_floor import ChatFloor, Visitor, chat_floor, site_channel

from contactcenter.chat.faq import FaqChoice, check_faq, snippet_parts
from contactcenter.chat.model import Refused
from contactcenter.chat.settings import FaqSettings
from contactcenter.kb.model import NewArticle, State
from contactcenter.kb.settings import KbSettings

FORM = {"name": "Vera", "email": "vera@example.com"}
KB = KbSettings(locales=["en", "fr"])


@dataclass
class Corpus:
    published: list[int]  # English, published: "password" in each
    hidden: list[int]  # a draft, an internal one, a French one (also about passwords)
    other: int  # published, about something else


async def write_articles(floor: ChatFloor) -> Corpus:
    """Articles as a supervisor writes them, through the knowledge base's service."""
    kb = floor.server.kb.service

    async def add(title: str, body: str, state: State, locale: str = "en") -> int:
        return (await kb.create("sup", NewArticle(locale=locale, title=title, body=body,
                                                  state=state))).id

    published = [
        await add("Reset your password", "Open Settings, then Security, and follow the "
                  "password reset link we email you.", State.PUBLISHED),
        await add("Change your password", "Choose a new password under Settings.",
                  State.PUBLISHED),
        await add("Password rules", "A password needs twelve characters or more.",
                  State.PUBLISHED),
        await add("Password on the mobile app", "The app remembers your password.",
                  State.PUBLISHED),
    ]
    hidden = [
        await add("Password draft", "A password article nobody may read yet.", State.DRAFT),
        await add("Password override", "Agents may override a password here.", State.INTERNAL),
        await add("Mot de passe", "Changer le password du compte.", State.PUBLISHED, "fr"),
    ]
    other = await add("Opening hours", "We are open from nine to five.", State.PUBLISHED)
    return Corpus(published, hidden, other)


async def post(visitor: Visitor, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with visitor.http.post(f"{visitor.base}{path}", json=body) as r:
        return r.status, await r.json()


async def get(visitor: Visitor, path: str) -> tuple[int, Any]:
    async with visitor.http.get(f"{visitor.base}{path}") as r:
        return r.status, await r.json()


def faq_floor(tmp_path: Any, **faq: Any) -> Any:
    channel = site_channel(faq=FaqSettings(enabled=True, **faq))
    return chat_floor(tmp_path, channels=[channel], kb=KB)


async def test_the_articles_offered_are_published_in_the_channels_locale_and_at_most_three(
        tmp_path):
    async with faq_floor(tmp_path) as floor:
        corpus = await write_articles(floor)
        visitor = floor.visitor()
        status, config = await get(visitor, "/config")
        assert status == 200
        assert config["faq"] == {"enabled": True, "help_tab": True, "question_field": None}

        status, body = await post(visitor, "/faq", {"answers": FORM,
                                                    "question": "I forgot my password"})
        assert status == 200, body
        articles = body["articles"]
        assert len(articles) == 3  # four published English articles have "password"
        assert {a["id"] for a in articles} <= set(corpus.published)
        status, body = await post(visitor, "/faq", {"answers": FORM,
                                                    "question": "reset my password"})
        articles = body["articles"]
        first = articles[0]
        assert first["url"] == "/help/en/reset-your-password"
        assert any(p["mark"] and p["text"].lower() == "password" for p in first["snippet"])
        assert all("<" not in p["text"] for a in articles for p in a["snippet"])

        # The help tab searches the same published articles, no chat, more of them.
        status, body = await get(visitor, "/help?q=password")
        assert status == 200
        assert sorted(a["id"] for a in body["articles"]) == sorted(corpus.published)

        # From a site not allowed: refused, as every widget call is.
        stranger = floor.visitor(origin="http://localhost:9999")
        assert (await get(stranger, "/help?q=password"))[0] == 403
        assert (await post(stranger, "/faq", {"answers": FORM, "question": "password"}))[0] \
            == 403


async def test_the_form_is_checked_before_articles_are_searched(tmp_path):
    async with faq_floor(tmp_path) as floor:
        await write_articles(floor)
        visitor = floor.visitor()
        status, body = await post(visitor, "/faq", {"answers": {"name": "Vera",
                                                                "email": "vera-at-example"},
                                                    "question": ""})
        assert status == 422
        assert set(body["errors"]) == {"email", "question"}


async def test_this_answered_my_question_ends_the_chat_self_served_with_a_helpful_vote(tmp_path):
    async with faq_floor(tmp_path) as floor:
        corpus = await write_articles(floor)
        alice = await floor.agent("alice", "a1")  # available: still nothing reaches her
        await alice.listen()
        visitor = floor.visitor()
        _status, body = await post(visitor, "/faq", {"answers": FORM,
                                                     "question": "reset password"})
        shown = [a["id"] for a in body["articles"]]
        answer = shown[0]
        status, started = await visitor.start(FORM, faq={
            "question": "reset password", "shown": shown, "outcome": "answered",
            "article_id": answer})
        assert status == 201, started
        assert started["self_served"] is True and "token" not in started

        record = await floor.chat.record(started["conversation_id"])
        assert record.state.value == "closed" and record.closed_by == "self_served"
        assert (record.faq_outcome, record.faq_article_id) == ("answered", answer)
        assert floor.server.routing.state_of(record.id) is None  # never queued
        assert floor.server.routing.agent("a1").work == []
        assert await floor.chat.store.open_conversations() == []
        messages = await floor.chat.transcript(record.id)
        assert [(m.seq, m.sender.value) for m in messages] == [
            (1, "visitor"), (2, "system"), (3, "system")]
        assert messages[0].text == "reset password"
        assert "Reset your password" in messages[1].text
        assert floor.chat.metrics()["counters"]["self_served"] == 1
        assert "started" not in floor.chat.metrics()["counters"]
        kb = floor.server.kb.service
        assert (await kb.feedback_counts(answer)).helpful == 1

        # The same visitor's second "answered" on that article: one more deflection, and
        # the knowledge base's own rule keeps its vote to one per address and article.
        status, _ = await visitor.start(FORM, faq={
            "question": "password again", "shown": shown, "outcome": "answered",
            "article_id": answer})
        assert status == 201
        assert floor.chat.metrics()["counters"]["self_served"] == 2
        assert (await kb.feedback_counts(answer)).helpful == 1

        # An article that was not shown, or is not published, cannot have answered.
        for shown_ids, article in (([corpus.other], corpus.published[0]),
                                   ([corpus.hidden[0]], corpus.hidden[0])):
            status, body = await visitor.start(FORM, faq={
                "question": "password", "shown": shown_ids, "outcome": "answered",
                "article_id": article})
            assert status == 422 and "faq" in body["errors"]
        assert not [e for e in list(alice.events._queue) if e["type"] == "chat"]
        await alice.close()


async def test_talk_to_a_person_queues_the_chat_with_the_question_and_the_suggestions(
        tmp_path):
    async with faq_floor(tmp_path) as floor:
        corpus = await write_articles(floor)
        alice = await floor.agent("alice", "a1")
        await alice.listen()
        visitor = floor.visitor()
        shown = corpus.published[:2]
        status, _ = await visitor.start(FORM, faq={
            "question": "my password does not work", "shown": shown, "outcome": "person"})
        assert status == 201
        offer = await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
        assert offer["conversation"]["faq_outcome"] == "person"
        assert offer["conversation"]["id"] == visitor.conversation_id
        card = (await alice.get("/api/chat/conversations"))["conversations"][0]
        assert [(m["from"], m["seq"]) for m in card["messages"]] == [("visitor", 1),
                                                                     ("system", 2)]
        assert card["messages"][0]["text"] == "my password does not work"
        assert card["messages"][1]["text"] == (
            "Articles suggested before the chat: Reset your password; Change your password")
        welcome = await visitor.connect()
        assert welcome["state"] == "offered" and welcome["last_seq"] == 2
        assert floor.chat.metrics()["counters"]["faq_person"] == 1
        assert floor.chat.metrics()["counters"]["started"] == 1
        await alice.close()


async def test_how_strict_a_match_must_be_and_the_search_limit(tmp_path):
    async with chat_floor(tmp_path, channels=[site_channel(faq=FaqSettings(
            enabled=True, match="all"))], faq_searches_per_minute=3, kb=KB) as floor:
        await write_articles(floor)
        visitor = floor.visitor()
        # No article has both words: the knowledge base relaxes to "any word", which this
        # channel does not offer before a person; its help tab still shows them.
        status, body = await post(visitor, "/faq", {"answers": FORM,
                                                    "question": "password giraffe"})
        assert (status, body["articles"]) == (200, [])
        status, body = await get(visitor, "/help?q=password+giraffe")
        assert status == 200 and len(body["articles"]) == 4
        status, body = await post(visitor, "/faq", {"answers": FORM, "question": "password"})
        assert status == 200 and len(body["articles"]) == 3
        status, _ = await get(visitor, "/help?q=password")
        assert status == 429


async def test_without_faq_the_widget_offers_no_articles(tmp_path):
    async with chat_floor(tmp_path, kb=KB) as floor:
        await write_articles(floor)
        visitor = floor.visitor()
        _status, config = await get(visitor, "/config")
        assert config["faq"]["enabled"] is False and config["faq"]["help_tab"] is False
        assert (await post(visitor, "/faq", {"answers": FORM, "question": "password"}))[0] \
            == 404
        assert (await get(visitor, "/help?q=password"))[0] == 404
        status, body = await visitor.start(FORM, faq={"question": "password", "shown": [],
                                                      "outcome": "none"})
        assert status == 422 and "faq" in body["errors"]


def test_snippets_reach_the_widget_as_plain_text_pieces():
    assert snippet_parts("a &lt;script&gt; <mark>pass</mark> &amp; <mark>word</mark>") == [
        {"text": "a <script> ", "mark": False}, {"text": "pass", "mark": True},
        {"text": " & ", "mark": False}, {"text": "word", "mark": True}]
    assert snippet_parts("") == []


@pytest.mark.parametrize(("value", "field"), [
    ("yes", "faq"),
    ({"question": "", "shown": [], "outcome": "none"}, "question"),
    ({"question": "q", "shown": [1, 2, 3, 4], "outcome": "person"}, "shown"),
    ({"question": "q", "shown": ["1"], "outcome": "person"}, "shown"),
    ({"question": "q", "shown": [True], "outcome": "person"}, "shown"),
    ({"question": "q", "shown": [1], "outcome": "maybe"}, "outcome"),
    ({"question": "q", "shown": [1], "outcome": "answered"}, "article_id"),
    ({"question": "q", "shown": [1], "outcome": "answered", "article_id": 2}, "article_id"),
])
def test_a_malformed_faq_part_of_a_start_is_refused(value, field):
    with pytest.raises(Refused) as caught:
        check_faq(value, site_channel(faq=FaqSettings(enabled=True)))
    assert field in caught.value.errors["faq"] or field == "faq"


def test_faq_settings_are_checked():
    assert check_faq(None, site_channel()) is None
    choice = check_faq({"question": " q ", "shown": [3, 1, 3], "outcome": "answered",
                        "article_id": 1}, site_channel(faq=FaqSettings(enabled=True)))
    assert choice == FaqChoice("q", (3, 1), "answered", 1)
    for bad in ({"max_articles": 0}, {"match": "loose"}, {"min_score": -1},
                {"locale": "English"}):
        with pytest.raises(ValueError):
            FaqSettings(**bad)
    with pytest.raises(ValueError, match="question_field"):
        site_channel(faq=FaqSettings(question_field="nope"))
