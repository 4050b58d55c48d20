"""Tickets through the queue engine: each ticket waiting for an agent is an interaction on the
``ticket`` channel (its queue, skills, priority; capacity per agent per channel).

Design note.
* A ticket enters the engine when it is new or open with nobody assigned, as interaction
  ``ticket-<number>-<round>`` (a new round each time it goes back: the engine's ids are not
  reused). The engine's choice makes the assignment: ``Connected`` sets the assignee. The
  ticket holds that agent's ticket slot while it is theirs and new or open; when the agent sets
  it pending, on-hold or solved, gives it back, or a supervisor moves it, the interaction is
  completed (and its wrap-up ended at once: a ticket has no after-call work) or withdrawn, so
  the slot is free for the next ticket.
* Two ways to hand a ticket over (``tickets.assignment``): ``push``, the engine's offer is
  accepted at once (the agent finds the ticket in their list), or ``offer``: the agent sees the
  offer and accepts it; not accepted within the queue's ``ring_timeout_s`` it fails as
  ``no-answer`` (the agent is paused, as for an unanswered call or chat) and the ticket is
  offered again. "Next ticket" accepts the oldest offer waiting for the agent; with none, it
  *pulls*: the engine offers the agent the best ticket waiting for their queues and skills
  (also while paused, within their ticket capacity), and that offer is taken at once.
* A ticket handed back because its agent left (``reassign.py``) keeps its place in line: it
  re-enters with its creation as its arrival, so priority then age order it as before.
* The engine's subscriber only notes the event; one task then does the slow part in order
  (the database, the live topics), under the tickets' lock.
* Restart: routing rebuilds its lines from its own log first; then every ticket that says it
  is in routing is matched with the engine: gone -> routed again, offered -> the offer is
  taken up again, connected -> nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contactcenter.common.tasks import stop_gracefully
from contactcenter.domain.interaction import Channel, Interaction, InteractionState
from contactcenter.domain.routing_events import (
    Abandoned,
    Completed,
    Connected,
    Exited,
    Offered,
    Overflowed,
    RingNoAnswer,
    RoutingEvent,
    Transferred,
)
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService
from contactcenter.tickets.model import ACTIVE, Change, Status, Ticket, TicketNotFound
from contactcenter.tickets.service import ROUTING, Effects, TicketService
from contactcenter.tickets.store import ticket_of

log = logging.getLogger(__name__)
PREFIX = "ticket-"
ROUTE_BATCH = 200  # tickets marked in one transaction when many enter the line at once
# The engine's events ``TicketRouting._handle`` acts on: a branch added there belongs here too.
_HANDLED = (Offered, RingNoAnswer, Connected, Overflowed, Transferred, Exited, Abandoned,
            Completed)


def interaction_id(ticket_id: int, round_: int) -> str:
    return f"{PREFIX}{ticket_id}-{round_}"


def ticket_of_interaction(iid: str) -> int | None:
    if not iid.startswith(PREFIX):
        return None
    number, _, _round = iid[len(PREFIX):].partition("-")
    return int(number) if number.isdigit() else None


@dataclass
class PendingOffer:
    """An offer of a ticket the agent has not accepted yet (``offer`` mode)."""

    offer_id: str
    interaction_id: str
    ticket_id: int
    agent_id: str
    at: float
    timer: asyncio.TimerHandle | None = None


class TicketRouting:
    """Keeps tickets and the queue engine in step (see the module's note)."""

    def __init__(self, service: TicketService, routing: RoutingService) -> None:
        self.service = service
        self.routing = routing
        self.offers: dict[str, PendingOffer] = {}  # offer id -> pending offer
        self._pulled: set[str] = set()  # interactions an agent asked for: taken at once
        self._keep_place: set[int] = set()  # tickets to re-enter at their creation's place
        self._events: deque[RoutingEvent] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        service.agents = lambda: set(routing.config.agents)
        service.queues = lambda: set(routing.config.queues)
        service.route = self.route
        service.unroute = self.unroute

    @property
    def push(self) -> bool:
        return self.service.settings.assignment == "push"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Subscribe, then match every ticket in routing with the engine (after its restore)."""
        self._unsubscribe = self.routing.subscribe(self._on_routing)
        self._task = asyncio.create_task(self._run(), name="tickets-routing")
        gone: set[int] = set()
        for ticket in await self.service.store.routable():
            iid = ticket.interaction_id
            state = self.routing.state_of(iid) if iid else None
            if state is None:
                gone.add(ticket.id)
            elif state is InteractionState.OFFERED and iid is not None:
                offer = self.routing.offer_of(iid)
                agent = self._agent_of(iid)
                if offer and agent:
                    await self._offered(Offered(self.service.clock.time(), iid, offer, agent,
                                                ticket.queue, Channel.TICKET.value, None,
                                                self.routing.queue_config(ticket.queue)
                                                .ring_timeout_s, None, 0))
        if gone:
            async with self.service.lock, self.service.store.session() as s, s.begin():
                for ticket_id in gone:
                    row = await self.service.store.row(s, ticket_id)
                    if row is not None:
                        row.interaction_id = None
            await self.route(gone)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()  # a cancellation swallowed on the way still ends the loop
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await stop_gracefully(self._task)  # a pass in progress finishes its transaction
        self._task = None
        for pending in self.offers.values():
            if pending.timer is not None:
                pending.timer.cancel()

    def _agent_of(self, iid: str) -> str | None:
        # Read-only look at the engine's record: the service has no accessor for it yet.
        rec = self.routing.engine.live.get(iid)
        return rec.agent_id if rec is not None else None

    # ------------------------------------------------------------------ into and out of the engine
    async def route(self, ticket_ids: set[int]) -> None:
        """Put these tickets in line if they wait for an agent and are not in line yet."""
        ordered = sorted(ticket_ids)
        # In batches: a server starting with thousands of tickets waiting marked them one
        # transaction each (35 s for 7,510 on PostgreSQL, bench/tickets.py).
        for i in range(0, len(ordered), ROUTE_BATCH):
            await self._route_batch(ordered[i:i + ROUTE_BATCH])

    async def _route_batch(self, ticket_ids: list[int]) -> None:
        # Under the tickets' lock from the mark to the engine: a change in between would find
        # the ticket marked but not in line yet, and leave it in line after the change.
        async with self.service.lock:
            entering: list[tuple[Ticket, str]] = []
            async with self.service.store.session() as s, s.begin():
                for row in await self.service.store.rows(s, ticket_ids, for_update=True):
                    if row.interaction_id is not None or row.assignee \
                            or Status(row.status) not in ACTIVE:
                        continue
                    ticket = ticket_of(row)
                    if ticket.queue not in self.routing.config.queues:
                        log.warning("ticket #%d: queue %r is not configured; it waits "
                                    "unrouted", ticket.id, ticket.queue)
                        continue
                    row.routing_round += 1
                    row.interaction_id = interaction_id(ticket.id, row.routing_round)
                    entering.append((ticket, row.interaction_id))
            refused: list[tuple[int, str]] = []  # (ticket, the round it could not enter)
            for ticket, iid in entering:
                keep = ticket.id in self._keep_place
                self._keep_place.discard(ticket.id)
                try:
                    await self.routing.enqueue(Interaction(
                        channel=Channel.TICKET.value, queue=ticket.queue,
                        priority=ticket.priority.routing, skills=dict(ticket.skills),
                        data={"ticket_id": ticket.id, "subject": ticket.subject[:200],
                              "requester": ticket.requester.email or ticket.requester.name},
                        id=iid, arrived_at=ticket.created_at if keep else None))
                except (RoutingError, ValueError) as exc:
                    log.warning("ticket #%d could not enter routing: %s", ticket.id, exc)
                    refused.append((ticket.id, iid))
            if refused:
                marks = dict(refused)
                async with self.service.store.session() as s, s.begin():
                    for back in await self.service.store.rows(s, list(marks)):
                        if back.interaction_id == marks[back.id]:
                            back.interaction_id = None

    async def unroute(self, iid: str, agent_id: str | None) -> None:
        """Take interaction ``iid`` out of the engine: withdraw it while it waits, end it (and
        its wrap-up) when an agent has it."""
        state = self.routing.state_of(iid)
        for offer_id, pending in list(self.offers.items()):
            if pending.interaction_id == iid:
                self._drop_offer(offer_id)
        if state is InteractionState.WAITING:
            await self.routing.withdraw(iid, "ticket-changed")
        elif state is InteractionState.OFFERED:
            await self.routing.abandon(iid)
        elif state is InteractionState.CONNECTED:
            agent = self._agent_of(iid) or agent_id
            await self.routing.complete(iid)
            if agent:
                with contextlib.suppress(RoutingError):
                    await self.routing.wrapup_done(agent, interaction_id=iid)

    def keep_place(self, ticket_ids: set[int]) -> None:
        """The next time these tickets enter the line, they arrive as at their creation."""
        self._keep_place |= ticket_ids

    async def pull(self, agent_id: str) -> int | None:
        """Ask the engine for the best ticket waiting for ``agent_id`` (RoutingError when
        logged out or at capacity); returns its number once it is theirs, None if none waits."""
        await self.settled()  # offers already made are handled first
        iid = await self.routing.pull(agent_id, Channel.TICKET.value)
        if iid is None:
            return None
        self._pulled.add(iid)  # before any task switch: ``_offered`` takes it up at once
        await self.settled()
        return ticket_of_interaction(iid)

    async def fail_offers(self, agent_id: str, reason: str) -> None:
        """Put every ticket offered to ``agent_id`` back at its place in line."""
        for pending in self.offers_for(agent_id):
            self._drop_offer(pending.offer_id)
            with contextlib.suppress(RoutingError):
                await self.routing.offer_failed(pending.offer_id, reason)

    # ------------------------------------------------------------------ offers (offer mode)
    def offers_for(self, agent_id: str) -> list[PendingOffer]:
        return sorted((p for p in self.offers.values() if p.agent_id == agent_id),
                      key=lambda p: p.at)

    async def accept(self, agent_id: str, ticket_id: int | None = None) -> int:
        """Accept the offer of ``ticket_id`` to ``agent_id`` (None: the oldest one)."""
        for pending in self.offers_for(agent_id):
            if ticket_id is None or pending.ticket_id == ticket_id:
                self._drop_offer(pending.offer_id)
                await self.routing.offer_answered(pending.offer_id)
                return pending.ticket_id
        raise TicketNotFound("no ticket is offered to you" if ticket_id is None
                             else f"ticket #{ticket_id} is not offered to you")

    async def decline(self, agent_id: str, ticket_id: int) -> None:
        """Refuse an offer: as an unanswered one (the agent is paused, the ticket goes on)."""
        for pending in self.offers_for(agent_id):
            if pending.ticket_id == ticket_id:
                self._drop_offer(pending.offer_id)
                await self.routing.offer_failed(pending.offer_id, "declined")
                return
        raise TicketNotFound(f"ticket #{ticket_id} is not offered to you")

    def _drop_offer(self, offer_id: str) -> PendingOffer | None:
        pending = self.offers.pop(offer_id, None)
        if pending is not None and pending.timer is not None:
            pending.timer.cancel()
        return pending

    def _ring_out(self, offer_id: str) -> None:
        pending = self.offers.pop(offer_id, None)
        if pending is None:
            return

        async def fail() -> None:
            with contextlib.suppress(RoutingError):
                await self.routing.offer_failed(offer_id, "no-answer")

        asyncio.get_running_loop().create_task(fail())

    async def _offered(self, event: Offered) -> None:
        ticket_id = ticket_of_interaction(event.interaction_id)
        if ticket_id is None:
            return
        if self.push or event.interaction_id in self._pulled:
            self._pulled.discard(event.interaction_id)
            with contextlib.suppress(RoutingError):
                await self.routing.offer_answered(event.offer_id)
            return
        pending = PendingOffer(event.offer_id, event.interaction_id, ticket_id, event.agent_id,
                               event.at)
        ring = self.routing.queue_config(event.queue).ring_timeout_s
        pending.timer = asyncio.get_running_loop().call_later(
            self.service.clock.real(ring), self._ring_out, event.offer_id)
        self.offers[event.offer_id] = pending
        ticket = await self.service.store.get(ticket_id)
        if ticket is not None:
            self.service.publish(f"agent.{event.agent_id}", {
                "type": "ticket-offer", "ticket": ticket.as_json(),
                "ring_timeout_s": ring})

    # ------------------------------------------------------------------ engine events
    def _on_routing(self, event: RoutingEvent) -> None:
        """Routing subscriber (synchronous, inside the engine's dispatch): note and wake."""
        if not isinstance(event, _HANDLED):
            # Entered, Position, Relaxed and the like change nothing on a ticket; noting them
            # cost a locked row read each (one per waiting ticket at every start).
            return
        iid = getattr(event, "interaction_id", None)
        if isinstance(iid, str) and iid.startswith(PREFIX):
            self._events.append(event)
            self._idle.clear()
            self._wake.set()

    async def settled(self, _ticket_id: int | None = None) -> None:
        """Wait until every routing event so far is handled (an accept's assignment is
        stored before the API answers)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            while self._events:
                event = self._events.popleft()
                try:
                    await self._handle(event)
                except Exception:
                    log.exception("tickets: routing event %s failed", event.kind)
            if not self._events:
                self._idle.set()

    async def _handle(self, event: RoutingEvent) -> None:
        if isinstance(event, Offered):
            await self._offered(event)
            return
        if isinstance(event, RingNoAnswer):
            pending = self._drop_offer(event.offer_id)
            if pending is not None:
                self.service.publish(f"agent.{event.agent_id}", {
                    "type": "ticket-offer-gone", "ticket_id": pending.ticket_id})
            return
        iid = str(getattr(event, "interaction_id", ""))  # every event that reaches here has one
        ticket_id = ticket_of_interaction(iid)
        if ticket_id is None:
            return
        effects = Effects()
        async with self.service.lock, self.service.store.session() as s, s.begin():
            row = await self.service.store.row(s, ticket_id, for_update=True)
            if row is None or row.interaction_id != iid:
                return  # a round the ticket already left
            now = self.service.clock.time()
            store = self.service.store
            if isinstance(event, Connected):
                old_status = Status(row.status)
                row.assignee = event.agent_id
                store.add_change(s, Change(row.id, now, ROUTING.name, "assignee", None,
                                           event.agent_id))
                if old_status is Status.NEW:
                    row.status = Status.OPEN.value
                    store.add_change(s, Change(row.id, now, ROUTING.name, "status",
                                               old_status, Status.OPEN))
                row.updated_at = now
                effects.tell(event.agent_id, "ticket-assigned", ticket_of(row))
            elif isinstance(event, (Overflowed, Transferred)):
                if event.to_queue and event.to_queue != row.queue:
                    store.add_change(s, Change(row.id, now, ROUTING.name, "queue",
                                               row.queue, event.to_queue))
                    row.queue = event.to_queue
            elif isinstance(event, (Exited, Abandoned, Completed)):
                row.interaction_id = None
                if not isinstance(event, Completed):
                    why = getattr(event, "reason", "abandoned")
                    store.add_change(s, Change(row.id, now, ROUTING.name, "routing",
                                               row.queue, f"left the line: {why}"))
                    log.warning("ticket #%d left queue %s (%s): it waits unrouted; "
                                "ticket queues should have no max_wait_s", row.id,
                                row.queue, why)
        await self.service.run(effects)

    def snapshot(self) -> dict[str, Any]:
        return {"offers": len(self.offers)}
