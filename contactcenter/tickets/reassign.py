"""An agent's tickets go back to the line when the agent logs out or leaves routing.

Design note. The queue engine refuses a logout (and a configuration that removes an agent)
while an interaction holds one of the agent's slots, and a ticket holds its slot for as long as
it is new or open in the agent's hands: without this, an agent could not log out at the end
of the day. ``RoutingService.release_work`` calls ``TicketReassigner.release`` first:

* A logout is refused at once, with nothing changed, when a call or chat is in progress (the
  engine would refuse it anyway, after the tickets were given away).
* An agent holding no ticket is left alone. Else the agent is paused first ("handing back"),
  so the engine offers them nothing new while their tickets go back; tickets offered to them
  and not taken go back to their place.
* Their tickets are unassigned, each with a history row saying why (``reassigned``: logged
  out, removed from routing) by ``routing``: on a logout the new and open ones (those that
  hold a slot; pending and on-hold ones stay theirs), on a removal every unsolved one. The
  active ones re-enter the line at the place their priority and age give them
  (``TicketRouting.keep_place``); the others wait unassigned until they are active again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.domain.agent import AgentState
from contactcenter.routing.errors import Conflict, NotFound
from contactcenter.routing.snapshot import AgentView
from contactcenter.tickets.assignment import TicketRouting
from contactcenter.tickets.model import ACTIVE, Change, Status, TicketChanges
from contactcenter.tickets.service import ROUTING, Effects
from contactcenter.tickets.tables import TicketRow

log = logging.getLogger(__name__)
LOGGED_OUT = "logged out"  # RoutingService.agent_logout's reason; any other is a removal
UNSOLVED = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})
PAUSE_REASON = "handing back"


class TicketReassigner:
    """Hands an agent's tickets back (see the module's note)."""

    def __init__(self, routing: TicketRouting) -> None:
        self.routing = routing
        self.service = routing.service

    async def release(self, agent_id: str, why: str) -> None:
        """Give ``agent_id``'s tickets back to the line (``RoutingService.release_work``)."""
        engine = self.routing.routing
        try:
            view: AgentView | None = engine.agent(agent_id)
        except NotFound:
            view = None
        logout = why == LOGGED_OUT
        if logout and view is not None and any(
                w["channel"] != "ticket" and w["state"] != AgentState.WRAPUP.value
                for w in view.work):
            raise Conflict(f"agent {agent_id} has an interaction in progress")
        await self.routing.settled()  # offers already answered are assignments by now
        statuses = ACTIVE if logout else UNSOLVED
        service = self.service
        async with service.store.session() as s:
            holds = bool(await _held(s, agent_id, statuses))
        if not holds and not self.routing.offers_for(agent_id) and not (
                view is not None and any(w["channel"] == "ticket" for w in view.work)):
            return  # nothing of the tickets': no pause, no history
        if view is not None and view.presence != AgentState.LOGGED_OUT.value:
            await engine.agent_pause(agent_id, PAUSE_REASON)
        await self.routing.fail_offers(agent_id, PAUSE_REASON)
        effects = Effects()
        async with service.lock, service.store.session() as s, s.begin():
            rows = await _held(s, agent_id, statuses, lock=True)
            now = service.clock.time()
            for row in rows:
                service.store.add_change(s, Change(row.id, now, ROUTING.name, "reassigned",
                                                   agent_id, f"agent {agent_id} {why}"))
                await service.change_in(s, row, TicketChanges(unassign=True), ROUTING, effects)
            numbers = [row.id for row in rows]
        self.routing.keep_place(set(numbers) & effects.route)
        await service.run(effects)
        if numbers:
            log.info("tickets: %s %s; tickets %s back to the line", agent_id, why, numbers)


async def _held(s: AsyncSession, agent_id: str, statuses: frozenset[Status], *,
                lock: bool = False) -> Sequence[TicketRow]:
    """The agent's tickets in ``statuses``, by number (locked for the hand-back)."""
    q = (sa.select(TicketRow).where(TicketRow.assignee == agent_id,
                                    TicketRow.status.in_([x.value for x in statuses]))
         .order_by(TicketRow.id))
    return (await s.execute(q.with_for_update() if lock else q)).scalars().all()
