"""The queue engine's core moves: into line, offer, free, exit, wrap-up; matching both ways.

Every move keeps the engine's invariants (see ``engine.py``): matching runs whenever an
interaction enters a line and whenever an agent's capacity frees up.
"""

from __future__ import annotations

from collections.abc import Iterable

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import (
    InteractionState as IS,
)
from contactcenter.domain.queue import Destination, DestinationType, QueueConfig
from contactcenter.domain.routing_events import (
    AgentPaused,
    AgentStateChanged,
    CallbackScheduled,
    Completed,
    Entered,
    Exited,
    Offered,
    Overflowed,
    RingNoAnswer,
    RoutingEvent,
    WrapupDone,
)
from contactcenter.domain.skills import Requirement, requirement, satisfies
from contactcenter.routing.agent_state import AgentRuntime, Slot, step
from contactcenter.routing.engine_state import (
    CHANNELS,
    CUSTOMER_FAILURES,
    REOPEN_KEPT,
    REOPEN_WINDOW_S,
    RING_GRACE_S,
    EngineState,
    Live,
)
from contactcenter.routing.errors import Conflict, NotFound
from contactcenter.routing.strategies import choose, eligible


class EngineMoves(EngineState):
    """Moves of interactions and agents between the line, agents' slots and closed."""

    def _enter_line(self, rec: Live, entered: bool = False) -> None:
        """Put ``rec`` in line at the place its key gives it, arm timers, try to match."""
        rec.state = IS.WAITING
        rec.retry_at = None
        self.line.add(
            rec.id, rec.queue, (rec.channel, rec.req), (-rec.priority, rec.arrived_at, rec.seq)
        )
        rec.gen += 1
        self._arm_queue_timers(rec, announce=True)
        self._touch(rec)
        if entered:
            pos = self.line.position(rec.id)
            self._emit(
                Entered(
                    self._now,
                    rec.id,
                    rec.queue,
                    rec.channel,
                    rec.priority,
                    dict(rec.req),
                    pos,
                    rec.callback.number if rec.callback else None,
                )
            )
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
        self._keep_exited(rec)
        self._emit(Exited(self._now, rec.id, rec.queue, reason, dest.as_dict() if dest else None))

    def _keep_exited(self, rec: Live) -> None:
        """Remember an exit for a while: the customer may still ask for a callback (reopen)."""
        kept = self._exited
        kept[rec.id] = (self._now, rec)
        kept.move_to_end(rec.id)
        while kept and (len(kept) > REOPEN_KEPT
                        or next(iter(kept.values()))[0] < self._now - REOPEN_WINDOW_S):
            kept.popitem(last=False)

    def _reopen(self, iid: str) -> Live:
        """Take back a recently exited interaction, closed no more than REOPEN_WINDOW_S ago.

        The caller then gives it a callback and puts it in line: its key (priority, first
        arrival, sequence) is the original one, so it keeps its place.
        """
        if iid in self.live:
            raise Conflict(f"interaction {iid} is open")
        item = self._exited.pop(iid, None)
        if item is None or item[0] < self._now - REOPEN_WINDOW_S:
            raise NotFound(f"no recently exited interaction {iid!r}")
        rec = item[1]
        self.live[iid] = rec
        stats = self.stats[rec.queue]  # it did not leave after all (if it left today)
        stats.exited = max(0, stats.exited - 1)
        return rec

    def _close(self, rec: Live, state: IS) -> None:
        rec.state = state
        rec.gen += 1
        del self.live[rec.id]
        self._touch(rec)

    def choose_agent(self, queue: str, channel: str, req: Requirement) -> AgentRuntime | None:
        """The free agent ``queue``'s strategy would pick for ``req`` now (no state change)."""
        ids = self.ready.candidates(queue, channel, req)
        return choose(
            self.queues[queue].strategy,
            eligible(ids, self.agents, req),
            req,
            self._rr.get(queue, -1),
            self.rng,
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

    def _offer(self, rec: Live, agent: AgentRuntime, waiting: bool = True,
               how: str = "reserve") -> None:
        now = self._now
        queue = self.queues[rec.queue]
        if waiting:  # else handed over from an agent's slot (``transfer_to_agent``)
            self.line.remove(rec.id)
        rec.offers += 1
        offer_id = f"{rec.id}#{rec.offers}"
        self._take_slot(agent, Slot(rec.id, rec.channel, rec.queue, offer_id,
                                    step(agent.presence, how), now))
        self.offers[offer_id] = rec.id
        rec.state, rec.agent_id, rec.offer_id = IS.OFFERED, agent.id, offer_id
        rec.gen += 1
        self._rr[rec.queue] = agent.order
        ring = queue.ring_timeout_s * (2 if rec.callback else 1)
        self._timer(now + ring + RING_GRACE_S, "ring", offer_id)
        self._emit(
            Offered(
                now,
                rec.id,
                offer_id,
                agent.id,
                rec.queue,
                rec.channel,
                agent.config.dial_string,
                queue.ring_timeout_s,
                rec.callback.number if rec.callback else None,
                rec.attempts,
            )
        )
        self._touch(rec)
        self._agent_changed(agent)

    def renew_offer(self, offer_id: str, now: float) -> list[RoutingEvent]:
        """The party that carries out an offer picked it up again (after a restart, before
        it dialled): the ring safety timer counts from now, so it still fires after the dial's
        own ring timeout."""
        self._begin(now)
        rec, _agent, _slot = self._offer_of(offer_id)
        if rec.state is IS.OFFERED:
            queue = self.queues[rec.queue]
            due = now + queue.ring_timeout_s * (2 if rec.callback else 1) + RING_GRACE_S
            self._ring_due[offer_id] = due
            self._timer(due, "ring", offer_id)
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

    def _back_to(self, at: float | None, lower: float | None) -> float:
        """The time a fact the telephony side learned late really happened: ``at`` kept
        between ``lower`` (what came before it: the offer, the answer) and now; now without
        ``at``. Only the logged fact goes back: the engine's own clock never does."""
        if at is None:
            return self._now
        return min(self._now, max(at, lower if lower is not None else at))

    def _complete(self, rec: Live, at: float | None = None) -> None:
        now = self._back_to(at, rec.connected_at)
        agent = self.agents[rec.agent_id]  # type: ignore[index]
        slot = agent.slots[rec.offer_id]  # type: ignore[index]
        del self.offers[rec.offer_id]  # type: ignore[arg-type]
        slot.state = step(slot.state, "complete")
        self._close(rec, IS.COMPLETED)
        self._emit(Completed(now, rec.id, agent.id, rec.queue, now - (rec.connected_at or now)))
        self._start_wrapup(agent, slot, now)

    def _start_wrapup(self, agent: AgentRuntime, slot: Slot, since: float | None = None) -> None:
        # ``since``: a conversation that really ended earlier has been in wrap-up since then.
        slot.since = self._now if since is None else since
        wrapup = self.queues[slot.queue].wrapup_s
        self._agent_changed(agent)
        if wrapup > 0:
            self._wrapping[slot.offer_id] = agent.id
            self._timer(slot.since + wrapup, "wrapup", slot.offer_id, 0, 0)
            self._dirty_agents.add(agent.id)
        else:
            self._finish_wrapup(agent, slot, None, None)

    def _finish_wrapup(
        self,
        agent: AgentRuntime,
        slot: Slot,
        disposition: str | None,
        notes: str | None,
        refill: bool = True,
        ended_at: float | None = None,
    ) -> None:
        self._wrapping.pop(slot.offer_id, None)
        # ``ended_at``: a wrap-up that timed out while the server was down ended back then.
        end = self._now if ended_at is None else min(ended_at, self._now)
        handle = end - (slot.connected_at if slot.connected_at is not None else slot.since)
        self.handle[slot.queue].add(handle)
        self._emit(
            WrapupDone(
                self._now, agent.id, slot.interaction_id, slot.queue, disposition, notes, handle
            )
        )
        self._free_slot(agent, slot, "wrapup_done", refill=refill)

    def _pause(self, agent: AgentRuntime, reason: str) -> None:
        new = step(agent.presence, "pause")
        self._detach(agent)
        agent.presence = new
        agent.pause_reason = reason
        self._emit(AgentPaused(self._now, agent.id, reason))
        self._agent_changed(agent, reason)

    def _take_slot(self, agent: AgentRuntime, slot: Slot) -> None:
        """``slot`` now holds some of ``agent``'s capacity on its channel; the ready index
        follows (the agent stays indexed only while it has capacity left there)."""
        agent.slots[slot.offer_id] = slot
        agent.used[slot.channel] = agent.used.get(slot.channel, 0) + 1
        self.ready.remove(agent.id, slot.channel)
        if agent.ready_for(slot.channel):
            self.ready.add(agent, slot.channel)

    def _free_slot(
        self,
        agent: AgentRuntime,
        slot: Slot,
        event: str,
        pause_reason: str | None = None,
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
            if self._restoring_agents:
                agent.shown = shown
                return
            if shown is AgentState.PAUSED and reason is None:
                reason = agent.pause_reason
            self._emit(
                AgentStateChanged(self._now, agent.id, shown.value, agent.shown.value, reason)
            )
            agent.shown = shown
