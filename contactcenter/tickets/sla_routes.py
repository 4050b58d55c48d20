"""A ticket's SLA timeline over HTTP (``sla_timeline.py``).

  GET /api/tickets/{id}/sla-timeline   {policy, created_at, now, paused, targets: [{target,
                                       label, start, warn, due, met_at, state, current}],
                                       marks: [{at, stage, due}], pauses: [{from, to}]}

Whoever may see the ticket may see its timeline (404 otherwise, as the ticket itself).
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.tickets.model import TicketError
from contactcenter.tickets.routes import who_of
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.sla_timeline import timeline
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import ANY_USER, requires
from contactcenter.web.security import json_error

_ID = "{ticket_id:[0-9]{1,9}}"
_TIMELINE = {"type": "object", "description": "the SLA clocks of the ticket on a timeline"}


class SlaRoutes:
    """The timeline handler over the ticket service."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"/api/tickets/{_ID}/sla-timeline", self.timeline, allow_head=False)]

    @requires(*ANY_USER)
    @api_doc(responses={200: _TIMELINE, 404: {"description": "no such ticket"}},
             tags=("tickets",))
    async def timeline(self, request: web.Request) -> web.Response:
        """GET /api/tickets/{ticket_id}/sla-timeline: created, each target's warning and due
        moments, when met, the stages fired, the pauses, now."""
        who = who_of(request)
        try:
            ticket = await self.service.ticket(int(request.match_info["ticket_id"]), who)
            history = await self.service.history(ticket.id, who)
        except TicketError as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return web.json_response(timeline(ticket, history, self.service.business,
                                          self.service.clock.time()))


def add_sla_routes(app: web.Application, service: TicketService) -> None:
    app.add_routes(SlaRoutes(service).routes())
