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

from contactcenter.routing.errors import Conflict, NotFound
from contactcenter.routing.service import RoutingService
from contactcenter.web.roles import ANY_USER, STAFF, requires
from contactcenter.web.security import read_json_object

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authorize = Callable[[web.Request, Handler, str | None], None]

SERVICE_KEY = web.AppKey("routing_service", RoutingService)
AUTHORIZE_KEY = web.AppKey("agent_control_authorize", object)
MAX_BODY = 16 * 1024


def self_only(fn: Handler) -> Handler:
    """Mark a handler whose ``{id}`` an agent may only be their own."""
    fn.self_only = True  # type: ignore[attr-defined]
    return fn


def default_authorize(request: web.Request, handler: Handler, agent_id: str | None) -> None:
    """Refuse a caller without the role, and an agent acting on another agent."""
    actor = request.get("actor")
    if actor is None:
        raise web.HTTPUnauthorized(reason="log in first")
    if actor.role not in getattr(handler, "roles", frozenset()):
        raise web.HTTPForbidden(reason="role not allowed")
    if (agent_id is not None and getattr(handler, "self_only", False)
            and actor.role not in STAFF and actor.agent_id != agent_id):
        raise web.HTTPForbidden(reason="agents may only act on themselves")


def _json(data: Any, status: int = 200) -> web.Response:
    if dataclasses.is_dataclass(data):
        data = dataclasses.asdict(data)  # type: ignore[arg-type]
    return web.json_response(data, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    # Actions without parameters (logout, unpause) may be posted with no body at all.
    return await read_json_object(request, MAX_BODY) if request.can_read_body else {}


def _text(body: dict[str, Any], key: str, required: bool) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise web.HTTPBadRequest(reason=f"{key} is required")
        return None
    if not isinstance(value, str):
        raise web.HTTPBadRequest(reason=f"{key} must be a string")
    return value


def _guarded(handler: Handler) -> Handler:
    """Authorize, then map routing errors to HTTP statuses."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        authorize: Authorize = request.app[AUTHORIZE_KEY]  # type: ignore[assignment]
        authorize(request, handler, request.match_info.get("id"))
        try:
            return await handler(request)
        except NotFound as exc:
            raise web.HTTPNotFound(reason=str(exc)) from None
        except Conflict as exc:
            raise web.HTTPConflict(reason=str(exc)) from None
        except ValueError as exc:
            raise web.HTTPBadRequest(reason=str(exc)) from None

    wrapper.roles = handler.roles  # type: ignore[attr-defined]
    wrapper.self_only = getattr(handler, "self_only", False)  # type: ignore[attr-defined]
    wrapper.__doc__ = handler.__doc__
    return wrapper


def _svc(request: web.Request) -> RoutingService:
    return request.app[SERVICE_KEY]


@requires(*ANY_USER)
@self_only
async def login(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/login {"queues": [...]} (omit queues: the configured ones)."""
    body = await _body(request)
    queues = body.get("queues")
    if queues is not None and (
        not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)
    ):
        raise web.HTTPBadRequest(reason="queues must be a list of names")
    agent_id = request.match_info["id"]
    await _svc(request).agent_login(agent_id, queues)
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
async def logout(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/logout."""
    agent_id = request.match_info["id"]
    await _svc(request).agent_logout(agent_id)
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
async def pause(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/pause {"reason": "break"}."""
    body = await _body(request)
    agent_id = request.match_info["id"]
    await _svc(request).agent_pause(agent_id, _text(body, "reason", True) or "")
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
async def unpause(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/unpause."""
    agent_id = request.match_info["id"]
    await _svc(request).agent_unpause(agent_id)
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
async def wrapup(request: web.Request) -> web.Response:
    """POST /api/agents/{id}/wrapup {"disposition": "sold", "notes": "...", "interaction_id"?}."""
    body = await _body(request)
    agent_id = request.match_info["id"]
    await _svc(request).wrapup_done(
        agent_id, _text(body, "disposition", True), _text(body, "notes", False),
        _text(body, "interaction_id", False),
    )
    return _json(_svc(request).agent(agent_id))


@requires(*ANY_USER)
@self_only
async def get_agent(request: web.Request) -> web.Response:
    """GET /api/agents/{id}."""
    return _json(_svc(request).agent(request.match_info["id"]))


@requires(*STAFF)
async def list_agents(request: web.Request) -> web.Response:
    """GET /api/agents: every agent's live view."""
    snap = _svc(request).snapshot()
    return _json([dataclasses.asdict(a) for a in snap.agents.values()])


@requires(*ANY_USER)
async def list_queues(request: web.Request) -> web.Response:
    """GET /api/queues: every queue's live figures."""
    snap = _svc(request).snapshot()
    return _json([dataclasses.asdict(q) for q in snap.queues.values()])


def add_routes(
    app: web.Application, service: RoutingService, authorize: Authorize = default_authorize
) -> None:
    """Register the agent-control routes on ``app``."""
    app[SERVICE_KEY] = service
    app[AUTHORIZE_KEY] = authorize
    app.router.add_get("/api/agents", _guarded(list_agents))
    app.router.add_get("/api/agents/{id}", _guarded(get_agent))
    app.router.add_get("/api/queues", _guarded(list_queues))
    for name, handler in (
        ("login", login), ("logout", logout), ("pause", pause), ("unpause", unpause),
        ("wrapup", wrapup),
    ):
        app.router.add_post(f"/api/agents/{{id}}/{name}", _guarded(handler))
