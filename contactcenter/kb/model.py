"""The knowledge base's values: articles, their versions, categories, search results, gaps.

These are what the service hands out and takes in; rows stay in ``tables.py``. An article is
one text in one locale; its translations share a ``group`` key. Who may read it follows its
state: a draft or an archived article is for the staff who edit it, an internal one for every
logged-in user, a published one for everybody (the help center).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """Where an article stands; who may read it follows from it."""

    DRAFT = "draft"
    INTERNAL = "internal"  # agents only
    PUBLISHED = "published"  # everybody, the help center
    ARCHIVED = "archived"


class Audience(StrEnum):
    """Who is reading: each sees the states in ``VISIBLE``."""

    PUBLIC = "public"
    AGENT = "agent"
    STAFF = "staff"


VISIBLE: dict[Audience, tuple[str, ...]] = {
    Audience.PUBLIC: (State.PUBLISHED.value,),
    Audience.AGENT: (State.PUBLISHED.value, State.INTERNAL.value),
    Audience.STAFF: tuple(s.value for s in State),
}

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_SLUG = 120
MAX_TITLE = 200
MAX_BODY = 200_000
MAX_TAGS = 20
# Paths of the help center that are not articles: an article may not take them as its slug.
RESERVED_SLUGS = frozenset({"search", "categories"})


class KbError(Exception):
    """A refused request; ``kind`` chooses the HTTP status (not_found, conflict, invalid,
    limited: ``retry_after`` seconds)."""

    def __init__(self, kind: str, message: str, *, current_version: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.current_version = current_version
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Article:
    """One article in one locale, at its current version."""

    id: int
    group: str  # shared by an article and its translations
    locale: str
    slug: str
    title: str
    body: str  # markdown, as written
    html: str  # rendered and sanitized
    text: str  # the plain text that is searched
    category_id: int | None
    tags: tuple[str, ...]
    state: State
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str
    published_at: datetime | None
    publish_at: datetime | None = None  # published, but shown only from then (scheduled)
    origin: str | None = None  # a link to what it was written from (a solved ticket)

    def as_json(self) -> dict[str, Any]:
        """The article as the API answers it."""
        return {"id": self.id, "group": self.group, "locale": self.locale, "slug": self.slug,
                "title": self.title, "body": self.body, "html": self.html,
                "category_id": self.category_id, "tags": list(self.tags),
                "state": self.state.value, "version": self.version,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(), "updated_by": self.updated_by,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "publish_at": self.publish_at.isoformat() if self.publish_at else None,
                "origin": self.origin, "url": help_url(self.locale, self.slug)}


@dataclass(frozen=True, slots=True)
class Translation:
    """Another locale's article of the same group."""

    id: int
    locale: str
    slug: str
    title: str
    state: State


@dataclass(frozen=True, slots=True)
class NewArticle:
    """What creating an article takes; ``translation_of`` links it to that article's group."""

    locale: str
    title: str
    body: str
    slug: str | None = None
    category_id: int | None = None
    tags: tuple[str, ...] = ()
    state: State = State.DRAFT
    translation_of: int | None = None
    origin: str | None = None  # a relative link to its source, such as /tickets?id=42


_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class ArticleChanges:
    """An edit: the fields given change, the others stay (``category_id=None`` clears it)."""

    title: str | None = None
    body: str | None = None
    slug: str | None = None
    tags: tuple[str, ...] | None = None
    category_id: Any = _UNSET  # int | None when given

    @property
    def sets_category(self) -> bool:
        return self.category_id is not _UNSET


@dataclass(frozen=True, slots=True)
class Version:
    """A saved state of an article: every create, edit, state change and restore adds one."""

    article_id: int
    version: int
    action: str  # create, edit, state, restore
    title: str
    slug: str
    body: str
    category_id: int | None
    tags: tuple[str, ...]
    state: State
    at: datetime
    by: str

    def as_json(self, *, with_body: bool = True) -> dict[str, Any]:
        out = {"article_id": self.article_id, "version": self.version, "action": self.action,
               "title": self.title, "slug": self.slug, "category_id": self.category_id,
               "tags": list(self.tags), "state": self.state.value, "at": self.at.isoformat(),
               "by": self.by}
        if with_body:
            out["body"] = self.body
        return out


@dataclass(frozen=True, slots=True)
class Category:
    """A node of the category tree; its name per locale, ``name`` when a locale has none."""

    id: int
    slug: str
    parent_id: int | None
    position: int
    name: str
    names: dict[str, str] = field(default_factory=dict)

    def name_in(self, locale: str) -> str:
        return self.names.get(locale, self.name)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "parent_id": self.parent_id,
                "position": self.position, "name": self.name, "names": dict(self.names)}


@dataclass(frozen=True, slots=True)
class NewCategory:
    slug: str
    name: str
    parent_id: int | None = None
    position: int = 0
    names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One article found; ``snippet_html`` is escaped text with ``<mark>`` around matches."""

    article_id: int
    locale: str
    slug: str
    title: str
    category_id: int | None
    snippet_html: str
    score: float  # higher is better; comparable within one answer only

    def as_json(self) -> dict[str, Any]:
        return {"id": self.article_id, "locale": self.locale, "slug": self.slug,
                "title": self.title, "category_id": self.category_id,
                "snippet_html": self.snippet_html, "score": round(self.score, 6),
                "url": help_url(self.locale, self.slug)}


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A search's answer and how it was found.

    ``mode``: ``all`` every word matched; ``any`` no article had them all, these have some;
    ``title`` only a fuzzy match of a title; ``none`` nothing (recorded as a content gap).
    ``corrected`` is the query with misspelt words replaced, when that is what matched.
    """

    query: str
    locale: str
    hits: tuple[SearchHit, ...]
    mode: str
    corrected: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "locale": self.locale, "mode": self.mode,
                "corrected": self.corrected, "hits": [h.as_json() for h in self.hits]}


@dataclass(frozen=True, slots=True)
class Gap:
    """A search that found nothing, with how often and when it was asked."""

    locale: str
    query: str
    count: int
    first_at: datetime
    last_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"locale": self.locale, "query": self.query, "count": self.count,
                "first_at": self.first_at.isoformat(), "last_at": self.last_at.isoformat()}


@dataclass(frozen=True, slots=True)
class FeedbackCounts:
    helpful: int
    not_helpful: int

    def as_json(self) -> dict[str, int]:
        return {"helpful": self.helpful, "not_helpful": self.not_helpful}


def help_url(locale: str, slug: str) -> str:
    """The article's stable public address."""
    return f"/help/{locale}/{slug}"


def slugify(text: str) -> str:
    """A URL slug from a title: ASCII letters and digits joined by single dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_SLUG].rstrip("-")
    return slug or "article"


def clean_tags(tags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Tags lowercased, deduplicated and sorted; KbError when one is not a tag."""
    out = sorted({t.strip().lower() for t in tags})
    bad = [t for t in out if not TAG.match(t)]
    if bad:
        raise KbError("invalid", f"tag {bad[0]!r} must be 1-40 lowercase letters, digits or "
                                 "dashes")
    if len(out) > MAX_TAGS:
        raise KbError("invalid", f"at most {MAX_TAGS} tags")
    return tuple(out)
