"""Strategies: how a queue picks one agent among several free agents who all have the skills.

Candidates arrive in "longest idle first" order (see agent_index), which is also every
strategy's tie-break, so each choice is deterministic (``random`` uses the engine's seeded RNG).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from contactcenter.domain.queue import Strategy
from contactcenter.domain.skills import Requirement, satisfies
from contactcenter.routing.agent_state import AgentRuntime


def eligible(
    ids: Iterator[str], agents: dict[str, AgentRuntime], req: Requirement
) -> Iterator[AgentRuntime]:
    """Agents from ``ids`` whose skills meet ``req``, in the order given."""
    for aid in ids:
        agent = agents[aid]
        if satisfies(agent.config.skills, req):
            yield agent


def choose(
    strategy: Strategy,
    candidates: Iterable[AgentRuntime],
    req: Requirement,
    rr_last: int,
    rng: random.Random,
) -> AgentRuntime | None:
    """The agent ``strategy`` picks from ``candidates`` (idle order), or None if there is none."""
    if strategy is Strategy.LONGEST_IDLE:
        return next(iter(candidates), None)
    pool = list(candidates)
    if not pool:
        return None
    if strategy is Strategy.ROUND_ROBIN:
        # The next agent after the last one picked, in configuration order, wrapping around.
        return min(pool, key=lambda a: (a.order - rr_last - 1) % (1 << 30))
    if strategy is Strategy.FEWEST_TODAY:
        return min(pool, key=lambda a: a.answered_today)  # min() keeps the first: idle order
    if strategy is Strategy.MOST_SKILLED:
        skills = [s for s, _ in req]

        def score(a: AgentRuntime) -> int:
            own = a.config.skills
            return sum(own.get(s, 0) for s in skills) if skills else sum(own.values())

        return max(enumerate(pool), key=lambda t: (score(t[1]), -t[0]))[1]
    if strategy is Strategy.RANDOM:
        return rng.choice(pool)
    raise ValueError(f"unknown strategy {strategy!r}")
