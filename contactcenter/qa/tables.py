"""Quality's tables: transcripts (also the transcription queue), scorecards, evaluations.

Design note: a transcript row is created ``pending`` when a finished recording is found, and the
worker walks it ``running -> done | failed``; the rows ARE the queue, so a restart loses no work
(rows left ``running`` by a stopped server go back to ``pending``). A transcript is kept as
long as its recording: once retention purges the file, the words are erased and the row says
``purged``. An evaluation keeps a copy
of the scorecard form it was made with: editing a scorecard later never changes a past score.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
PURGED = "purged"  # the recording was purged: its words went with it
TRANSCRIPT_STATUSES = (PENDING, RUNNING, DONE, FAILED, PURGED)

DRAFT, SUBMITTED, ACKNOWLEDGED, DISPUTED = "draft", "submitted", "acknowledged", "disputed"
EVALUATION_STATUSES = (DRAFT, SUBMITTED, ACKNOWLEDGED, DISPUTED)


class TranscriptRow(Base):
    """The transcript of one recording, and its place in the transcription queue."""

    __tablename__ = "qa_transcripts"

    recording_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("recordings.id"), primary_key=True)
    queue: Mapped[str] = mapped_column(sa.String(100), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    engine: Mapped[str] = mapped_column(sa.String(64), default="")
    queued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True),
                                                         nullable=True)
    duration_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # The words joined by spaces, lower case: what the text search reads.
    text: Mapped[str] = mapped_column(sa.Text, default="")
    # [[word, start_s, end_s, confidence], ...] in time order.
    words: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)


class ScorecardRow(Base):
    """An admin-defined evaluation form (sections of questions), versioned on every save."""

    __tablename__ = "qa_scorecards"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    form: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(sa.String(100), default="")


class EvaluationRow(Base):
    """One evaluation of one interaction against one scorecard (as it was then)."""

    __tablename__ = "qa_evaluations"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    scorecard_id: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("qa_scorecards.id"),
                                              index=True)
    scorecard_version: Mapped[int] = mapped_column(sa.Integer)
    form: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    recording_id: Mapped[str | None] = mapped_column(
        sa.String(32), sa.ForeignKey("recordings.id"), nullable=True, index=True)
    interaction_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    queue: Mapped[str] = mapped_column(sa.String(100), default="")
    evaluator: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    # {question id: {"value": ..., "auto": {...} | null, "note": str}}
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    score: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    possible: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    percent: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    failed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True),
                                                          nullable=True)
    responded_by: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True),
                                                          nullable=True)
    agent_comment: Mapped[str] = mapped_column(sa.Text, default="")
