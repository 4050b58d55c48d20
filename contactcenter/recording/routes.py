"""HTTP API for recordings: list, metadata, download/stream (with Range), pause/resume/start/stop.

Design note: a recording is reached by its id only (32 hex chars); the file path comes from
the index and goes through ``RecordingPaths.resolve`` (symlinks and ``..`` resolved first, then
required to be under the root) before aiohttp's ``FileResponse`` serves it, which handles
``Range``/``If-Range`` so a browser player can seek. An unknown id is a 404; a recording the
caller may not hear (another agent's call, a queue without ``agent_access``) is a 403, which
tells nothing useful since ids are 128 random bits; a path that escapes the root is a 403 (and
logged). Lists only ever show what the caller may hear.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from contactcenter.recording import tables as t
from contactcenter.recording.access import may_access
from contactcenter.recording.index import STATUS_DISCARDED
from contactcenter.recording.paths import UnsafePathError
from contactcenter.recording.service import RecordingError, RecordingForbidden, RecordingService
from contactcenter.web.roles import ANY_USER, requires

log = logging.getLogger(__name__)

SERVICE_KEY = web.AppKey("cc_recording_service", RecordingService)
_ID = re.compile(r"^[0-9a-f]{32}$")
_STAFF = frozenset({"supervisor", "admin"})


def _actor(request: web.Request) -> Any:
    actor = request.get("actor")
    if actor is None:
        raise web.HTTPUnauthorized()
    return actor


async def _visible(request: web.Request) -> Any:
    service = request.app[SERVICE_KEY]
    rec_id = request.match_info["recording_id"]
    if not _ID.match(rec_id):
        raise web.HTTPNotFound()
    rec = await service.index.get(rec_id)
    if rec is None:
        raise web.HTTPNotFound()
    if not may_access(_actor(request), rec, service.policies):
        raise web.HTTPForbidden()
    return rec


@requires(*ANY_USER)
async def list_recordings(request: web.Request) -> web.Response:
    """GET /api/recordings?queue=&agent_id=&interaction_id=&limit=&offset= (only what you may hear)."""
    service = request.app[SERVICE_KEY]
    actor = _actor(request)
    q = request.query
    try:
        limit, offset = int(q.get("limit", "100")), int(q.get("offset", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="limit and offset must be integers") from None
    agent_filter = q.get("agent_id")
    if actor.role not in _STAFF:
        agent_filter = actor.agent_id or "\x00none"
    recs = await service.index.search(
        queue=q.get("queue"), agent_id=agent_filter, interaction_id=q.get("interaction_id"),
        limit=limit, offset=offset,
    )
    return web.json_response(
        {"recordings": [r.as_json() for r in recs if may_access(actor, r, service.policies)]}
    )


@requires(*ANY_USER)
async def get_recording(request: web.Request) -> web.Response:
    """GET /api/recordings/{id}: index entry."""
    rec = await _visible(request)
    return web.json_response(rec.as_json())


@requires(*ANY_USER)
async def download_recording(request: web.Request) -> web.StreamResponse:
    """GET /api/recordings/{id}/audio: the WAV, with Range support."""
    rec = await _visible(request)
    service = request.app[SERVICE_KEY]
    if rec.status in (t.STATUS_PURGED, t.STATUS_MISSING, t.STATUS_FAILED, STATUS_DISCARDED):
        raise web.HTTPNotFound()
    try:
        path = service.paths.resolve(rec.file)
    except (UnsafePathError, RuntimeError, OSError):
        log.warning("recording %s: file path escapes the recordings root, refused", rec.id)
        raise web.HTTPForbidden() from None
    if not path.is_file():
        raise web.HTTPNotFound()
    resp = web.FileResponse(path, headers={
        "Content-Type": "audio/wav",
        "Content-Disposition": f'inline; filename="{rec.id}.wav"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })
    return resp


async def _control(request: web.Request, op: str) -> web.Response:
    service = request.app[SERVICE_KEY]
    interaction_id = request.match_info["interaction_id"]
    try:
        rec = await getattr(service, op)(interaction_id, _actor(request))
    except RecordingForbidden:
        raise web.HTTPForbidden() from None
    except RecordingError as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    return web.json_response(rec.as_json())


@requires(*ANY_USER)
async def start_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/start (on-demand queues, or after a stop)."""
    return await _control(request, "start")


@requires(*ANY_USER)
async def pause_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/pause (e.g. while a card number is read)."""
    return await _control(request, "pause")


@requires(*ANY_USER)
async def resume_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/resume."""
    return await _control(request, "resume")


@requires(*ANY_USER)
async def stop_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/stop (muted until started again or hung up)."""
    return await _control(request, "stop")


def add_recording_routes(app: web.Application, service: RecordingService) -> None:
    """Register the recording routes and the service on ``app``."""
    app[SERVICE_KEY] = service
    r = app.router
    r.add_get("/api/recordings", list_recordings)
    r.add_get("/api/recordings/{recording_id}", get_recording)
    r.add_get("/api/recordings/{recording_id}/audio", download_recording)
    r.add_post("/api/calls/{interaction_id}/recording/start", start_recording)
    r.add_post("/api/calls/{interaction_id}/recording/pause", pause_recording)
    r.add_post("/api/calls/{interaction_id}/recording/resume", resume_recording)
    r.add_post("/api/calls/{interaction_id}/recording/stop", stop_recording)
