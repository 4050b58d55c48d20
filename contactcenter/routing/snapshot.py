"""Read-only views of the engine for the wallboard, metrics and the agent-control API."""

from __future__ import annotations

from dataclasses import dataclass, field

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import InteractionState
from contactcenter.routing.engine import Engine


@dataclass(frozen=True, slots=True)
class AgentView:
    """One agent as the panel and wallboard show it."""

    id: str
    name: str
    state: str
    presence: str
    pause_reason: str | None
    queues: list[str]
    skills: dict[str, int]
    capacity: dict[str, int]
    work: list[dict[str, str]]  # {"interaction_id", "channel", "queue", "state", "offer_id"}
    answered_today: int


@dataclass(frozen=True, slots=True)
class QueueView:
    """One queue's live figures."""

    name: str
    strategy: str
    waiting: int
    longest_wait_s: float
    callbacks_scheduled: int
    agents: dict[str, int]  # shown state -> count, among agents logged in to the queue
    staffed: dict[str, int]  # channel -> staffed capacity
    entered: int
    answered: int
    abandoned: int
    exited: int
    service_level: float | None  # answered within the threshold / answered
    aht_s: float
    ewt_next_s: float | None = None  # EWT for a voice interaction joining now


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the wallboard needs at one instant."""

    at: float
    queues: dict[str, QueueView] = field(default_factory=dict)
    agents: dict[str, AgentView] = field(default_factory=dict)


def agent_view(engine: Engine, agent_id: str) -> AgentView:
    """The view of one agent."""
    a = engine.agents[agent_id]
    return AgentView(
        id=a.id, name=a.config.name, state=a.shown_state().value, presence=a.presence.value,
        pause_reason=a.pause_reason, queues=list(a.queues), skills=dict(a.config.skills),
        capacity=dict(a.config.capacity),
        work=[
            {"interaction_id": s.interaction_id, "channel": s.channel, "queue": s.queue,
             "state": s.state.value, "offer_id": s.offer_id}
            for s in a.slots.values()
        ],
        answered_today=a.answered_today,
    )


def snapshot(engine: Engine, now: float) -> Snapshot:
    """Per-queue and per-agent figures, computed from the engine's state."""
    agents = {aid: agent_view(engine, aid) for aid in engine.agents}
    oldest: dict[str, float] = {}
    scheduled: dict[str, int] = {}
    for rec in engine.live.values():
        if rec.state is InteractionState.WAITING:
            oldest[rec.queue] = min(oldest.get(rec.queue, now), rec.arrived_at)
        elif rec.state is InteractionState.SCHEDULED:
            scheduled[rec.queue] = scheduled.get(rec.queue, 0) + 1
    queues: dict[str, QueueView] = {}
    for name, cfg in engine.queues.items():
        by_state: dict[str, int] = {}
        for a in engine.agents.values():
            if name in a.queues and a.presence is not AgentState.LOGGED_OUT:
                key = a.shown_state().value
                by_state[key] = by_state.get(key, 0) + 1
        st = engine.stats[name]
        waiting = engine.line.count(name)
        queues[name] = QueueView(
            name=name, strategy=cfg.strategy.value, waiting=waiting,
            longest_wait_s=now - oldest[name] if name in oldest else 0.0,
            callbacks_scheduled=scheduled.get(name, 0), agents=by_state,
            staffed={ch: n for (q, ch), n in engine.staffed.items() if q == name and n},
            entered=st.entered, answered=st.answered, abandoned=st.abandoned, exited=st.exited,
            service_level=(st.answered_in_sl / st.answered) if st.answered else None,
            aht_s=engine.handle[name].average(),
            ewt_next_s=engine.expected_wait(name, "voice", waiting + 1),
        )
    return Snapshot(at=now, queues=queues, agents=agents)
