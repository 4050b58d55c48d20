"""Transcripts and their queue, in the database (typed ``Transcript`` records in and out).

Design note: the text search is a case-insensitive ``LIKE`` over the words joined by spaces,
good enough for one server's calls; the knowledge-base issue brings the full-text search both
will share (docs/qa.md). A sweep, not a hook, finds the recordings to transcribe: every
finished recording in a queue that asks for transcripts and without a row gets a ``pending``
one, so a recording closed while the server was down (or before the queue turned transcripts
on) is found the same way as one closed a second ago.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contactcenter.qa import tables as t
from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.recording import tables as rt
from contactcenter.storage.database import Database

LINE_GAP_S = 1.0  # a pause this long starts a new line of the transcript
LINE_WORDS = 14
SNIPPET_CHARS = 40


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class Line:
    """Consecutive words without a long pause between them."""

    start: float
    end: float
    text: str

    def as_json(self) -> dict[str, Any]:
        """``{start, end, text}``."""
        return {"start": self.start, "end": self.end, "text": self.text}


def lines_of(words: Collection[Word]) -> list[Line]:
    """``words`` cut into lines at pauses of ``LINE_GAP_S`` or after ``LINE_WORDS`` words."""
    out: list[Line] = []
    current: list[Word] = []
    for word in words:
        if current and (word.start - current[-1].end >= LINE_GAP_S or len(current) >= LINE_WORDS):
            out.append(Line(current[0].start, current[-1].end, " ".join(w.text for w in current)))
            current = []
        current.append(word)
    if current:
        out.append(Line(current[0].start, current[-1].end, " ".join(w.text for w in current)))
    return out


@dataclass(frozen=True, slots=True)
class Transcript:
    """One recording's transcript, or its place in the queue."""

    recording_id: str
    queue: str
    status: str
    progress: float = 0.0
    attempts: int = 0
    error: str | None = None
    engine: str = ""
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    words: tuple[Word, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """The words joined by spaces."""
        return " ".join(w.text for w in self.words)

    def as_json(self, words: bool = True) -> dict[str, Any]:
        """The entry; with ``words``, the words (``[text, start, end, confidence]``) and lines."""
        out: dict[str, Any] = {
            "recording_id": self.recording_id, "queue": self.queue, "status": self.status,
            "progress": round(self.progress, 3), "attempts": self.attempts, "error": self.error,
            "engine": self.engine, "queued_at": _iso(self.queued_at),
            "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
            "duration_s": self.duration_s,
        }
        if words:
            out["words"] = [w.as_row() for w in self.words]
            out["lines"] = [line.as_json() for line in lines_of(self.words)]
        return out


def _from_row(r: t.TranscriptRow, words: bool = True) -> Transcript:
    return Transcript(
        recording_id=r.recording_id, queue=r.queue, status=r.status, progress=r.progress or 0.0,
        attempts=r.attempts or 0, error=r.error, engine=r.engine or "",
        queued_at=_aware(r.queued_at), started_at=_aware(r.started_at),
        finished_at=_aware(r.finished_at), duration_s=r.duration_s,
        words=tuple(Word.from_row(w) for w in (r.words or [])) if words else (),
    )


@dataclass(frozen=True, slots=True)
class QueueChoice:
    """Which queues want transcripts: the named ones, or all but the named ones."""

    default_on: bool
    on: frozenset[str] = frozenset()
    off: frozenset[str] = frozenset()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def snippet(text: str, needle: str) -> str:
    """The words around the first place ``needle`` occurs in ``text``."""
    at = text.find(needle)
    if at < 0:
        return text[: 2 * SNIPPET_CHARS]
    start = max(0, at - SNIPPET_CHARS)
    end = min(len(text), at + len(needle) + SNIPPET_CHARS)
    start = text.rfind(" ", 0, start) + 1 if start else 0
    stop = text.find(" ", end)
    end = len(text) if stop < 0 else stop
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


class TranscriptStore:
    """Reads and writes ``qa_transcripts`` rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, recording_id: str) -> Transcript | None:
        """The transcript (or queue entry) of one recording, or None."""
        async with self.db.session() as s:
            row = await s.get(t.TranscriptRow, recording_id)
            return _from_row(row) if row else None

    async def enqueue(self, recording_id: str, queue: str, now: datetime) -> Transcript:
        """Queue ``recording_id`` (again): a new row, or its row back to ``pending``."""
        async with self.db.session() as s:
            row = await s.get(t.TranscriptRow, recording_id)
            if row is None:
                row = t.TranscriptRow(recording_id=recording_id, queue=queue, status=t.PENDING,
                                      progress=0.0, attempts=0, queued_at=now, words=[], text="")
                s.add(row)
            elif row.status != t.RUNNING:
                row.status, row.progress, row.error, row.attempts = t.PENDING, 0.0, None, 0
                row.queued_at, row.started_at, row.finished_at = now, None, None
            await s.commit()
            return _from_row(row)

    async def sweep(self, choice: QueueChoice, now: datetime, limit: int = 500) -> int:
        """A ``pending`` row for every finished recording of a chosen queue that has none."""
        rec = rt.RecordingRow
        has_row = sa.exists().where(t.TranscriptRow.recording_id == rec.id)
        stmt = sa.select(rec.id, rec.queue).where(rec.status == rt.STATUS_COMPLETE, ~has_row)
        if choice.default_on:
            if choice.off:
                stmt = stmt.where(rec.queue.not_in(sorted(choice.off)))
        elif choice.on:
            stmt = stmt.where(rec.queue.in_(sorted(choice.on)))
        else:
            return 0
        stmt = stmt.order_by(rec.started_at).limit(limit)
        async with self.db.session() as s:
            found = (await s.execute(stmt)).all()
            for rec_id, queue in found:
                s.add(t.TranscriptRow(recording_id=rec_id, queue=queue, status=t.PENDING,
                                      progress=0.0, attempts=0, queued_at=now, words=[],
                                      text=""))
            await s.commit()
        return len(found)

    async def claim_next(self, now: datetime) -> Transcript | None:
        """The oldest ``pending`` row, now ``running`` (one more attempt); None when none.
        Callers serialise claims (one worker pool per server)."""
        stmt = (sa.select(t.TranscriptRow).where(t.TranscriptRow.status == t.PENDING)
                .order_by(t.TranscriptRow.queued_at, t.TranscriptRow.recording_id).limit(1))
        async with self.db.session() as s:
            row = (await s.execute(stmt)).scalars().first()
            if row is None:
                return None
            row.status, row.progress, row.started_at = t.RUNNING, 0.0, now
            row.attempts = (row.attempts or 0) + 1
            await s.commit()
            return _from_row(row, words=False)

    async def set_progress(self, recording_id: str, fraction: float) -> None:
        """How far the running transcription is (0..1)."""
        async with self.db.session() as s:
            await s.execute(sa.update(t.TranscriptRow)
                            .where(t.TranscriptRow.recording_id == recording_id,
                                   t.TranscriptRow.status == t.RUNNING)
                            .values(progress=max(0.0, min(1.0, fraction))))
            await s.commit()

    async def finish(self, recording_id: str, result: SpeechResult, now: datetime) -> None:
        """Store the words: ``done``."""
        async with self.db.session() as s:
            row = await s.get(t.TranscriptRow, recording_id)
            if row is None:
                return
            row.status, row.progress, row.error, row.finished_at = t.DONE, 1.0, None, now
            row.engine, row.duration_s = result.engine, round(result.duration_s, 3)
            row.words = [w.as_row() for w in result.words]
            row.text = result.text.lower()
            await s.commit()

    async def fail(self, recording_id: str, error: str, now: datetime, retry: bool) -> None:
        """A failed attempt: back to ``pending`` when ``retry``, else ``failed``."""
        async with self.db.session() as s:
            row = await s.get(t.TranscriptRow, recording_id)
            if row is None:
                return
            row.status = t.PENDING if retry else t.FAILED
            row.error, row.progress = error[:500], 0.0
            row.finished_at = None if retry else now
            await s.commit()

    async def forget_purged(self, now: datetime) -> int:
        """Erase the words of every transcript whose recording retention purged; their rows
        stay, ``purged``, so the queue shows what happened."""
        rec = rt.RecordingRow
        gone = sa.select(rec.id).where(rec.status == rt.STATUS_PURGED)
        async with self.db.session() as s:
            result = await s.execute(
                sa.update(t.TranscriptRow)
                .where(t.TranscriptRow.recording_id.in_(gone),
                       t.TranscriptRow.status != t.PURGED)
                .values(status=t.PURGED, words=[], text="", progress=0.0, finished_at=now))
            await s.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def requeue_running(self) -> int:
        """Rows a stopped server left ``running`` go back to ``pending`` (at start-up)."""
        async with self.db.session() as s:
            result = await s.execute(sa.update(t.TranscriptRow)
                                     .where(t.TranscriptRow.status == t.RUNNING)
                                     .values(status=t.PENDING, progress=0.0))
            await s.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def counts(self) -> dict[str, int]:
        """Rows per status (every status present, zero when none)."""
        stmt = sa.select(t.TranscriptRow.status, sa.func.count()).group_by(t.TranscriptRow.status)
        async with self.db.session() as s:
            found = {status: int(n) for status, n in (await s.execute(stmt)).all()}
        return {status: found.get(status, 0) for status in t.TRANSCRIPT_STATUSES}

    async def listing(self, status: str | None = None, limit: int = 100) -> list[Transcript]:
        """Queue entries without their words, running first, then the newest."""
        stmt = sa.select(t.TranscriptRow).order_by(
            (t.TranscriptRow.status != t.RUNNING), t.TranscriptRow.queued_at.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(t.TranscriptRow.status == status)
        async with self.db.session() as s:
            return [_from_row(r, words=False) for r in (await s.execute(stmt)).scalars()]

    async def search(self, text: str, limit: int = 1000) -> dict[str, str]:
        """Recordings whose transcript holds ``text`` (any case), each with a snippet."""
        needle = " ".join(text.lower().split())
        if not needle:
            return {}
        stmt = (sa.select(t.TranscriptRow.recording_id, t.TranscriptRow.text)
                .where(t.TranscriptRow.status == t.DONE,
                       t.TranscriptRow.text.like(_like(needle), escape="\\"))
                .limit(limit))
        async with self.db.session() as s:
            rows = (await s.execute(stmt)).all()
        return {rec_id: snippet(body, needle) for rec_id, body in rows}
