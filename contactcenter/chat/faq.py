"""Answers from the knowledge base before a person, and the widget's Help tab.

Design note. The chat asks the knowledge base (``kb``, the floor below) through its service
only: ``KnowledgeBase.search`` over the *published* articles (``Audience.PUBLIC``, so drafts,
internal and scheduled ones never show) of the channel's locale, and ``KnowledgeBase.feedback``
for the vote, with the visitor's address as the client so the help center's rules hold (one
vote per address and article, ``kb.votes_per_hour``). Nothing is kept here between requests:
the widget searches with the visitor's question, shows the articles, and then *starts* the
conversation with what came of it (``FaqChoice``): ``answered`` stores a conversation that is
already closed (``closed_by: self_served``) and never enters the queue; ``person`` and ``none``
start it as any chat, the question as its first message and the suggested titles as a system
message, so the agent sees what the visitor already read. A restart loses nothing: there is
no state to lose until the start. Searches are limited per address
(``chat.faq_searches_per_minute``) and a question nothing answers is a content gap of the
knowledge base, counted as the help center's are.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contactcenter.chat.model import Refused, check_message_text
from contactcenter.chat.settings import FAQ_MATCHES, ChatChannelSettings, ChatSettings
from contactcenter.common.sliding_window import SlidingWindow
from contactcenter.kb.limits import client_key
from contactcenter.kb.model import Audience, KbError, SearchHit, help_url
from contactcenter.kb.service import KnowledgeBase

log = logging.getLogger(__name__)
HELP_ARTICLES = 10  # the Help tab's results
OUTCOMES = ("answered", "person", "none")
SELF_SERVED = "self_served"  # ``closed_by`` of a conversation an article answered
_MARK = re.compile(r"(<mark>|</mark>)")


class SearchLimited(Exception):
    """Too many searches from one address; ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many searches from your address; try again later")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class FaqChoice:
    """What came of the articles offered before the chat (sent with the start)."""

    question: str
    shown: tuple[int, ...]  # the articles the visitor was shown, in order
    outcome: str  # answered | person | none
    article_id: int | None = None  # the one that answered (``answered`` only)


def check_faq(value: Any, channel: ChatChannelSettings) -> FaqChoice | None:
    """The start request's ``faq`` part (None when absent); ``Refused`` when malformed."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise Refused({"faq": "must be an object"})
    try:
        question = check_message_text(value.get("question"), channel.max_message_chars)
    except ValueError as exc:
        raise Refused({"faq": f"question: {exc}"}) from None
    shown = value.get("shown", [])
    if not isinstance(shown, list) or len(shown) > channel.faq.max_articles or not all(
            isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in shown):
        raise Refused({"faq": f"shown: at most {channel.faq.max_articles} article ids"})
    outcome = value.get("outcome")
    if outcome not in OUTCOMES:
        raise Refused({"faq": f"outcome must be one of {', '.join(OUTCOMES)}"})
    article = value.get("article_id")
    if outcome == "answered":
        if not isinstance(article, int) or isinstance(article, bool) or article not in shown:
            raise Refused({"faq": "article_id: one of the articles shown"})
    else:
        article = None
    return FaqChoice(question, tuple(dict.fromkeys(shown)), outcome, article)


def snippet_parts(snippet_html: str) -> list[dict[str, Any]]:
    """The knowledge base's snippet (escaped text with ``<mark>``) as plain-text pieces, so
    the widget sets every piece with ``textContent`` and never parses HTML."""
    parts, marked = [], False
    for piece in _MARK.split(snippet_html):
        if piece in ("<mark>", "</mark>"):
            marked = piece == "<mark>"
        elif piece:
            parts.append({"text": html.unescape(piece), "mark": marked})
    return parts


def article_json(hit: SearchHit, help_center: bool) -> dict[str, Any]:
    """One article for the widget: id, title, the snippet's pieces, its help-center path."""
    return {"id": hit.article_id, "title": hit.title,
            "snippet": snippet_parts(hit.snippet_html),
            "url": help_url(hit.locale, hit.slug) if help_center else None}


class Faq:
    """The chat's window on the knowledge base (``kb`` is set when the server wires it)."""

    def __init__(self, settings: ChatSettings) -> None:
        self.kb: KnowledgeBase | None = None
        self._searches = SlidingWindow(settings.faq_searches_per_minute, 60.0)

    def offered(self, channel: ChatChannelSettings) -> bool:
        """Whether ``channel`` offers articles before a person (on, and a knowledge base)."""
        return channel.faq.enabled and self.kb is not None

    def help_tab(self, channel: ChatChannelSettings) -> bool:
        """Whether ``channel``'s widget has the Help tab."""
        return self.offered(channel) and channel.faq.help_tab

    async def articles(self, channel: ChatChannelSettings, question: str, remote: str,
                       now: float, *, for_help: bool = False) -> list[dict[str, Any]]:
        """The published articles for ``question``: the FAQ's (at most ``max_articles``, as
        strict as ``match`` and ``min_score``), or the Help tab's. ``SearchLimited``."""
        kb = self.kb
        if kb is None:
            return []
        wait = self._searches.hit(client_key(remote), now)
        if wait > 0:
            raise SearchLimited(wait)
        faq = channel.faq
        limit = HELP_ARTICLES if for_help else faq.max_articles
        try:
            result = await kb.search(question, faq.locale or None, Audience.PUBLIC, limit,
                                     client=client_key(remote))
        except KbError as exc:  # e.g. a faq.locale the knowledge base does not have
            log.warning("chat channel %s: knowledge base search refused: %s", channel.name, exc)
            return []
        hits = list(result.hits)
        if not for_help:
            allowed = FAQ_MATCHES[:FAQ_MATCHES.index(faq.match) + 1]
            if result.mode not in allowed:
                hits = []
            hits = [h for h in hits if h.score >= faq.min_score]
        return [article_json(h, kb.settings.help_center) for h in hits[:limit]]

    async def titles(self, ids: tuple[int, ...]) -> dict[int, str]:
        """The titles of those of ``ids`` that are published (others are left out)."""
        out: dict[int, str] = {}
        if self.kb is None:
            return out
        for article_id in ids:
            try:
                out[article_id] = (await self.kb.get(article_id, Audience.PUBLIC)).title
            except KbError:
                continue
        return out

    async def vote(self, article_id: int, remote: str) -> bool:
        """Count "helpful" for the article that answered, as the help center's form does (one
        per address and article, within ``kb.votes_per_hour``); False when not counted."""
        if self.kb is None:
            return False
        try:
            await self.kb.feedback(article_id, True, audience=Audience.PUBLIC,
                                   client=client_key(remote))
        except KbError as exc:
            log.info("chat: helpful vote on article %s not counted: %s", article_id, exc)
            return False
        return True
