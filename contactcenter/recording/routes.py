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
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import ANY_USER, requires
from contactcenter.web.security import json_error, query_int, query_text

log = logging.getLogger(__name__)

SERVICE_KEY = web.AppKey("cc_recording_service", RecordingService)
# Who may take a recording's whole file away: the player sets it from ``qa.download_roles``
# (``player_routes.add_player``); without a player, supervisors and admins.
DOWNLOAD_ROLES_KEY = web.AppKey("cc_recording_download_roles", frozenset)
_ID = re.compile(r"^[0-9a-f]{32}$")
_STAFF = frozenset({"supervisor", "admin"})
_REC_ID = "{recording_id:[0-9a-f]{32}}"
_IID = "{interaction_id:[A-Za-z0-9_.:-]{1,64}}"  # domain.interaction.check_interaction_id
_READ: dict[int | str, Any] = {404: {"description": "no such recording, or no audio"},
                               403: {"description": "not yours to hear"}}
_CONTROL: dict[int | str, Any] = {
    200: {"type": "object", "description": "the recording's index entry"},
    403: {"description": "not your call"}, 409: {"description": "not in this state"}}


def _actor(request: web.Request) -> Any:
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    return actor


async def _visible(request: web.Request) -> Any:
    service = request.app[SERVICE_KEY]
    rec_id = request.match_info["recording_id"]
    if not _ID.match(rec_id):
        raise json_error(web.HTTPNotFound, "no such recording")
    rec = await service.index.get(rec_id)
    if rec is None:
        raise json_error(web.HTTPNotFound, "no such recording")
    if not may_access(_actor(request), rec, service.policies):
        raise json_error(web.HTTPForbidden, "not yours to hear")
    return rec


@requires(*ANY_USER)
@api_doc(query={"queue": {"type": "string", "maxLength": 64},
                "agent_id": {"type": "string", "maxLength": 64},
                "interaction_id": {"type": "string", "maxLength": 64},
                "limit": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100},
                "offset": {"type": "integer", "minimum": 0, "maximum": 10_000_000,
                           "default": 0}},
         responses={200: {"type": "object"}, 400: {"description": "bad value"}},
         tags=("recordings",))
async def list_recordings(request: web.Request) -> web.Response:
    """GET /api/recordings?queue=&agent_id=&interaction_id=&limit=&offset= (only what you may hear)."""
    service = request.app[SERVICE_KEY]
    actor = _actor(request)
    limit = query_int(request, "limit", 100, 1000)
    offset = query_int(request, "offset", 0, 10_000_000)
    queue, interaction_id = query_text(request, "queue"), query_text(request, "interaction_id")
    agent_filter = query_text(request, "agent_id")
    if actor.role not in _STAFF:
        if not actor.agent_id:  # an agent user linked to no agent has no calls, hence none
            return web.json_response({"recordings": []})
        agent_filter = actor.agent_id
    recs = await service.index.search(
        queue=queue, agent_id=agent_filter, interaction_id=interaction_id,
        limit=limit, offset=offset,
    )
    return web.json_response(
        {"recordings": [r.as_json() for r in recs if may_access(actor, r, service.policies)]}
    )


@requires(*ANY_USER)
@api_doc(responses={200: {"type": "object"}, **_READ}, tags=("recordings",))
async def get_recording(request: web.Request) -> web.Response:
    """GET /api/recordings/{id}: index entry."""
    rec = await _visible(request)
    return web.json_response(rec.as_json())


@requires(*ANY_USER)
@api_doc(responses={200: {"description": "the WAV (Range supported)", "content": {
    "audio/wav": {"schema": {"type": "string", "format": "binary"}}}},
    206: {"description": "part of the WAV"}, **_READ,
    403: {"description": "not yours to hear, or your role may not download"}},
    tags=("recordings",))
async def download_recording(request: web.Request) -> web.StreamResponse:
    """GET /api/recordings/{id}/audio: the WAV, with Range support, for the roles that may
    download; each request audited."""
    rec = await _visible(request)
    service = request.app[SERVICE_KEY]
    # Without the player's ticket any request may carry the whole file: this is a download,
    # so it follows the download rule; playing in the browser is ``/play`` + ``/stream``.
    if _actor(request).role not in request.app.get(DOWNLOAD_ROLES_KEY, _STAFF):
        raise json_error(web.HTTPForbidden, "your role may not download recordings")
    if rec.status in (t.STATUS_PURGED, t.STATUS_MISSING, t.STATUS_FAILED, STATUS_DISCARDED):
        raise json_error(web.HTTPNotFound, f"no audio: the recording is {rec.status}")
    try:
        path = service.paths.resolve(rec.file)
    except (UnsafePathError, RuntimeError, OSError):
        log.warning("recording %s: file path escapes the recordings root, refused", rec.id)
        raise json_error(web.HTTPForbidden, "the recording's file is not served") from None
    if not path.is_file():
        raise json_error(web.HTTPNotFound, "no audio: the file is not there")
    # Audited like the player's play (docs/qa.md), but on every request: without the player's
    # ticket each request may carry the whole file, so none may go unrecorded.
    await service._audit_row(_actor(request), "recording.play", rec.id, via="audio",
                             queue=rec.queue, agent_id=rec.agent_id,
                             interaction_id=rec.interaction_id,
                             range=request.headers.get("Range"))
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
        raise json_error(web.HTTPForbidden, "not your call") from None
    except RecordingError as exc:
        raise json_error(web.HTTPConflict, str(exc)) from None
    return web.json_response(rec.as_json())


@requires(*ANY_USER)
@api_doc(responses=_CONTROL, tags=("recordings",))
async def start_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/start (on-demand queues, or after a stop)."""
    return await _control(request, "start")


@requires(*ANY_USER)
@api_doc(responses=_CONTROL, tags=("recordings",))
async def pause_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/pause (e.g. while a card number is read)."""
    return await _control(request, "pause")


@requires(*ANY_USER)
@api_doc(responses=_CONTROL, tags=("recordings",))
async def resume_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/resume."""
    return await _control(request, "resume")


@requires(*ANY_USER)
@api_doc(responses=_CONTROL, tags=("recordings",))
async def stop_recording(request: web.Request) -> web.Response:
    """POST /api/calls/{interaction_id}/recording/stop (muted until started again or hung up)."""
    return await _control(request, "stop")


def add_recording_routes(app: web.Application, service: RecordingService) -> None:
    """Register the recording routes and the service on ``app``."""
    app[SERVICE_KEY] = service
    r = app.router
    r.add_get("/api/recordings", list_recordings)
    r.add_get(f"/api/recordings/{_REC_ID}", get_recording)
    r.add_get(f"/api/recordings/{_REC_ID}/audio", download_recording)
    for op, handler in (("start", start_recording), ("pause", pause_recording),
                        ("resume", resume_recording), ("stop", stop_recording)):
        r.add_post(f"/api/calls/{_IID}/recording/{op}", handler)
