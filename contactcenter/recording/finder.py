"""Finding recordings for the player: by date, agent, queue, caller, duration, and a set of ids
(what a transcript search found), newest first.

Design note: ``RecordingIndex.search`` serves the API's exact filters; the player needs ranges
and a caller substring, so this query is its own, over the same table and ``_from_row``-shaped
records. Who may hear what is still decided per entry by ``access.may_access``; for an agent the
query is narrowed to their own calls first, so a page of results is not mostly refused rows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from contactcenter.recording import tables as t
from contactcenter.recording.index import Recording, recording_of
from contactcenter.storage.database import Database

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class RecordingQuery:
    """What the player asks for; None means "any"."""

    started_from: datetime | None = None
    started_to: datetime | None = None  # exclusive
    agent_id: str | None = None
    queue: str | None = None
    caller: str | None = None  # part of the caller's number
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    ids: Collection[str] | None = None  # only these (a transcript search's hits)
    limit: int = 50
    offset: int = 0


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own ``%`` and ``_`` literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def find_recordings(db: Database, query: RecordingQuery) -> list[Recording]:
    """Recordings matching ``query``, newest first (purged and discarded ones included: the
    page says why they cannot be played)."""
    row = t.RecordingRow
    stmt = sa.select(row).order_by(row.started_at.desc(), row.id)
    if query.started_from is not None:
        stmt = stmt.where(row.started_at >= query.started_from)
    if query.started_to is not None:
        stmt = stmt.where(row.started_at < query.started_to)
    if query.agent_id is not None:
        stmt = stmt.where(row.agent_id == query.agent_id)
    if query.queue is not None:
        stmt = stmt.where(row.queue == query.queue)
    if query.caller:
        stmt = stmt.where(row.caller_id.like(_like(query.caller), escape="\\"))
    if query.min_duration_s is not None:
        stmt = stmt.where(row.duration_s >= query.min_duration_s)
    if query.max_duration_s is not None:
        stmt = stmt.where(row.duration_s <= query.max_duration_s)
    if query.ids is not None:
        if not query.ids:
            return []
        stmt = stmt.where(row.id.in_(list(query.ids)))
    stmt = stmt.limit(max(0, min(query.limit, MAX_LIMIT))).offset(max(0, query.offset))
    async with db.session() as s:
        rows = (await s.execute(stmt)).scalars().all()
    return [recording_of(r) for r in rows]
