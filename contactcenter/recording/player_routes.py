"""The recording player: the ``/recordings`` page and its API (search, waveform, play, download).

Design note: every play and every download is one audit row. A browser's audio element fetches
a file in many ``Range`` requests (the first, then one per seek), so auditing each request
would count one listening many times, and auditing none would let the player be used without a
trace. A play therefore starts with ``POST /api/recordings/{id}/play``: it writes the
``recording.play`` row and answers a stream URL carrying a ticket, random, bound to that user
and that recording, valid for ``ticket_ttl_s``; the ``/stream`` route serves ``Range``
requests only with a ticket of its own. A download (``/download``, an attachment) is audited
on each request, and only the roles in ``download_roles`` may download at all. The
access rule is the API's (``access.may_access``) on every request, ticket or not.

Search by transcript text goes through ``TextSearch``, a port the composition root fills
(the transcripts live in a context above this one); without it the ``text`` filter is a 400.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import soundfile
from aiohttp import web

from contactcenter.recording import tables as t
from contactcenter.recording.access import may_access
from contactcenter.recording.finder import MAX_LIMIT, RecordingQuery, find_recordings
from contactcenter.recording.index import STATUS_DISCARDED, Recording
from contactcenter.recording.paths import UnsafePathError
from contactcenter.recording.routes import DOWNLOAD_ROLES_KEY
from contactcenter.recording.service import RecordingService
from contactcenter.recording.waveform import Peaks, peaks
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database
from contactcenter.web.openapi import api_doc
from contactcenter.web.pages import add_pages
from contactcenter.web.roles import ANY_USER, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
_REC_ID = "{recording_id:[0-9a-f]{32}}"
NO_AUDIO = frozenset({t.STATUS_PURGED, t.STATUS_MISSING, t.STATUS_FAILED, t.STATUS_RECORDING,
                      STATUS_DISCARDED})
MAX_TICKETS = 10_000
# RFC 3339, its zone included: what the query check lets through, ``_instant`` reads
_INSTANT = {"type": "string", "format": "date-time",
            "x-message": "must be an ISO 8601 time with its zone, such as 2026-05-01T00:00:00Z"}
PEAK_CACHE = 128

# The recording ids whose transcript contains ``text`` (at most ``limit``), each with the
# words around the first match, for the result list.
TextSearch = Callable[[str, int], Awaitable[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class PlayerSettings:
    """Who may download (playing follows the access rule alone) and how long a play lasts."""

    download_roles: frozenset[str] = frozenset({"supervisor", "admin"})
    ticket_ttl_s: float = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class _Ticket:
    recording_id: str
    user_id: int
    expires: float  # time.monotonic(): tickets must expire in real time, whatever the clock


def _actor(request: web.Request) -> Actor:
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    return actor


def _instant(request: web.Request, name: str) -> datetime | None:
    raw = query_text(request, name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.upper())  # RFC 3339 allows a small t and z
    except ValueError:
        raise json_error(web.HTTPBadRequest, f"{name} must be an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _seconds(request: web.Request, name: str) -> float | None:
    value = query_int(request, name, -1, 24 * 3600)
    return None if value < 0 else float(value)


class RecordingPlayer:
    """The player's handlers over the recording service and the audit trail."""

    def __init__(self, recording: RecordingService, db: Database, audit: AuditLog,
                 settings: PlayerSettings | None = None,
                 text_search: TextSearch | None = None) -> None:
        self.recording = recording
        self.db = db
        self.audit = audit
        self.settings = settings or PlayerSettings()
        self.text_search = text_search
        self._tickets: OrderedDict[str, _Ticket] = OrderedDict()
        self._peaks: OrderedDict[tuple[str, int, int, int], Peaks] = OrderedDict()

    def routes(self) -> list[web.RouteDef]:
        """Every route of the player."""
        return [
            web.get("/api/recordings/search", self.search),
            web.get(f"/api/recordings/{_REC_ID}/waveform", self.waveform),
            web.post(f"/api/recordings/{_REC_ID}/play", self.play),
            web.get(f"/api/recordings/{_REC_ID}/stream", self.stream),
            web.get(f"/api/recordings/{_REC_ID}/download", self.download),
        ]

    # --- helpers ----------------------------------------------------------------------------

    def may_download(self, actor: Actor, rec: Recording) -> bool:
        """Download needs both the access rule and a role allowed to download."""
        return actor.role in self.settings.download_roles and \
            may_access(actor, rec, self.recording.policies)

    def entry(self, actor: Actor, rec: Recording) -> dict[str, Any]:
        """The index entry as the page shows it."""
        out = rec.as_json()
        out["playable"] = rec.status not in NO_AUDIO
        out["can_download"] = out["playable"] and self.may_download(actor, rec)
        return out

    async def _visible(self, request: web.Request) -> tuple[Actor, Recording]:
        actor = _actor(request)
        rec = await self.recording.index.get(request.match_info["recording_id"])
        if rec is None:
            raise json_error(web.HTTPNotFound, "no such recording")
        if not may_access(actor, rec, self.recording.policies):
            raise json_error(web.HTTPForbidden, "not yours to hear")
        return actor, rec

    def _file(self, rec: Recording) -> Path:
        if rec.status in NO_AUDIO:
            raise json_error(web.HTTPNotFound, f"no audio: the recording is {rec.status}")
        try:
            path = self.recording.paths.resolve(rec.file)
        except (UnsafePathError, RuntimeError, OSError):
            log.warning("recording %s: file path escapes the recordings root, refused", rec.id)
            raise json_error(web.HTTPForbidden, "the recording's file is not served") from None
        if not path.is_file():
            raise json_error(web.HTTPNotFound, "no audio: the file is not there")
        return path

    async def _audit(self, actor: Actor, action: str, rec: Recording) -> None:
        await self.audit.record(actor.username, action, rec.id, "ok",
                                {"queue": rec.queue, "agent_id": rec.agent_id,
                                 "interaction_id": rec.interaction_id})

    # --- routes -----------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(query={
        "from": {**_INSTANT, "description": "RFC 3339: started at or after"},
        "to": {**_INSTANT, "description": "RFC 3339: started before"},
        "agent_id": {"type": "string", "maxLength": 64},
        "queue": {"type": "string", "maxLength": 64},
        "caller": {"type": "string", "maxLength": 64, "description": "part of the number"},
        "min_s": {"type": "integer", "minimum": 0, "maximum": 86400},
        "max_s": {"type": "integer", "minimum": 0, "maximum": 86400},
        "text": {"type": "string", "maxLength": 64, "description": "words of the transcript"},
        "limit": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": 50},
        "offset": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0}},
        responses={200: {"type": "object"}, 400: {"description": "bad filter"}},
        tags=("recordings",))
    async def search(self, request: web.Request) -> web.Response:
        """GET /api/recordings/search: the player's search (only what you may hear)."""
        actor = _actor(request)
        agent_id = query_text(request, "agent_id") or None
        if actor.role not in ("supervisor", "admin"):
            if not actor.agent_id:
                return web.json_response({"recordings": []})
            agent_id = actor.agent_id  # an agent finds their own calls only
        text = (query_text(request, "text") or "").strip()
        limit = query_int(request, "limit", 50, MAX_LIMIT)
        snippets: dict[str, str] | None = None
        if text:
            if self.text_search is None:
                raise json_error(web.HTTPBadRequest, "transcript search is not available")
            snippets = await self.text_search(text, 5000)
        query = RecordingQuery(
            started_from=_instant(request, "from"), started_to=_instant(request, "to"),
            agent_id=agent_id, queue=query_text(request, "queue") or None,
            caller=(query_text(request, "caller") or "").strip() or None,
            min_duration_s=_seconds(request, "min_s"), max_duration_s=_seconds(request, "max_s"),
            ids=None if snippets is None else list(snippets),
            limit=limit, offset=query_int(request, "offset", 0, 1_000_000))
        found = await find_recordings(self.db, query)
        out = []
        for rec in found:
            if may_access(actor, rec, self.recording.policies):
                item = self.entry(actor, rec)
                if snippets is not None:
                    item["snippet"] = snippets.get(rec.id, "")
                out.append(item)
        return web.json_response({"recordings": out})

    @requires(*ANY_USER)
    @api_doc(query={"buckets": {"type": "integer", "minimum": 10, "maximum": 4000,
                                "default": 800}},
             responses={200: {"type": "object", "description": "peaks and the silent spans"},
                        404: {"description": "no such recording, or no audio"},
                        403: {"description": "not yours to hear"}},
             tags=("recordings",))
    async def waveform(self, request: web.Request) -> web.Response:
        """GET /api/recordings/{id}/waveform: the peaks to draw, with the entry's spans."""
        actor, rec = await self._visible(request)
        buckets = query_int(request, "buckets", 800, 4000, minimum=10)
        path = self._file(rec)
        stat = path.stat()
        key = (rec.id, stat.st_mtime_ns, stat.st_size, buckets)
        found = self._peaks.get(key)
        if found is None:
            try:
                found = await asyncio.to_thread(peaks, path, buckets)
            except (soundfile.LibsndfileError, RuntimeError, OSError):
                raise json_error(web.HTTPNotFound, "no audio: the file cannot be read") from None
            self._peaks[key] = found
            while len(self._peaks) > PEAK_CACHE:
                self._peaks.popitem(last=False)
        return web.json_response({"recording": self.entry(actor, rec), "peaks": found.as_json()})

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "{src}: the stream to play"},
                        404: {"description": "no such recording, or no audio"},
                        403: {"description": "not yours to hear"}},
             tags=("recordings",), body_optional=True)
    async def play(self, request: web.Request) -> web.Response:
        """POST /api/recordings/{id}/play: audits the play, answers the stream URL to play."""
        actor, rec = await self._visible(request)
        self._file(rec)
        now = time.monotonic()
        while self._tickets:  # oldest first: drop the expired, and the oldest past the cap
            oldest = next(iter(self._tickets.values()))
            if oldest.expires > now and len(self._tickets) < MAX_TICKETS:
                break
            self._tickets.popitem(last=False)
        token = secrets.token_urlsafe(24)
        self._tickets[token] = _Ticket(rec.id, actor.user_id, now + self.settings.ticket_ttl_s)
        await self._audit(actor, "recording.play", rec)
        return web.json_response({"src": f"/api/recordings/{rec.id}/stream?ticket={token}"})

    @requires(*ANY_USER)
    @api_doc(query={"ticket": {"type": "string", "maxLength": 64, "required": True}},
             responses={200: {"description": "the WAV (Range supported)"},
                        206: {"description": "part of the WAV"},
                        403: {"description": "no valid ticket, or not yours to hear"},
                        404: {"description": "no such recording, or no audio"}},
             tags=("recordings",))
    async def stream(self, request: web.Request) -> web.StreamResponse:
        """GET /api/recordings/{id}/stream?ticket=: what the page's audio element plays."""
        actor, rec = await self._visible(request)
        ticket = self._tickets.get(query_text(request, "ticket") or "")
        if ticket is None or ticket.recording_id != rec.id or ticket.user_id != actor.user_id \
                or ticket.expires <= time.monotonic():
            raise json_error(web.HTTPForbidden, "no valid play ticket: play it from the page")
        return web.FileResponse(self._file(rec), headers={
            "Content-Type": "audio/wav", "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="{rec.id}.wav"'})

    @requires(*ANY_USER)
    @api_doc(responses={200: {"description": "the WAV as an attachment"},
                        403: {"description": "your role may not download, or not yours"},
                        404: {"description": "no such recording, or no audio"}},
             tags=("recordings",))
    async def download(self, request: web.Request) -> web.StreamResponse:
        """GET /api/recordings/{id}/download: the WAV as a file to keep (audited)."""
        actor, rec = await self._visible(request)
        if actor.role not in self.settings.download_roles:
            raise json_error(web.HTTPForbidden, "your role may not download recordings")
        path = self._file(rec)
        await self._audit(actor, "recording.download", rec)
        day = rec.started_at.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
        queue = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in rec.queue)
        return web.FileResponse(path, headers={
            "Content-Type": "audio/wav", "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{queue}-{day}-{rec.id[:8]}.wav"'})


def add_player(app: web.Application, player: RecordingPlayer) -> None:
    """The player's routes, and its page at ``/recordings``."""
    app.add_routes(player.routes())
    app[DOWNLOAD_ROLES_KEY] = player.settings.download_roles  # the older ``/audio`` too
    add_pages(app, "recording", STATIC_DIR, ("recordings",))
