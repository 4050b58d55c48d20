"""Append-only audit trail: who did what to which target, with what outcome, and when.

Design note: the table has no update or delete path in code, and ``AuditLog`` only offers
``record`` and ``list``. Every context (recording purge, monitoring, logins, config changes)
writes through one ``AuditLog`` built by the composition root. ``record`` never raises on
over-long text: values are clipped to the column sizes so that an audit write cannot make the
audited action fail on PostgreSQL (which enforces VARCHAR lengths) while passing on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contactcenter.common.timestamps import aware
from contactcenter.domain.clock import Clock
from contactcenter.storage.database import Database
from contactcenter.storage.tables import (
    ACTION_LEN,
    ACTOR_LEN,
    OUTCOME_LEN,
    TARGET_LEN,
    AuditRow,
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit row as read back: ``at`` is an aware UTC datetime."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)


def _clip(value: str, size: int) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


class AuditLog:
    """Writer and reader of the audit trail (``record`` / ``list``)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock

    def _now(self) -> datetime:
        if self._clock is None:
            return datetime.now(UTC)
        return datetime.fromtimestamp(self._clock.time(), UTC)

    async def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        outcome: str = "ok",
        detail: dict | None = None,
    ) -> None:
        """Append one entry (actor, action, target, outcome, JSON-able detail) stamped now."""
        row = AuditRow(
            at=self._now(),
            actor=_clip(str(actor), ACTOR_LEN),
            action=_clip(str(action), ACTION_LEN),
            target=_clip(str(target), TARGET_LEN),
            outcome=_clip(str(outcome), OUTCOME_LEN),
            detail=dict(detail) if detail else None,
        )
        async with self._db.session() as session:
            session.add(row)
            await session.commit()

    async def list(
        self, limit: int = 100, offset: int = 0, action_prefix: str | None = None
    ) -> list[AuditEntry]:
        """Newest first; ``action_prefix="monitor."`` keeps only matching actions."""
        stmt = sa.select(AuditRow).order_by(AuditRow.id.desc())
        if action_prefix:
            escaped = (
                action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            )
            stmt = stmt.where(AuditRow.action.like(escaped + "%", escape="\\"))
        stmt = stmt.limit(max(0, int(limit))).offset(max(0, int(offset)))
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).scalars().all()
        return [
            AuditEntry(
                id=r.id,
                at=aware(r.at),
                actor=r.actor,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                detail=dict(r.detail or {}),
            )
            for r in rows
        ]
