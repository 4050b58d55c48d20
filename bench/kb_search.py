"""Knowledge-base search over many articles: the server's search against a naive LIKE scan.

    python bench/kb_search.py            # 100,000 articles; SQLite, and PostgreSQL too when
                                         # CC_TEST_POSTGRES_URL is set; writes
                                         # bench/results/kb_search.md
    python bench/kb_search.py --quick    # 10,000 articles, fewer queries, writes nothing

Articles: N English articles written straight into ``kb_articles`` (the full-text index
follows as in production: FTS5 triggers, the generated tsvector), published, with titles of 3
to 6 words and bodies of 60 to 120 words drawn from a vocabulary of 20,000 made-up words on a
Zipf curve (as words in real text), plus two tags. The synonym list has 200 groups.

Queries, the same for both paths: 1 to 3 words as customers type them, drawn from the same
curve (so frequent words, which match thousands of articles, are asked often; the most
frequent are English stop words, as in real text, which both paths leave out). Timed: the whole
``KnowledgeBase.search`` (parse, synonyms, full text with ranking and snippets of the best 10,
and on a miss the typo correction and relaxing steps), wall clock per query, p50 / p99; misspelt
queries apart. The baseline, in the same run on the same database: every word must be in the
title, tags or text, ``lower(...) LIKE '%word%'``, best 10 by newest, no ranking, no snippet:
the search one writes without an index. Reported: p50 and p99 of each and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contactcenter.domain.clock import Clock
from contactcenter.kb.model import Audience
from contactcenter.kb.query import STOP_WORDS
from contactcenter.kb.service import KnowledgeBase
from contactcenter.kb.settings import KbSettings
from contactcenter.kb.tables import KbArticleRow
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database

POSTGRES = os.environ.get("CC_TEST_POSTGRES_URL")
SCHEMA = "bench_kb_search"
VOCABULARY = 20_000
GOAL_MS = 50.0


def _vocabulary(rng: random.Random) -> list[str]:
    """English stop words first (the most frequent words of real text), then made-up ones."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    stops = sorted(STOP_WORDS["en"])
    rng.shuffle(stops)
    words: dict[str, None] = dict.fromkeys(stops)
    while len(words) < VOCABULARY:
        syllables = rng.randint(2, 4)
        words["".join(rng.choice(consonants) + rng.choice(vowels)
                      for _ in range(syllables))] = None
    return list(words)


class Corpus:
    """Made-up words on a Zipf curve: the articles' and the queries'."""

    def __init__(self, seed: int = 16) -> None:
        self.rng = random.Random(seed)
        self.words = _vocabulary(self.rng)
        weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
        self._cumulative = list(_accumulate(weights))

    def draw(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self._cumulative, k=n)

    def article(self, i: int, now: datetime) -> dict[str, object]:
        title = " ".join(self.draw(self.rng.randint(3, 6))).capitalize()
        body = " ".join(self.draw(self.rng.randint(60, 120))) + "."
        tags = " ".join(sorted(set(self.rng.sample(self.words[:500], 2))))
        return {"group_key": f"g{i}", "locale": "en", "slug": f"a{i}", "title": title,
                "body": body, "body_html": f"<p>{body}</p>", "body_text": body,
                "category_id": None, "tags": tags, "state": "published", "version": 1,
                "created_at": now, "updated_at": now, "updated_by": "bench",
                "published_at": now, "publish_at": None}

    def query(self) -> str:
        while True:
            words = self.draw(self.rng.choice((1, 2, 2, 3)))
            if set(words) - STOP_WORDS["en"]:  # one word at least to search for
                return " ".join(words)

    def typo(self) -> str:
        word = self.rng.choice(self.words[500:3000])
        i = self.rng.randrange(1, len(word) - 1)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two letters swapped


def _accumulate(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


async def _database(url: str | None, tmp: str) -> Database:
    if url is None:
        db = Database(f"sqlite+aiosqlite:///{tmp}/kb.sqlite3")
    else:
        admin = Database(url)
        async with admin.engine.begin() as c:
            await c.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            await c.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await admin.close()
        db = Database(url, search_path=SCHEMA)
    await db.create_all()
    return db


async def _drop(url: str | None) -> None:
    if url is not None:  # nothing left behind in a shared PostgreSQL
        admin = Database(url)
        async with admin.engine.begin() as c:
            await c.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await admin.close()


async def _load(db: Database, corpus: Corpus, n: int) -> float:
    now = datetime.now(UTC)
    started = time.perf_counter()
    batch = 2000
    for start in range(0, n, batch):
        rows = [corpus.article(i, now) for i in range(start, min(n, start + batch))]
        async with db.session() as s:
            await s.execute(sa.insert(KbArticleRow), rows)
            await s.commit()
    if db.dialect == "postgresql":
        async with db.engine.begin() as c:
            await c.execute(sa.text("ANALYZE kb_articles"))
    return time.perf_counter() - started


_LIKE = ("SELECT id, title FROM kb_articles WHERE locale = 'en' AND state IN "
         "('published') AND {words} ORDER BY updated_at DESC, id DESC LIMIT 10")


async def _like(db: Database, text: str) -> int:
    words = [w for w in text.lower().split() if w not in STOP_WORDS["en"]] or ["?"]
    where = " AND ".join(f"lower(title || ' ' || tags || ' ' || body_text) LIKE :w{i}"
                         for i in range(len(words)))
    async with db.session() as s:
        rows = (await s.execute(sa.text(_LIKE.format(words=where)),
                                {f"w{i}": f"%{w}%" for i, w in enumerate(words)})).all()
    return len(rows)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(url: str | None, n: int, queries: int, baseline: int) -> dict[str, object]:
    corpus = Corpus()
    with tempfile.TemporaryDirectory() as tmp:
        db = await _database(url, tmp)
        try:
            load_s = await _load(db, corpus, n)
            clock = Clock()
            kb = KnowledgeBase(db, clock, AuditLog(db, clock), KbSettings(locales=["en"]))
            groups = [corpus.rng.sample(corpus.words[:5000], 3) for _ in range(200)]
            seen: set[str] = set()
            groups = [g for g in groups if not (set(g) & seen) and not seen.update(g)]
            await kb.save_synonyms("bench", "en", groups)
            texts = [corpus.query() for _ in range(queries)]
            typos = [corpus.typo() for _ in range(max(10, queries // 10))]
            for text in texts[:20] + typos[:1]:  # warm the caches (titles, synonyms, pages)
                await kb.search(text, "en", Audience.PUBLIC, record_gap=False)
            fts, hits = [], 0
            for text in texts:
                t0 = time.perf_counter()
                result = await kb.search(text, "en", Audience.PUBLIC, record_gap=False)
                fts.append((time.perf_counter() - t0) * 1000)
                hits += bool(result.hits)
            typo_ms = []
            for text in typos:
                t0 = time.perf_counter()
                await kb.search(text, "en", Audience.PUBLIC, record_gap=False)
                typo_ms.append((time.perf_counter() - t0) * 1000)
            like = []
            for text in texts[:baseline]:
                t0 = time.perf_counter()
                await _like(db, text)
                like.append((time.perf_counter() - t0) * 1000)
            same = fts[:baseline]
        finally:
            await db.close()
            await _drop(url)
    return {"db": db.dialect, "n": n, "load_s": load_s, "queries": len(texts), "hits": hits,
            "fts": fts, "same": same, "typo": typo_ms, "like": like}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=60, help="LIKE scans timed")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench/results/kb_search.md"))
    args = parser.parse_args()
    if args.quick:
        args.articles, args.queries, args.baseline = 10_000, 100, 20
    urls: list[str | None] = [None] + ([POSTGRES] if POSTGRES else [])
    runs = [asyncio.run(_run(url, args.articles, args.queries, args.baseline))
            for url in urls]
    lines = [f"# Knowledge-base search ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "",
             (f"`python bench/kb_search.py{' --quick' if args.quick else ''}` on "
              f"{platform.node()} ({os.cpu_count()} cores, Python "
              f"{platform.python_version()}): {args.articles:,} published English articles, "
              f"{args.queries} queries of 1-3 words (Zipf), 200 synonym groups; the LIKE "
              f"baseline on the first {args.baseline} of the same queries."), "",
             ("| database | load s | queries with hits | search p50 ms | search p99 ms | "
              "misspelt p50 / p99 ms | LIKE p50 ms | LIKE p99 ms | LIKE / search, p50 | "
              "LIKE / search, p99 (same queries) |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        fts, same, like, typo = r["fts"], r["same"], r["like"], r["typo"]
        assert isinstance(fts, list) and isinstance(same, list) and isinstance(like, list)
        assert isinstance(typo, list)
        lines.append(
            f"| {r['db']} | {r['load_s']:.0f} | {r['hits']}/{r['queries']} | "
            f"{_pct(fts, .5):.2f} | {_pct(fts, .99):.2f} | "
            f"{_pct(typo, .5):.1f} / {_pct(typo, .99):.1f} | {_pct(like, .5):.1f} | "
            f"{_pct(like, .99):.1f} | x{statistics.median(like) / statistics.median(same):.0f} "
            f"| x{_pct(like, .99) / _pct(same, .99):.0f} |")
    met = all(_pct(r["fts"], .99) <= GOAL_MS for r in runs)  # type: ignore[arg-type]
    lines += ["", (f"Goal: search p99 <= {GOAL_MS:g} ms over 100,000 articles on each "
                   f"database: {'met' if met else 'NOT met'} in this run.")]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
