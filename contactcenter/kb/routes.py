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
import math
from datetime import datetime
from typing import Any

from aiohttp import web

from contactcenter.kb.limits import client_key
from contactcenter.kb.model import (
    MAX_BODY,
    MAX_SLUG,
    MAX_TAGS,
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
from contactcenter.web.openapi import ENUM_FROM, api_doc, read_declared_json
from contactcenter.web.roles import ADMIN, ANY_USER, PUBLIC, STAFF, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

_ID = "[0-9]{1,9}"
_LOCALE_PATH = "{locale:[a-z]{2,3}(?:-[a-z0-9]{2,8})?}"
_ARTICLE = f"/api/kb/articles/{{article_id:{_ID}}}"
_MAX_ARTICLE_BYTES = 1024 * 1024  # a body of MAX_BODY characters, JSON-escaped
_ERRORS = {"not_found": web.HTTPNotFound, "conflict": web.HTTPConflict,
           "invalid": web.HTTPBadRequest, "limited": web.HTTPTooManyRequests,
           "unsupported": web.HTTPUnsupportedMediaType}
_SLUG = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": MAX_SLUG}
# One of kb.locales (the wiring gives the document and the checks the configured list)
_LOCALE = {"type": "string", "pattern": LOCALE.pattern, "maxLength": 16, ENUM_FROM: "kb.locales"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S",
         "x-message": "must be a string that is not blank"}  # "\S": what str.strip() keeps
_TITLE = {"type": "string", "minLength": 1, "maxLength": MAX_TITLE, "pattern": "\\S",
          "x-message": "must be a string that is not blank"}
_BODY = {"type": "string", "maxLength": MAX_BODY}
# A tag as clean_tags takes it (trimmed, lowercased, then TAG); Unicode letters whose lowercase
# is ASCII (the Kelvin sign) are left out of the declaration, the only difference.
_TAGS = {"type": "array", "maxItems": MAX_TAGS, "items": {
    "type": "string", "pattern": "^\\s*[A-Za-z0-9][A-Za-z0-9-]{0,39}\\s*$",
    "x-message": "must be 1-40 letters, digits or dashes"}}
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
    "properties": {"state": {"type": "string", "enum": _STATES}, "version": _VERSION,
                   "publish_at": {"type": ["string", "null"], "maxLength": 40,
                                  "format": "date-time", "x-message": "must be an ISO 8601 time "
                                  "with its zone, such as 2027-01-31T09:00:00Z",
                                  "description": "with published: show it only from this "
                                                 "time (ISO 8601 with a zone)"}},
    "if": {"required": ["publish_at"], "properties": {"publish_at": {"type": "string"}}},
    "then": {"properties": {"state": {"const": State.PUBLISHED.value,
                                      "x-message": "must be published with a publish_at"}}}}
RESTORE_BODY = {"type": "object", "required": ["version"], "additionalProperties": False,
                "properties": {"version": _VERSION}}
CATEGORY_BODY = {
    "type": "object", "required": ["slug", "name"], "additionalProperties": False,
    "properties": {"slug": _SLUG, "name": _NAME,
                   "parent_id": _ID_OR_NULL,
                   "position": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                   "names": {"type": "object", "propertyNames": _LOCALE,
                             "additionalProperties": _NAME}}}
SYNONYMS_BODY = {
    "type": "object", "required": ["groups"], "additionalProperties": False,
    "properties": {"groups": {
        "type": "array", "maxItems": 1000, "description": "each group: words or short "
        "phrases a search treats as one (cancel, terminate, end contract)",
        "items": {"type": "array", "minItems": 2, "maxItems": 20, "uniqueItems": True,
                  "items": {"type": "string", "minLength": 1, "maxLength": 100,
                            "description": "1 to 4 words of letters or digits"}}}}}
# What the groups' declaration does not say (a word as the search splits them, in any script;
# synonyms the same once lowercased; a synonym in two groups) is refused with a 422
_SYNONYMS_REFUSED = {"description": "a synonym that is not 1 to 4 words, a group of fewer "
                                    "than 2 different synonyms, or a synonym in two groups"}
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
# q: one line with something to search for ("\S" alone would take a NUL for that something)
_SEARCH_QUERY = {"q": {"type": "string", "maxLength": MAX_QUERY, "required": True,
                       "pattern": "^[^\\r\\n\\x00]*[^\\s\\x00][^\\r\\n\\x00]*$",
                       "x-message": "must say what to search for (one line)"},
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
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return _ERRORS[exc.kind](text=json.dumps(body), content_type="application/json",
                             headers=headers)


def search_client(request: web.Request) -> str:
    """Whom a search's content gap is counted for: the user, else the address."""
    actor = request.get("actor")
    return f"user:{actor.username}" if actor is not None else client_key(request.remote)


def _time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time with its zone, else 400."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())  # RFC 3339 allows a small t and z
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise json_error(web.HTTPBadRequest, f"{name} must be an ISO 8601 time with its zone, "
                                             "such as 2027-01-31T09:00:00Z")
    return parsed


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
            web.get("/api/kb/locales", self.locales),
            web.get("/api/kb/categories", self.categories),
            web.post("/api/kb/categories", self.create_category),
            web.put(f"/api/kb/categories/{{category_id:{_ID}}}", self.update_category),
            web.delete(f"/api/kb/categories/{{category_id:{_ID}}}", self.delete_category),
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
            web.get(f"/api/kb/synonyms/{_LOCALE_PATH}", self.synonyms),
            web.put(f"/api/kb/synonyms/{_LOCALE_PATH}", self.save_synonyms),
            web.get("/api/help/search", self.public_search),
        ]

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), responses={200: {"type": "object", "properties": {
        "locales": {"type": "array", "items": {"type": "string"}}}}})
    async def locales(self, request: web.Request) -> web.Response:
        """The knowledge base's locales (``kb.locales``), the default first."""
        return web.json_response({"locales": list(self.kb.settings.locales)})

    # --- categories ---------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), responses={200: {"type": "array", "items": {"type": "object"}}})
    async def categories(self, request: web.Request) -> web.Response:
        """Every category (id, slug, parent_id, position, name, names per locale)."""
        return web.json_response([c.as_json() for c in await self.kb.categories()])

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=CATEGORY_BODY,
             responses={201: {"type": "object"}, 404: {"description": "no such parent_id"},
                        409: {"type": "object", "description": "slug already taken"}})
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
             responses={200: {"type": "object"}, 404: {"description": "no such parent_id"},
                        409: {"type": "object", "description": "slug already taken, or the "
                              "parent is the category itself or inside it"}})
    async def update_category(self, request: web.Request) -> web.Response:
        """Replace a category's slug, name, parent, position and names."""
        new = self._category(await read_declared_json(request))
        try:
            saved = await self.kb.save_category(_actor(request).username, new,
                                                _int(request, "category_id"))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(saved.as_json())

    @requires(*STAFF)
    @api_doc(tags=("kb",), responses={
        204: {"description": "deleted"}, 404: {"description": "no such category"},
        409: {"type": "object", "description": "articles or subcategories are still in it "
                                               "(the error says how many)"}})
    async def delete_category(self, request: web.Request) -> web.Response:
        """Delete a category that holds no article (in any state or locale) and no
        subcategory."""
        try:
            await self.kb.delete_category(_actor(request).username,
                                          _int(request, "category_id"))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.Response(status=204)

    @staticmethod
    def _category(body: dict[str, Any]) -> NewCategory:
        return NewCategory(slug=body["slug"], name=body["name"], parent_id=body.get("parent_id"),
                           position=body.get("position", 0), names=dict(body.get("names", {})))

    # --- articles -----------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(tags=("kb",), query={
        "locale": _LOCALE, "state": {"type": "string", "enum": _STATES},
        "category_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "tag": {"type": "string", "maxLength": 40},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500},
        "offset": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "q": {"type": "string", "maxLength": MAX_QUERY,
              "description": "words to search for in ``locale`` (best first; no content gap)"}},
        responses={200: {"type": "array", "items": _ARTICLE_OUT}})
    async def articles(self, request: web.Request) -> web.Response:
        """Articles the caller may read (agents: published and internal), newest change
        first, without their bodies; with ``q``, those matching it, best first."""
        state = query_text(request, "state")
        if state is not None and state not in _STATES:
            raise json_error(web.HTTPBadRequest, f"state must be one of {', '.join(_STATES)}")
        category = query_int(request, "category_id", 0, 2**31 - 1)
        text = query_text(request, "q", MAX_QUERY)
        try:
            if text and text.strip():
                found = await self.kb.find_articles(
                    text, query_text(request, "locale", 16), _audience(request),
                    state=State(state) if state else None,
                    limit=query_int(request, "limit", 100, 500, 1))
            else:
                found = await self.kb.articles(
                    _audience(request), locale=query_text(request, "locale", 16),
                    state=State(state) if state else None, category_id=category or None,
                    tag=query_text(request, "tag", 40),
                    limit=query_int(request, "limit", 100, 500, 1),
                    offset=query_int(request, "offset", 0, 1_000_000))
        except KbError as exc:
            raise kb_error(exc) from None
        out = []
        for a in found:
            item = a.as_json()
            del item["body"], item["html"]
            out.append(item)
        return web.json_response(out)

    @requires(*STAFF)
    @api_doc(tags=("kb",), request=NEW_ARTICLE,
             responses={201: _ARTICLE_OUT, 409: _CONFLICT,
                        404: {"description": "no such category_id or translation_of"}})
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
        """Publish (with ``publish_at`` ahead: from that time), make internal (agents only),
        archive or send back to draft."""
        body = await read_declared_json(request)
        publish_at = _time(body.get("publish_at"), "publish_at")
        try:
            article = await self.kb.set_state(_actor(request).username,
                                              _int(request, "article_id"), body["version"],
                                              State(body["state"]), publish_at)
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
        "from": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "required": True},
        "to": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "required": True}},
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
                                          query_int(request, "limit", 10, 50, 1),
                                          client=search_client(request))
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

    def _known_locale(self, request: web.Request) -> None:
        # a locale in the path that kb.locales does not list: nothing there (the pattern is
        # the path's form; the configured list is the server's, not the document's)
        if request.match_info["locale"] not in self.kb.settings.locales:
            raise json_error(web.HTTPNotFound, "no such locale in kb.locales")

    @requires(*STAFF)
    @api_doc(tags=("kb",), responses={200: SYNONYMS_BODY})
    async def synonyms(self, request: web.Request) -> web.Response:
        """The locale's synonym groups."""
        self._known_locale(request)
        try:
            groups = await self.kb.synonyms(request.match_info["locale"])
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response({"groups": groups})

    @requires(ADMIN)
    @api_doc(tags=("kb",), request=SYNONYMS_BODY,
             responses={200: SYNONYMS_BODY, 422: _SYNONYMS_REFUSED})
    async def save_synonyms(self, request: web.Request) -> web.Response:
        """Replace the locale's synonym groups (admins): the search then finds an article by
        any word of a group."""
        self._known_locale(request)
        body = await read_declared_json(request, _MAX_ARTICLE_BYTES)
        try:
            groups = await self.kb.save_synonyms(_actor(request).username,
                                                 request.match_info["locale"], body["groups"])
        except KbError as exc:
            if exc.kind == "invalid":  # the body had the declared form: its content is refused
                raise json_error(web.HTTPUnprocessableEntity, str(exc)) from None
            raise kb_error(exc) from None
        return web.json_response({"groups": groups})

    @requires(*STAFF)
    @api_doc(tags=("kb",), query={"locale": _LOCALE,
                                  "limit": {"type": "integer", "minimum": 1, "maximum": 1000}},
             responses={200: {"type": "array", "items": {"type": "object"}}})
    async def gaps(self, request: web.Request) -> web.Response:
        """Searches that found nothing (content gaps), most asked first."""
        found = await self.kb.gaps(query_text(request, "locale", 16),
                                   query_int(request, "limit", 100, 1000, 1))
        return web.json_response([g.as_json() for g in found])
