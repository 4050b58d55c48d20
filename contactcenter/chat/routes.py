"""The chat's HTTP routes: the widget's (public, cross-origin) and the agent's (logged in).

Widget, for pages of a channel's ``allowed_origins`` only (``origins.py``), no cookie:
  GET  /chat/widget.js                          the loader (``<script data-channel=...>``)
  GET  /chat/widget-app.js?channel=NAME         the rest, loaded on first open
  GET  /api/chat/widget/{channel}/config        form, texts, colours, ``available`` now
  POST /api/chat/widget/{channel}/conversations start: {visitor_id?, visitor_signature?,
                                                name?, answers, page?, attributes?} -> 201
                                                {conversation_id, token, visitor_id}; 422
                                                {errors: {field: why}}; 403 (signature); 429;
                                                409 {offline: true, reason} (leave a message)
  POST /api/chat/widget/{channel}/messages      leave a message: {answers, message, page?,
                                                name?, visitor_id?, visitor_signature?} -> 201;
                                                from the line: {conversation_id, token,
                                                message} (the chat ends; 409 once answered)
  POST /api/chat/widget/{channel}/faq           articles before a person: {answers, question}
                                                -> {articles: [...]}; 422 like a start; 429
                                                (the start then carries ``faq``: ``faq.py``)
  GET  /api/chat/widget/{channel}/help?q=       the Help tab's search -> {articles: [...]}
  GET  /api/chat/widget/{channel}/ws            the visitor's socket (``visitor_socket.py``)

Agent (a logged-in user linked to an agent; CSRF and Origin checked as for every change):
  GET  /api/chat/conversations                  my chats (offered, active, wrap-up) + transcripts
  GET  /api/chat/conversations/{id}/messages?after=N
  POST /api/chat/conversations/{id}/accept | /messages {text} | /typing {typing}
       | /close {disposition?, notes?} | /transfer {queue} or {agent} | /read {seq}
  (colleagues and supervisors in a chat: ``supervise_routes.py``)
  POST /api/chat/widget/{channel}/transcript   the ended chat's transcript by email:
                                                {conversation_id, token, email} -> 202
                                                {email}; 422 {errors}; 403; 409 (not ended);
                                                429; 503 (no outbound mail)
Messages left offline: ``left_messages_routes.py``; a visitor's data: ``visitor_export.py``.
The bot flows' outcomes (``bot.py``; staff):
  GET  /api/chat/bots?since=EPOCH               per flow: conversations, handover, deflected,
                                                ended, abandoned, talking, deflection_rate
Canned replies (``canned.py``):
  GET  /api/chat/conversations/{id}/canned      my chat's replies, placeholders filled in
  GET  /api/chat/canned-replies                 (staff) every reply
  POST /api/chat/canned-replies {queue?, shortcut, text} -> 201; PUT|DELETE .../{id}
                                                (staff; audited ``chat.canned.*``)
Accepting, closing and transferring are audited (``chat.accept``, ``chat.close``,
``chat.transfer``) with their outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.chat import origins
from contactcenter.chat.attachments import widget_config
from contactcenter.chat.bot import outcomes
from contactcenter.chat.canned import DuplicateShortcut, check_reply
from contactcenter.chat.core import agent_json
from contactcenter.chat.errors import ChatError, OfflineError
from contactcenter.chat.faq import SearchLimited, check_faq
from contactcenter.chat.model import Refused, check_answers, check_message_text, check_start
from contactcenter.chat.service import ChatService
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.chat.supervise import ChatSupervision
from contactcenter.chat.supervise_routes import SuperviseRoutes
from contactcenter.chat.transcript_mail import TranscriptMailer
from contactcenter.chat.visitor_errors import too_many, visitor_error
from contactcenter.chat.visitor_socket import VisitorSockets
from contactcenter.routing.errors import RoutingError
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ANY_USER, PUBLIC, STAFF, Actor, requires
from contactcenter.web.security import (
    CSRF_CROSS_ORIGIN,
    json_error,
    query_int,
    read_json_object,
)

WIDGET_DIR = Path(__file__).with_name("static") / "widget"
# The chat's markdown subset (a file of the agent's pages too), served in front of app.js
MARKDOWN_JS = Path(__file__).with_name("static") / "panel" / "chat-markdown.js"
MAX_START_BODY = 16 * 1024
SCRIPT_HEADERS = {"Content-Type": "application/javascript; charset=utf-8",
                  "Cache-Control": "public, max-age=300", "Vary": "Origin, Referer"}

_SCRIPT_DOC = api_doc(responses={
    200: {"description": "the script",
          "content": {"application/javascript": {"schema": {"type": "string"}}}},
    403: {"description": "this site may not use this chat (a script comment)",
          "content": {"application/javascript": {"schema": {"type": "string"}}}}})
# The answers of every handler for the agent's own chats (_agent_of, _chat_error)
_NOT_AGENT = {"description": "your user is not linked to an agent, or the chat is not in a "
                             "state for this"}
_AGENT_DOC = api_doc(responses={200: {"description": "done"}, 409: _NOT_AGENT})


def _agent_body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> Any:
    return api_doc(request={"type": "object", "properties": properties, "required": [*required]},
                   responses={200: {"description": "done"}, 409: _NOT_AGENT,
                              400: {"description": "refused by the chat"}})


_CANNED_DOC = api_doc(
    request={"type": "object", "required": ["shortcut", "text"], "properties": {
        "queue": {"type": ["string", "null"], "description": "a queue (empty: every queue)"},
        "shortcut": {"type": "string"}, "text": {"type": "string"}}},
    responses={200: {"description": "replaced"}, 201: {"description": "created"},
               409: {"description": "another reply has this shortcut"},
               422: {"type": "object", "description": "the reply has errors (by field)",
                     "properties": {"errors": {"type": "object"}}}})


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

    def __init__(self, service: ChatService, audit: Any,
                 transcripts: TranscriptMailer | None = None) -> None:
        self.service = service
        self.audit = audit
        self.transcripts = transcripts or TranscriptMailer(service)
        self.supervision = ChatSupervision(service)
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
            web.options("/api/chat/widget/{channel}/messages", self.preflight),
            web.post("/api/chat/widget/{channel}/messages", self.leave_message),
            web.options("/api/chat/widget/{channel}/faq", self.preflight),
            web.post("/api/chat/widget/{channel}/faq", self.faq_articles),
            web.get("/api/chat/widget/{channel}/help", self.help_search, allow_head=False),
            web.options("/api/chat/widget/{channel}/transcript", self.preflight),
            web.post("/api/chat/widget/{channel}/transcript", self.mail_transcript),
            web.get("/api/chat/conversations/{id}/canned", self.canned_for_chat,
                    allow_head=False),
            web.get("/api/chat/canned-replies", self.canned_list, allow_head=False),
            web.get("/api/chat/bots", self.bot_outcomes, allow_head=False),
            web.post("/api/chat/canned-replies", self.canned_create),
            web.put("/api/chat/canned-replies/{id}", self.canned_update),
            web.delete("/api/chat/canned-replies/{id}", self.canned_delete),
            web.get("/api/chat/widget/{channel}/ws", self.sockets.handle, allow_head=False),
            web.get("/api/chat/conversations", self.mine, allow_head=False),
            web.get("/api/chat/conversations/{id}/messages", self.messages, allow_head=False),
            web.post("/api/chat/conversations/{id}/accept", self.accept),
            web.post("/api/chat/conversations/{id}/messages", self.say),
            web.post("/api/chat/conversations/{id}/typing", self.typing),
            web.post("/api/chat/conversations/{id}/close", self.close),
            web.post("/api/chat/conversations/{id}/transfer", self.transfer),
            web.post("/api/chat/conversations/{id}/read", self.read),
        ]

    # --- the widget ------------------------------------------------------------------------

    def _script(self, name: str) -> bytes:
        if name not in self._scripts:
            body = (WIDGET_DIR / name).read_bytes()
            if name == "app.js":  # with the markdown renderer, in one function: no global
                body = b"(function () {\n" + MARKDOWN_JS.read_bytes() + body + b"})();\n"
            self._scripts[name] = body
        return self._scripts[name]

    def _all_origins(self) -> set[str]:
        return {o for c in self.service.settings.channels for o in c.allowed_origins}

    @requires(PUBLIC)
    @_SCRIPT_DOC
    async def loader(self, request: web.Request) -> web.StreamResponse:
        """The widget's loader script, for pages of an allowed site."""
        if not origins.referer_allowed(request, self._all_origins()):
            raise web.HTTPForbidden(text="/* this site may not use this chat */",
                                    content_type="application/javascript")
        return web.Response(body=self._script("loader.js"), headers=SCRIPT_HEADERS)

    @requires(PUBLIC)
    @_SCRIPT_DOC
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
        return origins.widget_channel(request, self.service.channel)

    @requires(PUBLIC)
    async def config(self, request: web.Request) -> web.Response:
        """What the widget shows: title and texts, colour, position, the pre-chat form."""
        channel, origin = self._channel_for(request)
        reason = self.service.offline_reason(channel)
        return web.json_response({
            "available": reason is None, "offline_reason": reason,
            "channel": channel.name, "colour": channel.colour, "position": channel.position,
            "strings": channel.texts(), "max_message_chars": channel.max_message_chars,
            "attachments": widget_config(channel.attachments),
            "transcript_mail": self.transcripts.offered(channel),
            "faq": {"enabled": self.service.faq.offered(channel),
                    "help_tab": self.service.faq.help_tab(channel),
                    "question_field": channel.faq.question_field or None},
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
            faq = check_faq(body.get("faq"), channel)
            record, token = await self.service.start_conversation(
                channel, start, body.get("answers"), request.remote or "?", faq)
        except OfflineError as exc:
            return web.json_response({"error": str(exc), "offline": True,
                                      "reason": exc.reason}, status=409, headers=cors)
        except (Refused, ChatError) as exc:
            return visitor_error(exc, cors)
        if record.closed_by is not None:  # self-served: closed at once, nothing to join
            return web.json_response({"conversation_id": record.id, "self_served": True},
                                     status=201, headers=cors)
        return web.json_response({"conversation_id": record.id, "token": token,
                                  "visitor_id": record.visitor_id}, status=201, headers=cors)

    start.csrf = CSRF_CROSS_ORIGIN  # type: ignore[attr-defined]

    @requires(PUBLIC)
    async def faq_articles(self, request: web.Request) -> web.Response:
        """The published articles for the visitor's question, before a person: the pre-chat
        answers are checked first (422 as for a start), so nothing fails after them."""
        channel, origin = self._channel_for(request)
        cors = origins.cors_headers(origin)
        if not self.service.faq.offered(channel):
            return web.json_response({"error": "this chat offers no articles"}, status=404,
                                     headers=cors)
        body = await read_json_object(request, MAX_START_BODY)
        errors: dict[str, str] = {}
        try:
            check_answers(channel, body.get("answers"))
        except Refused as exc:
            errors.update(exc.errors)
        try:
            question = check_message_text(body.get("question"), channel.max_message_chars)
        except ValueError as exc:
            errors["question"] = str(exc)
        if errors:
            return web.json_response({"error": "the form has errors", "errors": errors},
                                     status=422, headers=cors)
        return await self._articles(channel, question, request, cors, for_help=False)

    faq_articles.csrf = CSRF_CROSS_ORIGIN  # type: ignore[attr-defined]

    @requires(PUBLIC)
    async def help_search(self, request: web.Request) -> web.Response:
        """The widget's Help tab: published articles for ``q``, no chat started."""
        channel, origin = self._channel_for(request)
        cors = origins.cors_headers(origin)
        if not self.service.faq.help_tab(channel):
            return web.json_response({"error": "this chat has no help search"}, status=404,
                                     headers=cors)
        query = " ".join(request.query.get("q", "").split())[:200]
        if not query:
            return web.json_response({"articles": []}, headers=cors)
        return await self._articles(channel, query, request, cors, for_help=True)

    async def _articles(self, channel: ChatChannelSettings, question: str,
                        request: web.Request, cors: dict[str, str], *,
                        for_help: bool) -> web.Response:
        try:
            articles = await self.service.faq.articles(
                channel, question, request.remote or "?", self.service.clock.time(),
                for_help=for_help)
        except SearchLimited as exc:
            return too_many(exc, cors)
        return web.json_response({"articles": articles},
                                 headers={**cors, "Cache-Control": "no-store"})

    @requires(PUBLIC)
    async def leave_message(self, request: web.Request) -> web.Response:
        """A visitor leaves a message instead of a live chat (form answers and the text)."""
        channel, origin = self._channel_for(request)
        cors = origins.cors_headers(origin)
        body = await read_json_object(request, MAX_START_BODY)
        try:
            start = check_start(body)
            cid, token = body.get("conversation_id"), body.get("token")
            # From the line (a waiting visitor offered it): that chat's id and token.
            conv = (cid, token) if isinstance(cid, str) and isinstance(token, str) else None
            msg = await self.service.leave_message(channel, start, body.get("answers"),
                                                   body.get("message"), request.remote or "?",
                                                   conv)
        except (Refused, ChatError) as exc:
            return visitor_error(exc, cors)
        return web.json_response({"id": msg.id}, status=201, headers=cors)

    leave_message.csrf = CSRF_CROSS_ORIGIN  # type: ignore[attr-defined]

    @requires(PUBLIC)
    async def mail_transcript(self, request: web.Request) -> web.Response:
        """The visitor of an ended chat asks for its transcript by email."""
        channel, origin = self._channel_for(request)
        cors = origins.cors_headers(origin)
        body = await read_json_object(request, MAX_START_BODY)
        try:
            address = await self.transcripts.request(
                channel, body.get("conversation_id"), body.get("token"), body.get("email"),
                request.remote or "?")
        except (Refused, ChatError) as exc:
            return visitor_error(exc, cors)
        return web.json_response({"email": address}, status=202, headers=cors)

    mail_transcript.csrf = CSRF_CROSS_ORIGIN  # type: ignore[attr-defined]

    # --- the agent -------------------------------------------------------------------------

    @requires(*ANY_USER)
    @_AGENT_DOC
    async def mine(self, request: web.Request) -> web.Response:
        """My chats now (offered, active, in wrap-up), each with its transcript."""
        agent_id = _agent_of(request)
        try:
            items = await self.service.agent_conversations(agent_id)
        except RoutingError as exc:  # an agent id routing does not know
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return web.json_response({"agent_id": agent_id, "conversations": items,
                                  "transfer_queues": sorted(self.service.routing.config.queues),
                                  "colleagues": self.supervision.colleagues(agent_id)})

    @requires(*ANY_USER)
    async def messages(self, request: web.Request) -> web.Response:
        """A conversation's messages after ``after`` (its agent, or staff)."""
        actor: Actor = request["actor"]
        record = await self.service.record(request.match_info["id"][:64])
        if record is None:
            raise json_error(web.HTTPNotFound, "no conversation with that id")
        live = self.service.live_of(record.id)
        guest = live is not None and actor.agent_id in live.guests
        if actor.role not in STAFF and not guest and (
                not actor.agent_id or record.agent_id != actor.agent_id):
            raise json_error(web.HTTPForbidden, "not your conversation")
        after = query_int(request, "after", 0, 2**31 - 1)
        items = await self.service.transcript(record.id, after)
        return web.json_response({"conversation": record.as_json(),
                                  "messages": [agent_json(m) for m in items]})

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

    # --- canned replies ---------------------------------------------------------------------

    @requires(*ANY_USER)
    @_AGENT_DOC
    async def canned_for_chat(self, request: web.Request) -> web.Response:
        """The canned replies I may use in this chat, placeholders filled in."""
        agent_id = _agent_of(request)
        try:
            items = await self.service.canned_replies(agent_id, request.match_info["id"][:64])
        except ChatError as exc:
            raise _chat_error(exc) from None
        return web.json_response({"replies": items})

    @requires(*STAFF)
    async def bot_outcomes(self, request: web.Request) -> web.Response:
        """How the bot flows' conversations ended, per flow (deflected: solved, no person)."""
        since = None
        if "since" in request.query:
            try:
                since = float(request.query["since"])
            except ValueError:
                raise json_error(web.HTTPBadRequest, "since must be epoch seconds") from None
        return web.json_response({"flows": await outcomes(self.service.store.db, since)})

    @requires(*STAFF)
    async def canned_list(self, request: web.Request) -> web.Response:
        """Every canned reply, by queue (none: every queue) and shortcut."""
        items = await self.service.canned.listing()
        return web.json_response({"replies": [r.as_json() for r in items]})

    async def _canned_save(self, request: web.Request, reply_id: str | None) -> web.Response:
        actor: Actor = request["actor"]
        body = await read_declared_json(request)
        action = "chat.canned.create" if reply_id is None else "chat.canned.update"
        try:
            queue, shortcut, text = check_reply(body, set(self.service.routing.config.queues))
            saved = await self.service.canned.save(reply_id, queue, shortcut, text,
                                                   actor.username, self.service.clock.time())
        except Refused as exc:
            return web.json_response({"error": "the reply has errors", "errors": exc.errors},
                                     status=422)
        except DuplicateShortcut as exc:
            await self.audit.record(actor.username, action, reply_id or "", "refused",
                                    {"error": str(exc)})
            raise json_error(web.HTTPConflict, str(exc)) from None
        if saved is None:
            raise json_error(web.HTTPNotFound, "no canned reply with that id")
        await self.audit.record(actor.username, action, saved.id, "ok",
                                {"queue": queue or None, "shortcut": shortcut})
        return web.json_response({"reply": saved.as_json()},
                                 status=201 if reply_id is None else 200)

    @requires(*STAFF)
    @_CANNED_DOC
    async def canned_create(self, request: web.Request) -> web.Response:
        """A new canned reply: {queue?, shortcut, text}."""
        return await self._canned_save(request, None)

    @requires(*STAFF)
    @_CANNED_DOC
    async def canned_update(self, request: web.Request) -> web.Response:
        """Replace a canned reply."""
        return await self._canned_save(request, request.match_info["id"][:64])

    @requires(*STAFF)
    async def canned_delete(self, request: web.Request) -> web.Response:
        """Remove a canned reply."""
        actor: Actor = request["actor"]
        reply_id = request.match_info["id"][:64]
        if not await self.service.canned.delete(reply_id):
            raise json_error(web.HTTPNotFound, "no canned reply with that id")
        await self.audit.record(actor.username, "chat.canned.delete", reply_id, "ok", None)
        return web.json_response({"ok": True})

    @requires(*ANY_USER)
    @_AGENT_DOC
    async def accept(self, request: web.Request) -> web.Response:
        """Take the chat I am offered."""
        agent_id = _agent_of(request)
        await self._audited(request, "chat.accept",
                            self.service.accept(agent_id, request.match_info["id"]))
        return web.json_response({"ok": True})

    @requires(*ANY_USER)
    @_agent_body({"text": {"type": "string"}}, ("text",))
    async def say(self, request: web.Request) -> web.Response:
        """Send a message to the visitor."""
        agent_id = _agent_of(request)
        body = await read_declared_json(request)
        try:
            msg = await self.service.agent_says(agent_id, request.match_info["id"],
                                                body.get("text"))
        except ChatError as exc:
            raise _chat_error(exc) from None
        return web.json_response({"message": msg.as_json()}, status=201)

    @requires(*ANY_USER)
    @_agent_body({"typing": {"type": "boolean"}}, ())
    async def typing(self, request: web.Request) -> web.Response:
        """Show (or stop showing) that I am typing."""
        agent_id = _agent_of(request)
        body = await read_declared_json(request)
        try:
            self.service.agent_typing(agent_id, request.match_info["id"],
                                      bool(body.get("typing")))
        except ChatError as exc:
            raise _chat_error(exc) from None
        return web.json_response({"ok": True})

    @requires(*ANY_USER)
    @_agent_body({"seq": {"type": "integer"}}, ("seq",))
    async def read(self, request: web.Request) -> web.Response:
        """I have read the chat up to ``seq``: the visitor sees its messages marked read."""
        agent_id = _agent_of(request)
        body = await read_declared_json(request)
        try:
            self.service.agent_read(agent_id, request.match_info["id"], body.get("seq"))
        except ChatError as exc:
            raise _chat_error(exc) from None
        return web.json_response({"ok": True})

    @requires(*ANY_USER)
    @_agent_body({"disposition": {"type": ["string", "null"]},
                  "notes": {"type": ["string", "null"]}}, ())
    async def close(self, request: web.Request) -> web.Response:
        """End the chat; with a disposition, end its wrap-up too."""
        agent_id = _agent_of(request)
        body = await read_declared_json(request)
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

    @requires(*ANY_USER)
    @_agent_body({"queue": {"type": "string"}, "agent": {"type": "string"}}, ())
    async def transfer(self, request: web.Request) -> web.Response:
        """Send my chat to another queue, or to one named colleague ({agent}), transcript and
        all; I go to wrap-up for it."""
        agent_id = _agent_of(request)
        body = await read_declared_json(request)
        queue, colleague = body.get("queue"), body.get("agent")
        if colleague is not None:
            await self._audited(request, "chat.transfer", self.supervision.transfer_to(
                agent_id, request.match_info["id"], colleague),
                {"agent": colleague if isinstance(colleague, str) else None})
            return web.json_response({"ok": True})
        await self._audited(request, "chat.transfer", self.service.transfer(
            agent_id, request.match_info["id"], queue),
            {"queue": queue if isinstance(queue, str) else None})
        return web.json_response({"ok": True})


def add_chat_routes(app: web.Application, service: ChatService, audit: Any,
                    transcripts: TranscriptMailer | None = None) -> ChatRoutes:
    """Install the chat's routes on ``app`` (``transcripts``: the mailer app.py wired)."""
    routes = ChatRoutes(service, audit, transcripts)
    app.add_routes(routes.routes())
    app.add_routes(SuperviseRoutes(routes.supervision, audit).routes())
    return routes
