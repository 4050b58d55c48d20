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
from contactcenter.web.roles import ANY_USER, STAFF, requires

SERVICE_KEY = web.AppKey("cc_monitor_service", MonitorService)


def _actor(request: web.Request) -> Any:
    actor = request.get("actor")
    if actor is None:
        raise web.HTTPUnauthorized()
    return actor


def _error(exc: MonitorError) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
           502: web.HTTPBadGateway}.get(exc.status, web.HTTPConflict)
    return cls(text=str(exc))


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


@requires(*STAFF)
async def list_live_calls(request: web.Request) -> web.Response:
    """GET /api/monitoring/calls: calls that can be monitored now."""
    service = request.app[SERVICE_KEY]
    if getattr(_actor(request), "role", None) not in STAFF:  # also enforced by the middleware
        raise web.HTTPForbidden()
    return web.json_response({"calls": [
        {"interaction_id": c.interaction_id, "agent_id": c.agent_id, "queue": c.queue,
         "caller_id": c.caller_id, "pbx": c.pbx, "started_at": c.started_at}
        for c in service.live_calls()
    ], "sessions": [s.as_json() for s in service.sessions()]})


@requires(*ANY_USER)
async def start_monitoring(request: web.Request) -> web.Response:
    """POST /api/monitoring/sessions {"interaction_id", "mode": listen|whisper|barge}."""
    service = request.app[SERVICE_KEY]
    actor = _actor(request)
    data = await _body(request)
    try:
        session = await service.start(actor, str(data.get("interaction_id", "")), str(data.get("mode", "listen")))
    except MonitorError as exc:
        raise _error(exc) from None
    return web.json_response(session.as_json(), status=201)


@requires(*ANY_USER)
async def switch_monitoring(request: web.Request) -> web.Response:
    """PATCH /api/monitoring/sessions/{session_id} {"mode": ...}."""
    service = request.app[SERVICE_KEY]
    actor = _actor(request)
    data = await _body(request)
    try:
        session = await service.switch(actor, request.match_info["session_id"], str(data.get("mode", "")))
    except MonitorError as exc:
        raise _error(exc) from None
    return web.json_response(session.as_json())


@requires(*ANY_USER)
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
    app.router.add_patch("/api/monitoring/sessions/{session_id}", switch_monitoring)
    app.router.add_delete("/api/monitoring/sessions/{session_id}", stop_monitoring)
