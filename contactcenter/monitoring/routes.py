"""HTTP API for live monitoring: list live calls, start listen/whisper/barge, switch, stop.

Design note: the start/switch/stop routes are declared for every logged-in role ON PURPOSE:
the auth middleware would refuse an agent silently, and an agent's attempt must be refused AND
audited, so the service makes the decision (supervisor/admin only) and writes the audit row.
Listing live calls is supervisors/admins only. The
request chooses only the call (by interaction id) and the mode; the supervisor's dial string
comes from server config and the channel from the queue engine.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.monitoring.service import MonitorError, MonitorService
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ANY_USER, STAFF, requires
from contactcenter.web.security import json_error

SERVICE_KEY = web.AppKey("cc_monitor_service", MonitorService)
MODES = ("listen", "whisper", "barge")
_UNSAFE = ("\r", "\n", "\x00")
_SESSION_ID = r"{session_id:[0-9a-f]{32}}"  # MonitorService's uuid4().hex

_START: dict[str, Any] = {"type": "object", "required": ["interaction_id"], "properties": {
    "interaction_id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
                       "x-message": "must be an interaction id (1-64 letters, digits, _ . : -)"},
    "mode": {"enum": list(MODES), "default": "listen"}}}
_SWITCH: dict[str, Any] = {"type": "object", "required": ["mode"], "properties": {
    "mode": {"enum": list(MODES)}}}
_ERRORS: dict[int | str, Any] = {
    400: {"description": "bad value"}, 403: {"description": "agents may not monitor"},
    404: {"description": "no such live call or session"},
    409: {"description": "not now (already monitoring, no phone configured)"},
    502: {"description": "the PBX refused or is unreachable"}}


def _actor(request: web.Request) -> Any:
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    return actor


def _error(exc: MonitorError) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
           502: web.HTTPBadGateway}.get(exc.status, web.HTTPConflict)
    return json_error(cls, str(exc))


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    # Strict: a null or a number is a mistake to report, not a value to stringify ("None").
    value = data.get(key, default)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise json_error(web.HTTPBadRequest, f"{key} must be a non-empty string")
    if any(c in value for c in _UNSAFE):
        raise json_error(web.HTTPBadRequest, f"{key} must not contain CR, LF or NUL")
    return value


@requires(*STAFF)
@api_doc(tags=("monitoring",))
async def list_live_calls(request: web.Request) -> web.Response:
    """GET /api/monitoring/calls: calls that can be monitored now."""
    service = request.app[SERVICE_KEY]
    if getattr(_actor(request), "role", None) not in STAFF:  # also enforced by the middleware
        raise json_error(web.HTTPForbidden, "forbidden for your role")
    return web.json_response({"calls": [
        {"interaction_id": c.interaction_id, "agent_id": c.agent_id, "queue": c.queue,
         "caller_id": c.caller_id, "pbx": c.pbx, "started_at": c.started_at}
        for c in service.live_calls()
    ], "sessions": [s.as_json() for s in service.sessions()]})


@requires(*ANY_USER)
@api_doc(request=_START, responses={201: {"type": "object"}, **_ERRORS}, tags=("monitoring",))
async def start_monitoring(request: web.Request) -> web.Response:
    """POST /api/monitoring/sessions {"interaction_id", "mode": listen|whisper|barge}."""
    service = request.app[SERVICE_KEY]
    actor = _actor(request)
    data = await read_declared_json(request)
    interaction_id, mode = _text(data, "interaction_id"), _text(data, "mode", "listen")
    try:
        session = await service.start(actor, interaction_id, mode)
    except MonitorError as exc:
        raise _error(exc) from None
    return web.json_response(session.as_json(), status=201)


@requires(*ANY_USER)
@api_doc(request=_SWITCH, responses={200: {"type": "object"}, **_ERRORS}, tags=("monitoring",))
async def switch_monitoring(request: web.Request) -> web.Response:
    """PATCH /api/monitoring/sessions/{session_id} {"mode": ...}."""
    service = request.app[SERVICE_KEY]
    actor = _actor(request)
    data = await read_declared_json(request)
    try:
        session = await service.switch(actor, request.match_info["session_id"],
                                       _text(data, "mode"))
    except MonitorError as exc:
        raise _error(exc) from None
    return web.json_response(session.as_json())


@requires(*ANY_USER)
@api_doc(responses={200: {"type": "object"}, **_ERRORS}, tags=("monitoring",))
async def stop_monitoring(request: web.Request) -> web.Response:
    """DELETE /api/monitoring/sessions/{session_id}: always ends the session."""
    service = request.app[SERVICE_KEY]
    actor = _actor(request)
    try:
        result = await service.stop(actor, request.match_info["session_id"])
    except MonitorError as exc:
        raise _error(exc) from None
    return web.json_response({"session_id": result.session_id, "confirmed": result.confirmed,
                              "reason": result.reason})


def add_monitoring_routes(app: web.Application, service: MonitorService) -> None:
    """Register the monitoring routes and the service on ``app``."""
    app[SERVICE_KEY] = service
    app.router.add_get("/api/monitoring/calls", list_live_calls)
    app.router.add_post("/api/monitoring/sessions", start_monitoring)
    app.router.add_patch(f"/api/monitoring/sessions/{_SESSION_ID}", switch_monitoring)
    app.router.add_delete(f"/api/monitoring/sessions/{_SESSION_ID}", stop_monitoring)
