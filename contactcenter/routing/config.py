"""The router's configuration: queues and agents, cross-checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import DestinationType, QueueConfig


@dataclass(frozen=True)
class RoutingConfig:
    """Every queue and agent the engine knows, by name / id (order is meaningful: see docs)."""

    queues: Mapping[str, QueueConfig] = field(default_factory=dict)
    agents: Mapping[str, AgentConfig] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Cross-reference errors (unknown queues in rules and agents); empty when consistent."""
        out: list[str] = []
        for q in self.queues.values():
            for rule in q.overflow:
                if rule.queue not in self.queues:
                    out.append(f"queue {q.name}: overflow to unknown queue {rule.queue!r}")
            for dest in (q.exit, q.leave_destination):
                if dest and dest.type is DestinationType.QUEUE and dest.target not in self.queues:
                    out.append(f"queue {q.name}: destination to unknown queue {dest.target!r}")
        for a in self.agents.values():
            for name in a.queues:
                if name not in self.queues:
                    out.append(f"agent {a.id}: unknown queue {name!r}")
        return out
