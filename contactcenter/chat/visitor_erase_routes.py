"""The admin's route for erasing one visitor's chat data (``visitor_erase.py``), beside the
export's (``visitor_export.py``):

  POST /api/chat/erasures {by: visitor|email|chat, value, dry_run?}
                          -> 200 the report (what went, or with dry_run what would go)
                          -> 409 a chat of theirs is still in progress (nothing erased)
                          -> 422 {error, errors: {value}}: not an address / an id

Admins only, CSRF as every change. The server's own view of open chats (its live
conversations, the queue engine's open interactions and agents' slots, wrap-up included) is
added to the database's, so a chat that ended a moment ago but is still in wrap-up is refused.
The tickets the visitor's messages left became are erased through the port ``app.py`` puts
under ``ERASE_TICKETS`` on the web application (absent: they are only named).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.chat.attachments import AttachmentFiles
from contactcenter.chat.service import ChatService
from contactcenter.chat.visitor_erase import (
    BY,
    ChatInProgress,
    EraseTickets,
    check_request,
    erase_visitor,
)
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ADMIN, Actor, requires
from contactcenter.web.security import json_error

# The tickets' side of an erasure (tickets/requester_erase.py), set by app.py: channels never
# import each other, and the composition root builds the web application after both.
ERASE_TICKETS = web.AppKey("chat_erase_tickets", EraseTickets)

_REQUEST = {
    "type": "object", "required": ["by", "value"], "additionalProperties": False,
    "properties": {
        "by": {"type": "string", "enum": list(BY),
               "description": "visitor: a visitor id (the site's verified one); email: an "
                              "address given in the pre-chat form; chat: one conversation id"},
        "value": {"type": "string", "minLength": 1, "maxLength": 254},
        "dry_run": {"type": "boolean", "description": "count, change nothing"}}}
_REPORT = {"type": "object", "description": "by, dry_run, nothing_to_do, conversation_ids, "
                                            "conversations, messages, notes, attachments, "
                                            "files, messages_left, anonymized, interactions, "
                                            "events, tickets (the tickets messages left "
                                            "became), ticket_erasure (what the tickets' side "
                                            "erased, or would: null when not wired)"}


def server_busy(service: ChatService) -> Any:
    """Which of some chat ids the running server still has open (live, queued, offered,
    connected, or in an agent's wrap-up)."""
    def busy(ids: list[str]) -> set[str]:
        engine = service.routing.engine
        held = {slot.interaction_id for agent in engine.agents.values()
                for slot in agent.slots.values()}
        return {i for i in ids if service.live_of(i) is not None or i in engine.live
                or i in held}
    return busy


class EraseRoutes:
    """The erasure's handler; ``audit`` is the server's log."""

    def __init__(self, service: ChatService, files: AttachmentFiles, audit: Any) -> None:
        self.service = service
        self.files = files
        self.audit = audit

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/chat/erasures", self.erase)]

    @requires(ADMIN)
    @api_doc(tags=("chat",), request=_REQUEST, responses={
        200: _REPORT, 409: {"description": "a chat of theirs is still in progress"},
        422: {"type": "object", "description": "value is no address (by email) or too long "
                                              "for an id; errors: {value}"}})
    async def erase(self, request: web.Request) -> web.Response:
        """Erase one visitor's chat data (a data-subject request): transcripts, files,
        messages left, pre-chat answers, notes, and their data in the tickets their messages
        left became; the chats and tickets stay counted, anonymized. Audited ``chat.erase``
        (and ``tickets.erase``) without the value asked about."""
        actor: Actor = request["actor"]
        body = await read_declared_json(request)
        try:
            req = check_request(body.get("by"), body.get("value"))
        except ValueError as exc:  # of the declared shape, but no address / id
            return web.json_response({"error": str(exc), "errors": {"value": str(exc)}},
                                     status=422)
        try:
            report = await erase_visitor(
                self.service.store.db, self.files, req, self.service.clock.time(), self.audit,
                actor.username, dry_run=bool(body.get("dry_run")),
                busy=server_busy(self.service),
                erase_tickets=request.app.get(ERASE_TICKETS))
        except ChatInProgress as exc:
            raise json_error(web.HTTPConflict, str(exc)) from None
        return web.json_response(report.as_json(), headers={"Cache-Control": "no-store"})


def add_erase_routes(app: web.Application, service: ChatService, files: AttachmentFiles,
                     audit: Any) -> None:
    """Install the erasure route on ``app``."""
    app.add_routes(EraseRoutes(service, files, audit).routes())
