"""The router's configuration: queues, agents and the skills catalogue, cross-checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import DestinationType, QueueConfig


@dataclass(frozen=True)
class RoutingConfig:
    """Every queue and agent the engine knows, by name / id (order is meaningful: see docs).

    ``skills`` is the catalogue (name -> description) when one is kept: then every skill a
    queue or agent names must be in it. None (the default, as in tests) allows any skill.
    """

    queues: Mapping[str, QueueConfig] = field(default_factory=dict)
    agents: Mapping[str, AgentConfig] = field(default_factory=dict)
    skills: Mapping[str, str] | None = None

    def problems(self) -> list[str]:
        """Cross-reference errors (unknown queues and skills); empty when consistent."""
        return self.reference_problems() + self.skill_problems()

    def reference_problems(self) -> list[str]:
        """Unknown queues named by overflow rules, destinations and agents."""
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

    def skill_problems(self) -> list[str]:
        """Skills named by queues (requirements, relaxation) and agents but not catalogued."""
        if self.skills is None:
            return []
        known = self.skills
        out: list[str] = []
        for q in self.queues.values():
            named = set(q.skills).union(*(st.drop for st in q.relaxation))
            out += [f"queue {q.name}: unknown skill {s!r}" for s in sorted(named - set(known))]
        for a in self.agents.values():
            out += [f"agent {a.id}: unknown skill {s!r}" for s in sorted(set(a.skills) - set(known))]
        return out

    def skill_users(self, skill: str) -> list[str]:
        """Who names ``skill``: ``queue <name>`` / ``agent <id>`` labels, in config order."""
        users = [f"queue {q.name}" for q in self.queues.values()
                 if skill in q.skills or any(skill in st.drop for st in q.relaxation)]
        return users + [f"agent {a.id}" for a in self.agents.values() if skill in a.skills]
