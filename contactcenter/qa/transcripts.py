"""Transcripts and their queue, in the database (typed ``Transcript`` records in and out).

Design note: the text search is a case-insensitive ``LIKE`` over the words joined by spaces,
good enough for one server's calls; the knowledge-base issue brings the full-text search both
will share (docs/qa.md). A sweep, not a hook, finds the recordings to transcribe: every
finished recording in a queue that asks for transcripts and without a row gets a ``pending``
one, so a recording closed while the server was down (or before the queue turned transcripts
on) is found the same way as one closed a second ago. A queue's ``transcript_retention_days``
is applied by ``expire``, from the same sweep: the words, the text and the keyword index go, the
row stays ``purged`` with the reason, the recording stays.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contactcenter.common.timestamps import aware, iso
from contactcenter.qa import tables as t
from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.recording import tables as rt
from contactcenter.storage.database import Database

EXPIRE_BATCH = 500  # transcripts erased per queue per sweep: the next sweep takes the rest
LINE_GAP_S = 1.0  # a pause this long starts a new line of the transcript
LINE_WORDS = 14
SNIPPET_CHARS = 40


@dataclass(frozen=True, slots=True)
class Line:
    """Consecutive words of one speaker without a long pause between them."""

    start: float
    end: float
    text: str
    speaker: str = ""  # caller / agent when the directions were recorded apart

    def as_json(self) -> dict[str, Any]:
        """``{start, end, text, speaker}`` (speaker null when unknown)."""
        return {"start": self.start, "end": self.end, "text": self.text,
                "speaker": self.speaker or None}


def _line(words: list[Word]) -> Line:
    return Line(words[0].start, words[-1].end, " ".join(w.text for w in words), words[0].speaker)


def lines_of(words: Collection[Word]) -> list[Line]:
    """``words`` cut into lines at pauses of ``LINE_GAP_S``, after ``LINE_WORDS`` words, and
    where the speaker changes."""
    out: list[Line] = []
    current: list[Word] = []
    for word in words:
        if current and (word.start - current[-1].end >= LINE_GAP_S or len(current) >= LINE_WORDS
                        or word.speaker != current[-1].speaker):
            out.append(_line(current))
            current = []
        current.append(word)
    if current:
        out.append(_line(current))
    return out


def speaker_snippet(words: Collection[Word], needle: str) -> str | None:
    """``speaker: words around needle`` from the first line of a known speaker holding
    ``needle``; None when no such line does (no speakers, or a match across lines)."""
    for line in lines_of(words):
        if line.speaker and needle in line.text.lower():
            return f"{line.speaker}: {snippet(line.text.lower(), needle)}"
    return None


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
            "engine": self.engine, "queued_at": iso(self.queued_at),
            "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
            "duration_s": self.duration_s,
        }
        if words:
            out["words"] = [w.as_row() for w in self.words]
            out["lines"] = [line.as_json() for line in lines_of(self.words)]
            out["speakers"] = sorted({w.speaker for w in self.words if w.speaker})
        return out


def _from_row(r: t.TranscriptRow, words: bool = True) -> Transcript:
    return Transcript(
        recording_id=r.recording_id, queue=r.queue, status=r.status, progress=r.progress or 0.0,
        attempts=r.attempts or 0, error=r.error, engine=r.engine or "",
        queued_at=aware(r.queued_at), started_at=aware(r.started_at),
        finished_at=aware(r.finished_at), duration_s=r.duration_s,
        words=tuple(Word.from_row(w) for w in (r.words or [])) if words else (),
    )


@dataclass(frozen=True, slots=True)
class Expired:
    """A transcript its queue's ``transcript_retention_days`` erased (its recording stays)."""

    recording_id: str
    queue: str
    days: int
    started_at: datetime | None
    words: int  # how many words were erased


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

    async def expire(self, days_for: Callable[[str], int | None],
                     now: datetime) -> list[Expired]:
        """Erase every transcript older than its queue's transcript retention (``days_for``:
        None keeps it), counted from the call's start like the audio's: its words, its text,
        its keyword hits and scans. The recording stays; the row stays, ``purged``, with the
        reason. Rows being transcribed are left to the next sweep."""
        tr, rec = t.TranscriptRow, rt.RecordingRow
        live = tr.status.not_in((t.PURGED, t.RUNNING))
        async with self.db.session() as s:
            queues = [q for (q,) in (await s.execute(sa.select(tr.queue).where(live)
                                                     .distinct())).all()]
        out: list[Expired] = []
        for queue in sorted(queues):
            days = days_for(queue)
            if days is None:
                continue
            stmt = (sa.select(tr, rec.started_at).join(rec, rec.id == tr.recording_id)
                    .where(live, tr.queue == queue,
                           rec.started_at < now - timedelta(days=days))
                    .order_by(rec.started_at).limit(EXPIRE_BATCH))
            async with self.db.session() as s:
                found = (await s.execute(stmt)).all()
                ids = [row.recording_id for row, _started in found]
                if not ids:
                    continue
                for row, started in found:
                    out.append(Expired(row.recording_id, queue, days, aware(started),
                                       len(row.words or [])))
                    row.status, row.words, row.text, row.progress = t.PURGED, [], "", 0.0
                    row.error, row.finished_at = f"transcript retention: {days} days", now
                await s.execute(sa.delete(t.KeywordHitRow)
                                .where(t.KeywordHitRow.recording_id.in_(ids)))
                await s.execute(sa.delete(t.KeywordScanRow)
                                .where(t.KeywordScanRow.recording_id.in_(ids)))
                await s.commit()
        return out

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
        stmt = (sa.select(t.TranscriptRow.recording_id, t.TranscriptRow.text,
                          t.TranscriptRow.words)
                .where(t.TranscriptRow.status == t.DONE,
                       t.TranscriptRow.text.like(_like(needle), escape="\\"))
                .limit(limit))
        async with self.db.session() as s:
            rows = (await s.execute(stmt)).all()
        out = {}
        for rec_id, body, words in rows:
            said = None
            if words and len(words[0]) > 4:  # who said it is known: name them
                said = speaker_snippet([Word.from_row(w) for w in words], needle)
            out[rec_id] = said or snippet(body, needle)
        return out
