"""Rebuilding the queue engine after a restart from the stored interaction and agent rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import (
    CallbackRequest,
)
from contactcenter.domain.interaction import (
    InteractionState as IS,
)
from contactcenter.domain.routing_events import (
    RoutingEvent,
)
from contactcenter.domain.routing_records import AgentRecord, InteractionRecord
from contactcenter.domain.skills import relax, requirement
from contactcenter.routing.agent_state import AgentRuntime, Slot, step
from contactcenter.routing.engine_state import (
    CHANNELS,
    REOPEN_KEPT,
    REOPEN_WINDOW_S,
    UNSEEN_RING_S,
    Live,
)
from contactcenter.routing.engine_timers import EngineTimers


class EngineRestore(EngineTimers):
    """``restore``: agents (with their wrap-ups) first, then connected interactions, then the
    lines in order."""

    def restore(
        self, agents: Iterable[AgentRecord], interactions: Iterable[InteractionRecord], now: float,
        exited: Iterable[InteractionRecord] = (),
    ) -> list[RoutingEvent]:
        """Rebuild from stored rows: agents first, then open interactions in line order.

        A voice call's offer that was ringing stays offered to the same agent, who stays
        reserved: Asterisk carries on with the Dial when the server goes away (the agent may
        answer and talk before the caller's AGI comes back, which only happens when Dial
        returns), and the telephony side settles it (``UnattendedCalls``, ``VoiceQueue.resume``);
        until then its ring safety timer is ``UNSEEN_RING_S`` (renewed to the ring time by an
        AMI resync that finds the call still unanswered, ``renew_offer``). Other offers are
        void (a callback's legs are found again by the dialer, a chat or ticket offer is
        re-made): the interaction goes back to its place and the agent is freed, not paused. A
        wrap-up in progress is restored with its remaining time (counted from when it started); one whose
        time ran out meanwhile ends at once as timed out (``WrapupDone`` without disposition).
        ``exited``: rows of interactions that left a queue lately (see ``restore_exits``).
        """
        self._begin(now)
        try:
            return self._restore(agents, interactions, exited)
        finally:
            self._restoring_agents = False

    def _restore(self, agents: Iterable[AgentRecord], interactions: Iterable[InteractionRecord],
                 exited: Iterable[InteractionRecord]) -> list[RoutingEvent]:
        self.restore_exits(exited)
        overdue: list[tuple[AgentRuntime, Slot, float]] = []
        self._restoring_agents = True
        for row in agents:
            agent = self.agents.get(row.agent_id)
            if agent is None or row.presence == AgentState.LOGGED_OUT.value:
                continue
            agent.queues = tuple(q for q in row.queues if q in self.queues)
            agent.presence = AgentState(row.presence)
            agent.pause_reason = row.pause_reason
            agent.answered_today, agent.day = row.answered_today, row.day
            for item in row.wrapups:  # before _attach: a wrap-up holds its slot
                due = self._restore_wrapup(agent, item)
                if due is not None:
                    overdue.append((agent, due[0], due[1]))
            self._attach(agent)
            self._agent_changed(agent)
        # Wrap-ups whose time ran out while the server was away end now, as timed out, with
        # the handle time they had at their deadline: real changes, logged.
        self._restoring_agents = False
        for agent, slot, deadline in overdue:
            self._finish_wrapup(agent, slot, None, None, refill=False, ended_at=deadline)
        self._restoring_agents = True
        rows = sorted(interactions, key=lambda r: (-r.priority, r.arrived_at, r.seq))
        for irow in rows:
            self._seq = max(self._seq, irow.seq)
        # Connected ones and ringing calls first: they hold agents' capacity before anyone is
        # matched.
        held = (IS.CONNECTED.value, IS.OFFERED.value)
        for irow in rows:
            if irow.state in held:
                self._restore_one(irow)
        for irow in rows:
            if irow.state not in held:
                self._restore_one(irow)
        self._restoring_agents = False
        for agent in self.agents.values():
            self._fill(agent)
        return self._end()

    def _restore_wrapup(
        self, agent: AgentRuntime, item: Mapping[str, Any]
    ) -> tuple[Slot, float] | None:
        """Give ``agent`` back a stored wrap-up slot; its timer counts from when it started.

        Returns (slot, deadline) when the deadline has already passed (the caller ends it).
        """
        try:
            queue = self.queues[str(item["queue"])]
            channel, offer_id = str(item["channel"]), str(item["offer_id"])
            since = float(item["since"])
            connected = item.get("connected_at")
            slot = Slot(str(item["interaction_id"]), channel, queue.name, offer_id,
                        AgentState.WRAPUP, since, None if connected is None else float(connected))
        except (KeyError, TypeError, ValueError):
            return None  # a queue no longer configured, or a damaged row: nothing to hold
        if channel not in CHANNELS or offer_id in agent.slots:
            return None
        agent.slots[offer_id] = slot
        agent.used[channel] = agent.used.get(channel, 0) + 1
        deadline = since + queue.wrapup_s
        if deadline <= self._now:
            return slot, deadline
        self._wrapping[offer_id] = agent.id
        self._timer(deadline, "wrapup", offer_id, 0, 0)
        return None

    def _restore_one(self, row: InteractionRecord) -> None:
        if row.queue not in self.queues or row.id in self.live:
            return
        rec = self._live_from(row)
        self.live[rec.id] = rec
        agent = self.agents.get(row.agent_id or "")
        if row.state == IS.CONNECTED.value and agent is not None and row.offer_id:
            self._take_slot(agent, Slot(rec.id, rec.channel, rec.queue, row.offer_id,
                                        AgentState.BUSY, row.connected_at or self._now,
                                        row.connected_at))
            self.offers[row.offer_id] = rec.id
            rec.state, rec.agent_id, rec.offer_id = IS.CONNECTED, agent.id, row.offer_id
            rec.connected_at = row.connected_at
            self._touch(rec)
            self._agent_changed(agent)
        elif row.state == IS.OFFERED.value and self._restore_ringing(rec, row):
            pass
        elif row.state == IS.SCHEDULED.value and row.retry_at is not None:
            rec.state, rec.retry_at = IS.SCHEDULED, row.retry_at
            rec.gen += 1
            self._timer(row.retry_at, "retry", rec.id, rec.gen)
        else:
            self._enter_line(rec)

    def _restore_ringing(self, rec: Live, row: InteractionRecord) -> bool:
        """Keep a voice call's ringing offer (see ``restore``); False when it cannot be kept
        (a callback, a chat or ticket, an agent gone, logged out or without room)."""
        agent = self.agents.get(row.agent_id or "")
        if (rec.channel != "voice" or rec.callback is not None or agent is None
                or not row.offer_id or row.offer_id in self.offers
                or not agent.ready_for(rec.channel)):
            return False
        # The slot dates from the offer (its row's last change), not from the restart: an
        # answer learned late (stamped while no server listened) is kept no earlier than that.
        since = min(row.updated_at, self._now) if row.updated_at else self._now
        self._take_slot(agent, Slot(rec.id, rec.channel, rec.queue, row.offer_id,
                                    step(agent.presence, "reserve"), since))
        self.offers[row.offer_id] = rec.id
        rec.state, rec.agent_id, rec.offer_id = IS.OFFERED, agent.id, row.offer_id
        self._timer(self._now + UNSEEN_RING_S, "ring", row.offer_id)
        self._touch(rec)
        self._agent_changed(agent)
        return True

    def _live_from(self, row: InteractionRecord) -> Live:
        """The engine's record of a stored interaction row (its queue must exist)."""
        queue = self.queues[row.queue]
        base = requirement(queue.skills, row.skills)
        req = base
        if 0 <= row.relax_step < len(queue.relaxation):
            st = queue.relaxation[row.relax_step]
            req = relax(base, st.lower_by, st.drop)
        return Live(
            id=row.id,
            channel=row.channel,
            queue=row.queue,
            priority=row.priority,
            skills=dict(row.skills),
            data=dict(row.data),
            callback=CallbackRequest(**row.callback) if row.callback else None,
            arrived_at=row.arrived_at,
            queue_entered_at=row.queue_entered_at,
            seq=row.seq,
            base_req=base,
            req=req,
            relax_step=row.relax_step,
            attempts=row.attempts,
            offers=row.offers,
        )

    def restore_exits(self, rows: Iterable[InteractionRecord]) -> None:
        """Remember again the interactions that left a queue shortly before the restart (rows
        in state ``exited``, oldest first), so that their customer can still ask for a
        callback and keep their place (``request_callback`` reopens them). A callback whose
        attempts ran out is not one of them."""
        for row in sorted(rows, key=lambda r: r.updated_at):
            if (row.state != IS.EXITED.value or row.callback is not None
                    or row.queue not in self.queues or row.id in self.live):
                continue
            rec = self._live_from(row)
            rec.state = IS.EXITED
            self._exited[rec.id] = (row.updated_at, rec)
            self._exited.move_to_end(rec.id)
        while self._exited and (len(self._exited) > REOPEN_KEPT or next(
                iter(self._exited.values()))[0] < self._now - REOPEN_WINDOW_S):
            self._exited.popitem(last=False)
