"""HTTP routes for colleagues and supervisors in a chat (``supervise.py``); all audited.

Supervisors and admins (the page ``/live-chats``):
  GET  /api/chat/live                              open conversations, with agent and guests
  POST /api/chat/conversations/{id}/watch          transcript (notes too) + live topic
                                                   ``chat.<id>``; audited ``chat.watch``
  POST /api/chat/conversations/{id}/note {text}    private note to the chat's agents
                                                   (never the visitor); audited ``chat.note``
  POST /api/chat/conversations/{id}/join           barge: the visitor sees "<name> joined the
                                                   chat."; audited ``chat.join``
  POST /api/chat/conversations/{id}/supervisor-messages {text}   (after join) to the visitor
Agents (their own chat):
  POST /api/chat/conversations/{id}/invite {agent} a colleague in; audited ``chat.invite``
  POST /api/chat/conversations/{id}/leave          an invited colleague leaves; ``chat.leave``
(Transfer to a colleague is ``POST .../transfer {agent}``, in ``routes.py``.)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.chat.errors import ChatError
from contactcenter.chat.supervise import ChatSupervision
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ANY_USER, STAFF, Actor, requires
from contactcenter.web.security import json_error


def _error(exc: ChatError) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {
        403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict}
    return json_error(kinds.get(exc.status, web.HTTPBadRequest), str(exc))


def _doc(properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> Any:
    request = None if properties is None else {
        "type": "object", "properties": properties, "required": [*required]}
    return api_doc(request=request, responses={
        200: {"description": "done"}, 400: {"description": "refused by the chat"},
        403: {"description": "not your conversation"},
        404: {"description": "no open conversation with that id"},
        409: {"description": "the chat is not in a state for this"}})


_TEXT = {"text": {"type": "string"}}
_AGENT = {"agent": {"type": "string"}}


class SuperviseRoutes:
    """Handlers over one ``ChatSupervision``; ``audit`` is the server's ``AuditLog``."""

    def __init__(self, supervision: ChatSupervision, audit: Any) -> None:
        self.supervision = supervision
        self.audit = audit

    def routes(self) -> list[web.RouteDef]:
        """Every route of this module."""
        base = "/api/chat/conversations/{id}"
        return [
            web.get("/api/chat/live", self.live, allow_head=False),
            web.post(f"{base}/watch", self.watch),
            web.post(f"{base}/note", self.note),
            web.post(f"{base}/join", self.join),
            web.post(f"{base}/supervisor-messages", self.supervisor_says),
            web.post(f"{base}/invite", self.invite),
            web.post(f"{base}/leave", self.leave),
        ]

    async def _audited(self, request: web.Request, action: str, run: Any,
                       detail: dict[str, Any] | None = None) -> Any:
        actor: Actor = request["actor"]
        target = request.match_info["id"][:64]
        try:
            result = await run
        except ChatError as exc:
            await self.audit.record(actor.username, action, target, "refused",
                                    {**(detail or {}), "error": str(exc)})
            raise _error(exc) from None
        await self.audit.record(actor.username, action, target, "ok", detail)
        return result

    @staticmethod
    def _agent_of(request: web.Request) -> str:
        actor: Actor = request["actor"]
        if not actor.agent_id:
            raise json_error(web.HTTPConflict, "your user is not linked to an agent")
        return actor.agent_id

    @requires(*STAFF)
    async def live(self, request: web.Request) -> web.Response:
        """The open conversations, for supervisors to watch."""
        return web.json_response({"conversations": self.supervision.live_chats()})

    @requires(*STAFF)
    @_doc()
    async def watch(self, request: web.Request) -> web.Response:
        """Watch a chat: its transcript so far, then subscribe to the topic it names."""
        body = await self._audited(request, "chat.watch",
                                   self.supervision.watch(request.match_info["id"]))
        return web.json_response(body)

    @requires(*STAFF)
    @_doc(_TEXT, ("text",))
    async def note(self, request: web.Request) -> web.Response:
        """A private note only the chat's agents (and watchers) see."""
        actor: Actor = request["actor"]
        text = (await read_declared_json(request)).get("text")
        msg = await self._audited(request, "chat.note", self.supervision.note(
            request.match_info["id"], actor.username, text))
        return web.json_response({"message": msg.as_json()}, status=201)

    @requires(*STAFF)
    @_doc()
    async def join(self, request: web.Request) -> web.Response:
        """Join the chat (barge): the visitor is told, my messages then reach them."""
        actor: Actor = request["actor"]
        fresh = await self._audited(request, "chat.join", self.supervision.join(
            request.match_info["id"], actor.username, actor.username))
        return web.json_response({"ok": True, "joined_now": fresh})

    @requires(*STAFF)
    @_doc(_TEXT, ("text",))
    async def supervisor_says(self, request: web.Request) -> web.Response:
        """A message to the visitor, under my name (after join)."""
        actor: Actor = request["actor"]
        text = (await read_declared_json(request)).get("text")
        try:
            msg = await self.supervision.supervisor_says(
                request.match_info["id"], actor.username, actor.username, text)
        except ChatError as exc:
            raise _error(exc) from None
        return web.json_response({"message": msg.as_json()}, status=201)

    @requires(*ANY_USER)
    @_doc(_AGENT, ("agent",))
    async def invite(self, request: web.Request) -> web.Response:
        """Bring a colleague into my chat."""
        agent_id = self._agent_of(request)
        colleague = (await read_declared_json(request)).get("agent")
        await self._audited(request, "chat.invite", self.supervision.invite(
            agent_id, request.match_info["id"], colleague),
            {"agent": colleague if isinstance(colleague, str) else None})
        return web.json_response({"ok": True})

    @requires(*ANY_USER)
    @_doc()
    async def leave(self, request: web.Request) -> web.Response:
        """Leave a chat I was invited into."""
        agent_id = self._agent_of(request)
        await self._audited(request, "chat.leave",
                            self.supervision.leave(agent_id, request.match_info["id"]))
        return web.json_response({"ok": True})
