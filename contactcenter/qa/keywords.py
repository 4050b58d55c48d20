"""Keyword lists: named lists of words and phrases ("compliance", "churn") spotted in every
finished transcript, each hit with its time; searchable on the ``/qa`` page.

Design note: hits are derived data, kept in ``qa_keyword_hits`` so a search is one indexed
query, not a pass over every transcript. ``qa_keyword_scans`` says which version of which list
a transcript was scanned against; ``scan`` (run by the transcript worker's sweep, in batches)
first drops the hits of transcripts that are no longer ``done`` (purged with their recording,
or queued again), then scans the ``done`` transcripts a list's current version has not seen. So
saving a list (a new version), a new transcript, a purge and a restart are all caught up the
same way, by the next sweep. Spotting is ``phrases.find_all``: tolerant of a misheard word in a
phrase (``min_match``), each occurrence once.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contactcenter.common.timestamps import aware, iso
from contactcenter.qa import tables as t
from contactcenter.qa.phrases import find_all, words_of
from contactcenter.qa.speech import Word
from contactcenter.recording import tables as rt
from contactcenter.storage.database import Database

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_PHRASES = 200
MAX_PHRASE = 200
SCAN_BATCH = 200  # transcripts scanned per list per sweep


class KeywordError(ValueError):
    """A list that cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class KeywordList:
    """A list as saved."""

    id: int
    name: str
    phrases: tuple[str, ...]
    min_match: float
    version: int
    updated_at: datetime | None
    updated_by: str

    def as_json(self) -> dict[str, Any]:
        """The list for the API."""
        return {"id": self.id, "name": self.name, "phrases": list(self.phrases),
                "min_match": self.min_match, "version": self.version,
                "updated_at": iso(self.updated_at), "updated_by": self.updated_by}


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase of one list heard in one recording, seconds from the file's start."""

    recording_id: str
    list: str
    phrase: str
    start: float
    end: float
    heard: str

    def as_json(self) -> dict[str, Any]:
        """``{list, phrase, start, end, heard}``."""
        return {"list": self.list, "phrase": self.phrase, "start": self.start,
                "end": self.end, "heard": self.heard}


def check_list(name: str, phrases: list[Any], min_match: Any) -> tuple[str, ...]:
    """The phrases cleaned (trimmed, one space, duplicates dropped); ``KeywordError`` else."""
    problems = []
    if not NAME_RE.fullmatch(name):
        problems.append("name: lower-case letters, digits, '-' and '_', up to 64")
    if isinstance(min_match, bool) or not isinstance(min_match, (int, float)) or not (
            0.5 <= min_match <= 1.0):
        problems.append("min_match: a share of a phrase's words between 0.5 and 1")
    cleaned: dict[str, None] = {}
    if not isinstance(phrases, list) or not 1 <= len(phrases) <= MAX_PHRASES:
        problems.append(f"phrases: a list of 1 to {MAX_PHRASES} words or phrases")
        phrases = []
    for i, raw in enumerate(phrases, start=1):
        text = " ".join(str(raw).split()) if isinstance(raw, str) else ""
        if not words_of(text) or len(text) > MAX_PHRASE:
            problems.append(f"phrase {i}: words (letters or digits), up to {MAX_PHRASE} "
                            "characters")
        else:
            cleaned[text.lower()] = None
    if problems:
        raise KeywordError(problems)
    return tuple(cleaned)


def _from_row(r: t.KeywordListRow) -> KeywordList:
    return KeywordList(r.id, r.name, tuple(r.phrases or ()), float(r.min_match), r.version,
                       aware(r.updated_at), r.updated_by or "")


class KeywordStore:
    """The lists, their scans and hits."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._scanning = asyncio.Lock()  # the sweep and a save's first pass never overlap

    async def lists(self) -> list[KeywordList]:
        """Every list, by name."""
        async with self.db.session() as s:
            rows = (await s.execute(sa.select(t.KeywordListRow)
                                    .order_by(t.KeywordListRow.name))).scalars().all()
        return [_from_row(r) for r in rows]

    async def save(self, name: str, phrases: list[Any], min_match: Any, by: str,
                   now: datetime) -> KeywordList:
        """Create or replace the list ``name``: a new version, scanned again by the sweep."""
        cleaned = check_list(name, phrases, min_match)
        async with self.db.session() as s:
            row = (await s.execute(sa.select(t.KeywordListRow)
                                   .where(t.KeywordListRow.name == name))).scalar_one_or_none()
            if row is None:
                row = t.KeywordListRow(name=name, version=1)
                s.add(row)
            else:
                row.version += 1
            row.phrases, row.min_match = list(cleaned), float(min_match)
            row.updated_at, row.updated_by = now, by
            await s.commit()
            return _from_row(row)

    async def delete(self, name: str) -> bool:
        """Remove a list, its scans and hits; False when there was none."""
        async with self.db.session() as s:
            row = (await s.execute(sa.select(t.KeywordListRow)
                                   .where(t.KeywordListRow.name == name))).scalar_one_or_none()
            if row is None:
                return False
            await s.execute(sa.delete(t.KeywordHitRow).where(t.KeywordHitRow.list_id == row.id))
            await s.execute(sa.delete(t.KeywordScanRow).where(t.KeywordScanRow.list_id == row.id))
            await s.delete(row)
            await s.commit()
            return True

    async def scan(self, batch: int = SCAN_BATCH) -> int:
        """Drop the hits of transcripts no longer ``done``; scan up to ``batch`` transcripts per
        list that its current version has not seen. The number scanned."""
        async with self._scanning:
            return await self._scan(batch)

    async def _scan(self, batch: int) -> int:
        tr = t.TranscriptRow
        gone = sa.select(tr.recording_id).where(tr.status != t.DONE)
        async with self.db.session() as s:
            await s.execute(sa.delete(t.KeywordHitRow)
                            .where(t.KeywordHitRow.recording_id.in_(gone)))
            await s.execute(sa.delete(t.KeywordScanRow)
                            .where(t.KeywordScanRow.recording_id.in_(gone)))
            await s.commit()
        scanned = 0
        for kw in await self.lists():
            scanned += await self._scan_list(kw, batch)
        return scanned

    async def _scan_list(self, kw: KeywordList, batch: int) -> int:
        tr, sc = t.TranscriptRow, t.KeywordScanRow
        seen = sa.exists().where(sc.recording_id == tr.recording_id, sc.list_id == kw.id,
                                 sc.version == kw.version)
        async with self.db.session() as s:
            rows = (await s.execute(sa.select(tr.recording_id, tr.words)
                                    .where(tr.status == t.DONE, ~seen)
                                    .order_by(tr.recording_id).limit(batch))).all()
            if not rows:
                return 0
            ids = [r.recording_id for r in rows]
            await s.execute(sa.delete(t.KeywordHitRow).where(
                t.KeywordHitRow.list_id == kw.id, t.KeywordHitRow.recording_id.in_(ids)))
            await s.execute(sa.delete(sc).where(sc.list_id == kw.id, sc.recording_id.in_(ids)))
            for rec_id, raw_words in rows:
                words = [Word.from_row(w) for w in raw_words or []]
                for phrase in kw.phrases:
                    for m in find_all(words, phrase, kw.min_match):
                        s.add(t.KeywordHitRow(recording_id=rec_id, list_id=kw.id, phrase=phrase,
                                              start_s=round(m.start, 2), end_s=round(m.end, 2),
                                              heard=m.heard[:500]))
                s.add(sc(recording_id=rec_id, list_id=kw.id, version=kw.version))
            await s.commit()
        return len(rows)

    async def hits_for(self, recording_id: str) -> list[Hit]:
        """The hits of one recording, in time order."""
        return (await self._hits([recording_id], None, None)).get(recording_id, [])

    async def _hits(self, ids: list[str], list_name: str | None,
                    phrase: str | None) -> dict[str, list[Hit]]:
        h, kl = t.KeywordHitRow, t.KeywordListRow
        stmt = (sa.select(h.recording_id, kl.name, h.phrase, h.start_s, h.end_s, h.heard)
                .join(kl, kl.id == h.list_id).where(h.recording_id.in_(ids))
                .order_by(h.recording_id, h.start_s, h.id))
        if list_name:
            stmt = stmt.where(kl.name == list_name)
        if phrase:
            stmt = stmt.where(h.phrase == phrase)
        out: dict[str, list[Hit]] = {}
        async with self.db.session() as s:
            for r in (await s.execute(stmt)).all():
                out.setdefault(r[0], []).append(Hit(r[0], r[1], r[2], r[3], r[4], r[5]))
        return out

    async def search(self, list_name: str, *, phrase: str | None = None,
                     agent_id: str | None = None, queue: str | None = None,
                     start: datetime | None = None, end: datetime | None = None,
                     limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Recordings with hits of ``list_name`` (and ``phrase``), newest first, each with the
        recording's fields and its hits of that list in time order."""
        h, kl, rec = t.KeywordHitRow, t.KeywordListRow, rt.RecordingRow
        matching = (sa.select(h.recording_id).join(kl, kl.id == h.list_id)
                    .where(kl.name == list_name))
        if phrase:
            matching = matching.where(h.phrase == " ".join(phrase.lower().split()))
        stmt = sa.select(rec).where(rec.id.in_(matching))
        if agent_id:
            stmt = stmt.where(rec.agent_id == agent_id)
        if queue:
            stmt = stmt.where(rec.queue == queue)
        if start is not None:
            stmt = stmt.where(rec.started_at >= start)
        if end is not None:
            stmt = stmt.where(rec.started_at < end)
        stmt = stmt.order_by(rec.started_at.desc(), rec.id).limit(limit).offset(offset)
        async with self.db.session() as s:
            recs = (await s.execute(stmt)).scalars().all()
        hits = await self._hits([r.id for r in recs], list_name,
                                " ".join(phrase.lower().split()) if phrase else None)
        return [{"recording_id": r.id, "interaction_id": r.interaction_id,
                 "agent_id": r.agent_id, "queue": r.queue, "caller_id": r.caller_id,
                 "started_at": iso(aware(r.started_at)),
                 "hits": [x.as_json() for x in hits.get(r.id, [])]} for r in recs]
