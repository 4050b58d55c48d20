"""Quality's tables: transcripts (also the transcription queue), scorecards, evaluations,
keyword lists and their hits, sampling rules and the worklist they fill.

Design note: a transcript row is created ``pending`` when a finished recording is found, and the
worker walks it ``running -> done | failed``; the rows ARE the queue, so a restart loses no work
(rows left ``running`` by a stopped server go back to ``pending``). A transcript is kept as
long as its recording: once retention purges the file, the words are erased and the row says
``purged``. An evaluation keeps a copy
of the scorecard form it was made with: editing a scorecard later never changes a past score.
An evaluation and a worklist pick name what they are of by channel and item (a call's
recording, a chat conversation, a ticket), so one table serves every channel.
Keyword hits are derived data: a scan row says which version of a list a transcript was scanned
against, so a saved list, a new transcript or a purge is caught up by the worker's sweep.
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

# What an evaluation or a pick is of: a call (its recording), a chat conversation, a ticket.
# ``item_id`` is the recording's id, the conversation's id or the ticket's number.
VOICE, CHAT, TICKET = "voice", "chat", "ticket"
CHANNELS = (VOICE, CHAT, TICKET)


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
    __table_args__ = (sa.Index("ix_qa_evaluations_item", "channel", "item_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    scorecard_id: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("qa_scorecards.id"),
                                              index=True)
    scorecard_version: Mapped[int] = mapped_column(sa.Integer)
    form: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    channel: Mapped[str] = mapped_column(sa.String(16), default=VOICE)
    item_id: Mapped[str] = mapped_column(sa.String(64))
    recording_id: Mapped[str | None] = mapped_column(  # a call's; None for a chat or a ticket
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


class KeywordListRow(Base):
    """A named list of keywords and phrases ("compliance", "churn") spotted in transcripts."""

    __tablename__ = "qa_keyword_lists"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    phrases: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    min_match: Mapped[float] = mapped_column(sa.Float, default=0.8)
    # Grows with every save: transcripts scanned against an older version are scanned again.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(sa.String(100), default="")


class KeywordScanRow(Base):
    """A transcript was scanned against a version of a list (its hits are in place)."""

    __tablename__ = "qa_keyword_scans"

    recording_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("recordings.id"), primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("qa_keyword_lists.id"),
                                         primary_key=True, index=True)
    version: Mapped[int] = mapped_column(sa.Integer)


class KeywordHitRow(Base):
    """One place a phrase of a list was heard in a transcript."""

    __tablename__ = "qa_keyword_hits"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(sa.String(32), sa.ForeignKey("recordings.id"),
                                              index=True)
    list_id: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("qa_keyword_lists.id"),
                                         index=True)
    phrase: Mapped[str] = mapped_column(sa.String(200))
    start_s: Mapped[float] = mapped_column(sa.Float)
    end_s: Mapped[float] = mapped_column(sa.Float)
    heard: Mapped[str] = mapped_column(sa.String(500))


class SamplingRuleRow(Base):
    """"N % of each agent's calls (chats, tickets) per week, at least M": what goes to the
    evaluators' worklist."""

    __tablename__ = "qa_sampling_rules"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(16), default=VOICE)
    queue: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)  # None: every queue
    percent: Mapped[float] = mapped_column(sa.Float)
    minimum: Mapped[int] = mapped_column(sa.Integer, default=0)
    scorecard_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("qa_scorecards.id"), nullable=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(sa.String(100), default="")


class WorklistRow(Base):
    """An interaction a sampling rule picked for evaluation (never taken back)."""

    __tablename__ = "qa_worklist"
    __table_args__ = (sa.UniqueConstraint("rule_id", "channel", "item_id",
                                          name="uq_qa_worklist_rule_item"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("qa_sampling_rules.id"),
                                         index=True)
    week: Mapped[str] = mapped_column(sa.String(10), index=True)  # ISO week, e.g. 2026-W18
    channel: Mapped[str] = mapped_column(sa.String(16), default=VOICE)
    item_id: Mapped[str] = mapped_column(sa.String(64))
    recording_id: Mapped[str | None] = mapped_column(
        sa.String(32), sa.ForeignKey("recordings.id"), nullable=True, index=True)
    agent_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    queue: Mapped[str] = mapped_column(sa.String(100))
    # When it started, and who was on the other side (caller id, visitor, ticket subject):
    # kept with the pick so the worklist reads one table whatever the channel.
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    picked_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
