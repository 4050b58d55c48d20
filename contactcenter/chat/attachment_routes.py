"""The HTTP side of chat files (``attachments.py``): sending and reading them, both ways.

Widget (an allowed site's Origin, the conversation token as ``Authorization: Bearer``):
  POST /api/chat/widget/{channel}/conversations/{id}/attachments?filename=&client_id=
                                  the file's raw bytes as the body -> 201 {message}
  GET  /api/chat/widget/{channel}/attachments/{key}        the file (its conversation's only)
Panel (logged in; CSRF as for every change):
  POST /api/chat/conversations/{id}/attachments?filename=  the agent's file -> 201 {message}
  GET  /api/chat/attachments/{key}                         the file (agent in it, or staff)
  GET  /api/chat/attachment-settings                       per chat channel: files taken?

A body is read up to the channel's limit and no further (413 past it), with no multipart parser
in front of the type check. Every file goes out with ``nosniff``, a policy that runs nothing,
and ``Content-Disposition: attachment`` unless it is an image; a file the reader may not read
is 404, as one that does not exist.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from aiohttp import web

from contactcenter.chat import origins
from contactcenter.chat.attachments import (
    Attachment,
    AttachmentRefused,
    ChatAttachments,
    too_large,
    widget_config,
)
from contactcenter.chat.core import agent_json
from contactcenter.chat.errors import ChatError
from contactcenter.chat.model import check_client_id
from contactcenter.chat.settings import MAX_ATTACHMENT_BYTES
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import ANY_USER, PUBLIC, Actor, requires
from contactcenter.web.security import CSRF_CROSS_ORIGIN, json_error, query_text, read_capped

_KEY = "{key:[0-9a-f]{32}}"
_FILENAME = {"filename": {"type": "string", "minLength": 1, "maxLength": 200, "required": True}}
_FILE_HEADERS = {"X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'none'; sandbox",
                 "Cache-Control": "private, no-store"}
# The body is the file's raw bytes (no multipart: nothing parses it before the type check)
_FILE_BODY: dict[str, Any] = {"request": {
    "type": "string", "format": "binary", "minLength": 1,
    "description": "the file's bytes (its type is decided from them; an empty file is "
                   "refused)"}, "body_type": "application/octet-stream"}
_SENT: dict[int | str, Any] = {
    201: {"type": "object", "description": "{message}: the message carrying the file"},
    409: {"description": "the chat has its most files, or the user is no agent"},
    413: {"type": "object"}, 415: {"type": "object"}}
_STATUS: dict[int, type[web.HTTPException]] = {
    403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
    413: web.HTTPRequestEntityTooLarge, 415: web.HTTPUnsupportedMediaType,
    429: web.HTTPTooManyRequests}


def _error(exc: ChatError, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": str(exc), "kind": getattr(exc, "kind", None)},
                             status=exc.status, headers=headers)


def _file_response(found: Attachment, data: bytes, headers: dict[str, str]) -> web.Response:
    quoted = urllib.parse.quote(found.filename)
    disposition = "inline" if found.kind == "image" else "attachment"
    return web.Response(body=data, headers={
        **_FILE_HEADERS, **headers, "Content-Type": found.content_type,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quoted}"})


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class AttachmentRoutes:
    """The handlers over one ``ChatAttachments``; ``audit`` is the server's ``AuditLog``."""

    def __init__(self, attachments: ChatAttachments, audit: Any) -> None:
        self.attachments = attachments
        self.audit = audit

    def routes(self) -> list[web.RouteDef]:
        """Every chat file route."""
        visitor_send = "/api/chat/widget/{channel}/conversations/{id}/attachments"
        visitor_file = f"/api/chat/widget/{{channel}}/attachments/{_KEY}"
        return [
            web.options(visitor_send, self.preflight),
            web.post(visitor_send, self.visitor_send),
            web.options(visitor_file, self.preflight),
            web.get(visitor_file, self.visitor_file, allow_head=False),
            web.post("/api/chat/conversations/{id}/attachments", self.agent_send),
            web.get(f"/api/chat/attachments/{_KEY}", self.user_file, allow_head=False),
            web.get("/api/chat/attachment-settings", self.channel_settings, allow_head=False),
        ]

    def _origin(self, request: web.Request) -> str:
        return origins.widget_channel(request, self.attachments.service.channel)[1]

    @requires(PUBLIC)
    async def preflight(self, request: web.Request) -> web.Response:
        """CORS preflight of a widget's file call (it sends the token as Authorization)."""
        origin = self._origin(request)
        return web.Response(status=204, headers={
            **origins.preflight_headers(origin, "GET, POST"),
            "Access-Control-Allow-Headers": "Content-Type, Authorization"})

    @requires(PUBLIC)
    @api_doc(tags=("chat",), query={**_FILENAME, "client_id": {"type": "string",
                                                               "maxLength": 64}},
             responses=_SENT, **_FILE_BODY)
    async def visitor_send(self, request: web.Request) -> web.Response:
        """The visitor sends a file into its conversation (token as ``Authorization:
        Bearer``; the raw bytes as the body; ``client_id`` makes a resend land once)."""
        origin = self._origin(request)
        cors = {**origins.cors_headers(origin)}
        channel = request.match_info["channel"]
        filename = request.query.get("filename", "")
        try:
            client_id = check_client_id(request.query.get("client_id"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400, headers=cors)
        try:
            settings = self.attachments.settings_of(channel)
            if not filename or len(filename) > 200 or any(c in filename for c in "\r\n\x00"):
                raise AttachmentRefused("invalid", "filename: 1-200 characters, one line")
            refusal = too_large(settings)
            data = await read_capped(request, settings.max_bytes, lambda _size: refusal)
            message = await self.attachments.from_visitor(
                channel, request.match_info["id"][:64], _bearer(request), filename, data,
                client_id)
        except ChatError as exc:
            return _error(exc, cors)
        return web.json_response({"message": message.as_json()}, status=201, headers=cors)

    visitor_send.csrf = CSRF_CROSS_ORIGIN  # type: ignore[attr-defined]

    @requires(PUBLIC)
    async def visitor_file(self, request: web.Request) -> web.Response:
        """A file of the visitor's own conversation (token as ``Authorization: Bearer``)."""
        origin = self._origin(request)
        cors = {**origins.cors_headers(origin),
                "Access-Control-Expose-Headers": "Content-Disposition"}
        try:
            found, data = await self.attachments.for_visitor(
                request.match_info["channel"], request.match_info["key"], _bearer(request))
        except ChatError as exc:
            return _error(exc, {**cors, **_FILE_HEADERS})
        return _file_response(found, data, cors)

    @requires(*ANY_USER)
    @api_doc(tags=("chat",), query=_FILENAME, responses=_SENT, **_FILE_BODY)
    async def agent_send(self, request: web.Request) -> web.Response:
        """Send a file to the visitor of my chat: the raw bytes as the body (images and the
        channel's file types, decided from the bytes). Audited ``chat.attachment``."""
        actor: Actor = request["actor"]
        if not actor.agent_id:
            raise json_error(web.HTTPConflict, "your user is not linked to an agent")
        filename = query_text(request, "filename", 200)
        if not filename:
            raise json_error(web.HTTPBadRequest, "filename is required")
        conversation_id = request.match_info["id"][:64]
        try:
            live = self.attachments.service.live_of(conversation_id)
            limit = (self.attachments.settings_of(live.record.channel).max_bytes
                     if live is not None else MAX_ATTACHMENT_BYTES)
            refusal = AttachmentRefused("too_large", "the file is larger than this chat takes", 413)
            data = await read_capped(request, limit, lambda _size: refusal)
            message = await self.attachments.from_agent(actor.agent_id, conversation_id,
                                                        filename, data)
        except ChatError as exc:
            await self.audit.record(actor.username, "chat.attachment", conversation_id,
                                    "refused", {"filename": filename[:100], "error": str(exc)})
            raise json_error(_STATUS.get(exc.status, web.HTTPBadRequest), str(exc)) from None
        await self.audit.record(actor.username, "chat.attachment", conversation_id, "ok",
                                {"key": (message.attachment or {}).get("key"),
                                 "filename": message.text})
        return web.json_response({"message": agent_json(message)}, status=201)

    @requires(*ANY_USER)
    @api_doc(tags=("chat",), responses={200: {
        "type": "object", "description": "{channels: {name: {enabled, max_bytes, types}}}"}})
    async def channel_settings(self, request: web.Request) -> web.Response:
        """Which chat channels take files, up to what size and of which types (the card
        offers its Attach button by them)."""
        channels = self.attachments.service.settings.channels
        return web.json_response({"channels": {c.name: widget_config(c.attachments)
                                               for c in channels}})

    @requires(*ANY_USER)
    async def user_file(self, request: web.Request) -> web.Response:
        """A chat's file, for whoever may read its transcript (404 for anyone else)."""
        try:
            found, data = await self.attachments.for_user(request["actor"],
                                                          request.match_info["key"])
        except ChatError:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "no such file"}), content_type="application/json",
                headers=_FILE_HEADERS) from None
        return _file_response(found, data, {"Cross-Origin-Resource-Policy": "same-origin"})


def add_attachment_routes(app: web.Application, attachments: ChatAttachments,
                          audit: Any) -> None:
    """Install the chat file routes on ``app``."""
    app.add_routes(AttachmentRoutes(attachments, audit).routes())
