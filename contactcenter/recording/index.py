"""Database access for the recordings index (typed ``Recording`` records in and out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contactcenter.recording import tables as t
from contactcenter.storage.database import Database

# Kinds of silent stretch in a file. A pause was asked for (card numbers); "not_started" is an
# on-demand recording nobody has started yet; "stopped" is a recording someone stopped. The
# file runs on through all of them (muted), so offsets stay those of the call.
PAUSE, NOT_STARTED, STOPPED = "pause", "not_started", "stopped"
KINDS = frozenset({PAUSE, NOT_STARTED, STOPPED})
# Row status of an on-demand recording that nobody started: its all-silent file was deleted.
STATUS_DISCARDED = "discarded"


@dataclass(frozen=True, slots=True)
class Pause:
    """A silent stretch, in seconds from the recording's start (``end`` None while it lasts)."""

    start: float
    end: float | None
    by: str = ""
    kind: str = PAUSE

    def as_json(self) -> dict[str, Any]:
        """``{start, end, by, kind}``."""
        return {"start": self.start, "end": self.end, "by": self.by, "kind": self.kind}


def recorded_spans(silent: tuple[Pause, ...], duration: float) -> list[tuple[float, float]]:
    """The stretches of ``[0, duration]`` that hold audio: everything outside ``silent``."""
    spans, at = [], 0.0
    for gap in sorted(silent, key=lambda p: p.start):
        start = min(max(gap.start, 0.0), duration)
        end = duration if gap.end is None else min(max(gap.end, start), duration)
        if start > at:
            spans.append((round(at, 3), round(start, 3)))
        at = max(at, end)
    if duration > at:
        spans.append((round(at, 3), round(duration, 3)))
    return spans


@dataclass(frozen=True, slots=True)
class Recording:
    """One index entry."""

    id: str
    interaction_id: str
    agent_id: str | None
    queue: str
    caller_id: str | None
    pbx: str
    channel: str
    started_at: datetime
    ended_at: datetime | None
    file: str
    status: str
    error: str | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    size_bytes: int | None = None
    pauses: tuple[Pause, ...] = field(default_factory=tuple)  # every kind, in order
    purged_at: datetime | None = None

    def silent(self, *kinds: str) -> tuple[Pause, ...]:
        """The silent stretches of these kinds (all kinds when none are named)."""
        return tuple(p for p in self.pauses if not kinds or p.kind in kinds)

    def recorded(self) -> list[tuple[float, float]] | None:
        """Stretches of the file that hold audio; None until the duration is known."""
        if self.duration_s is None:
            return None
        return recorded_spans(self.pauses, self.duration_s)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO times)."""
        recorded = self.recorded()
        return {
            "id": self.id,
            "interaction_id": self.interaction_id,
            "agent_id": self.agent_id,
            "queue": self.queue,
            "caller_id": self.caller_id,
            "pbx": self.pbx,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "status": self.status,
            "error": self.error,
            "duration_s": self.duration_s,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "size_bytes": self.size_bytes,
            "pauses": [p.as_json() for p in self.silent(PAUSE)],
            "off": [p.as_json() for p in self.silent(NOT_STARTED, STOPPED)],
            "recorded": None if recorded is None else [list(span) for span in recorded],
            "recorded_s": None if recorded is None else round(sum(b - a for a, b in recorded), 3),
        }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _from_row(r: t.RecordingRow) -> Recording:
    return Recording(
        id=r.id,
        interaction_id=r.interaction_id,
        agent_id=r.agent_id,
        queue=r.queue,
        caller_id=r.caller_id,
        pbx=r.pbx,
        channel=r.channel,
        started_at=_aware(r.started_at),  # type: ignore[arg-type]
        ended_at=_aware(r.ended_at),
        file=r.file,
        status=r.status,
        error=r.error,
        duration_s=r.duration_s,
        sample_rate=r.sample_rate,
        channels=r.channels,
        size_bytes=r.size_bytes,
        pauses=tuple(
            Pause(p["start"], p.get("end"), p.get("by", ""), p.get("kind", PAUSE)) for p in (r.pauses or [])
        ),
        purged_at=_aware(r.purged_at),
    )


def recording_of(row: t.RecordingRow) -> Recording:
    """The typed entry of one ``recordings`` row (for queries written elsewhere)."""
    return _from_row(row)


_UPDATABLE = {
    "agent_id", "ended_at", "status", "error", "duration_s", "sample_rate", "channels",
    "size_bytes", "purged_at", "channel",
}


class RecordingIndex:
    """Reads and writes ``recordings`` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, rec: Recording) -> Recording:
        """Insert a new entry."""
        row = t.RecordingRow(
            id=rec.id, interaction_id=rec.interaction_id, agent_id=rec.agent_id, queue=rec.queue,
            caller_id=rec.caller_id, pbx=rec.pbx, channel=rec.channel,
            started_at=rec.started_at, ended_at=rec.ended_at, file=rec.file, status=rec.status,
            error=rec.error, duration_s=rec.duration_s, sample_rate=rec.sample_rate,
            channels=rec.channels, size_bytes=rec.size_bytes,
            pauses=[p.as_json() for p in rec.pauses],
        )
        async with self._db.session() as s:
            s.add(row)
            await s.commit()
        return rec

    async def get(self, recording_id: str) -> Recording | None:
        """The entry with this id, or None."""
        async with self._db.session() as s:
            row = await s.get(t.RecordingRow, recording_id)
            return _from_row(row) if row else None

    async def for_interaction(self, interaction_id: str) -> list[Recording]:
        """Every recording of one interaction, oldest first."""
        stmt = (
            sa.select(t.RecordingRow)
            .where(t.RecordingRow.interaction_id == interaction_id)
            .order_by(t.RecordingRow.started_at)
        )
        async with self._db.session() as s:
            return [_from_row(r) for r in (await s.execute(stmt)).scalars()]

    async def search(
        self,
        queue: str | None = None,
        agent_id: str | None = None,
        interaction_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Recording]:
        """Newest first, optionally filtered."""
        stmt = sa.select(t.RecordingRow).order_by(t.RecordingRow.started_at.desc())
        if queue is not None:
            stmt = stmt.where(t.RecordingRow.queue == queue)
        if agent_id is not None:
            stmt = stmt.where(t.RecordingRow.agent_id == agent_id)
        if interaction_id is not None:
            stmt = stmt.where(t.RecordingRow.interaction_id == interaction_id)
        stmt = stmt.limit(max(0, min(int(limit), 1000))).offset(max(0, int(offset)))
        async with self._db.session() as s:
            return [_from_row(r) for r in (await s.execute(stmt)).scalars()]

    async def started_before(self, cutoff: datetime, queue: str | None = None) -> list[Recording]:
        """Unpurged entries that started before ``cutoff`` (retention candidates)."""
        stmt = sa.select(t.RecordingRow).where(
            t.RecordingRow.started_at < cutoff, t.RecordingRow.status != t.STATUS_PURGED
        )
        if queue is not None:
            stmt = stmt.where(t.RecordingRow.queue == queue)
        async with self._db.session() as s:
            return [_from_row(r) for r in (await s.execute(stmt.order_by(t.RecordingRow.started_at))).scalars()]

    async def still_recording(self) -> list[Recording]:
        """Entries never closed (status ``recording``), oldest first: what a restart inherits."""
        stmt = (sa.select(t.RecordingRow)
                .where(t.RecordingRow.status == t.STATUS_RECORDING)
                .order_by(t.RecordingRow.started_at))
        async with self._db.session() as s:
            return [_from_row(r) for r in (await s.execute(stmt)).scalars()]

    async def queues(self) -> list[str]:
        """Distinct queue names that have unpurged recordings."""
        stmt = sa.select(t.RecordingRow.queue).where(t.RecordingRow.status != t.STATUS_PURGED).distinct()
        async with self._db.session() as s:
            return sorted((await s.execute(stmt)).scalars())

    async def update(self, recording_id: str, **fields: Any) -> Recording | None:
        """Set some columns; returns the new entry (None if it does not exist)."""
        bad = set(fields) - _UPDATABLE
        if bad:
            raise ValueError(f"not updatable: {', '.join(sorted(bad))}")
        async with self._db.session() as s:
            row = await s.get(t.RecordingRow, recording_id)
            if row is None:
                return None
            for key, value in fields.items():
                setattr(row, key, value)
            await s.commit()
            return _from_row(row)

    async def set_pauses(self, recording_id: str, pauses: list[Pause]) -> None:
        """Replace the list of silent stretches (pauses and off stretches alike)."""
        async with self._db.session() as s:
            row = await s.get(t.RecordingRow, recording_id)
            if row is not None:
                row.pauses = [p.as_json() for p in pauses]
                await s.commit()
