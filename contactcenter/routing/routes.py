"""Agent-control REST handlers (before the panel exists): login/logout, pause, wrap-up, views.

Every handler declares its roles with ``web.roles.requires``. Handlers marked ``self_only`` act
on one agent: a caller whose role is "agent" may act on themselves only. Authentication is
in ``web/security.py``; it puts the caller in ``request["actor"]`` (``web.roles.Actor``). With
no actor the request is refused (fail closed); plug another hook with
``add_routes(..., authorize=)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from contactcenter.routing.engine import MAX_REASON
from contactcenter.routing.errors import Conflict, NotFound
from contactcenter.routing.service import RoutingService
from contactcenter.web.openapi import api_doc, printable, read_declared_json
from contactcenter.web.roles import ANY_USER, STAFF, requires
from contactcenter.web.security import json_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authorize = Callable[[web.Request, Handler, str | None], None]

SERVICE_KEY = web.AppKey("routing_service", RoutingService)
AUTHORIZE_KEY = web.AppKey("agent_control_authorize", object)
MAX_BODY = 16 * 1024
MAX_TEXT = 200
MAX_NOTES = 2000  # the panel's notes box holds as much
_UNSAFE = ("\r", "\n", "\x00")
# Agent ids as the agents file and the users API accept them.
_AGENT_ID = r"{id:[A-Za-z0-9][A-Za-z0-9._@-]{0,63}}"

_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT,
                         "pattern": "^[^\\r\\n\\x00]*$",
                         "x-message": "must be a string without CR, LF or NUL"}
_NOTES: dict[str, Any] = {**_TEXT, "maxLength": MAX_NOTES}
# Pause reasons and dispositions: the engine's ``check_reason`` rule (str.isprintable)
_REASON = printable(1, MAX_REASON)
_ERRORS: dict[int | str, Any] = {
    200: {"type": "object", "description": "the agent's live view"},
    400: {"description": "bad value"}, 403: {"description": "not your agent"},
    404: {"description": "no such agent or queue"}, 409: {"description": "not in this state"}}


def self_only(fn: Handler) -> Handler:
    """Mark a handler whose ``{id}`` an agent may only be their own."""
    fn.self_only = True  # type: ignore[attr-defined]
    return fn


def default_authorize(request: web.Request, handler: Handler, agent_id: str | None) -> None:
    """Refuse a caller without the role, and an agent acting on another agent."""
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    if actor.role not in getattr(handler, "roles", frozenset()):
        raise json_error(web.HTTPForbidden, "forbidden for your role")
    if (agent_id is not None and getattr(handler, "self_only", False)
            and actor.role not in STAFF and actor.agent_id != agent_id):
        raise json_error(web.HTTPForbidden, "agents may only act on themselves")


def _json(data: Any, status: int = 200) -> web.Response:
    if dataclasses.is_dataclass(data):
        data = dataclasses.asdict(data)  # type: ignore[arg-type]
    return web.json_response(data, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    # Actions without parameters (logout, unpause) may be posted with no body at all.
    return await read_declared_json(request, MAX_BODY) if request.can_read_body else {}


def _text(body: dict[str, Any], key: str, required: bool, limit: int = MAX_TEXT) -> str | None:
    # Absent means "not given"; null is not a way of saying so (it once chose a default).
    if key not in body:
        if required:
            raise json_error(web.HTTPBadRequest, f"{key} is required")
        return None
    value = body[key]
    if not isinstance(value, str):
        raise json_error(web.HTTPBadRequest, f"{key} must be a string")
    if len(value) > limit:
        raise json_error(web.HTTPBadRequest, f"{key} is longer than {limit} characters")
    if any(c in value for c in _UNSAFE):
        raise json_error(web.HTTPBadRequest, f"{key} must not contain CR, LF or NUL")
    return value


def _guarded(handler: Handler) -> Handler:
    """Authorize, then map routing errors to HTTP statuses."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        authorize: Authorize = request.app[AUTHORIZE_KEY]  # type: ignore[assignment]
        authorize(request, handler, request.match_info.get("id"))
        try:
            return await handler(request)
        except NotFound as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        except Conflict as exc:
            raise json_error(web.HTTPConflict, str(exc)) from None
        except ValueError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None

    wrapper.roles = handler.roles  # type: ignore[attr-defined]
    wrapper.self_only = getattr(handler, "self_only", False)  # type: ignore[attr-defined]
    wrapper.__doc__ = handler.__doc__
    wrapper.__name__ = handler.__name__
    if hasattr(handler, "openapi"):
        wrapper.openapi = handler.openapi  # type: ignore[attr-defined]
    return wrapper


def _svc(request: web.Request) -> RoutingService:
    return request.app[SERVICE_KEY]


@requires(*ANY_USER)
@self_only
@api_doc(request={"type": "object", "properties": {"queues": {
    "type": "array", "items": {"type": "string", "maxLength": 64},
    "x-message": "must be a list of queue names",
    "description": "omit: the agent's configured queues"}}}, body_optional=True,
    responses=_ERRORS, tags=("agents",))
async def login(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/login {"queues": [...]} (omit queues: the configured ones)."""
    body = await _body(request)
    queues = body.get("queues")
    if queues is not None and (
        not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)
    ):
        raise json_error(web.HTTPBadRequest, "queues must be a list of names")
    agent_id = request.match_info["id"]
    await _svc(request).agent_login(agent_id, queues)
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
@api_doc(responses=_ERRORS, tags=("agents",))
async def logout(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/logout."""
    agent_id = request.match_info["id"]
    await _svc(request).agent_logout(agent_id)
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
@api_doc(request={"type": "object", "required": ["reason"], "properties": {"reason": _REASON}},
         responses=_ERRORS, tags=("agents",))
async def pause(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/pause {"reason": "break"}."""
    body = await _body(request)
    agent_id = request.match_info["id"]
    await _svc(request).agent_pause(agent_id, _text(body, "reason", True) or "")
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
@api_doc(responses=_ERRORS, tags=("agents",))
async def unpause(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/unpause."""
    agent_id = request.match_info["id"]
    await _svc(request).agent_unpause(agent_id)
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
@api_doc(request={"type": "object", "required": ["disposition"], "properties": {
    "disposition": _REASON, "notes": _NOTES,
    "interaction_id": {**_TEXT, "description": "omit: the agent's oldest wrap-up"}}},
    responses=_ERRORS, tags=("agents",))
async def wrapup(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/wrapup {"disposition": "sold", "notes": "...", "interaction_id"?}."""
    body = await _body(request)
    agent_id = request.match_info["id"]
    await _svc(request).wrapup_done(
        agent_id, _text(body, "disposition", True), _text(body, "notes", False, MAX_NOTES),
        _text(body, "interaction_id", False),
    )
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
@api_doc(responses={200: {"type": "object"}, 403: {"description": "not your agent"},
                    404: {"description": "no such agent"}}, tags=("agents",))
async def get_agent(request: web.Request) -> web.Response:
    """GET /api/agents/{id}."""
    return _json(_svc(request).agent(request.match_info["id"]))


@requires(*STAFF)
async def list_agents(request: web.Request) -> web.Response:
    """GET /api/agents: every agent's live view."""
    snap = _svc(request).snapshot()
    return _json([dataclasses.asdict(a) for a in snap.agents.values()])


@requires(*ANY_USER)
@api_doc(responses={200: {"type": "array", "items": {"type": "object"}}}, tags=("agents",))
async def list_queues(request: web.Request) -> web.Response:
    """GET /api/queues: live figures of every queue (an agent: of their own queues only).

    An agent's own queues are those their configuration names and those they are logged in
    to now; other queues' figures are the supervisors' business.
    """
    svc = _svc(request)
    snap = svc.snapshot()
    actor = request.get("actor")
    names: set[str] | None = None
    if actor is not None and actor.role not in STAFF:
        names = set()
        if actor.agent_id in snap.agents:
            names.update(snap.agents[actor.agent_id].queues)
        configured = svc.config.agents.get(actor.agent_id or "")
        if configured is not None:
            names.update(configured.queues)
    return _json([dataclasses.asdict(q) for q in snap.queues.values()
                  if names is None or q.name in names])


def add_routes(
    app: web.Application, service: RoutingService, authorize: Authorize = default_authorize
) -> None:
    """Register the agent-control routes on ``app``."""
    app[SERVICE_KEY] = service
    app[AUTHORIZE_KEY] = authorize
    app.router.add_get("/api/agents", _guarded(list_agents))
    app.router.add_get(f"/api/agents/{_AGENT_ID}", _guarded(get_agent))
    app.router.add_get("/api/queues", _guarded(list_queues))
    for name, handler in (
        ("login", login), ("logout", logout), ("pause", pause), ("unpause", unpause),
        ("wrapup", wrapup),
    ):
        app.router.add_post(f"/api/agents/{_AGENT_ID}/{name}", _guarded(handler))
