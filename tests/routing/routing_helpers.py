"""Builders shared by the routing tests (plain functions, no mocks)."""

from __future__ import annotations

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import QueueConfig
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.engine import Engine


def make_config(queues: list[QueueConfig], agents: list[AgentConfig]) -> RoutingConfig:
    """A RoutingConfig from lists."""
    return RoutingConfig({q.name: q for q in queues}, {a.id: a for a in agents})


def agent(aid: str, skills: dict[str, int] | None = None, queues: tuple[str, ...] = ("q",),
          voice: int = 1, chat: int = 0, ticket: int = 0) -> AgentConfig:
    """An agent with a PJSIP dial string named after it."""
    return AgentConfig(aid, name=aid, dial_string=f"PJSIP/{aid}", skills=skills or {},
                       capacity={"voice": voice, "chat": chat, "ticket": ticket}, queues=queues)


def kinds(events) -> list[str]:
    """The kinds of events, in order."""
    return [e.kind for e in events]


def of(events, cls):
    """The events of one type."""
    return [e for e in events if isinstance(e, cls)]


def engine(queues: list[QueueConfig], agents: list[AgentConfig], seed: int = 1) -> Engine:
    """An engine over lists of queues and agents."""
    return Engine(make_config(queues, agents), rng_seed=seed)
