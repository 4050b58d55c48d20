"""The recordings index: one row per MixMonitor file, with metadata read once the file is closed.

Design note: ``status`` walks ``recording -> complete | missing | corrupt | failed``, then
``purged`` when retention removes the file (the row stays, so the interaction's history still
says a recording existed and who deleted it is in the audit trail). ``file`` is the path
RELATIVE to the recordings root: the absolute location is rebuilt from configuration, so moving
the root (or mounting it elsewhere) never invalidates the index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base

STATUS_RECORDING = "recording"
STATUS_COMPLETE = "complete"
STATUS_MISSING = "missing"
STATUS_CORRUPT = "corrupt"
STATUS_FAILED = "failed"
STATUS_PURGED = "purged"
STATUSES = frozenset(
    {STATUS_RECORDING, STATUS_COMPLETE, STATUS_MISSING, STATUS_CORRUPT, STATUS_FAILED, STATUS_PURGED}
)


class RecordingRow(Base):
    """One recording of one interaction (an interaction may have several, e.g. on-demand restarts)."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    interaction_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    queue: Mapped[str] = mapped_column(sa.String(100), index=True)
    caller_id: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    pbx: Mapped[str] = mapped_column(sa.String(100), default="")
    channel: Mapped[str] = mapped_column(sa.String(200), default="")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    file: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(20), default=STATUS_RECORDING, index=True)
    error: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    sample_rate: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    channels: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    # [{"start": s, "end": s | null, "by": actor}], offsets in seconds from started_at.
    pauses: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    purged_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
