"""The knowledge base's JSON API: articles, categories, versions, search, assist, feedback.

Who: supervisors and admins write (articles, categories, states, restores) and read
everything, drafts and archives included, with the versions and the content gaps; every
logged-in user reads what agents may (published and internal articles), searches, asks for
suggestions and gives feedback; anyone may search the published articles
(``/api/help/search``, for the chat widget's help tab). An article an audience may not read
answers 404, as if it did not exist.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from contactcenter.kb.model import (
    MAX_BODY,
    MAX_SLUG,
    MAX_TITLE,
    ArticleChanges,
    Audience,
    KbError,
    NewArticle,
    NewCategory,
    State,
)
from contactcenter.kb.service import MAX_ASSIST_TEXT, MAX_QUERY, KnowledgeBase
from contactcenter.kb.settings import LOCALE
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ANY_USER, PUBLIC, STAFF, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

_ID = "[0-9]{1,9}"
_ARTICLE = f"/api/kb/articles/{{article_id:{_ID}}}"
_MAX_ARTICLE_BYTES = 1024 * 1024  # a body of MAX_BODY characters, JSON-escaped
_ERRORS = {"not_found": web.HTTPNotFound, "conflict": web.HTTPConflict,
           "invalid": web.HTTPBadRequest}
_SLUG = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": MAX_SLUG}
_LOCALE = {"type": "string", "pattern": LOCALE.pattern, "maxLength": 16}
_TITLE = {"type": "string", "minLength": 1, "maxLength": MAX_TITLE}
_BODY = {"type": "string", "maxLength": MAX_BODY}
_TAGS = {"type": "array", "items": {"type": "string", "maxLength": 40}}
_ID_OR_NULL = {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1}
_VERSION = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1,
            "description": "the version the change was made on (409 when it is not current)"}
_STATES = [s.value for s in State]
NEW_ARTICLE = {
    "type": "object", "required": ["locale", "title", "body"], "additionalProperties": False,
    "properties": {"locale": _LOCALE, "title": _TITLE, "body": _BODY, "slug": _SLUG,
                   "category_id": _ID_OR_NULL, "tags": _TAGS,
                   "state": {"type": "string", "enum": _STATES},
                   "translation_of": {"type": "integer", "minimum": 1,
                                      "maximum": 2**31 - 1}}}
EDIT_ARTICLE = {
    "type": "object", "required": ["version"], "additionalProperties": False,
    "properties": {"version": _VERSION, "title": _TITLE, "body": _BODY, "slug": _SLUG,
                   "category_id": _ID_OR_NULL, "tags": _TAGS}}
STATE_BODY = {
    "type": "object", "required": ["state", "version"], "additionalProperties": False,
    "properties": {"state": {"type": "string", "enum": _STATES}, "version": _VERSION}}
RESTORE_BODY = {"type": "object", "required": ["version"], "additionalProperties": False,
                "properties": {"version": _VERSION}}
CATEGORY_BODY = {
    "type": "object", "required": ["slug", "name"], "additionalProperties": False,
    "properties": {"slug": _SLUG, "name": {"type": "string", "minLength": 1, "maxLength": 200},
                   "parent_id": _ID_OR_NULL,
                   "position": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                   "names": {"type": "object", "additionalProperties": {
                       "type": "string", "minLength": 1, "maxLength": 200}}}}
FEEDBACK_BODY = {"type": "object", "required": ["helpful"], "additionalProperties": False,
                 "properties": {"helpful": {"type": "boolean"}}}
PREVIEW_BODY = {"type": "object", "required": ["body"], "additionalProperties": False,
                "properties": {"body": _BODY}}
SUGGEST_BODY = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "maxLength": MAX_ASSIST_TEXT,
                 "description": "what the customer said or wrote"},
        "context": {"type": "object", "description": "call or chat data (the screen pop): "
                                                     "its text values are read too"},
        "locale": _LOCALE,
        "limit": {"type": "integer", "minimum": 1, "maximum": 20}}}
_ARTICLE_OUT = {"type": "object", "description": "an article (html: rendered, sanitized)"}
_CONFLICT = {"type": "object", "description": "a stale version, or a slug already taken",
             "properties": {"current_version": {"type": ["integer", "null"]}}}
_SEARCH_QUERY = {"q": {"type": "string", "maxLength": MAX_QUERY, "required": True},
                 "locale": _LOCALE, "limit": {"type": "integer", "minimum": 1, "maximum": 50}}


def _actor(request: web.Request) -> Actor:
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    return actor


def _audience(request: web.Request) -> Audience:
    return Audience.STAFF if _actor(request).role in STAFF else Audience.AGENT


def kb_error(exc: KbError) -> web.HTTPException:
    """The JSON answer for a refused request."""
    body: dict[str, Any] = {"error": str(exc)}
    if exc.current_version is not None:
        body["current_version"] = exc.current_version
    return _ERRORS[exc.kind](text=json.dumps(body), content_type="application/json")


def _int(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


def _strings(value: Any, depth: int = 0) -> list[str]:
    """The text values of call or chat data, nested objects and lists included."""
    if isinstance(value, str):
        return [value]
    if depth > 8:
        return []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v, depth + 1)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, depth + 1)]
    return []


class KbRoutes:
    """The handlers over one ``KnowledgeBase``."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/kb/categories", self.categories),
            web.post("/api/kb/categories", self.create_category),
            web.put(f"/api/kb/categories/{{category_id:{_ID}}}", self.update_category),
            web.get("/api/kb/articles", self.articles),
            web.post("/api/kb/articles", self.create),
            web.get(_ARTICLE, self.article),
            web.put(_ARTICLE, self.update),
            web.post(f"{_ARTICLE}/state", self.set_state),
            web.get(f"{_ARTICLE}/versions", self.versions),
            web.get(f"{_ARTICLE}/versions/{{version:{_ID}}}", self.version),
            web.post(f"{_ARTICLE}/versions/{{version:{_ID}}}/restore", self.restore),
            web.get(f"{_ARTICLE}/diff", self.diff),
            web.post(f"{_ARTICLE}/feedback", self.feedback),
            web.post("/api/kb/preview", self.preview),
            web.get("/api/kb/search", self.search),
            web.post("/api/kb/suggest", self.suggest),
            web.get("/api/kb/gaps", self.gaps),
            web.get("/api/help/search", self.public_search),
        ]

    # --- categories ---------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), responses={200: {"type": "array", "items": {"type": "object"}}})
    async def categories(self, request: web.Request) -> web.Response:
        """Every category (id, slug, parent_id, position, name, names per locale)."""
        return web.json_response([c.as_json() for c in await self.kb.categories()])

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=CATEGORY_BODY,
             responses={201: {"type": "object"}, 409: {"type": "object",
                                                       "description": "slug already taken"}})
    async def create_category(self, request: web.Request) -> web.Response:
        """Create a category."""
        new = self._category(await read_declared_json(request))
        try:
            saved = await self.kb.save_category(_actor(request).username, new)
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(saved.as_json(), status=201)

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=CATEGORY_BODY,
             responses={200: {"type": "object"}, 409: {"type": "object",
                                                       "description": "slug already taken"}})
    async def update_category(self, request: web.Request) -> web.Response:
        """Replace a category's slug, name, parent, position and names."""
        new = self._category(await read_declared_json(request))
        try:
            saved = await self.kb.save_category(_actor(request).username, new,
                                                _int(request, "category_id"))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(saved.as_json())

    @staticmethod
    def _category(body: dict[str, Any]) -> NewCategory:
        return NewCategory(slug=body["slug"], name=body["name"], parent_id=body.get("parent_id"),
                           position=body.get("position", 0), names=dict(body.get("names", {})))

    # --- articles -----------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), query={
        "locale": _LOCALE, "state": {"type": "string", "enum": _STATES},
        "category_id": {"type": "integer", "minimum": 1},
        "tag": {"type": "string", "maxLength": 40},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500},
        "offset": {"type": "integer", "minimum": 0}},
        responses={200: {"type": "array", "items": _ARTICLE_OUT}})
    async def articles(self, request: web.Request) -> web.Response:
        """Articles the caller may read (agents: published and internal), newest change
        first, without their bodies."""
        state = query_text(request, "state")
        if state is not None and state not in _STATES:
            raise json_error(web.HTTPBadRequest, f"state must be one of {', '.join(_STATES)}")
        category = query_int(request, "category_id", 0, 2**31 - 1)
        found = await self.kb.articles(
            _audience(request), locale=query_text(request, "locale", 16),
            state=State(state) if state else None, category_id=category or None,
            tag=query_text(request, "tag", 40),
            limit=query_int(request, "limit", 100, 500, 1),
            offset=query_int(request, "offset", 0, 1_000_000))
        out = []
        for a in found:
            item = a.as_json()
            del item["body"], item["html"]
            out.append(item)
        return web.json_response(out)

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=NEW_ARTICLE,
             responses={201: _ARTICLE_OUT, 409: _CONFLICT})
    async def create(self, request: web.Request) -> web.Response:
        """Create an article (version 1), a draft unless ``state`` says otherwise; with
        ``translation_of``, as that article's translation into ``locale``. The slug defaults
        to one made from the title."""
        body = await read_declared_json(request, _MAX_ARTICLE_BYTES)
        new = NewArticle(locale=body["locale"], title=body["title"], body=body["body"],
                         slug=body.get("slug"), category_id=body.get("category_id"),
                         tags=tuple(body.get("tags", ())),
                         state=State(body.get("state", State.DRAFT.value)),
                         translation_of=body.get("translation_of"))
        try:
            article = await self.kb.create(_actor(request).username, new)
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(article.as_json(), status=201)

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), responses={200: _ARTICLE_OUT})
    async def article(self, request: web.Request) -> web.Response:
        """One article with its translations and its helpful / not helpful counts."""
        audience = _audience(request)
        try:
            article = await self.kb.get(_int(request, "article_id"), audience)
        except KbError as exc:
            raise kb_error(exc) from None
        out = article.as_json()
        out["translations"] = [{"id": t.id, "locale": t.locale, "slug": t.slug,
                                "title": t.title, "state": t.state.value}
                               for t in await self.kb.translations(article, audience)]
        out["feedback"] = (await self.kb.feedback_counts(article.id)).as_json()
        return web.json_response(out)

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=EDIT_ARTICLE,
             responses={200: _ARTICLE_OUT, 409: _CONFLICT})
    async def update(self, request: web.Request) -> web.Response:
        """Edit an article made on ``version``: the fields given change (a new version);
        ``category_id: null`` takes it out of its category."""
        body = await read_declared_json(request, _MAX_ARTICLE_BYTES)
        extra = {"category_id": body["category_id"]} if "category_id" in body else {}
        changes = ArticleChanges(title=body.get("title"), body=body.get("body"),
                                 slug=body.get("slug"),
                                 tags=tuple(body["tags"]) if "tags" in body else None, **extra)
        try:
            article = await self.kb.update(_actor(request).username, _int(request, "article_id"),
                                           body["version"], changes)
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(article.as_json())

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=STATE_BODY, responses={200: _ARTICLE_OUT, 409: _CONFLICT})
    async def set_state(self, request: web.Request) -> web.Response:
        """Publish, make internal (agents only), archive or send back to draft."""
        body = await read_declared_json(request)
        try:
            article = await self.kb.set_state(_actor(request).username,
                                              _int(request, "article_id"), body["version"],
                                              State(body["state"]))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(article.as_json())

    @requires(*STAFF)
    @api_doc(tags=("kb",), responses={200: {"type": "array", "items": {"type": "object"}}})
    async def versions(self, request: web.Request) -> web.Response:
        """Every version of an article, newest first, without their bodies."""
        try:
            found = await self.kb.versions(_int(request, "article_id"))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response([v.as_json(with_body=False) for v in found])

    @requires(*STAFF)
    @api_doc(tags=("kb",), responses={200: {"type": "object"}})
    async def version(self, request: web.Request) -> web.Response:
        """One version of an article, with its body."""
        try:
            found = await self.kb.version(_int(request, "article_id"), _int(request, "version"))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(found.as_json())

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=RESTORE_BODY,
             responses={200: _ARTICLE_OUT, 409: _CONFLICT})
    async def restore(self, request: web.Request) -> web.Response:
        """Bring back that version's title, body, slug, tags and category as a new version
        (the state stays); ``version`` in the body is the article's current one."""
        body = await read_declared_json(request)
        try:
            article = await self.kb.restore(_actor(request).username,
                                            _int(request, "article_id"), body["version"],
                                            _int(request, "version"))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(article.as_json())

    @requires(*STAFF)
    @api_doc(tags=("kb",), query={
        "from": {"type": "integer", "minimum": 1, "required": True},
        "to": {"type": "integer", "minimum": 1, "required": True}},
        responses={200: {"type": "object", "properties": {"diff": {"type": "string"}}}})
    async def diff(self, request: web.Request) -> web.Response:
        """A unified diff of the title and body between two versions."""
        old = query_int(request, "from", 0, 2**31 - 1)
        new = query_int(request, "to", 0, 2**31 - 1)
        if not old or not new:
            raise json_error(web.HTTPBadRequest, "from and to must name versions")
        try:
            text = await self.kb.diff(_int(request, "article_id"), old, new)
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response({"from": old, "to": new, "diff": text})

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), request=FEEDBACK_BODY, responses={200: {"type": "object"}})
    async def feedback(self, request: web.Request) -> web.Response:
        """Mark an article helpful or not (an agent's answer); the counts after it."""
        body = await read_declared_json(request)
        try:
            counts = await self.kb.feedback(_int(request, "article_id"), body["helpful"],
                                            audience=_audience(request),
                                            actor=_actor(request).username)
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(counts.as_json())

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=PREVIEW_BODY, responses={200: {"type": "object"}})
    async def preview(self, request: web.Request) -> web.Response:
        """Markdown as the help center will show it (rendered, sanitized); nothing saved."""
        body = await read_declared_json(request, _MAX_ARTICLE_BYTES)
        return web.json_response({"html": self.kb.renderer.render(body["body"]).html})

    # --- search, assist, gaps -----------------------------------------------------------------

    async def _search(self, request: web.Request, audience: Audience) -> web.Response:
        text = query_text(request, "q", MAX_QUERY)
        if not text or not text.strip():
            raise json_error(web.HTTPBadRequest, "q must say what to search for")
        try:
            result = await self.kb.search(text, query_text(request, "locale", 16), audience,
                                          query_int(request, "limit", 10, 50, 1))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(result.as_json())

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), query=_SEARCH_QUERY, responses={200: {"type": "object"}})
    async def search(self, request: web.Request) -> web.Response:
        """Search the articles agents may read (web-search syntax: words, "a phrase",
        -excluded, or); hits best first with highlighted snippets (``snippet_html``: escaped
        text and ``<mark>``). A search that finds nothing is recorded as a content gap."""
        return await self._search(request, Audience.AGENT)

    @requires(PUBLIC)
    @api_doc(tags=("kb",), query=_SEARCH_QUERY, responses={200: {"type": "object"}})
    async def public_search(self, request: web.Request) -> web.Response:
        """Search the published articles (the help center's search, as JSON)."""
        return await self._search(request, Audience.PUBLIC)

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), request=SUGGEST_BODY, responses={
        200: {"type": "object", "properties": {"hits": {"type": "array"}}}})
    async def suggest(self, request: web.Request) -> web.Response:
        """Agent assist: articles for what the customer said (``text``) and the call or chat
        data (``context``), best first; published and internal ones."""
        body = await read_declared_json(request)
        text = " ".join([body.get("text", ""), *_strings(body.get("context", {}))])
        try:
            hits = await self.kb.suggest(text, body.get("locale"), body.get("limit"))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response({"hits": [h.as_json() for h in hits]})

    @requires(*STAFF)
    @api_doc(tags=("kb",), query={"locale": _LOCALE,
                                  "limit": {"type": "integer", "minimum": 1, "maximum": 1000}},
             responses={200: {"type": "array", "items": {"type": "object"}}})
    async def gaps(self, request: web.Request) -> web.Response:
        """Searches that found nothing (content gaps), most asked first."""
        found = await self.kb.gaps(query_text(request, "locale", 16),
                                   query_int(request, "limit", 100, 1000, 1))
        return web.json_response([g.as_json() for g in found])
