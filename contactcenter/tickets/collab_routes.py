"""Working a ticket together over HTTP: followers, who is viewing, canned answers.

  GET    /api/tickets/{id}/followers                       the followers
  POST   /api/tickets/{id}/followers                       {agent?} | {email}: follow (no body
                                                           field: I follow it myself)
  DELETE /api/tickets/{id}/followers/{kind}/{follower}     unfollow (kind: agent | email)
  POST   /api/tickets/{id}/viewing                         {replying?}: I have it open; the
                                                           other viewers (page: every 20 s)
  DELETE /api/tickets/{id}/viewing                         I closed it
  GET    /api/tickets/canned                               shared answers and my own
  POST   /api/tickets/canned                               {shortcut, text, shared?}
  PUT    /api/tickets/canned/{id}  DELETE same             owner (shared: staff)
  GET    /api/tickets/{id}/canned                          my answers filled for the ticket

Whoever may see a ticket may follow it, add an address, see its viewers; an agent follows for
themselves, staff for any agent. Viewers changing are told on each viewer's live topic
(``agent.<id>``; staff on ``tickets``) as ``ticket-viewers``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.tickets.canned import CannedAnswers
from contactcenter.tickets.followers import AGENT, EMAIL, Followers
from contactcenter.tickets.model import TicketError
from contactcenter.tickets.presence import Presence, Viewer
from contactcenter.tickets.routes import who_of
from contactcenter.tickets.service import TicketService, Who
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ANY_USER, requires
from contactcenter.web.security import json_error

_ID = "{ticket_id:[0-9]{1,9}}"
_CANNED_ID = "{answer_id:[0-9a-f]{32}}"
_FOLLOW = {"type": "object", "additionalProperties": False, "maxProperties": 1, "properties": {
    "agent": {"type": "string", "minLength": 1, "maxLength": 64},
    "email": {"type": "string", "minLength": 3, "maxLength": 254}}}
_VIEWING = {"type": "object", "additionalProperties": False,
            "properties": {"replying": {"type": "boolean"}}}
_CANNED = {"type": "object", "required": ["shortcut", "text"], "additionalProperties": False,
           "properties": {"shortcut": {"type": "string", "minLength": 1, "maxLength": 33},
                          "text": {"type": "string", "minLength": 1, "maxLength": 2000},
                          "shared": {"type": "boolean"}}}
_REFUSED = {"description": "the body has the declared form, but its content is refused"}
_LIST = {"type": "object", "description": "the list"}


def _error(exc: TicketError) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {
        403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict}
    return json_error(kinds.get(exc.status, web.HTTPUnprocessableEntity), str(exc))


def _ticket_id(request: web.Request) -> int:
    return int(request.match_info["ticket_id"])


class CollabRoutes:
    """Handlers over followers, presence and canned answers of one ticket service."""

    def __init__(self, service: TicketService, followers: Followers, presence: Presence,
                 canned: CannedAnswers) -> None:
        self.service = service
        self.followers = followers
        self.presence = presence
        self.canned = canned

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/tickets/canned", self.canned_list, allow_head=False),
            web.post("/api/tickets/canned", self.canned_create),
            web.put(f"/api/tickets/canned/{_CANNED_ID}", self.canned_replace),
            web.delete(f"/api/tickets/canned/{_CANNED_ID}", self.canned_delete),
            web.get(f"/api/tickets/{_ID}/canned", self.canned_filled, allow_head=False),
            web.get(f"/api/tickets/{_ID}/followers", self.follower_list, allow_head=False),
            web.post(f"/api/tickets/{_ID}/followers", self.follow),
            web.delete(f"/api/tickets/{_ID}/followers/{{kind:agent|email}}/"
                       "{follower:[^/]{1,254}}", self.unfollow),
            web.post(f"/api/tickets/{_ID}/viewing", self.viewing),
            web.delete(f"/api/tickets/{_ID}/viewing", self.leave),
        ]

    # ------------------------------------------------------------------ followers
    @requires(*ANY_USER)
    @api_doc(responses={200: _LIST}, tags=("tickets",))
    async def follower_list(self, request: web.Request) -> web.Response:
        """GET /api/tickets/{ticket_id}/followers: agents and addresses following it."""
        try:
            found = await self.followers.listing(_ticket_id(request), who_of(request))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response({"followers": [f.as_json() for f in found]})

    @requires(*ANY_USER)
    @api_doc(request=_FOLLOW, responses={200: _LIST, 422: _REFUSED}, tags=("tickets",),
             body_optional=True)
    async def follow(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/followers: follow it (or add an agent or address)."""
        body = await read_declared_json(request) if request.can_read_body else {}
        kind = EMAIL if "email" in body else AGENT
        try:
            found = await self.followers.follow(_ticket_id(request), who_of(request), kind,
                                                body.get("email") or body.get("agent"))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response({"followers": [f.as_json() for f in found]})

    @requires(*ANY_USER)
    @api_doc(responses={200: _LIST, 422: {"description": "no such agent, or none named"}},
             tags=("tickets",))
    async def unfollow(self, request: web.Request) -> web.Response:
        """DELETE /api/tickets/{ticket_id}/followers/{kind}/{follower}: stop following."""
        try:
            found = await self.followers.unfollow(_ticket_id(request), who_of(request),
                                                  request.match_info["kind"],
                                                  request.match_info["follower"])
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response({"followers": [f.as_json() for f in found]})

    # ------------------------------------------------------------------ presence
    def _tell(self, ticket_id: int, viewers: list[Viewer], also: Who | None = None) -> None:
        """Each viewer (and ``also``, who just left) learns who views the ticket now."""
        event = {"type": "ticket-viewers", "ticket_id": ticket_id,
                 "viewers": [v.as_json() for v in viewers]}
        agents = {v.agent_id for v in viewers if v.agent_id and not v.staff}
        if also is not None and also.agent_id and not also.staff:
            agents.add(also.agent_id)
        for agent in sorted(agents):
            self.service.publish(f"agent.{agent}", event)
        if any(v.staff for v in viewers) or (also is not None and also.staff):
            self.service.publish("tickets", event)

    @requires(*ANY_USER)
    @api_doc(request=_VIEWING, responses={200: _LIST}, tags=("tickets",), body_optional=True)
    async def viewing(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/viewing: I have the ticket open (``replying``: my
        reply box has text); the others who have it open."""
        body = await read_declared_json(request) if request.can_read_body else {}
        who = who_of(request)
        try:
            ticket = await self.service.ticket(_ticket_id(request), who)
        except TicketError as exc:
            raise _error(exc) from None
        now = self.service.clock.time()
        me = Viewer(who.name, who.agent_id, who.staff, bool(body.get("replying")), now)
        if self.presence.see(ticket.id, me):
            self._tell(ticket.id, self.presence.viewers(ticket.id, now))
        others = [v for v in self.presence.viewers(ticket.id, now) if v.username != who.name]
        return web.json_response({"viewers": [v.as_json() for v in others]})

    @requires(*ANY_USER)
    @api_doc(responses={204: {"description": "gone"}}, tags=("tickets",))
    async def leave(self, request: web.Request) -> web.Response:
        """DELETE /api/tickets/{ticket_id}/viewing: I closed the ticket."""
        who = who_of(request)
        ticket_id = _ticket_id(request)
        if self.presence.leave(ticket_id, who.name):
            self._tell(ticket_id, self.presence.viewers(ticket_id, self.service.clock.time()),
                       also=who)
        return web.Response(status=204)

    # ------------------------------------------------------------------ canned answers
    @requires(*ANY_USER)
    @api_doc(responses={200: _LIST}, tags=("tickets",))
    async def canned_list(self, request: web.Request) -> web.Response:
        """GET /api/tickets/canned: the shared answers and my own (their text unfilled)."""
        found = await self.canned.listing(who_of(request))
        return web.json_response({"answers": [a.as_json() for a in found]})

    @requires(*ANY_USER)
    @api_doc(responses={200: _LIST}, tags=("tickets",))
    async def canned_filled(self, request: web.Request) -> web.Response:
        """GET /api/tickets/{ticket_id}/canned: my answers, placeholders filled for it."""
        try:
            found = await self.canned.for_ticket(_ticket_id(request), who_of(request))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response({"answers": found})

    async def _save(self, request: web.Request, answer_id: str | None) -> dict[str, Any]:
        body = await read_declared_json(request)
        try:
            return (await self.canned.save(who_of(request), body, answer_id)).as_json()
        except TicketError as exc:
            raise _error(exc) from None

    @requires(*ANY_USER)
    @api_doc(request=_CANNED, responses={201: {"type": "object", "description": "answer"},
                                         403: {"description": "shared: staff only"},
                                         409: {"description": "shortcut taken"},
                                         422: _REFUSED}, tags=("tickets",))
    async def canned_create(self, request: web.Request) -> web.Response:
        """POST /api/tickets/canned: a new answer (mine, or ``shared`` for staff)."""
        return web.json_response(await self._save(request, None), status=201)

    @requires(*ANY_USER)
    @api_doc(request=_CANNED, responses={200: {"type": "object", "description": "answer"},
                                         404: {"description": "no such answer of yours"},
                                         409: {"description": "shortcut taken"},
                                         422: _REFUSED}, tags=("tickets",))
    async def canned_replace(self, request: web.Request) -> web.Response:
        """PUT /api/tickets/canned/{answer_id}: the answer again."""
        return web.json_response(await self._save(request, request.match_info["answer_id"]))

    @requires(*ANY_USER)
    @api_doc(responses={204: {"description": "deleted"}, 404: {"description": "none"}},
             tags=("tickets",))
    async def canned_delete(self, request: web.Request) -> web.Response:
        """DELETE /api/tickets/canned/{answer_id}: remove it."""
        try:
            await self.canned.delete(who_of(request), request.match_info["answer_id"])
        except TicketError as exc:
            raise _error(exc) from None
        return web.Response(status=204)


def add_collab_routes(app: web.Application, routes: CollabRoutes) -> None:
    app.add_routes(routes.routes())
