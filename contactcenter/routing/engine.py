"""The queue engine (ACD): a synchronous state machine over interactions and agents.

Design note. No I/O, no asyncio, no clock: every call takes ``now`` (clock seconds) and returns
the list of typed events it caused (``contactcenter.domain.routing_events``). Timers
(relaxation, overflow, max wait, announcements, ring timeout, wrap-up, callback retries) are
entries in one heap; every call first runs the timers due by ``now``, and ``next_deadline()``
tells the caller when to call ``tick``.

Invariants kept after every call (checked by tests/routing/test_routing_properties.py):
* each open interaction is in exactly one place: the waiting line, one agent's slot, or the
  callback-retry schedule;
* an agent never holds more slots on a channel than its capacity for that channel;
* no free agent and waiting interaction it could take are left side by side (matching runs on
  every arrival, relaxation, overflow, and on every agent becoming free);
* within one queue, priority and requirement, interactions are offered in arrival order.

Order when an agent serves many queues: it takes, among the heads of every group it can
serve in all its queues, the smallest key ``(-priority, first arrival time, arrival seq)``:
highest priority first, then longest waiting *since first arrival*, then arrival order.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import (
    CallbackRequest,
    Interaction,
    check_wire_safe,
)
from contactcenter.domain.interaction import (
    InteractionState as IS,
)
from contactcenter.domain.queue import Destination, DestinationType, QueueConfig
from contactcenter.domain.routing_events import (
    Abandoned,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentStateChanged,
    AgentUnpaused,
    CallbackRequested,
    CallbackScheduled,
    Completed,
    Connected,
    Entered,
    Exited,
    Offered,
    Overflowed,
    Position,
    Relaxed,
    Ringing,
    RingNoAnswer,
    RoutingEvent,
    Transferred,
    WrapupDone,
)
from contactcenter.domain.routing_records import AgentRecord, InteractionRecord
from contactcenter.domain.skills import Requirement, relax, requirement, satisfies
from contactcenter.routing.agent_index import ReadyIndex
from contactcenter.routing.agent_state import AgentRuntime, Slot, step
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.errors import Conflict, NotFound
from contactcenter.routing.ewt import HandleTimes, expected_wait
from contactcenter.routing.strategies import choose, eligible
from contactcenter.routing.waiting import WaitingLine

RING_GRACE_S = 5.0  # the voice side's Dial timeout fires first; this only catches lost reports
CHANNELS = ("voice", "chat", "ticket")
CUSTOMER_FAILURES = frozenset({"callback-no-answer", "callback-busy", "callback-failed"})
MAX_REASON = 64


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


class Engine:
    """Routes interactions to agents; every public method takes ``now`` and returns events."""

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
        self._now = 0.0

    # ----------------------------------------------------------------- plumbing
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

    def take_changes(self) -> tuple[list[InteractionRecord], list[AgentRecord]]:
        """Rows changed since the last call, for persistence."""
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

    # ----------------------------------------------------------------- interactions
    def enqueue(self, interaction: Interaction, now: float) -> list[RoutingEvent]:
        """Put a new interaction (its ``id`` set) in its queue's line and try to match it."""
        self._begin(now)
        iid = interaction.id
        if iid is None:
            raise ValueError("the engine needs interaction.id")
        if iid in self.live:
            raise Conflict(f"interaction {iid} is already open")
        queue = self._queue(interaction.queue)
        self._seq += 1
        base = requirement(queue.skills, interaction.skills)
        rec = Live(
            id=iid, channel=interaction.channel, queue=queue.name, priority=interaction.priority,
            skills=dict(interaction.skills), data=dict(interaction.data),
            callback=interaction.callback, arrived_at=now, queue_entered_at=now, seq=self._seq,
            base_req=base, req=base,
        )
        self.live[iid] = rec
        self.stats[queue.name].entered += 1
        self._enter_line(rec, entered=True)
        return self._end()

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

    def offer_ringing(self, offer_id: str, now: float) -> list[RoutingEvent]:
        """The agent's device started ringing."""
        self._begin(now)
        rec, agent, slot = self._offer_of(offer_id)
        slot.state = step(slot.state, "ring")
        self._emit(Ringing(now, rec.id, offer_id, agent.id))
        self._agent_changed(agent)
        return self._end()

    def offer_answered(self, offer_id: str, now: float) -> list[RoutingEvent]:
        """The agent (and for a callback, the customer) answered: connected."""
        self._begin(now)
        rec, agent, slot = self._offer_of(offer_id)
        if rec.state is not IS.OFFERED:
            raise Conflict(f"offer {offer_id} is already {rec.state.value}")
        slot.state = step(slot.state, "answer")
        slot.connected_at = now
        rec.state = IS.CONNECTED
        rec.connected_at = now
        wait = now - rec.arrived_at
        stats = self.stats[rec.queue]
        stats.answered += 1
        if wait <= self.queues[rec.queue].service_level_s:
            stats.answered_in_sl += 1
        day = int(now // 86400)
        if agent.day != day:
            agent.day, agent.answered_today = day, 0
        agent.answered_today += 1
        data = dict(rec.data)
        if rec.callback:
            data["callback_number"] = rec.callback.number
        self._emit(Connected(now, rec.id, offer_id, agent.id, rec.queue, wait, data))
        self._touch(rec)
        self._agent_changed(agent)
        return self._end()

    def offer_failed(self, offer_id: str, reason: str, now: float) -> list[RoutingEvent]:
        """The offer did not connect. Agent-side reasons pause the agent and put the
        interaction back at its place; ``callback-*`` reasons schedule a callback retry."""
        check_reason(reason)
        self._begin(now)
        self._fail(offer_id, reason)
        return self._end()

    def _fail(self, offer_id: str, reason: str) -> None:
        now = self._now
        rec, agent, slot = self._offer_of(offer_id)
        if rec.state is not IS.OFFERED:
            raise Conflict(f"offer {offer_id} is already {rec.state.value}")
        self._emit(RingNoAnswer(now, rec.id, offer_id, agent.id, reason))
        del self.offers[offer_id]
        rec.agent_id = rec.offer_id = None
        if reason in CUSTOMER_FAILURES and rec.callback is not None:
            queue = self.queues[rec.queue]
            rec.attempts += 1
            limit = rec.callback.max_attempts or queue.callback.max_attempts
            if rec.attempts >= limit:
                self._close(rec, IS.EXITED)
                self.stats[rec.queue].exited += 1
                self._emit(Exited(now, rec.id, rec.queue, "callback-failed", None))
            else:
                delay = rec.callback.retry_after_s
                rec.retry_at = now + (queue.callback.retry_after_s if delay is None else delay)
                rec.state = IS.SCHEDULED
                rec.gen += 1
                self._timer(rec.retry_at, "retry", rec.id, rec.gen)
                self._emit(CallbackScheduled(now, rec.id, rec.queue, rec.attempts, rec.retry_at))
                self._touch(rec)
            self._free_slot(agent, slot, "release")
            return
        # Pause first so that the interaction, back in line, cannot be re-offered to them.
        self._free_slot(agent, slot, "no_answer", "no answer" if reason == "no-answer" else reason)
        self._enter_line(rec)

    def abandon(self, iid: str, now: float) -> list[RoutingEvent]:
        """The customer left. Connected interactions are completed instead."""
        self._begin(now)
        rec = self._get(iid)
        if rec.state is IS.CONNECTED:
            self._complete(rec)
            return self._end()
        stage = rec.state.value
        held = None
        if rec.state is IS.WAITING:
            self.line.remove(iid)
        elif rec.state is IS.OFFERED:
            agent = self.agents[rec.agent_id]  # type: ignore[index]
            held = (agent, agent.slots[rec.offer_id])  # type: ignore[index]
            del self.offers[rec.offer_id]  # type: ignore[arg-type]
        self._close(rec, IS.ABANDONED)
        self.stats[rec.queue].abandoned += 1
        self._emit(Abandoned(now, iid, rec.queue, now - rec.arrived_at, stage))
        if held:
            self._free_slot(held[0], held[1], "release")
        return self._end()

    def complete(self, iid: str, now: float) -> list[RoutingEvent]:
        """The conversation ended; the agent goes to wrap-up."""
        self._begin(now)
        rec = self._get(iid)
        if rec.state is not IS.CONNECTED:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not connected")
        self._complete(rec)
        return self._end()

    def _complete(self, rec: Live) -> None:
        now = self._now
        agent = self.agents[rec.agent_id]  # type: ignore[index]
        slot = agent.slots[rec.offer_id]  # type: ignore[index]
        del self.offers[rec.offer_id]  # type: ignore[arg-type]
        slot.state = step(slot.state, "complete")
        self._close(rec, IS.COMPLETED)
        self._emit(Completed(now, rec.id, agent.id, rec.queue, now - (rec.connected_at or now)))
        self._start_wrapup(agent, slot)

    def _start_wrapup(self, agent: AgentRuntime, slot: Slot) -> None:
        slot.since = self._now
        wrapup = self.queues[slot.queue].wrapup_s
        self._agent_changed(agent)
        if wrapup > 0:
            self._wrapping[slot.offer_id] = agent.id
            self._timer(self._now + wrapup, "wrapup", slot.offer_id, 0, 0)
            self._dirty_agents.add(agent.id)
        else:
            self._finish_wrapup(agent, slot, None, None)

    def transfer(self, iid: str, to_queue: str, now: float) -> list[RoutingEvent]:
        """An agent sends a connected interaction to another queue (agent goes to wrap-up)."""
        self._begin(now)
        rec = self._get(iid)
        queue = self._queue(to_queue)
        if rec.state is not IS.CONNECTED:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not connected")
        agent = self.agents[rec.agent_id]  # type: ignore[index]
        slot = agent.slots[rec.offer_id]  # type: ignore[index]
        del self.offers[rec.offer_id]  # type: ignore[arg-type]
        slot.state = step(slot.state, "transfer")
        self._emit(Transferred(now, iid, rec.queue, queue.name, agent.id))
        rec.agent_id = rec.offer_id = rec.connected_at = None
        self._start_wrapup(agent, slot)
        self._move(rec, queue)
        return self._end()

    def leave(self, iid: str, now: float) -> list[RoutingEvent]:
        """The caller pressed the queue's leave key: go to its leave destination."""
        self._begin(now)
        rec = self._get(iid)
        dest = self.queues[rec.queue].leave_destination
        if dest is None:
            raise Conflict(f"queue {rec.queue} has no leave destination")
        if rec.state is not IS.WAITING:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not waiting")
        self._exit(rec, "leave-key", dest)
        return self._end()

    def withdraw(self, iid: str, reason: str, now: float) -> list[RoutingEvent]:
        """The channel side takes a waiting interaction back (e.g. the IVR's own max wait)."""
        self._begin(now)
        rec = self._get(iid)
        if rec.state is not IS.WAITING:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not waiting")
        self._exit(rec, reason, None)
        return self._end()

    def request_callback(self, iid: str, number: str, now: float) -> list[RoutingEvent]:
        """A waiting customer asks to be called back; they keep their place in line."""
        request = CallbackRequest(number)
        self._begin(now)
        rec = self._get(iid)
        if rec.state is not IS.WAITING:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not waiting")
        rec.callback = request
        rec.gen += 1  # stops announcements and max wait: nobody is holding any more
        self._arm_queue_timers(rec, announce=False)
        self._emit(CallbackRequested(now, iid, rec.queue, number))
        self._touch(rec)
        return self._end()

    # ----------------------------------------------------------------- agents
    def agent_login(
        self, agent_id: str, queues: Iterable[str] | None, now: float
    ) -> list[RoutingEvent]:
        """Log in (or change queues); ``queues`` None means the agent's configured queues."""
        self._begin(now)
        agent = self._agent(agent_id)
        names = tuple(dict.fromkeys(agent.config.queues if queues is None else queues))
        for name in names:
            self._queue(name)
        new = step(agent.presence, "login")
        self._detach(agent)
        agent.queues = names
        agent.presence = new
        agent.eligible_cache.clear()
        self._attach(agent)
        self._emit(AgentLoggedIn(now, agent_id, list(names)))
        self._agent_changed(agent)
        self._fill(agent)
        return self._end()

    def agent_logout(self, agent_id: str, now: float) -> list[RoutingEvent]:
        """Log out; refused while an interaction is offered to or handled by the agent."""
        self._begin(now)
        agent = self._agent(agent_id)
        if any(s.state is not AgentState.WRAPUP for s in agent.slots.values()):
            raise Conflict(f"agent {agent_id} has an interaction in progress")
        new = step(agent.presence, "logout")
        for slot in sorted(agent.slots.values(), key=lambda s: s.since):
            self._finish_wrapup(agent, slot, None, None, refill=False)
        self._detach(agent)
        agent.presence = new
        agent.pause_reason = None
        agent.queues = ()
        agent.eligible_cache.clear()
        self._emit(AgentLoggedOut(now, agent_id))
        self._agent_changed(agent)
        return self._end()

    def agent_pause(self, agent_id: str, reason: str, now: float) -> list[RoutingEvent]:
        """Stop new offers to the agent (work in progress continues)."""
        check_reason(reason)
        self._begin(now)
        self._pause(self._agent(agent_id), reason)
        return self._end()

    def _pause(self, agent: AgentRuntime, reason: str) -> None:
        new = step(agent.presence, "pause")
        self._detach(agent)
        agent.presence = new
        agent.pause_reason = reason
        self._emit(AgentPaused(self._now, agent.id, reason))
        self._agent_changed(agent, reason)

    def agent_unpause(self, agent_id: str, now: float) -> list[RoutingEvent]:
        """The agent takes offers again."""
        self._begin(now)
        agent = self._agent(agent_id)
        new = step(agent.presence, "unpause")
        agent.presence = new
        agent.pause_reason = None
        self._attach(agent)
        self._emit(AgentUnpaused(now, agent_id))
        self._agent_changed(agent)
        self._fill(agent)
        return self._end()

    def wrapup_done(
        self, agent_id: str, disposition: str | None, notes: str | None, now: float,
        interaction_id: str | None = None,
    ) -> list[RoutingEvent]:
        """End the agent's (oldest, or the named) wrap-up with a disposition code."""
        if disposition is not None:
            check_reason(disposition)
        if notes is not None:
            check_wire_safe(notes, "notes")
        self._begin(now)
        agent = self._agent(agent_id)
        slots = [
            s for s in agent.slots.values()
            if s.state is AgentState.WRAPUP
            and (interaction_id is None or s.interaction_id == interaction_id)
        ]
        if not slots:
            raise Conflict(f"agent {agent_id} is not in wrap-up")
        self._finish_wrapup(agent, min(slots, key=lambda s: s.since), disposition, notes)
        return self._end()

    def _finish_wrapup(
        self, agent: AgentRuntime, slot: Slot, disposition: str | None, notes: str | None,
        refill: bool = True,
    ) -> None:
        self._wrapping.pop(slot.offer_id, None)
        handle = self._now - (slot.connected_at if slot.connected_at is not None else slot.since)
        self.handle[slot.queue].add(handle)
        self._emit(WrapupDone(
            self._now, agent.id, slot.interaction_id, slot.queue, disposition, notes, handle
        ))
        self._free_slot(agent, slot, "wrapup_done", refill=refill)

    # ----------------------------------------------------------------- core moves
    def _enter_line(self, rec: Live, entered: bool = False) -> None:
        """Put ``rec`` in line at the place its key gives it, arm timers, try to match."""
        rec.state = IS.WAITING
        rec.retry_at = None
        self.line.add(rec.id, rec.queue, (rec.channel, rec.req),
                      (-rec.priority, rec.arrived_at, rec.seq))
        rec.gen += 1
        self._arm_queue_timers(rec, announce=True)
        self._touch(rec)
        if entered:
            pos = self.line.position(rec.id)
            self._emit(Entered(
                self._now, rec.id, rec.queue, rec.channel, rec.priority, dict(rec.req), pos,
                rec.callback.number if rec.callback else None,
            ))
        self._match(rec)
        if entered and rec.state is IS.WAITING and rec.callback is None:
            pos_event = self.position(rec.id, self._now)
            if pos_event:
                self._emit(pos_event)

    def _arm_queue_timers(self, rec: Live, announce: bool) -> None:
        queue = self.queues[rec.queue]
        t0, gen = rec.queue_entered_at, rec.gen
        for i, st in enumerate(queue.relaxation):
            if i > rec.relax_step:
                self._timer(t0 + st.after_s, "relax", rec.id, gen, i)
        for i, rule in enumerate(queue.overflow):
            self._timer(t0 + rule.after_s, "overflow", rec.id, gen, i)
        if rec.callback is None:
            if queue.max_wait_s is not None:
                self._timer(t0 + queue.max_wait_s, "maxwait", rec.id, gen)
            if announce and rec.channel == "voice" and queue.announce.interval_s > 0:
                self._timer(self._now + queue.announce.interval_s, "announce", rec.id, gen)

    def _move(self, rec: Live, queue: QueueConfig) -> None:
        """Re-queue ``rec`` in ``queue``: its timers restart, its arrival time is kept."""
        rec.queue = queue.name
        rec.queue_entered_at = self._now
        rec.relax_step = -1
        rec.base_req = rec.req = requirement(queue.skills, rec.skills)
        self.stats[queue.name].entered += 1
        self._enter_line(rec)

    def _exit(self, rec: Live, reason: str, dest: Destination | None) -> None:
        self.line.remove(rec.id)
        if dest is not None and dest.type is DestinationType.QUEUE:
            self._emit(Overflowed(self._now, rec.id, rec.queue, dest.target or "", reason))
            self._move(rec, self.queues[dest.target])  # type: ignore[index]
            return
        self._close(rec, IS.EXITED)
        self.stats[rec.queue].exited += 1
        self._emit(Exited(self._now, rec.id, rec.queue, reason, dest.as_dict() if dest else None))

    def _close(self, rec: Live, state: IS) -> None:
        rec.state = state
        rec.gen += 1
        del self.live[rec.id]
        self._touch(rec)

    def choose_agent(self, queue: str, channel: str, req: Requirement) -> AgentRuntime | None:
        """The free agent ``queue``'s strategy would pick for ``req`` now (no state change)."""
        ids = self.ready.candidates(queue, channel, req)
        return choose(
            self.queues[queue].strategy, eligible(ids, self.agents, req), req,
            self._rr.get(queue, -1), self.rng,
        )

    def _match(self, rec: Live) -> None:
        """Offer a waiting ``rec`` to a free agent with the skills, if there is one."""
        agent = self.choose_agent(rec.queue, rec.channel, rec.req)
        if agent is not None:
            self._offer(rec, agent)

    def _best_for(self, agent: AgentRuntime, channel: str) -> Live | None:
        """The waiting interaction ``agent`` should take next on ``channel`` (see note)."""
        best = None
        skills = agent.config.skills
        for queue in agent.queues:
            groups = self.line.groups(queue)
            if not groups:
                continue
            version = self.line.version.get(queue, 0)
            cached = agent.eligible_cache.get(queue)
            if cached is None or cached[0] != version:
                cached = (version, [g for g in groups if satisfies(skills, g[1])])
                agent.eligible_cache[queue] = cached
            for group in cached[1]:
                if group[0] != channel:
                    continue
                head = groups[group][0]
                if best is None or head < best:
                    best = head
        return self.live[best[3]] if best is not None else None

    def _fill(self, agent: AgentRuntime, channels: Iterable[str] = CHANNELS) -> None:
        """Give a newly free agent the best waiting interactions, up to its capacity."""
        for channel in channels:
            while agent.ready_for(channel):
                rec = self._best_for(agent, channel)
                if rec is None:
                    break
                self._offer(rec, agent)

    def _offer(self, rec: Live, agent: AgentRuntime) -> None:
        now = self._now
        queue = self.queues[rec.queue]
        self.line.remove(rec.id)
        rec.offers += 1
        offer_id = f"{rec.id}#{rec.offers}"
        slot = Slot(rec.id, rec.channel, rec.queue, offer_id, step(agent.presence, "reserve"), now)
        agent.slots[offer_id] = slot
        agent.used[rec.channel] = agent.used.get(rec.channel, 0) + 1
        self.offers[offer_id] = rec.id
        rec.state, rec.agent_id, rec.offer_id = IS.OFFERED, agent.id, offer_id
        rec.gen += 1
        self.ready.remove(agent.id, rec.channel)
        if agent.ready_for(rec.channel):
            self.ready.add(agent, rec.channel)
        self._rr[rec.queue] = agent.order
        ring = queue.ring_timeout_s * (2 if rec.callback else 1)
        self._timer(now + ring + RING_GRACE_S, "ring", offer_id)
        self._emit(Offered(
            now, rec.id, offer_id, agent.id, rec.queue, rec.channel, agent.config.dial_string,
            queue.ring_timeout_s, rec.callback.number if rec.callback else None, rec.attempts,
        ))
        self._touch(rec)
        self._agent_changed(agent)

    def _free_slot(
        self, agent: AgentRuntime, slot: Slot, event: str, pause_reason: str | None = None,
        refill: bool = True,
    ) -> None:
        new = step(slot.state, event)
        del agent.slots[slot.offer_id]
        agent.used[slot.channel] -= 1
        if new is AgentState.PAUSED and agent.presence is AgentState.AVAILABLE:
            self._pause(agent, pause_reason or "no answer")
        if agent.ready_for(slot.channel) and not self.ready.is_indexed(agent.id, slot.channel):
            self.ready.add(agent, slot.channel)
        self._agent_changed(agent)
        if refill:
            self._fill(agent, (slot.channel,))

    def _attach(self, agent: AgentRuntime) -> None:
        if agent.presence is not AgentState.AVAILABLE:
            return
        self._staff(agent, 1)
        for channel in CHANNELS:
            if agent.ready_for(channel):
                self.ready.add(agent, channel)

    def _detach(self, agent: AgentRuntime) -> None:
        if agent.presence is not AgentState.AVAILABLE:
            return
        self._staff(agent, -1)
        for channel in CHANNELS:
            self.ready.remove(agent.id, channel)

    def _staff(self, agent: AgentRuntime, sign: int) -> None:
        for queue in agent.queues:
            for channel, cap in agent.config.capacity.items():
                if cap:
                    key = (queue, channel)
                    self.staffed[key] = self.staffed.get(key, 0) + sign * cap

    def _agent_changed(self, agent: AgentRuntime, reason: str | None = None) -> None:
        self._dirty_agents.add(agent.id)
        shown = agent.shown_state()
        if shown is not agent.shown:
            if shown is AgentState.PAUSED and reason is None:
                reason = agent.pause_reason
            self._emit(AgentStateChanged(self._now, agent.id, shown.value, agent.shown.value, reason))
            agent.shown = shown

    # ----------------------------------------------------------------- timers
    def _run_due(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            when, _n, kind, ref, gen, arg = heapq.heappop(timers)
            # A timer acts at its own deadline (so late ticks still give exact virtual times),
            # but time never goes back: an overdue timer armed just now acts now.
            self._now = max(self._now, when)
            self._fire(kind, ref, gen, arg)
        self._now = max(self._now, now)

    def _fire(self, kind: str, ref: str, gen: int, arg: int) -> None:
        if kind in ("ring", "wrapup"):
            iid = self.offers.get(ref) if kind == "ring" else None
            if iid is not None and self.live[iid].state is IS.OFFERED:
                self._fail(ref, "no-answer")
            elif kind == "wrapup":
                self._wrapup_timeout(ref)
            return
        rec = self.live.get(ref)
        if rec is None or rec.gen != gen:
            return
        if kind == "retry" and rec.state is IS.SCHEDULED:
            self._enter_line(rec)
        elif rec.state is not IS.WAITING:
            return
        elif kind == "relax":
            self._relax(rec, arg)
        elif kind == "overflow":
            rule = self.queues[rec.queue].overflow[arg]
            self.line.remove(rec.id)
            self._emit(Overflowed(self._now, rec.id, rec.queue, rule.queue, "overflow"))
            self._move(rec, self.queues[rule.queue])
        elif kind == "maxwait" and rec.callback is None:
            self._exit(rec, "max-wait", self.queues[rec.queue].exit)
        elif kind == "announce" and rec.callback is None:
            self._emit(self.position(rec.id, self._now))  # type: ignore[arg-type]
            interval = self.queues[rec.queue].announce.interval_s
            self._timer(self._now + interval, "announce", rec.id, gen)

    def _wrapup_timeout(self, offer_id: str) -> None:
        agent_id = self._wrapping.get(offer_id)
        if agent_id is None:
            return
        agent = self.agents[agent_id]
        slot = agent.slots.get(offer_id)
        if slot is not None and slot.state is AgentState.WRAPUP:
            self._finish_wrapup(agent, slot, None, None)

    def _relax(self, rec: Live, index: int) -> None:
        if index <= rec.relax_step:
            return
        st = self.queues[rec.queue].relaxation[index]
        rec.relax_step = index
        new = relax(rec.base_req, st.lower_by, st.drop)
        self._touch(rec)
        if new == rec.req:
            return
        self.line.remove(rec.id)
        rec.req = new
        self.line.add(rec.id, rec.queue, (rec.channel, new),
                      (-rec.priority, rec.arrived_at, rec.seq))
        self._emit(Relaxed(self._now, rec.id, rec.queue, index, dict(new)))
        self._match(rec)

    # ----------------------------------------------------------------- restart
    def restore(
        self, agents: Iterable[AgentRecord], interactions: Iterable[InteractionRecord], now: float
    ) -> list[RoutingEvent]:
        """Rebuild from stored rows: agents first, then open interactions in line order.

        Offers that were ringing are void (the dial died with the old process): the
        interaction goes back to its place and the agent is freed, not paused.
        """
        self._begin(now)
        for row in agents:
            agent = self.agents.get(row.agent_id)
            if agent is None or row.presence == AgentState.LOGGED_OUT.value:
                continue
            agent.queues = tuple(q for q in row.queues if q in self.queues)
            agent.presence = AgentState(row.presence)
            agent.pause_reason = row.pause_reason
            agent.answered_today, agent.day = row.answered_today, row.day
            self._attach(agent)
            self._agent_changed(agent)
        rows = sorted(interactions, key=lambda r: (-r.priority, r.arrived_at, r.seq))
        for row in rows:
            self._seq = max(self._seq, row.seq)
        # Connected ones first: they hold agents' capacity before anyone is matched.
        for row in rows:
            if row.state == IS.CONNECTED.value:
                self._restore_one(row)
        for row in rows:
            if row.state != IS.CONNECTED.value:
                self._restore_one(row)
        for agent in self.agents.values():
            self._fill(agent)
        return self._end()

    def _restore_one(self, row: InteractionRecord) -> None:
        queue = self.queues.get(row.queue)
        if queue is None or row.id in self.live:
            return
        base = requirement(queue.skills, row.skills)
        req = base
        if 0 <= row.relax_step < len(queue.relaxation):
            st = queue.relaxation[row.relax_step]
            req = relax(base, st.lower_by, st.drop)
        cb = CallbackRequest(**row.callback) if row.callback else None
        rec = Live(
            id=row.id, channel=row.channel, queue=row.queue, priority=row.priority,
            skills=dict(row.skills), data=dict(row.data), callback=cb, arrived_at=row.arrived_at,
            queue_entered_at=row.queue_entered_at, seq=row.seq, base_req=base, req=req,
            relax_step=row.relax_step, attempts=row.attempts, offers=row.offers,
        )
        self.live[rec.id] = rec
        agent = self.agents.get(row.agent_id or "")
        if row.state == IS.CONNECTED.value and agent is not None and row.offer_id:
            slot = Slot(rec.id, rec.channel, rec.queue, row.offer_id, AgentState.BUSY,
                        row.connected_at or self._now, row.connected_at)
            agent.slots[row.offer_id] = slot
            agent.used[rec.channel] = agent.used.get(rec.channel, 0) + 1
            self.ready.remove(agent.id, rec.channel)
            if agent.ready_for(rec.channel):
                self.ready.add(agent, rec.channel)
            self.offers[row.offer_id] = rec.id
            rec.state, rec.agent_id, rec.offer_id = IS.CONNECTED, agent.id, row.offer_id
            rec.connected_at = row.connected_at
            self._touch(rec)
            self._agent_changed(agent)
        elif row.state == IS.SCHEDULED.value and row.retry_at is not None:
            rec.state, rec.retry_at = IS.SCHEDULED, row.retry_at
            rec.gen += 1
            self._timer(row.retry_at, "retry", rec.id, rec.gen)
        else:
            self._enter_line(rec)

    # ----------------------------------------------------------------- rows
    def _record(self, rec: Live) -> InteractionRecord:
        cb = None
        if rec.callback:
            cb = {"number": rec.callback.number, "max_attempts": rec.callback.max_attempts,
                  "retry_after_s": rec.callback.retry_after_s}
        return InteractionRecord(
            id=rec.id, channel=rec.channel, queue=rec.queue, priority=rec.priority,
            skills=dict(rec.skills), data=dict(rec.data), callback=cb, state=rec.state.value,
            arrived_at=rec.arrived_at, queue_entered_at=rec.queue_entered_at, seq=rec.seq,
            relax_step=rec.relax_step, attempts=rec.attempts, agent_id=rec.agent_id,
            offer_id=rec.offer_id, offers=rec.offers, connected_at=rec.connected_at,
            retry_at=rec.retry_at, updated_at=self._now,
        )

    def _agent_record(self, agent: AgentRuntime) -> AgentRecord:
        return AgentRecord(
            agent_id=agent.id, presence=agent.presence.value, pause_reason=agent.pause_reason,
            queues=list(agent.queues), answered_today=agent.answered_today, day=agent.day,
            updated_at=self._now,
        )
