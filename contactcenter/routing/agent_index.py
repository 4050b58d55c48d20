"""Index of agents who can take one more interaction now, by (queue, channel, skill).

Design note. ``_sets[(queue, channel, skill, 1)]`` holds every ready agent logged in to
``queue`` who has ``skill`` (``(queue, channel, None, 0)`` holds all ready agents of the queue).
Levels are checked while scanning the chosen bucket: one key per skill keeps the per-offer
index update small (an offer removes the agent from every bucket it is in), which measured
faster than one key per (skill, level). Sets are insertion-ordered dicts and an agent is re-inserted at the
end each time it becomes ready or takes an offer, so iteration order is "longest idle first".
A decision looks only at the smallest set among the required (skill, level) pairs, never at
every agent.
"""

from __future__ import annotations

from collections.abc import Iterator

from contactcenter.domain.skills import Requirement
from contactcenter.routing.agent_state import AgentRuntime

IndexKey = tuple[str, str, str | None, int]


class ReadyIndex:
    """Ready agents per (queue, channel, skill, minimum level), in idle order."""

    def __init__(self) -> None:
        self._sets: dict[IndexKey, dict[str, None]] = {}
        self._member: dict[tuple[str, str], tuple[IndexKey, ...]] = {}  # (agent, channel) -> keys

    def _keys(self, agent: AgentRuntime, channel: str) -> tuple[IndexKey, ...]:
        keys: list[IndexKey] = []
        for queue in agent.queues:
            keys.append((queue, channel, None, 0))
            for skill in agent.config.skills:
                keys.append((queue, channel, skill, 1))
        return tuple(keys)

    def is_indexed(self, agent_id: str, channel: str) -> bool:
        """True when the agent is in the index for ``channel``."""
        return (agent_id, channel) in self._member

    def add(self, agent: AgentRuntime, channel: str) -> None:
        """Insert (or move to the end, i.e. most recently busy) ``agent`` for ``channel``."""
        self.remove(agent.id, channel)
        keys = self._keys(agent, channel)
        self._member[(agent.id, channel)] = keys
        sets = self._sets
        for key in keys:
            bucket = sets.get(key)
            if bucket is None:
                bucket = sets[key] = {}
            bucket[agent.id] = None

    def remove(self, agent_id: str, channel: str) -> None:
        """Take ``agent_id`` out for ``channel`` (no-op if absent)."""
        keys = self._member.pop((agent_id, channel), None)
        if keys is None:
            return
        sets = self._sets
        for key in keys:
            bucket = sets[key]
            del bucket[agent_id]
            if not bucket:
                del sets[key]

    def candidates(self, queue: str, channel: str, req: Requirement) -> Iterator[str]:
        """Agent ids from the smallest bucket covering one required pair, in idle order.

        Callers still check the other pairs of ``req``; the bucket only guarantees one.
        """
        sets = self._sets
        if not req:
            bucket = sets.get((queue, channel, None, 0))
            return iter(bucket) if bucket else iter(())
        best: dict[str, None] | None = None
        for skill, _level in req:
            bucket = sets.get((queue, channel, skill, 1))
            if not bucket:
                return iter(())
            if best is None or len(bucket) < len(best):
                best = bucket
        assert best is not None
        return iter(best)

    def count(self, queue: str, channel: str) -> int:
        """Ready agents of ``queue`` for ``channel``."""
        return len(self._sets.get((queue, channel, None, 0), ()))
