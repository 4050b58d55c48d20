"""The queue engine's timers: ring timeout, wrap-up, relaxation, overflow, max wait,
announcements and callback retries, all entries of one heap fired in deadline order."""

from __future__ import annotations

import heapq

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import (
    InteractionState as IS,
)
from contactcenter.domain.routing_events import (
    Overflowed,
    Relaxed,
)
from contactcenter.domain.skills import relax
from contactcenter.routing.engine_moves import EngineMoves
from contactcenter.routing.engine_state import Live


class EngineTimers(EngineMoves):
    """Runs the timers due by ``now`` (each at its own deadline, never going back in time)."""

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
        if kind == "ring" and ref in self._ring_due:
            if self._now < self._ring_due[ref]:
                return  # an earlier timer of an offer renewed since (renew_offer)
            del self._ring_due[ref]
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
        self.line.add(
            rec.id, rec.queue, (rec.channel, new), (-rec.priority, rec.arrived_at, rec.seq)
        )
        self._emit(Relaxed(self._now, rec.id, rec.queue, index, dict(new)))
        self._match(rec)
