"""The routing context's tables: the interaction log and the queues/agents/skills edited in the panel.

``routing_events`` is the history reports read (one row per state change); ``routing_interactions``
and ``routing_agents`` hold the latest state of every interaction and agent, so that a restarted
server rebuilds its waiting lines without replaying history (``interaction_log.py`` writes them).
``config_*`` hold one versioned JSON document per queue, agent or skill (``config_store.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import JSON, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base


class RoutingEventRow(Base):
    """One routing event (history)."""

    __tablename__ = "routing_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    interaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RoutingInteractionRow(Base):
    """The latest state of one interaction."""

    __tablename__ = "routing_interactions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    skills: Mapped[dict[str, int]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    callback: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    arrived_at: Mapped[float] = mapped_column(Float)
    queue_entered_at: Mapped[float] = mapped_column(Float)
    seq: Mapped[int] = mapped_column(Integer)
    relax_step: Mapped[int] = mapped_column(Integer, default=-1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    offer_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    offers: Mapped[int] = mapped_column(Integer, default=0)
    connected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    retry_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_routing_interactions_state", "state"),)


class RoutingAgentRow(Base):
    """The latest presence and queues of one agent."""

    __tablename__ = "routing_agents"
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    presence: Mapped[str] = mapped_column(String(16))
    pause_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    queues: Mapped[list[str]] = mapped_column(JSON)
    answered_today: Mapped[int] = mapped_column(Integer, default=0)
    day: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[float] = mapped_column(Float)
    # Wrap-ups in progress (AgentRecord.wrapups), so a restart keeps them; added later.
    wrapups: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


ACTOR_LEN = 200


class EntryColumns:
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    updated_by: Mapped[str] = mapped_column(sa.String(ACTOR_LEN), default="")

    if TYPE_CHECKING:
        # The mapped subclasses get their keyword constructor from Base.
        def __init__(self, **kw: Any) -> None: ...


class ConfigQueueRow(EntryColumns, Base):
    """One queue as edited in the panel."""

    __tablename__ = "config_queues"


class ConfigAgentRow(EntryColumns, Base):
    """One agent as edited in the panel."""

    __tablename__ = "config_agents"


class ConfigSkillRow(EntryColumns, Base):
    """One skill of the catalogue."""

    __tablename__ = "config_skills"


TABLES: dict[str, type[EntryColumns]] = {
    "queues": ConfigQueueRow, "agents": ConfigAgentRow, "skills": ConfigSkillRow,
}


