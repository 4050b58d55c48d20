"""Messages left ("leave a message", ``offline.py``): the agents' list and the supervisors' page.

  GET  /api/chat/offline-messages?state=&queue=&since=&until=
                                     newest first; ``state`` open (default) | done | all
                                     (``done=1`` still means all); ``since``/``until`` epoch
                                     seconds; agents: their queues' only; staff: every queue
  GET  /api/chat/offline-messages/{id}        one message (read it whole)
  POST /api/chat/offline-messages/{id}/done   handled (audited ``chat.message.done``)
  GET  /left-messages                          the supervisors' page (``static/panel``)

Each message carries ``ticket_id``, the ticket it became when tickets filed it. A new message, a
ticket filed for one and a message handled are published on the staff topic ``chat-left``, which
the page follows to update without a reload.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from contactcenter.chat.offline import OfflineMessage
from contactcenter.chat.service import ChatService
from contactcenter.routing.errors import RoutingError
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import ANY_USER, STAFF, Actor, requires
from contactcenter.web.security import json_error

STATES = ("open", "done", "all")
_DOC = api_doc(responses={200: {"description": "done"},
                          409: {"description": "your user is not linked to an agent, or the "
                                               "message is already handled"}})


def _epoch(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value < 1e11:
        raise json_error(web.HTTPBadRequest, f"{name} must be epoch seconds")
    return value


class LeftMessageRoutes:
    """Handlers over one ``ChatService``'s messages left; ``audit`` is the server's log."""

    def __init__(self, service: ChatService, audit: Any) -> None:
        self.service = service
        self.audit = audit

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/chat/offline-messages", self.listing, allow_head=False),
            web.get("/api/chat/offline-messages/{id}", self.one, allow_head=False),
            web.post("/api/chat/offline-messages/{id}/done", self.done),
        ]

    def _queues(self, actor: Actor) -> list[str] | None:
        """The queues whose messages ``actor`` sees: every one for staff, else its agent's."""
        if actor.role in STAFF:
            return None
        if not actor.agent_id:
            raise json_error(web.HTTPConflict, "your user is not linked to an agent")
        # The agent's queues (as configured, and any joined now): logged in or not.
        routing = self.service.routing
        config = routing.config.agents.get(actor.agent_id)
        try:
            joined = routing.agent(actor.agent_id).queues
        except RoutingError as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return sorted({*(config.queues if config is not None else ()), *joined})

    async def _visible(self, request: web.Request) -> OfflineMessage:
        queues = self._queues(request["actor"])
        found = await self.service.offline.get(request.match_info["id"][:64])
        if found is None or (queues is not None and found.queue not in queues):
            raise json_error(web.HTTPNotFound, "no message with that id")
        return found

    @requires(*ANY_USER)
    @_DOC
    async def listing(self, request: web.Request) -> web.Response:
        """Messages left: my queues' (an agent) or all (staff), filtered."""
        queues = self._queues(request["actor"])
        state = "all" if request.query.get("done") == "1" else request.query.get("state", "open")
        if state not in STATES:
            raise json_error(web.HTTPBadRequest, f"state must be one of {', '.join(STATES)}")
        queue = request.query.get("queue", "")
        if queue:
            queues = [queue] if queues is None or queue in queues else []
        items = await self.service.offline.listing(
            queues, state != "open", only_done=state == "done",
            since=_epoch(request, "since"), until=_epoch(request, "until"))
        return web.json_response({"messages": [m.as_json() for m in items],
                                  "queues": sorted(self.service.routing.config.queues)})

    @requires(*ANY_USER)
    @_DOC
    async def one(self, request: web.Request) -> web.Response:
        """One message left, whole."""
        return web.json_response({"message": (await self._visible(request)).as_json()})

    @requires(*ANY_USER)
    @_DOC
    async def done(self, request: web.Request) -> web.Response:
        """Mark a message left as handled."""
        actor: Actor = request["actor"]
        found = await self._visible(request)
        at = self.service.clock.time()
        done = await self.service.offline.mark_done(found.id, actor.username, at)
        await self.audit.record(actor.username, "chat.message.done", found.id,
                                "ok" if done else "refused",
                                None if done else {"error": "already done"})
        if not done:
            raise json_error(web.HTTPConflict, "that message is already done")
        handled = await self.service.offline.get(found.id)
        if handled is not None:
            self.service.left_message_changed(handled)
        return web.json_response({"ok": True})


def add_left_message_routes(app: web.Application, service: ChatService, audit: Any) -> None:
    """Install the routes of messages left on ``app``."""
    app.add_routes(LeftMessageRoutes(service, audit).routes())
