"""The public help center: server-rendered pages of the published articles, no JavaScript.

Design note: every page is whole HTML made here, so it reads in any browser, with scripts off,
and to search engines; the search box is a GET form and the feedback buttons a POST form. Every
value from the database is escaped with ``html.escape`` except two that are safe by
construction: an article's body (rendered with raw HTML off, then sanitized by nh3) and a
search snippet (escaped, then ``<mark>`` added: ``render.mark_up``). The pages forbid scripts
outright (``script-src 'none'``), so even a sanitizer bug could not run one. Addresses are
stable: ``/help/<locale>/<slug>``; ``/help`` leads to the first locale of ``kb.locales``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

from aiohttp import web

from contactcenter.kb.limits import client_key
from contactcenter.kb.model import Article, Audience, Category, KbError, SearchHit, help_url
from contactcenter.kb.service import MAX_QUERY, KnowledgeBase
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import PUBLIC, requires
from contactcenter.web.security import CSRF_ORIGIN_ONLY

HELP_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
                               "img-src 'self' https: data:; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
}
_LOCALE = "{locale:[a-z]{2,3}(?:-[a-z0-9]{2,8})?}"
_SLUG = "{slug:[a-z0-9]+(?:-[a-z0-9]+)*}"
# The pages' own words; a locale without an entry reads them in English.
STRINGS: dict[str, dict[str, str]] = {
    "en": {"search": "Search", "placeholder": "Search the help center", "categories":
           "Categories", "recent": "Recent articles", "results": "Results for",
           "none": "No article matches your search.", "did_you_mean": "Showing results for",
           "helpful": "Was this article helpful?", "yes": "Yes", "no": "No",
           "thanks": "Thank you for your feedback.", "also_in": "Also in",
           "updated": "Updated", "not_found": "Page not found", "home": "Home",
           "empty": "No articles here yet.",
           "too_many": "Too many answers from your address: please try again later."},
    "fr": {"search": "Rechercher", "placeholder": "Rechercher dans l'aide", "categories":
           "Catégories", "recent": "Articles récents", "results": "Résultats pour",
           "none": "Aucun article ne correspond à votre recherche.",
           "did_you_mean": "Résultats pour", "helpful": "Cet article vous a-t-il aidé ?",
           "yes": "Oui", "no": "Non", "thanks": "Merci de votre avis.",
           "also_in": "Aussi en", "updated": "Mis à jour", "not_found": "Page introuvable",
           "home": "Accueil", "empty": "Pas encore d'article ici.",
           "too_many": "Trop de réponses depuis votre adresse : réessayez plus tard."},
}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


class HelpCenter:
    """The handlers of ``/help``."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.settings = kb.settings

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/help", self.root),
            web.get(f"/help/{_LOCALE}", self.home),
            web.get(f"/help/{_LOCALE}/search", self.search),
            web.get(f"/help/{_LOCALE}/categories/{_SLUG}", self.category),
            web.get(f"/help/{_LOCALE}/{_SLUG}", self.article),
            web.post(f"/help/{_LOCALE}/{_SLUG}/feedback", self.feedback),
        ]

    def _t(self, locale: str, key: str) -> str:
        return STRINGS.get(locale, STRINGS["en"]).get(key, STRINGS["en"][key])

    def _locale(self, request: web.Request) -> str:
        locale = request.match_info["locale"]
        if locale not in self.settings.locales:
            raise self._not_found(self.settings.default_locale)
        return locale

    def _page(self, locale: str, title: str, main: str, *, query: str = "",
              status: int = 200, alternates: Iterable[tuple[str, str]] = ()) -> web.Response:
        t = self._t
        site = _e(self.settings.title)
        links = "".join(f'<link rel="alternate" hreflang="{_e(loc)}" href="{_e(url)}">'
                        for loc, url in alternates)
        locales = "".join(
            f'<a href="/help/{_e(loc)}" lang="{_e(loc)}"'
            f'{" aria-current=page" if loc == locale else ""}>{_e(loc.upper())}</a>'
            for loc in self.settings.locales) if len(self.settings.locales) > 1 else ""
        body = (
            f'<!doctype html>\n<html lang="{_e(locale)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)} · {site}</title>{links}"
            '<link rel="icon" href="data:,">'  # no /favicon.ico request to answer 404
            '<link rel="stylesheet" href="/static/kb/help.css"></head><body>'
            f'<header><a class="site" href="/help/{_e(locale)}">{site}</a>'
            f'<nav class="locales">{locales}</nav>'
            f'<form class="search" role="search" method="get" action="/help/{_e(locale)}/search">'
            f'<input type="search" name="q" value="{_e(query)}" maxlength="{MAX_QUERY}" '
            f'aria-label="{_e(t(locale, "search"))}" '
            f'placeholder="{_e(t(locale, "placeholder"))}">'
            f'<button type="submit">{_e(t(locale, "search"))}</button></form></header>'
            f"<main>{main}</main></body></html>")
        return web.Response(text=body, status=status, content_type="text/html",
                            headers=HELP_HEADERS)

    def _not_found(self, locale: str) -> web.HTTPException:
        page = self._page(locale, self._t(locale, "not_found"),
                          f"<h1>{_e(self._t(locale, 'not_found'))}</h1>", status=404)
        return web.HTTPNotFound(text=page.text, content_type="text/html", headers=HELP_HEADERS)

    def _too_many(self, locale: str, retry_after: float) -> web.HTTPException:
        text = self._t(locale, "too_many")
        page = self._page(locale, text, f'<p class="error">{_e(text)}</p>', status=429)
        return web.HTTPTooManyRequests(
            text=page.text, content_type="text/html",
            headers={**HELP_HEADERS, "Retry-After": str(max(1, math.ceil(retry_after)))})

    @staticmethod
    def _list(hits: Iterable[tuple[str, str, str]]) -> str:
        """(url, title, html under it) as the article list."""
        items = "".join(f'<li><a href="{_e(url)}">{_e(title)}</a>'
                        f'{f"<p>{under}</p>" if under else ""}</li>'
                        for url, title, under in hits)
        return f'<ul class="articles">{items}</ul>'

    @requires(PUBLIC)
    async def root(self, request: web.Request) -> web.StreamResponse:
        """The help center of the default locale."""
        raise web.HTTPFound(f"/help/{self.settings.default_locale}")

    @requires(PUBLIC)
    async def home(self, request: web.Request) -> web.StreamResponse:
        """The category tree and the newest articles."""
        locale = self._locale(request)
        t = self._t
        tree = await self.kb.tree(locale)
        recent = await self.kb.articles(Audience.PUBLIC, locale=locale, limit=10)
        main = f"<h1>{_e(self.settings.title)}</h1>"
        if tree:
            main += (f'<section class="categories"><h2>{_e(t(locale, "categories"))}</h2>'
                     f"{self._tree(locale, tree)}</section>")
        main += f'<section class="recent"><h2>{_e(t(locale, "recent"))}</h2>'
        main += (self._list((help_url(a.locale, a.slug), a.title, "") for a in recent)
                 if recent else f"<p>{_e(t(locale, 'empty'))}</p>")
        main += "</section>"
        return self._page(locale, self.settings.title, main)

    @staticmethod
    def _tree(locale: str, tree: list[tuple[Category, int, int]]) -> str:
        out, depth = [], -1
        for category, level, count in tree:
            if level > depth:
                out.append("<ul>" * (level - depth))
            else:
                out.append("</li>" + "</ul></li>" * (depth - level))
            depth = level
            out.append(f'<li><a href="/help/{_e(locale)}/categories/{_e(category.slug)}">'
                       f"{_e(category.name_in(locale))}</a> <span class=count>{count}</span>")
        if depth >= 0:
            out.append("</li>" + "</ul></li>" * depth + "</ul>")
        return "".join(out)

    @requires(PUBLIC)
    async def search(self, request: web.Request) -> web.StreamResponse:
        """Published articles for the words in ``q``, with highlighted snippets."""
        locale = self._locale(request)
        t = self._t
        text = request.query.get("q", "").replace("\x00", " ")[:MAX_QUERY]
        if not text.strip():
            raise web.HTTPFound(f"/help/{locale}")
        result = await self.kb.search(text, locale, Audience.PUBLIC, 20,
                                      client=client_key(request.remote))
        main = f"<h1>{_e(t(locale, 'results'))} “{_e(text)}”</h1>"
        if result.corrected:
            main += (f'<p class="corrected">{_e(t(locale, "did_you_mean"))} '
                     f"“{_e(result.corrected)}”</p>")
        if result.hits:
            main += self._list(self._hit(h) for h in result.hits)
        else:
            main += f'<p class="none">{_e(t(locale, "none"))}</p>'
        return self._page(locale, f"{t(locale, 'search')}: {text}", main, query=text)

    @staticmethod
    def _hit(hit: SearchHit) -> tuple[str, str, str]:
        return help_url(hit.locale, hit.slug), hit.title, hit.snippet_html

    @requires(PUBLIC)
    async def category(self, request: web.Request) -> web.StreamResponse:
        """A category: its subcategories and its published articles."""
        locale = self._locale(request)
        slug = request.match_info["slug"]
        tree = await self.kb.tree(locale)
        found = [c for c, _level, _n in tree if c.slug == slug]
        if not found:
            raise self._not_found(locale)
        category = found[0]
        names = {c.id: c for c, _level, _n in tree}
        main = self._crumbs(locale, category.parent_id, names)
        main += f"<h1>{_e(category.name_in(locale))}</h1>"
        children = [(c, d, n) for c, d, n in tree if c.parent_id == category.id]
        if children:
            main += self._tree(locale, [(c, 0, n) for c, _d, n in children])
        articles = await self.kb.articles(Audience.PUBLIC, locale=locale,
                                          category_id=category.id, limit=500)
        main += (self._list((help_url(a.locale, a.slug), a.title, "") for a in articles)
                 if articles else f"<p>{_e(self._t(locale, 'empty'))}</p>")
        return self._page(locale, category.name_in(locale), main)

    def _crumbs(self, locale: str, parent: int | None, names: dict[int, Category]) -> str:
        trail: list[Category] = []
        while parent is not None and parent in names and len(trail) < 20:
            trail.append(names[parent])
            parent = names[parent].parent_id
        links = [f'<a href="/help/{_e(locale)}">{_e(self._t(locale, "home"))}</a>'] + [
            f'<a href="/help/{_e(locale)}/categories/{_e(c.slug)}">{_e(c.name_in(locale))}</a>'
            for c in reversed(trail)]
        return f'<nav class="crumbs">{" › ".join(links)}</nav>'

    @requires(PUBLIC)
    async def article(self, request: web.Request) -> web.StreamResponse:
        """A published article, its translations and the feedback buttons."""
        locale = self._locale(request)
        t = self._t
        try:
            article = await self.kb.by_slug(locale, request.match_info["slug"], Audience.PUBLIC)
        except KbError:
            raise self._not_found(locale) from None
        translations = await self.kb.translations(article, Audience.PUBLIC)
        names = {c.id: c for c in await self.kb.categories()}
        main = self._crumbs(locale, article.category_id, names)
        main += self._article(locale, article)
        if translations:
            links = ", ".join(f'<a href="{_e(help_url(tr.locale, tr.slug))}" '
                              f'hreflang="{_e(tr.locale)}" lang="{_e(tr.locale)}">'
                              f"{_e(tr.title)}</a>" for tr in translations)
            main += f'<p class="translations">{_e(t(locale, "also_in"))}: {links}</p>'
        if "thanks" in request.query:
            main += f'<p class="feedback thanks">{_e(t(locale, "thanks"))}</p>'
        else:
            main += (f'<form class="feedback" method="post" '
                     f'action="{_e(help_url(locale, article.slug))}/feedback">'
                     f'<span>{_e(t(locale, "helpful"))}</span> '
                     f'<button name="helpful" value="yes">{_e(t(locale, "yes"))}</button> '
                     f'<button name="helpful" value="no">{_e(t(locale, "no"))}</button></form>')
        return self._page(locale, article.title, main, alternates=[
            (tr.locale, help_url(tr.locale, tr.slug)) for tr in translations])

    def _article(self, locale: str, article: Article) -> str:
        tags = "".join(f'<li>{_e(tag)}</li>' for tag in article.tags)
        return (f"<article><h1>{_e(article.title)}</h1>"
                f'<div class="body">{article.html}</div>'
                f'<footer><p class="updated">{_e(self._t(locale, "updated"))} '
                f'<time datetime="{_e(article.updated_at.isoformat())}">'
                f"{_e(article.updated_at.date().isoformat())}</time></p>"
                f'{f"<ul class=tags>{tags}</ul>" if tags else ""}</footer></article>')

    @requires(PUBLIC)
    @api_doc(request={"type": "object", "required": ["helpful"],
                      "properties": {"helpful": {"enum": ["yes", "no"]}}},
             body_type="application/x-www-form-urlencoded",
             responses={303: {"description": "back to the article, thanked"},
                        400: {"description": "helpful must be yes or no"},
                        429: {"description": "too much feedback from this client"}})
    async def feedback(self, request: web.Request) -> web.StreamResponse:
        """A customer's "was this helpful?" (a form, so it works without scripts)."""
        locale = self._locale(request)
        form = await request.post()
        answer = form.get("helpful")
        if answer not in ("yes", "no"):
            raise web.HTTPBadRequest(text="helpful must be yes or no")
        try:
            article = await self.kb.by_slug(locale, request.match_info["slug"], Audience.PUBLIC)
            await self.kb.feedback(article.id, answer == "yes", audience=Audience.PUBLIC,
                                   client=client_key(request.remote))
        except KbError as exc:
            if exc.kind == "limited":
                raise self._too_many(locale, exc.retry_after or 60) from None
            raise self._not_found(locale) from None
        raise web.HTTPSeeOther(f"{help_url(locale, article.slug)}?thanks=1")

    feedback.csrf = CSRF_ORIGIN_ONLY  # type: ignore[attr-defined]  # no session: Origin only


def add_help_center(app: web.Application, kb: KnowledgeBase) -> None:
    """``/help`` (its style sheet is among the context's files at ``/static/kb/``)."""
    app.add_routes(HelpCenter(kb).routes())
