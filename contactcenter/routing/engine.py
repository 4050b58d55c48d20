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

import re
from collections.abc import Iterable, Mapping
from typing import Any

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import (
    CallbackRequest,
    Interaction,
    check_data,
    check_wire_safe,
)
from contactcenter.domain.interaction import (
    InteractionState as IS,
)
from contactcenter.domain.routing_events import (
    Abandoned,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUnpaused,
    CallbackRequested,
    Connected,
    Held,
    Ringing,
    RoutingEvent,
    Transferred,
    Unheld,
)
from contactcenter.domain.skills import requirement
from contactcenter.routing.agent_state import step
from contactcenter.routing.engine_config import EngineConfig
from contactcenter.routing.engine_restore import EngineRestore
from contactcenter.routing.engine_state import (  # re-exported: callers import them from here
    CHANNELS,
    CUSTOMER_FAILURES,
    MAX_REASON,
    RING_GRACE_S,
    Live,
    QueueStats,
    check_reason,
    screen_pop,
)
from contactcenter.routing.errors import Conflict

HOLD_KEY = "on_hold_since"  # in an interaction's data while its customer is on hold
_OUTSIDE_NUMBER = re.compile(r"\+?[0-9]{1,20}")


def check_outside_number(number: str) -> str:
    """A number an agent may transfer to: digits, optionally a leading +, at most 20."""
    if not isinstance(number, str) or not _OUTSIDE_NUMBER.fullmatch(number):
        raise ValueError("number must be digits, optionally after a +, at most 20")
    return number


class Engine(EngineConfig, EngineRestore):
    """Routes interactions to agents; every public method takes ``now`` and returns events."""

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
            id=iid,
            channel=interaction.channel,
            queue=queue.name,
            priority=interaction.priority,
            skills=dict(interaction.skills),
            data=dict(interaction.data),
            callback=interaction.callback,
            arrived_at=now if interaction.arrived_at is None else min(now, interaction.arrived_at),
            queue_entered_at=now,
            seq=self._seq,
            base_req=base,
            req=base,
        )
        self.live[iid] = rec
        self.stats[queue.name].entered += 1
        self._enter_line(rec, entered=True)
        return self._end()

    def offer_ringing(self, offer_id: str, now: float) -> list[RoutingEvent]:
        """The agent's device started ringing."""
        self._begin(now)
        rec, agent, slot = self._offer_of(offer_id)
        slot.state = step(slot.state, "ring")
        self._emit(Ringing(now, rec.id, offer_id, agent.id))
        self._agent_changed(agent)
        return self._end()

    def offer_answered(self, offer_id: str, now: float, at: float | None = None
                       ) -> list[RoutingEvent]:
        """The agent (and for a callback, the customer) answered: connected. ``at``: when
        that really happened, if earlier than ``now`` (the telephony side learned it late, e.g.
        across a restart); the log's connect and the wait are taken at it."""
        self._begin(now)
        rec, agent, slot = self._offer_of(offer_id)
        if rec.state is not IS.OFFERED:
            raise Conflict(f"offer {offer_id} is already {rec.state.value}")
        now = self._back_to(at, slot.since)
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
        self._emit(Connected(now, rec.id, offer_id, agent.id, rec.queue, wait, screen_pop(rec)))
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

    def abandon(self, iid: str, now: float, at: float | None = None) -> list[RoutingEvent]:
        """The customer left (``at``: really, when earlier than ``now``). Connected
        interactions are completed instead."""
        self._begin(now)
        rec = self._get(iid)
        if rec.state is IS.CONNECTED:
            self._end_hold(rec)
            self._complete(rec, at)
            return self._end()
        now = self._back_to(at, rec.arrived_at)
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

    def complete(self, iid: str, now: float, at: float | None = None) -> list[RoutingEvent]:
        """The conversation ended (``at``: really, when earlier than ``now``); the agent goes
        to wrap-up, counted from that end."""
        self._begin(now)
        rec = self._get(iid)
        if rec.state is not IS.CONNECTED:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not connected")
        self._end_hold(rec)
        self._complete(rec, at)
        return self._end()

    def transfer(self, iid: str, to_queue: str, now: float) -> list[RoutingEvent]:
        """An agent sends a connected interaction to another queue (agent goes to wrap-up)."""
        self._begin(now)
        rec = self._get(iid)
        queue = self._queue(to_queue)
        if rec.state is not IS.CONNECTED:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not connected")
        agent = self.agents[rec.agent_id]  # type: ignore[index]
        slot = agent.slots[rec.offer_id]  # type: ignore[index]
        self._end_hold(rec)
        del self.offers[rec.offer_id]  # type: ignore[arg-type]
        slot.state = step(slot.state, "transfer")
        self._emit(Transferred(now, iid, rec.queue, queue.name, agent.id))
        rec.agent_id = rec.offer_id = rec.connected_at = None
        self._start_wrapup(agent, slot)
        self._move(rec, queue)
        return self._end()

    def transfer_to_agent(self, iid: str, agent_id: str, now: float) -> list[RoutingEvent]:
        """An agent hands a connected interaction to one named colleague: offered to that
        colleague at once (same queue; the first agent goes to wrap-up). Refused, with nothing
        changed, unless the colleague is logged in, not paused and has a free slot on its
        channel. Not answered, it waits in its queue's line for anyone, as any failed offer."""
        self._begin(now)
        rec = self._connected(iid)
        target = self._agent(agent_id)
        if agent_id == rec.agent_id:
            raise Conflict(f"agent {agent_id} already has interaction {iid}")
        if not target.ready_for(rec.channel):
            raise Conflict(f"agent {agent_id} cannot take a {rec.channel} now "
                           f"({target.shown_state().value})")
        agent = self.agents[rec.agent_id]  # type: ignore[index]
        slot = agent.slots[rec.offer_id]  # type: ignore[index]
        self._end_hold(rec)
        del self.offers[rec.offer_id]  # type: ignore[arg-type]
        slot.state = step(slot.state, "transfer")
        self._emit(Transferred(now, iid, rec.queue, rec.queue, agent.id, to_agent=agent_id))
        rec.agent_id = rec.offer_id = rec.connected_at = None
        # As a transfer to a queue: should the colleague not answer, its queue's timers
        # (relaxation, overflow, max wait) count from now, not from its first time in line.
        rec.queue_entered_at, rec.relax_step, rec.req = now, -1, rec.base_req
        # Offered before the wrap-up starts: a wrap-up of 0 s refills the first agent at once.
        self._offer(rec, target, waiting=False)
        self._start_wrapup(agent, slot)
        return self._end()

    def transfer_out(self, iid: str, number: str, now: float) -> list[RoutingEvent]:
        """An agent sends a connected interaction blind to an outside number: it ends here
        (``Transferred`` with ``to_number``, then ``Completed``; the agent goes to wrap-up)."""
        check_outside_number(number)
        self._begin(now)
        rec = self._connected(iid)
        self._end_hold(rec)
        self._emit(Transferred(now, iid, rec.queue, "", rec.agent_id, number))
        self._complete(rec)
        return self._end()

    def hold(self, iid: str, now: float) -> list[RoutingEvent]:
        """The agent puts a connected interaction on hold (``data[HOLD_KEY]`` = since when)."""
        self._begin(now)
        rec = self._connected(iid)
        if HOLD_KEY in rec.data:
            raise Conflict(f"interaction {iid} is already on hold")
        rec.data[HOLD_KEY] = now
        self._emit(Held(now, iid, rec.agent_id or "", rec.queue))
        self._touch(rec)
        return self._end()

    def unhold(self, iid: str, now: float) -> list[RoutingEvent]:
        """The customer on hold is talking to the agent again."""
        self._begin(now)
        rec = self._connected(iid)
        if HOLD_KEY not in rec.data:
            raise Conflict(f"interaction {iid} is not on hold")
        self._end_hold(rec)
        return self._end()

    def _connected(self, iid: str) -> Live:
        rec = self._get(iid)
        if rec.state is not IS.CONNECTED:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not connected")
        return rec

    def _end_hold(self, rec: Live) -> None:
        """Close a hold in progress (resume, transfer, end of the call): ``Unheld``."""
        since = rec.data.pop(HOLD_KEY, None)
        if since is not None:
            held = max(0.0, self._now - float(since))
            self._emit(Unheld(self._now, rec.id, rec.agent_id or "", rec.queue, held))
            self._touch(rec)

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

    def request_callback(
        self, iid: str, number: str, now: float, data: Mapping[str, Any] | None = None
    ) -> list[RoutingEvent]:
        """A customer asks to be called back at ``number``; they keep their place in line.

        Accepted while waiting, and also shortly after an exit or a withdraw (the IVR's own
        max wait, a queue exit or leave destination of type callback): the interaction is then
        re-opened as a callback with its original key. ``data`` (e.g. the file of the recorded
        name) is added to the screen pop. A second request for a callback only adds its data.
        """
        request = CallbackRequest(number)
        extra = check_data(data or {})
        self._begin(now)
        rec = self.live.get(iid)
        reopened = rec is None
        if rec is None:
            rec = self._reopen(iid)
        elif rec.callback is not None:
            rec.data.update(extra)
            self._touch(rec)
            return self._end()
        elif rec.state is not IS.WAITING:
            raise Conflict(f"interaction {iid} is {rec.state.value}, not waiting")
        rec.callback = request
        rec.data.update(extra)
        self._emit(CallbackRequested(now, iid, rec.queue, number))
        if reopened:
            self._enter_line(rec)  # its own key: ahead of everyone who arrived after it
        else:
            rec.gen += 1  # stops announcements and max wait: nobody is holding any more
            self._arm_queue_timers(rec, announce=False)
            self._touch(rec)
        return self._end()

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

    def pull(self, agent_id: str, channel: str, now: float) -> list[RoutingEvent]:
        """The agent asks for its next interaction on ``channel`` (a ticket's "Next"): the
        waiting one it would be offered next (``_best_for``: its queues and skills, priority,
        then first arrival) is offered to it now, also while paused. Refused (Conflict) when
        logged out or without a free slot on ``channel``; nothing waiting: no event."""
        self._begin(now)
        agent = self._agent(agent_id)
        if agent.presence is AgentState.LOGGED_OUT:
            raise Conflict(f"agent {agent_id} is logged out")
        if agent.used.get(channel, 0) >= agent.config.capacity.get(channel, 0):
            raise Conflict(f"agent {agent_id} has no free {channel} slot")
        rec = self._best_for(agent, channel)
        if rec is not None:
            self._offer(rec, agent, how="pull")
        return self._end()

    def wrapup_done(
        self,
        agent_id: str,
        disposition: str | None,
        notes: str | None,
        now: float,
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
            s
            for s in agent.slots.values()
            if s.state is AgentState.WRAPUP
            and (interaction_id is None or s.interaction_id == interaction_id)
        ]
        if not slots:
            raise Conflict(f"agent {agent_id} is not in wrap-up")
        self._finish_wrapup(agent, min(slots, key=lambda s: s.since), disposition, notes)
        return self._end()


__all__ = [
    "CHANNELS",
    "CUSTOMER_FAILURES",
    "HOLD_KEY",
    "MAX_REASON",
    "RING_GRACE_S",
    "Engine",
    "Live",
    "QueueStats",
    "check_outside_number",
    "check_reason",
]
