"""HTTP routes of the tickets' voice side (``from_voice.py``): a ticket's calls, the audio of
its voice message, and a ticket filed from a call in wrap-up.

  GET   /api/tickets/{id}/calls                    the calls the ticket links back to
  GET   /api/tickets/{id}/calls/{call}/audio       the voice message (audio/wav; audited)
  POST  /api/tickets/from-call                     {interaction_id, subject, text?, type?,
                                                    fields?: {key: value}}
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.tickets.from_voice import VoiceTickets
from contactcenter.tickets.model import TicketError
from contactcenter.tickets.routes import who_of
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ANY_USER, requires
from contactcenter.web.security import json_error

_ID = "{ticket_id:[0-9]{1,9}}"
_CALL = "{call_id:[0-9]{1,9}}"
_FROM_CALL = {
    "type": "object", "required": ["interaction_id", "subject"], "additionalProperties": False,
    "properties": {
        "interaction_id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
        "subject": {"type": "string", "minLength": 1, "maxLength": 250, "pattern": "\\S"},
        "text": {"type": "string", "maxLength": 200_000, "pattern": "^[^\\x00]*$"},
        "type": {"type": ["string", "null"], "maxLength": 32},
        "fields": {"type": "object", "maxProperties": 100, "additionalProperties": {
            "type": ["string", "number", "boolean", "null"]}}}}


def _error(exc: TicketError) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {403: web.HTTPForbidden, 404: web.HTTPNotFound,
                                                 409: web.HTTPConflict}
    return json_error(kinds.get(exc.status, web.HTTPUnprocessableEntity), str(exc))


class VoiceTicketRoutes:
    """The handlers over one ``VoiceTickets``."""

    def __init__(self, voice: VoiceTickets) -> None:
        self.voice = voice

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"/api/tickets/{_ID}/calls", self.calls, allow_head=False),
            web.get(f"/api/tickets/{_ID}/calls/{_CALL}/audio", self.audio, allow_head=False),
            web.post("/api/tickets/from-call", self.from_call),
        ]

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "the ticket's calls"},
                        404: {"description": "no such ticket (or not yours)"}},
             tags=("tickets",))
    async def calls(self, request: web.Request) -> web.Response:
        """GET /api/tickets/{ticket_id}/calls: the voice message or call the ticket comes
        from, with the message's audio URL and the call's recordings you may hear."""
        try:
            links = await self.voice.links(int(request.match_info["ticket_id"]),
                                           who_of(request), request["actor"])
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response({"calls": [link.as_json() for link in links]})

    @requires(*ANY_USER)
    @api_doc(responses={200: {"description": "the voice message (Range supported)", "content": {
        "audio/wav": {"schema": {"type": "string", "format": "binary"}}}},
        206: {"description": "part of the WAV"},
        403: {"description": "not yours to hear (audited)"},
        404: {"description": "no such message, or no audio"}}, tags=("tickets",))
    async def audio(self, request: web.Request) -> web.StreamResponse:
        """GET /api/tickets/{ticket_id}/calls/{call_id}/audio: the voice message, to whoever
        may see the ticket; every request audited (``ticket.voicemail.play``)."""
        try:
            path = await self.voice.audio(int(request.match_info["ticket_id"]),
                                          int(request.match_info["call_id"]), who_of(request))
        except TicketError as exc:
            raise _error(exc) from None
        return web.FileResponse(path, headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": f'inline; filename="ticket-{request.match_info["ticket_id"]}'
                                   f'-message.wav"',
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})

    @requires(*ANY_USER)
    @api_doc(request=_FROM_CALL, responses={
        201: {"type": "object", "description": "the ticket"},
        404: {"description": "no such call of yours"}, 422: {"description": "refused"}},
        tags=("tickets",))
    async def from_call(self, request: web.Request) -> web.Response:
        """POST /api/tickets/from-call: a ticket about a call you took (wrap-up), origin
        ``call``, assigned to you, linking back to the call and its recording."""
        body = await read_declared_json(request)
        who = who_of(request)
        try:
            ticket = await self.voice.from_call(body["interaction_id"], body["subject"],
                                                body.get("text", ""), who,
                                                ticket_type=body.get("type"),
                                                values=body.get("fields"))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(self.voice.service.sla_view(ticket), status=201)


def add_voice_ticket_routes(app: web.Application, voice: VoiceTickets) -> None:
    """Install the routes on ``app``."""
    app.add_routes(VoiceTicketRoutes(voice).routes())
