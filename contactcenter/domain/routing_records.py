"""Snapshots of the router's current state, as stored for a restart (one row each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """An interaction's current state; open ones are put back in line on restart."""

    id: str
    channel: str
    queue: str
    priority: int
    skills: dict[str, int]
    data: dict[str, Any]
    callback: dict[str, Any] | None
    state: str
    arrived_at: float
    queue_entered_at: float
    seq: int
    relax_step: int = -1
    attempts: int = 0
    agent_id: str | None = None
    offer_id: str | None = None
    offers: int = 0
    connected_at: float | None = None
    retry_at: float | None = None
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An agent's presence, queues and wrap-ups in progress, restored on restart.

    ``wrapups`` holds one mapping per wrap-up slot: ``interaction_id``, ``channel``, ``queue``,
    ``offer_id``, ``since`` (when the wrap-up started) and ``connected_at``.
    """

    agent_id: str
    presence: str
    pause_reason: str | None
    queues: list[str] = field(default_factory=list)
    answered_today: int = 0
    day: int = 0
    updated_at: float = 0.0
    wrapups: list[dict[str, Any]] = field(default_factory=list)
