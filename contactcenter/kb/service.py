"""The knowledge base's use cases: write, version, publish and find articles.

Design note: every write is one transaction that changes ``kb_articles`` (the full-text index
follows it inside the database: triggers on SQLite, a generated column on PostgreSQL) and adds
the version it produced to ``kb_article_versions``, then one audit entry. An edit names the
version it was made on; a stale one is a conflict (``current_version``), and the versions'
primary key refuses the second of two edits racing from the same version even where the
database has no row locks. A search runs the same steps on both databases (``search``): all
words; else the words corrected against the titles' vocabulary (rapidfuzz); else any word;
else a fuzzy match of whole titles; else nothing, which is recorded as a content gap. Every
full-text step reads the admins' synonyms (``kb/synonyms.py``). A published article with a
``publish_at`` still ahead is read as absent by everybody but the staff until the Clock passes
it: every read filters on it (``_visible``, ``_readable``, the search's ``until``), so nothing
has to run at that moment. Anonymous votes and gaps are held to ``kb/limits.py``.
"""

from __future__ import annotations

import difflib
import html
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.domain.clock import Clock
from contactcenter.kb.limits import PENDING, PublicLimits
from contactcenter.kb.model import (
    MAX_BODY,
    MAX_SLUG,
    MAX_TITLE,
    RESERVED_SLUGS,
    SLUG,
    VISIBLE,
    Article,
    ArticleChanges,
    Audience,
    Category,
    FeedbackCounts,
    Gap,
    KbError,
    NewArticle,
    NewCategory,
    SearchHit,
    SearchResult,
    State,
    Translation,
    Version,
    clean_tags,
    slugify,
)
from contactcenter.kb.query import WORD, Query, any_word, parse, replace_words, stop_words
from contactcenter.kb.render import Renderer
from contactcenter.kb.search import SNIPPET_WORDS, full_text
from contactcenter.kb.settings import KbSettings
from contactcenter.kb.synonyms import Synonyms, clean_synonyms, synonym_map, with_synonyms
from contactcenter.kb.tables import (
    KbArticleRow,
    KbArticleVersionRow,
    KbCategoryRow,
    KbFeedbackRow,
    KbSearchGapRow,
    KbSynonymRow,
)
from contactcenter.kb.titles import TitleCache, Titles
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database

MAX_QUERY = 200
MAX_ASSIST_TEXT = 4000
WHOLE_TITLE_WORD = 8  # a one-word query this long is also matched against whole titles
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # "every scheduled article": the staff's view


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we write is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _article(row: KbArticleRow) -> Article:
    return Article(
        id=row.id, group=row.group_key, locale=row.locale, slug=row.slug, title=row.title,
        body=row.body, html=row.body_html, text=row.body_text, category_id=row.category_id,
        tags=tuple(row.tags.split()), state=State(row.state), version=row.version,
        created_at=_aware(row.created_at), updated_at=_aware(row.updated_at),
        updated_by=row.updated_by,
        published_at=_aware(row.published_at) if row.published_at else None,
        publish_at=_aware(row.publish_at) if row.publish_at else None, origin=row.origin)


def _version(row: KbArticleVersionRow) -> Version:
    return Version(row.article_id, row.version, row.action, row.title, row.slug, row.body,
                   row.category_id, tuple(row.tags.split()), State(row.state), _aware(row.at),
                   row.by)


def _category(row: KbCategoryRow) -> Category:
    return Category(row.id, row.slug, row.parent_id, row.position, row.name, dict(row.names))


def gap_key(text: str) -> str:
    """A search as a content gap is counted: as typed, lowercased, spaces collapsed."""
    return " ".join(text.replace("\x00", " ").lower().split())[:MAX_QUERY]


class KnowledgeBase:
    """Articles, categories, versions, search, suggestions, feedback and content gaps."""

    def __init__(self, db: Database, clock: Clock, audit: AuditLog,
                 settings: KbSettings) -> None:
        self.db, self.clock, self.audit, self.settings = db, clock, audit, settings
        self.renderer = Renderer()
        self.full_text = full_text(db.dialect)
        self.limits = PublicLimits(settings.votes_per_hour, settings.gaps_per_hour)
        self._synonyms: dict[str, Synonyms] = {}  # per locale, read on first use
        # Titles per (locale, states) for typo tolerance, read on a miss; every write here
        # empties it (this server is the only writer of articles).
        self._titles: dict[tuple[str, tuple[str, ...]], TitleCache] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    def _shown_until(self, audience: Audience) -> datetime:
        """Articles scheduled up to this time are shown to ``audience``: now, or for the
        staff who edit them, all."""
        return NEVER if audience is Audience.STAFF else self._now()

    def _visible(self, audience: Audience) -> sa.ColumnElement[bool]:
        """Rows ``audience`` may read: its states, and no publishing time still ahead."""
        return sa.and_(KbArticleRow.state.in_(VISIBLE[audience]), sa.or_(
            KbArticleRow.publish_at.is_(None),
            KbArticleRow.publish_at <= self._shown_until(audience)))

    def readable(self, row: KbArticleRow | None, audience: Audience) -> bool:
        """Whether ``audience`` may read that article row now."""
        return self._readable(row, audience)

    def _readable(self, row: KbArticleRow | None, audience: Audience) -> bool:
        return row is not None and row.state in VISIBLE[audience] and (
            row.publish_at is None or _aware(row.publish_at) <= self._shown_until(audience))

    def locale(self, locale: str | None) -> str:
        """``locale`` if the knowledge base has it, the default when None; else invalid."""
        if locale is None:
            return self.settings.default_locale
        if locale not in self.settings.locales:
            raise KbError("invalid", f"locale {locale!r} is not one of "
                                     f"{', '.join(self.settings.locales)} (kb.locales)")
        return locale

    # --- categories ---------------------------------------------------------------------------

    async def categories(self) -> list[Category]:
        """Every category, in tree order's keys: position, then name."""
        async with self.db.session() as s:
            rows = (await s.execute(sa.select(KbCategoryRow).order_by(
                KbCategoryRow.position, KbCategoryRow.name, KbCategoryRow.id))).scalars()
            return [_category(r) for r in rows]

    async def save_category(self, actor: str, new: NewCategory,
                            category_id: int | None = None) -> Category:
        """Create a category, or replace the one with ``category_id``."""
        self._check_category(new)
        now = self._now()
        async with self.db.session() as s:
            if new.parent_id is not None:
                await self._check_parent(s, new.parent_id, category_id)
            if category_id is None:
                row = KbCategoryRow()
                s.add(row)
            else:
                found = await s.get(KbCategoryRow, category_id)
                if found is None:
                    raise KbError("not_found", f"no category {category_id}")
                row = found
            row.slug, row.name, row.parent_id = new.slug, new.name.strip(), new.parent_id
            row.position, row.names = new.position, dict(new.names)
            row.updated_at, row.updated_by = now, actor
            try:
                await s.commit()
            except IntegrityError:
                raise KbError("conflict", f"a category is already called {new.slug!r}") from None
            saved = _category(row)
        action = "kb.category.create" if category_id is None else "kb.category.update"
        await self.audit.record(actor, action, str(saved.id), "ok", saved.as_json())
        return saved

    async def delete_category(self, actor: str, category_id: int) -> None:
        """Delete an empty category; refused (conflict) while articles, in any state or
        locale, or subcategories are in it."""
        async with self.db.session() as s:
            row = await s.get(KbCategoryRow, category_id)
            if row is None:
                raise KbError("not_found", f"no category {category_id}")
            articles = await s.scalar(sa.select(sa.func.count()).where(
                KbArticleRow.category_id == category_id)) or 0
            children = await s.scalar(sa.select(sa.func.count()).where(
                KbCategoryRow.parent_id == category_id)) or 0
            if articles or children:
                raise KbError("conflict", _not_empty(row.name, articles, children))
            deleted = _category(row)
            await s.delete(row)
            try:
                await s.commit()
            except IntegrityError:  # an article or a subcategory moved in meanwhile
                raise KbError("conflict", f"category {deleted.name!r} is not empty any "
                                          "more: reload it") from None
        await self.audit.record(actor, "kb.category.delete", str(category_id), "ok",
                                deleted.as_json())

    def _check_category(self, new: NewCategory) -> None:
        if not SLUG.match(new.slug) or len(new.slug) > MAX_SLUG:
            raise KbError("invalid", "slug must be lowercase letters and digits joined by dashes")
        if not new.name.strip() or len(new.name) > 200:
            raise KbError("invalid", "name must be 1 to 200 characters")
        for locale, name in new.names.items():
            self.locale(locale)
            if not name.strip() or len(name) > 200:
                raise KbError("invalid", f"names.{locale} must be 1 to 200 characters")

    async def _check_parent(self, s: AsyncSession, parent_id: int, own: int | None) -> None:
        seen = set()
        current: int | None = parent_id
        while current is not None:
            if current == own or current in seen:
                raise KbError("conflict", "a category cannot be inside itself")
            seen.add(current)
            row = await s.get(KbCategoryRow, current)
            if row is None:
                raise KbError("not_found", f"no category {current} to be the parent")
            current = row.parent_id

    # --- articles -----------------------------------------------------------------------------

    async def create(self, actor: str, new: NewArticle) -> Article:
        """A new article (version 1), in a translation group of its own or in
        ``translation_of``'s (whose category it takes when it names none)."""
        locale = self.locale(new.locale)
        title = self._title(new.title)
        self._check_body(new.body)
        tags = clean_tags(new.tags)
        rendered = self.renderer.render(new.body)
        now = self._now()
        category_id = new.category_id
        async with self.db.session() as s:
            group = uuid.uuid4().hex
            if new.translation_of is not None:
                original = await s.get(KbArticleRow, new.translation_of)
                if original is None:
                    raise KbError("not_found", f"no article {new.translation_of} to translate")
                group = original.group_key
                category_id = category_id if category_id is not None else original.category_id
                taken = await s.scalar(sa.select(KbArticleRow.id).where(
                    KbArticleRow.group_key == group, KbArticleRow.locale == locale))
                if taken is not None:
                    raise KbError("conflict", f"article {taken} is already its {locale} "
                                              "translation")
            await self._check_category_id(s, category_id)
            slug = await self._slug(s, locale, new.slug, title)
            row = KbArticleRow(
                group_key=group, locale=locale, slug=slug, title=title, body=new.body,
                body_html=rendered.html, body_text=rendered.text, category_id=category_id,
                tags=" ".join(tags), state=new.state.value, version=1, created_at=now,
                updated_at=now, updated_by=actor,
                published_at=now if new.state is State.PUBLISHED else None,
                origin=_origin(new.origin))
            s.add(row)
            try:
                await s.flush()
            except IntegrityError:
                raise KbError("conflict", f"an article in {locale} is already at {slug!r}, or "
                                          f"already translates it into {locale}") from None
            s.add(self._snapshot(row, "create", now, actor))
            await self._commit(s, f"an article in {locale} is already at {slug!r}")
            article = _article(row)
        self._titles.clear()
        details: dict[str, object] = {"locale": locale, "slug": slug,
                                      "state": article.state.value, "version": 1}
        if article.origin:
            details["origin"] = article.origin
        await self.audit.record(actor, "kb.article.create", str(article.id), "ok", details)
        return article

    async def update(self, actor: str, article_id: int, expected: int,
                     changes: ArticleChanges) -> Article:
        """Apply ``changes`` to the article at version ``expected``; a new version."""
        async with self.db.session() as s:
            row = await self._for_change(s, article_id, expected)
            changed: list[str] = []
            if changes.title is not None and self._title(changes.title) != row.title:
                row.title = self._title(changes.title)
                changed.append("title")
            if changes.body is not None and changes.body != row.body:
                self._check_body(changes.body)
                rendered = self.renderer.render(changes.body)
                row.body, row.body_html, row.body_text = (changes.body, rendered.html,
                                                          rendered.text)
                changed.append("body")
            if changes.slug is not None and changes.slug != row.slug:
                row.slug = await self._slug(s, row.locale, changes.slug, row.title)
                changed.append("slug")
            if changes.tags is not None and " ".join(clean_tags(changes.tags)) != row.tags:
                row.tags = " ".join(clean_tags(changes.tags))
                changed.append("tags")
            if changes.sets_category and changes.category_id != row.category_id:
                await self._check_category_id(s, changes.category_id)
                row.category_id = changes.category_id
                changed.append("category")
            if not changed:
                return _article(row)
            article = await self._save(s, row, "edit", actor)
        await self.audit.record(actor, "kb.article.update", str(article_id), "ok", {
            "version": article.version, "fields": changed})
        return article

    async def set_state(self, actor: str, article_id: int, expected: int, state: State,
                        publish_at: datetime | None = None) -> Article:
        """Publish, make internal, archive or send back to draft; a new version.

        ``publish_at`` (only with ``published``) still ahead schedules it: the article is
        published but shown to nobody but the staff until then; a time already past
        publishes it now. An article already shown is not scheduled again (send it back to
        draft first); a scheduled one may be given another time."""
        now = self._now()
        if publish_at is not None:
            if state is not State.PUBLISHED:
                raise KbError("invalid", "publish_at goes only with the state published")
            publish_at = _aware(publish_at).astimezone(UTC)
            if publish_at <= now:
                publish_at = None
        async with self.db.session() as s:
            row = await self._for_change(s, article_id, expected)
            before = row.state
            scheduled = _aware(row.publish_at) if row.publish_at else None
            if before == state.value and scheduled == publish_at:
                return _article(row)
            shown = before == State.PUBLISHED.value and (scheduled is None or scheduled <= now)
            if shown and publish_at is not None:
                raise KbError("conflict", f"article {article_id} is already published: move "
                                          "it back to draft before scheduling it")
            row.state = state.value
            row.publish_at = publish_at
            if state is State.PUBLISHED and (row.published_at is None or publish_at
                                             or scheduled is not None):
                row.published_at = publish_at or now  # when it was or will be first shown
            article = await self._save(s, row, "state", actor)
        details: dict[str, object] = {"version": article.version, "from": before,
                                      "to": state.value}
        if publish_at is not None:
            details["publish_at"] = publish_at.isoformat()
        await self.audit.record(actor, "kb.article.state", str(article_id), "ok", details)
        return article

    async def restore(self, actor: str, article_id: int, expected: int,
                      version: int) -> Article:
        """Bring back the title, body, slug, tags and category of ``version`` (the state
        stays) as a new version."""
        async with self.db.session() as s:
            row = await self._for_change(s, article_id, expected)
            old = await s.get(KbArticleVersionRow, (article_id, version))
            if old is None:
                raise KbError("not_found", f"article {article_id} has no version {version}")
            if old.slug != row.slug:
                row.slug = await self._slug(s, row.locale, old.slug, old.title)
            rendered = self.renderer.render(old.body)
            row.title, row.body, row.body_html, row.body_text = (
                old.title, old.body, rendered.html, rendered.text)
            row.tags = old.tags
            category_alive = old.category_id is None or \
                await s.get(KbCategoryRow, old.category_id) is not None
            row.category_id = old.category_id if category_alive else None
            article = await self._save(s, row, "restore", actor)
        await self.audit.record(actor, "kb.article.restore", str(article_id), "ok", {
            "version": article.version, "restored": version})
        return article

    async def _for_change(self, s: AsyncSession, article_id: int,
                          expected: int) -> KbArticleRow:
        row = await s.get(KbArticleRow, article_id, with_for_update=True)
        if row is None:
            raise KbError("not_found", f"no article {article_id}")
        if row.version != expected:
            raise KbError("conflict", f"article {article_id} is at version {row.version}, "
                                      f"not {expected}: reload it", current_version=row.version)
        return row

    async def _save(self, s: AsyncSession, row: KbArticleRow, action: str,
                    actor: str) -> Article:
        now = self._now()
        row.version += 1
        row.updated_at, row.updated_by = now, actor
        s.add(self._snapshot(row, action, now, actor))
        await self._commit(s, f"an article in {row.locale} is already at {row.slug!r}",
                           article_id=row.id)
        self._titles.clear()
        return _article(row)

    async def _commit(self, s: AsyncSession, taken: str, article_id: int | None = None) -> None:
        try:
            await s.commit()
        except IntegrityError as exc:
            await s.rollback()
            if article_id is not None and "version" in str(exc.orig).lower():
                current = await s.scalar(sa.select(KbArticleRow.version).where(
                    KbArticleRow.id == article_id))
                raise KbError("conflict", "the article changed meanwhile: reload it",
                              current_version=current) from None
            raise KbError("conflict", taken) from None

    @staticmethod
    def _snapshot(row: KbArticleRow, action: str, at: datetime,
                  actor: str) -> KbArticleVersionRow:
        return KbArticleVersionRow(
            article_id=row.id, version=row.version, action=action, title=row.title,
            slug=row.slug, body=row.body, category_id=row.category_id, tags=row.tags,
            state=row.state, at=at, by=actor)

    @staticmethod
    def _title(title: str) -> str:
        title = " ".join(title.split())
        if not 1 <= len(title) <= MAX_TITLE:
            raise KbError("invalid", f"title must be 1 to {MAX_TITLE} characters")
        return title

    @staticmethod
    def _check_body(body: str) -> None:
        if len(body) > MAX_BODY:
            raise KbError("invalid", f"body is longer than {MAX_BODY} characters")

    async def _check_category_id(self, s: AsyncSession, category_id: int | None) -> None:
        if category_id is not None and await s.get(KbCategoryRow, category_id) is None:
            raise KbError("not_found", f"no category {category_id}")

    async def _slug(self, s: AsyncSession, locale: str, asked: str | None, title: str) -> str:
        """``asked`` when it is free; with none asked, the title's slug made unique."""
        if asked is not None:
            if not SLUG.match(asked) or len(asked) > MAX_SLUG:
                raise KbError("invalid", "slug must be lowercase letters and digits joined by "
                                         f"dashes, at most {MAX_SLUG} characters")
            if asked in RESERVED_SLUGS:
                raise KbError("invalid", f"slug {asked!r} is a path of the help center")
            return asked  # a taken one is refused by the unique constraint: a conflict
        base = slugify(title)[:MAX_SLUG - 4]
        if base in RESERVED_SLUGS:
            base = f"{base}-article"
        taken = set((await s.execute(sa.select(KbArticleRow.slug).where(
            KbArticleRow.locale == locale, KbArticleRow.slug.like(f"{base}%")))).scalars())
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug

    # --- reading ------------------------------------------------------------------------------

    async def get(self, article_id: int, audience: Audience) -> Article:
        """The article, if ``audience`` may read it (else not found, as if absent)."""
        async with self.db.session() as s:
            row = await s.get(KbArticleRow, article_id)
        if row is None or not self._readable(row, audience):
            raise KbError("not_found", f"no article {article_id}")
        return _article(row)

    async def by_slug(self, locale: str, slug: str, audience: Audience) -> Article:
        async with self.db.session() as s:
            row = await s.scalar(sa.select(KbArticleRow).where(
                KbArticleRow.locale == locale, KbArticleRow.slug == slug))
        if row is None or not self._readable(row, audience):
            raise KbError("not_found", f"no article {slug!r} in {locale}")
        return _article(row)

    async def articles(self, audience: Audience, *, locale: str | None = None,
                       state: State | None = None, category_id: int | None = None,
                       tag: str | None = None, limit: int = 100,
                       offset: int = 0) -> list[Article]:
        """Articles ``audience`` may read, newest change first, filtered."""
        stmt = sa.select(KbArticleRow).where(self._visible(audience))
        if state is not None:
            stmt = stmt.where(KbArticleRow.state == state.value)
        if locale is not None:
            stmt = stmt.where(KbArticleRow.locale == locale)
        if category_id is not None:
            stmt = stmt.where(KbArticleRow.category_id == category_id)
        if tag is not None:
            # Tags are [a-z0-9-] (no LIKE wildcard); padded, so "bill" does not find "billing".
            stmt = stmt.where((" " + KbArticleRow.tags + " ").like(f"% {tag} %"))
        stmt = stmt.order_by(KbArticleRow.updated_at.desc(), KbArticleRow.id.desc())
        async with self.db.session() as s:
            rows = (await s.execute(stmt.limit(limit).offset(offset))).scalars()
            return [_article(r) for r in rows]

    async def find_articles(self, text: str, locale: str | None, audience: Audience, *,
                            state: State | None = None, limit: int = 100) -> list[Article]:
        """Articles ``audience`` may read whose text matches ``text`` (the search's steps, no
        content gap recorded), best first: the editing page's search, drafts included."""
        result = await self.search(text, locale, audience, limit, record_gap=False)
        ids = [h.article_id for h in result.hits]
        if not ids:
            return []
        async with self.db.session() as s:
            rows = {r.id: r for r in (await s.execute(sa.select(KbArticleRow).where(
                KbArticleRow.id.in_(ids)))).scalars()}
        return [_article(rows[i]) for i in ids
                if i in rows and (state is None or rows[i].state == state.value)]

    async def translations(self, article: Article, audience: Audience) -> list[Translation]:
        """The other locales' articles of ``article``'s group that ``audience`` may read."""
        async with self.db.session() as s:
            rows = (await s.execute(sa.select(KbArticleRow).where(
                KbArticleRow.group_key == article.group, KbArticleRow.id != article.id,
                self._visible(audience)).order_by(
                    KbArticleRow.locale))).scalars()
            return [Translation(r.id, r.locale, r.slug, r.title, State(r.state)) for r in rows]

    async def versions(self, article_id: int) -> list[Version]:
        """Every version of the article, newest first."""
        async with self.db.session() as s:
            rows = list((await s.execute(sa.select(KbArticleVersionRow).where(
                KbArticleVersionRow.article_id == article_id).order_by(
                    KbArticleVersionRow.version.desc()))).scalars())
        if not rows:
            raise KbError("not_found", f"no article {article_id}")
        return [_version(r) for r in rows]

    async def version(self, article_id: int, version: int) -> Version:
        async with self.db.session() as s:
            row = await s.get(KbArticleVersionRow, (article_id, version))
        if row is None:
            raise KbError("not_found", f"article {article_id} has no version {version}")
        return _version(row)

    async def diff(self, article_id: int, old: int, new: int) -> str:
        """A unified diff of the title and body from version ``old`` to ``new``."""
        a, b = await self.version(article_id, old), await self.version(article_id, new)
        before = [f"# {a.title}", ""] + a.body.splitlines()
        after = [f"# {b.title}", ""] + b.body.splitlines()
        return "\n".join(difflib.unified_diff(before, after, f"version {old}",
                                              f"version {new}", lineterm=""))

    async def tree(self, locale: str) -> list[tuple[Category, int, int]]:
        """(category, depth, published articles in ``locale``) in tree order."""
        categories = await self.categories()
        async with self.db.session() as s:
            rows = await s.execute(sa.select(
                KbArticleRow.category_id, sa.func.count()).where(
                    KbArticleRow.locale == locale,
                    self._visible(Audience.PUBLIC)).group_by(
                        KbArticleRow.category_id))
            counts: dict[int | None, int] = {r[0]: r[1] for r in rows}
        children: dict[int | None, list[Category]] = {}
        for c in categories:
            children.setdefault(c.parent_id, []).append(c)
        out: list[tuple[Category, int, int]] = []

        def walk(parent: int | None, depth: int) -> None:
            for c in children.get(parent, []):
                out.append((c, depth, counts.get(c.id, 0)))
                walk(c.id, depth + 1)

        walk(None, 0)
        return out

    # --- search -------------------------------------------------------------------------------

    async def search(self, text: str, locale: str | None, audience: Audience, limit: int = 10,
                     *, record_gap: bool = True, client: str | None = None) -> SearchResult:
        """Articles for a person's query (web-search syntax); a miss is a content gap, once
        per ``client`` and query and within its rate (``kb/limits.py``) when one is named."""
        locale = self.locale(locale)
        text = text[:MAX_QUERY]
        states = VISIBLE[audience]
        query = parse(text, locale)
        result = SearchResult(text, locale, (), "none")
        if not query.empty:
            async with self.db.session() as s:
                result = await self._search(s, text, query, locale, states,
                                            self._shown_until(audience), limit)
        if not result.hits and record_gap and not query.empty:
            key = gap_key(text)
            if client is None or self.limits.gap(client, locale, key, self.clock.time()):
                await self._record_gap(locale, key)
        return result

    async def _search(self, s: AsyncSession, text: str, query: Query, locale: str,
                      states: tuple[str, ...], until: datetime, limit: int) -> SearchResult:
        synonyms = await self._synonyms_of(s, locale)

        async def find(q: Query) -> list[SearchHit]:
            return await self.full_text.find(s, with_synonyms(q, synonyms), locale, states,
                                             until, limit)

        hits = await find(query)
        if hits:
            return SearchResult(text, locale, tuple(hits), "all")
        titles = await self._titles_of(s, locale, states, until)
        corrections = self._corrections(query.words(), titles, locale)
        corrected = replace_words(query, corrections) if corrections else None
        said = corrected.text() if corrected else None
        if corrected is not None:
            hits = await find(corrected)
            if hits:
                return SearchResult(text, locale, tuple(hits), "all", said)
        relaxed = any_word((corrected or query).words(), locale, query.excluded())
        if relaxed.alternatives != (corrected or query).alternatives:
            hits = await find(relaxed)
            if hits:
                return SearchResult(text, locale, tuple(hits), "any", said)
        # Whole titles, for several words or a long one ("voicemailgreeting"): a single short
        # word was already matched against every title's words (the correction), and a scan
        # of every title is what a miss costs most (bench/kb_search.py).
        words = query.words()
        hits = (await self._fuzzy_titles(s, " ".join(words), titles, limit)
                if len(words) > 1 or len(words[0]) >= WHOLE_TITLE_WORD else [])
        return SearchResult(text, locale, tuple(hits), "title" if hits else "none")

    async def _titles_of(self, s: AsyncSession, locale: str, states: tuple[str, ...],
                         until: datetime) -> Titles:
        """The titles of the articles in ``states`` shown by ``until`` (cached, with each
        scheduled one's time, so it joins when its time comes)."""
        key = (locale, states)
        if key not in self._titles:
            rows = await s.execute(sa.select(
                KbArticleRow.id, KbArticleRow.title, KbArticleRow.publish_at).where(
                KbArticleRow.locale == locale, KbArticleRow.state.in_(states)).order_by(
                    KbArticleRow.id))
            self._titles[key] = TitleCache([(r[0], r[1], _aware(r[2]) if r[2] else None)
                                            for r in rows])
        return self._titles[key].shown(until)

    def _corrections(self, words: list[str], titles: Titles,
                     locale: str) -> dict[str, str]:
        vocabulary, known, stops = titles.vocabulary, titles.known, stop_words(locale)
        out = {}
        for word in words:
            if len(word) < 4 or word in known or word in stops:
                continue
            best = process.extractOne(word, vocabulary, scorer=fuzz.ratio,
                                      score_cutoff=self.settings.fuzzy_cutoff)
            if best is not None:
                out[word] = best[0]
        return out

    async def _fuzzy_titles(self, s: AsyncSession, words: str, titles: Titles,
                            limit: int) -> list[SearchHit]:
        if len(words) < 4 or not titles.titles:
            return []
        choices = titles.lowered
        found = process.extract(words, choices, scorer=fuzz.WRatio, limit=limit,
                                score_cutoff=max(self.settings.fuzzy_cutoff, 85))
        if not found:
            return []
        ids = [key for _title, _score, key in found]
        rows = {r.id: r for r in (await s.execute(sa.select(KbArticleRow).where(
            KbArticleRow.id.in_(ids)))).scalars()}
        return [SearchHit(key, rows[key].locale, rows[key].slug, rows[key].title,
                          rows[key].category_id, _opening(rows[key].body_text), score / 100)
                for _title, score, key in found if key in rows]

    async def _record_gap(self, locale: str, query: str) -> None:
        now = self._now()
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        statement = insert(KbSearchGapRow).values(
            locale=locale, query=query, count=1, first_at=now, last_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=["locale", "query"],
            set_={"count": KbSearchGapRow.count + 1, "last_at": now})
        async with self.db.session() as s:
            await s.execute(statement)
            await s.commit()

    async def gaps(self, locale: str | None = None, limit: int = 100) -> list[Gap]:
        """Searches that found nothing, most asked first."""
        stmt = sa.select(KbSearchGapRow)
        if locale is not None:
            stmt = stmt.where(KbSearchGapRow.locale == locale)
        stmt = stmt.order_by(KbSearchGapRow.count.desc(), KbSearchGapRow.last_at.desc(),
                             KbSearchGapRow.id).limit(limit)
        async with self.db.session() as s:
            return [Gap(r.locale, r.query, r.count, _aware(r.first_at), _aware(r.last_at))
                    for r in (await s.execute(stmt)).scalars()]

    # --- synonyms ---------------------------------------------------------------------------

    async def synonyms(self, locale: str | None) -> list[list[str]]:
        """The synonym groups of ``locale``, in the order they were saved."""
        locale = self.locale(locale)
        async with self.db.session() as s:
            rows = (await s.execute(sa.select(KbSynonymRow.terms).where(
                KbSynonymRow.locale == locale).order_by(KbSynonymRow.id))).scalars()
            return [list(terms) for terms in rows]

    async def save_synonyms(self, actor: str, locale: str | None,
                            groups: list[list[str]]) -> list[list[str]]:
        """Replace the synonym groups of ``locale``: each of 2 to 20 words or short phrases,
        every one in a single group."""
        locale = self.locale(locale)
        clean = clean_synonyms(groups)
        now = self._now()
        async with self.db.session() as s:
            await s.execute(sa.delete(KbSynonymRow).where(KbSynonymRow.locale == locale))
            s.add_all(KbSynonymRow(locale=locale, terms=group, updated_at=now, updated_by=actor)
                      for group in clean)
            await s.commit()
        self._synonyms.pop(locale, None)
        await self.audit.record(actor, "kb.synonyms.update", locale, "ok",
                                {"groups": len(clean)})
        return clean

    async def _synonyms_of(self, s: AsyncSession, locale: str) -> Synonyms:
        if locale not in self._synonyms:
            rows = (await s.execute(sa.select(KbSynonymRow.terms).where(
                KbSynonymRow.locale == locale).order_by(KbSynonymRow.id))).scalars()
            self._synonyms[locale] = synonym_map([list(terms) for terms in rows])
        return self._synonyms[locale]

    # --- agent assist and feedback ------------------------------------------------------------

    async def suggest(self, text: str, locale: str | None,
                      limit: int | None = None) -> list[SearchHit]:
        """Articles an agent may want for ``text`` (a customer's words, call data): those with
        the most of its words, best first; nothing is recorded."""
        locale = self.locale(locale)
        words = WORD.findall(text[:MAX_ASSIST_TEXT].lower())
        query = any_word([w for w in words if len(w) > 1 and not w.isdigit()], locale)
        async with self.db.session() as s:
            query = with_synonyms(query, await self._synonyms_of(s, locale))
            return await self.full_text.find(s, query, locale, VISIBLE[Audience.AGENT],
                                             self._now(), limit or self.settings.suggestions)

    async def feedback(self, article_id: int, helpful: bool, *, audience: Audience,
                       actor: str = "", client: str | None = None) -> FeedbackCounts:
        """Count one helpful / not helpful answer for an article ``audience`` may read.

        With a ``client`` (an anonymous visitor's ``limits.client_key``), one answer per
        client and article: a second one replaces the first; and at most
        ``kb.votes_per_hour`` new ones per client (else ``KbError`` limited)."""
        await self.get(article_id, audience)
        now = self.clock.time()
        earlier: int | None = None
        if client is not None:
            earlier, wait = self.limits.vote(client, article_id, now)
            if wait > 0:
                raise KbError("limited", "too many answers from your address; try again later",
                              retry_after=wait)
        async with self.db.session() as s:
            if earlier is not None:
                if earlier != PENDING:  # the same visitor changed its mind
                    await s.execute(sa.update(KbFeedbackRow).where(
                        KbFeedbackRow.id == earlier).values(helpful=helpful, at=self._now()))
                    await s.commit()
                return await self.feedback_counts(article_id)
            row = KbFeedbackRow(article_id=article_id, helpful=helpful,
                                source="public" if audience is Audience.PUBLIC else "agent",
                                actor=actor, at=self._now())
            s.add(row)
            try:
                await s.commit()
            except BaseException:
                if client is not None:
                    self.limits.unreserve(client, article_id)
                raise
            if client is not None:
                self.limits.voted(client, article_id, row.id, now)
        return await self.feedback_counts(article_id)

    async def feedback_counts(self, article_id: int) -> FeedbackCounts:
        async with self.db.session() as s:
            rows = await s.execute(sa.select(
                KbFeedbackRow.helpful, sa.func.count()).where(
                    KbFeedbackRow.article_id == article_id).group_by(KbFeedbackRow.helpful))
            counts = {bool(r[0]): r[1] for r in rows}
        return FeedbackCounts(counts.get(True, 0), counts.get(False, 0))


def _not_empty(name: str, articles: int, children: int) -> str:
    """Why a category cannot be deleted yet, and what to do about it."""
    held = []
    if articles:
        held.append(f"{articles} article{'' if articles == 1 else 's'}")
    if children:
        held.append(f"{children} {'subcategory' if children == 1 else 'subcategories'}")
    return (f"category {name!r} still holds {' and '.join(held)}: move or delete them "
            "first")


def _origin(link: str | None) -> str | None:
    """A link back to an article's source: relative to this server only, one line."""
    if link is None:
        return None
    if not link.startswith("/") or link.startswith("//") or len(link) > 300 or any(
            c.isspace() or c in "\\<>\"'" for c in link):
        raise KbError("invalid", "origin must be a relative link of this server (/...)")
    return link


def _opening(text: str) -> str:
    return html.escape(" ".join(text.split()[:SNIPPET_WORDS]))
