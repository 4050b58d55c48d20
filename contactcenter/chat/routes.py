"""The chat's HTTP routes: the widget's (public, cross-origin) and the agent's (logged in).

Widget, for pages of a channel's ``allowed_origins`` only (``origins.py``), no cookie:
  GET  /chat/widget.js                          the loader (``<script data-channel=...>``)
  GET  /chat/widget-app.js?channel=NAME         the rest, loaded on first open
  GET  /api/chat/widget/{channel}/config        form, texts, colours
  POST /api/chat/widget/{channel}/conversations start: {visitor_id?, visitor_signature?,
                                                name?, answers, page?, attributes?} -> 201
                                                {conversation_id, token, visitor_id}; 422
                                                {errors: {field: why}}; 403 (signature); 429
  GET  /api/chat/widget/{channel}/ws            the visitor's socket (``visitor_socket.py``)

Agent (a logged-in user linked to an agent; CSRF and Origin checked as for every change):
  GET  /api/chat/conversations                  my chats (offered, active, wrap-up) + transcripts
  GET  /api/chat/conversations/{id}/messages?after=N
  POST /api/chat/conversations/{id}/accept | /messages {text} | /typing {typing}
       | /close {disposition?, notes?}
Accepting and closing are audited (``chat.accept``, ``chat.close``) with their outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.chat import origins
from contactcenter.chat.model import Refused, check_start
from contactcenter.chat.service import ChatError, ChatService, RateLimited
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.chat.visitor_socket import VisitorSockets
from contactcenter.routing.errors import RoutingError
from contactcenter.web.roles import ANY_USER, PUBLIC, STAFF, Actor, requires
from contactcenter.web.security import (
    CSRF_CROSS_ORIGIN,
    json_error,
    query_int,
    read_json_object,
)

WIDGET_DIR = Path(__file__).with_name("static") / "widget"
MAX_START_BODY = 16 * 1024
SCRIPT_HEADERS = {"Content-Type": "application/javascript; charset=utf-8",
                  "Cache-Control": "public, max-age=300", "Vary": "Origin, Referer"}


def _agent_of(request: web.Request) -> str:
    actor: Actor = request["actor"]
    if not actor.agent_id:
        raise json_error(web.HTTPConflict, "your user is not linked to an agent")
    return actor.agent_id


def _chat_error(exc: ChatError) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {
        403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
        503: web.HTTPServiceUnavailable}
    return json_error(kinds.get(exc.status, web.HTTPBadRequest), str(exc))


class ChatRoutes:
    """Handlers over one ``ChatService``; ``audit`` is the server's ``AuditLog``."""

    def __init__(self, service: ChatService, audit: Any) -> None:
        self.service = service
        self.audit = audit
        self.sockets = VisitorSockets(service)
        self._scripts: dict[str, bytes] = {}

    def routes(self) -> list[web.RouteDef]:
        """Every chat route."""
        return [
            web.get("/chat/widget.js", self.loader, allow_head=False),
            web.get("/chat/widget-app.js", self.app_script, allow_head=False),
            web.get("/api/chat/widget/{channel}/config", self.config, allow_head=False),
            web.options("/api/chat/widget/{channel}/conversations", self.preflight),
            web.post("/api/chat/widget/{channel}/conversations", self.start),
            web.get("/api/chat/widget/{channel}/ws", self.sockets.handle, allow_head=False),
            web.get("/api/chat/conversations", self.mine, allow_head=False),
            web.get("/api/chat/conversations/{id}/messages", self.messages, allow_head=False),
            web.post("/api/chat/conversations/{id}/accept", self.accept),
            web.post("/api/chat/conversations/{id}/messages", self.say),
            web.post("/api/chat/conversations/{id}/typing", self.typing),
            web.post("/api/chat/conversations/{id}/close", self.close),
        ]

    # --- the widget ------------------------------------------------------------------------

    def _script(self, name: str) -> bytes:
        if name not in self._scripts:
            self._scripts[name] = (WIDGET_DIR / name).read_bytes()
        return self._scripts[name]

    def _all_origins(self) -> set[str]:
        return {o for c in self.service.settings.channels for o in c.allowed_origins}

    @requires(PUBLIC)
    async def loader(self, request: web.Request) -> web.StreamResponse:
        """The widget's loader script, for pages of an allowed site."""
        if not origins.referer_allowed(request, self._all_origins()):
            raise web.HTTPForbidden(text="/* this site may not use this chat */",
                                    content_type="application/javascript")
        return web.Response(body=self._script("loader.js"), headers=SCRIPT_HEADERS)

    @requires(PUBLIC)
    async def app_script(self, request: web.Request) -> web.StreamResponse:
        """The rest of the widget, loaded by the loader (a CORS script load: Origin is sent)."""
        channel = self.service.channel(request.query.get("channel", ""))
        origin = origins.request_origin(request)
        if channel is None or not origins.allowed(origin, channel.allowed_origins):
            raise web.HTTPForbidden(text="/* this site may not use this chat */",
                                    content_type="application/javascript")
        assert origin is not None
        return web.Response(body=self._script("app.js"),
                            headers={**SCRIPT_HEADERS, **origins.cors_headers(origin)})

    def _channel_for(self, request: web.Request) -> tuple[ChatChannelSettings, str]:
        channel = self.service.channel(request.match_info["channel"])
        if channel is None:
            raise json_error(web.HTTPNotFound, "no such chat channel")
        origin = origins.request_origin(request)
        if origin is None or not origins.allowed(origin, channel.allowed_origins):
            raise json_error(web.HTTPForbidden, "this site may not use this chat")
        return channel, origin

    @requires(PUBLIC)
    async def config(self, request: web.Request) -> web.Response:
        """What the widget shows: title and texts, colour, position, the pre-chat form."""
        channel, origin = self._channel_for(request)
        return web.json_response({
            "channel": channel.name, "colour": channel.colour, "position": channel.position,
            "strings": channel.texts(), "max_message_chars": channel.max_message_chars,
            "prechat": [{"name": f.name, "label": f.label or f.name, "type": f.type,
                         "required": f.required, "options": list(f.options),
                         "max_length": f.max_length} for f in channel.prechat],
        }, headers={**origins.cors_headers(origin), "Cache-Control": "no-cache"})

    @requires(PUBLIC)
    async def preflight(self, request: web.Request) -> web.Response:
        """CORS preflight of the start request."""
        _channel, origin = self._channel_for(request)
        return web.Response(status=204, headers=origins.preflight_headers(origin, "POST"))

    @requires(PUBLIC)
    async def start(self, request: web.Request) -> web.Response:
        """A visitor starts a conversation (pre-chat answers checked; per-address limit)."""
        channel, origin = self._channel_for(request)
        cors = origins.cors_headers(origin)
        body = await read_json_object(request, MAX_START_BODY)
        try:
            start = check_start(body)
            record, token = await self.service.start_conversation(
                channel, start, body.get("answers"), request.remote or "?")
        except Refused as exc:
            return web.json_response({"error": "the form has errors", "errors": exc.errors},
                                     status=422, headers=cors)
        except RateLimited as exc:
            return web.json_response({"error": str(exc)}, status=429, headers={
                **cors, "Retry-After": str(max(1, round(exc.retry_after)))})
        except ChatError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status, headers=cors)
        return web.json_response({"conversation_id": record.id, "token": token,
                                  "visitor_id": record.visitor_id}, status=201, headers=cors)

    start.csrf = CSRF_CROSS_ORIGIN  # type: ignore[attr-defined]

    # --- the agent -------------------------------------------------------------------------

    @requires(*ANY_USER)
    async def mine(self, request: web.Request) -> web.Response:
        """My chats now (offered, active, in wrap-up), each with its transcript."""
        agent_id = _agent_of(request)
        try:
            items = await self.service.agent_conversations(agent_id)
        except RoutingError as exc:  # an agent id routing does not know
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return web.json_response({"agent_id": agent_id, "conversations": items})

    @requires(*ANY_USER)
    async def messages(self, request: web.Request) -> web.Response:
        """A conversation's messages after ``after`` (its agent, or staff)."""
        actor: Actor = request["actor"]
        record = await self.service.record(request.match_info["id"][:64])
        if record is None:
            raise json_error(web.HTTPNotFound, "no conversation with that id")
        if actor.role not in STAFF and (not actor.agent_id or record.agent_id != actor.agent_id):
            raise json_error(web.HTTPForbidden, "not your conversation")
        after = query_int(request, "after", 0, 2**31 - 1)
        items = await self.service.transcript(record.id, after)
        return web.json_response({"conversation": record.as_json(),
                                  "messages": [m.as_json() for m in items]})

    async def _audited(self, request: web.Request, action: str, run: Any,
                       detail: dict[str, Any] | None = None) -> None:
        actor: Actor = request["actor"]
        target = request.match_info["id"][:64]
        try:
            await run
        except ChatError as exc:
            await self.audit.record(actor.username, action, target, "refused",
                                    {**(detail or {}), "error": str(exc)})
            raise _chat_error(exc) from None
        await self.audit.record(actor.username, action, target, "ok", detail)

    @requires(*ANY_USER)
    async def accept(self, request: web.Request) -> web.Response:
        """Take the chat I am offered."""
        agent_id = _agent_of(request)
        await self._audited(request, "chat.accept",
                            self.service.accept(agent_id, request.match_info["id"]))
        return web.json_response({"ok": True})

    @requires(*ANY_USER)
    async def say(self, request: web.Request) -> web.Response:
        """Send a message to the visitor."""
        agent_id = _agent_of(request)
        body = await read_json_object(request)
        try:
            msg = await self.service.agent_says(agent_id, request.match_info["id"],
                                                body.get("text"))
        except ChatError as exc:
            raise _chat_error(exc) from None
        return web.json_response({"message": msg.as_json()}, status=201)

    @requires(*ANY_USER)
    async def typing(self, request: web.Request) -> web.Response:
        """Show (or stop showing) that I am typing."""
        agent_id = _agent_of(request)
        body = await read_json_object(request)
        try:
            self.service.agent_typing(agent_id, request.match_info["id"],
                                      bool(body.get("typing")))
        except ChatError as exc:
            raise _chat_error(exc) from None
        return web.json_response({"ok": True})

    @requires(*ANY_USER)
    async def close(self, request: web.Request) -> web.Response:
        """End the chat; with a disposition, end its wrap-up too."""
        agent_id = _agent_of(request)
        body = await read_json_object(request)
        disposition, notes = body.get("disposition"), body.get("notes")
        for name, value in (("disposition", disposition), ("notes", notes)):
            if value is not None and not isinstance(value, str):
                raise json_error(web.HTTPBadRequest, f"{name} must be text")
        if isinstance(notes, str):
            notes = " ".join(notes.split())[:2000] or None  # wrap-up notes are one line
        await self._audited(request, "chat.close", self.service.close_by_agent(
            agent_id, request.match_info["id"], disposition or None, notes),
            {"disposition": disposition})
        return web.json_response({"ok": True})


def add_chat_routes(app: web.Application, service: ChatService, audit: Any) -> ChatRoutes:
    """Install the chat's routes on ``app``."""
    routes = ChatRoutes(service, audit)
    app.add_routes(routes.routes())
    return routes
