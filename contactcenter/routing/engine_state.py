"""The queue engine's state and plumbing: open interactions, agents, timers heap, stored rows.

``EngineState`` holds everything the engine knows; ``engine_moves`` moves interactions and agents
between places, ``engine_timers`` fires what is due, ``engine_restore`` rebuilds after a restart,
and ``engine.Engine`` is the public API over them (see its design note).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import (
    CallbackRequest,
    check_wire_safe,
)
from contactcenter.domain.interaction import (
    InteractionState as IS,
)
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import (
    Position,
    RoutingEvent,
)
from contactcenter.domain.routing_records import AgentRecord, InteractionRecord
from contactcenter.domain.skills import Requirement
from contactcenter.routing.agent_index import ReadyIndex
from contactcenter.routing.agent_state import AgentRuntime, Slot
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.errors import NotFound
from contactcenter.routing.ewt import HandleTimes, expected_wait
from contactcenter.routing.waiting import WaitingLine

RING_GRACE_S = 5.0  # the voice side's Dial timeout fires first; this only catches lost reports
# A call ringing an agent when the server restarted is kept offered (engine_restore.py) until
# the telephony side tells how that Dial ended: AMI (voice/unattended_calls.py), or the caller's AGI
# when it comes back. Neither may speak for a long while (AMI down; an answered call's AGI
# returns only after the talk), so its safety timer is this long until an AMI resync shows the
# call still there and unanswered, which renews it to the plain ring time.
UNSEEN_RING_S = 3600.0
CHANNELS = ("voice", "chat", "ticket")
CUSTOMER_FAILURES = frozenset({"callback-no-answer", "callback-busy", "callback-failed"})
MAX_REASON = 64
# An exited interaction can be re-opened as a callback with its place for this long (the IVR
# asks "call you back?" after its own max wait); at most this many are remembered.
REOPEN_WINDOW_S = 900.0
REOPEN_KEPT = 10_000


@dataclass(slots=True, eq=False)
class Live:
    """An open interaction inside the engine."""

    id: str
    channel: str
    queue: str
    priority: int
    skills: dict[str, int]
    data: dict[str, Any]
    callback: CallbackRequest | None
    arrived_at: float
    queue_entered_at: float
    seq: int
    base_req: Requirement
    req: Requirement
    state: IS = IS.WAITING
    relax_step: int = -1
    attempts: int = 0
    agent_id: str | None = None
    offer_id: str | None = None
    offers: int = 0
    connected_at: float | None = None
    retry_at: float | None = None
    gen: int = 0  # bumped whenever queue timers must be re-armed


def screen_pop(rec: Live) -> dict[str, Any]:
    """What the agent's screen pops for ``rec`` (``Connected.data``): its data (caller id, flow,
    IVR path, the caller's inputs, lookups), plus the number to call for a callback."""
    data = dict(rec.data)
    if rec.callback:
        data["callback_number"] = rec.callback.number
    return data


@dataclass(slots=True)
class QueueStats:
    """Counters since start, for the wallboard and service level."""

    entered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    exited: int = 0


def check_reason(reason: str) -> str:
    """Pause/failure reasons are short, printable and wire-safe."""
    check_wire_safe(reason, "reason")
    if not 1 <= len(reason) <= MAX_REASON or not reason.isprintable():
        raise ValueError(f"reason must be 1..{MAX_REASON} printable characters")
    return reason


class EngineState:
    """Everything the engine knows, and the call/emit/timer plumbing every operation uses."""

    def __init__(self, config: RoutingConfig, rng_seed: int | None = None) -> None:
        problems = config.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.config = config
        self.queues: dict[str, QueueConfig] = dict(config.queues)
        self.agents: dict[str, AgentRuntime] = {
            aid: AgentRuntime(cfg, i) for i, (aid, cfg) in enumerate(config.agents.items())
        }
        self.live: dict[str, Live] = {}
        self.offers: dict[str, str] = {}  # offer id -> interaction id
        self.line = WaitingLine()
        self.ready = ReadyIndex()
        self.rng = random.Random(rng_seed)
        self.handle = {q: HandleTimes(c.aht_default_s) for q, c in self.queues.items()}
        self.stats = {q: QueueStats() for q in self.queues}
        self.staffed: dict[tuple[str, str], int] = {}
        self._rr: dict[str, int] = {}
        self._timers: list[tuple[float, int, str, str, int, int]] = []
        self._tseq = itertools.count()
        self._seq = 0
        self._events: list[RoutingEvent] = []
        self._dirty_live: dict[str, Live] = {}
        self._dirty_agents: set[str] = set()
        self._wrapping: dict[str, str] = {}  # offer id of a wrap-up slot -> agent id
        self._ring_due: dict[str, float] = {}  # offer id -> its renewed ring deadline
        self._exited: OrderedDict[str, tuple[float, Live]] = OrderedDict()  # id -> (when, rec)
        self._now = 0.0
        # While a restore rebuilds what agents were doing before the restart, their shown state
        # is set without AgentStateChanged: nothing changed for them, and the state history
        # (reports) must not get a logged_out -> available -> busy run at every restart.
        self._restoring_agents = False

    if TYPE_CHECKING:
        # engine_timers.EngineTimers, a subclass, defines it; every Engine has it.
        def _run_due(self, now: float) -> None: ...

    def _begin(self, now: float) -> None:
        self._run_due(now)

    def _end(self) -> list[RoutingEvent]:
        self._run_due(self._now)
        events, self._events = self._events, []
        return events

    def _emit(self, event: RoutingEvent) -> None:
        self._events.append(event)

    def _timer(self, when: float, kind: str, ref: str, gen: int = 0, arg: int = 0) -> None:
        heapq.heappush(self._timers, (when, next(self._tseq), kind, ref, gen, arg))

    def next_deadline(self) -> float | None:
        """Clock time of the earliest pending timer (possibly stale), or None."""
        return self._timers[0][0] if self._timers else None

    def tick(self, now: float) -> list[RoutingEvent]:
        """Run every timer due by ``now``."""
        self._begin(now)
        return self._end()

    def has_changes(self) -> bool:
        """True when ``take_changes`` would return rows."""
        return bool(self._dirty_live or self._dirty_agents)

    def take_changes(self) -> tuple[list[InteractionRecord], list[AgentRecord]]:
        """Rows changed since the last call, for persistence (each one's latest state)."""
        rows = [self._record(r) for r in self._dirty_live.values()]
        agents = [self._agent_record(self.agents[a]) for a in sorted(self._dirty_agents)]
        self._dirty_live.clear()
        self._dirty_agents.clear()
        return rows, agents

    def _touch(self, rec: Live) -> None:
        self._dirty_live[rec.id] = rec

    def _get(self, iid: str) -> Live:
        try:
            return self.live[iid]
        except KeyError:
            raise NotFound(f"no open interaction {iid!r}") from None

    def _agent(self, agent_id: str) -> AgentRuntime:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise NotFound(f"no agent {agent_id!r}") from None

    def _queue(self, name: str) -> QueueConfig:
        try:
            return self.queues[name]
        except KeyError:
            raise NotFound(f"no queue {name!r}") from None

    def _offer_of(self, offer_id: str) -> tuple[Live, AgentRuntime, Slot]:
        iid = self.offers.get(offer_id)
        if iid is None:
            raise NotFound(f"no pending offer {offer_id!r}")
        rec = self.live[iid]
        agent = self.agents[rec.agent_id]  # type: ignore[index]
        return rec, agent, agent.slots[offer_id]

    def position(self, iid: str, now: float) -> Position | None:
        """Current place and EWT of a waiting interaction; None when it is not waiting."""
        rec = self.live.get(iid)
        if rec is None or rec.state is not IS.WAITING:
            return None
        pos = self.line.position(iid)
        return Position(now, iid, rec.queue, pos, self.expected_wait(rec.queue, rec.channel, pos))

    def expected_wait(self, queue: str, channel: str, position: int) -> float | None:
        """EWT for ``position`` in ``queue`` (see routing/ewt.py)."""
        return expected_wait(
            position, self.handle[queue].average(), self.staffed.get((queue, channel), 0)
        )

    def _record(self, rec: Live) -> InteractionRecord:
        cb = None
        if rec.callback:
            cb = {
                "number": rec.callback.number,
                "max_attempts": rec.callback.max_attempts,
                "retry_after_s": rec.callback.retry_after_s,
            }
        return InteractionRecord(
            id=rec.id,
            channel=rec.channel,
            queue=rec.queue,
            priority=rec.priority,
            skills=dict(rec.skills),
            data=dict(rec.data),
            callback=cb,
            state=rec.state.value,
            arrived_at=rec.arrived_at,
            queue_entered_at=rec.queue_entered_at,
            seq=rec.seq,
            relax_step=rec.relax_step,
            attempts=rec.attempts,
            agent_id=rec.agent_id,
            offer_id=rec.offer_id,
            offers=rec.offers,
            connected_at=rec.connected_at,
            retry_at=rec.retry_at,
            updated_at=self._now,
        )

    def _agent_record(self, agent: AgentRuntime) -> AgentRecord:
        return AgentRecord(
            agent_id=agent.id,
            presence=agent.presence.value,
            pause_reason=agent.pause_reason,
            queues=list(agent.queues),
            answered_today=agent.answered_today,
            day=agent.day,
            updated_at=self._now,
            wrapups=[
                {"interaction_id": s.interaction_id, "channel": s.channel, "queue": s.queue,
                 "offer_id": s.offer_id, "since": s.since, "connected_at": s.connected_at}
                for s in agent.slots.values() if s.state is AgentState.WRAPUP
            ],
        )
