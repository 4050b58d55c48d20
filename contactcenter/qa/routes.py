"""Quality's HTTP API: transcripts (and their queue), scorecards, evaluations; the ``/qa`` page.

Who: a transcript follows its recording's access rule (``recording.access``); the queue, the
scorecards and evaluating are for supervisors and admins, editing scorecards for admins; an
agent reads their own submitted evaluations and acknowledges or disputes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.qa import tables as t
from contactcenter.qa.evaluations import QaError, QaService
from contactcenter.qa.transcripts import TranscriptStore
from contactcenter.qa.worker import TranscriptWorker
from contactcenter.recording import tables as rt
from contactcenter.recording.access import may_access
from contactcenter.recording.index import RecordingIndex
from contactcenter.recording.policy import PolicyBook
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.pages import add_pages
from contactcenter.web.roles import ADMIN, ANY_USER, STAFF, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

STATIC_DIR = Path(__file__).with_name("static")
_REC_ID = "{recording_id:[0-9a-f]{32}}"
_EVAL_ID = "{evaluation_id:[0-9]{1,9}}"
_CARD_ID = "{scorecard_id:[0-9]{1,9}}"
_ERRORS = {"not_found": web.HTTPNotFound, "forbidden": web.HTTPForbidden,
           "conflict": web.HTTPConflict, "invalid": web.HTTPBadRequest}
_SCORECARD_BODY = {
    "type": "object", "required": ["name", "form"], "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                   "form": {"type": "object"}, "active": {"type": "boolean"}}}
_ANSWER = {"type": "object", "additionalProperties": False, "properties": {
    "value": {"type": ["string", "integer", "null"], "maxLength": 8},
    "note": {"type": "string", "maxLength": 1000}}}


def _actor(request: web.Request) -> Actor:
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    return actor


def _qa_error(exc: QaError) -> web.HTTPException:
    return _ERRORS[exc.kind](text=json.dumps({"error": str(exc), "problems": exc.problems}),
                             content_type="application/json")


class QaRoutes:
    """The handlers over the transcripts, the worker and the QA service."""

    def __init__(self, service: QaService, transcripts: TranscriptStore,
                 worker: TranscriptWorker | None, recordings: RecordingIndex,
                 policies: Any) -> None:
        self.service = service
        self.transcripts = transcripts
        self.worker = worker
        self.recordings = recordings
        self._policies = policies  # () -> PolicyBook: the policies in force now

    def policies(self) -> PolicyBook:
        """The recording policies in force."""
        return self._policies()

    def routes(self) -> list[web.RouteDef]:
        """Every route of the context."""
        return [
            web.get("/api/transcripts", self.queue),
            web.get(f"/api/transcripts/{_REC_ID}", self.transcript),
            web.post(f"/api/transcripts/{_REC_ID}", self.enqueue),
            web.get("/api/qa/scorecards", self.scorecards),
            web.post("/api/qa/scorecards", self.create_scorecard),
            web.put(f"/api/qa/scorecards/{_CARD_ID}", self.save_scorecard),
            web.get("/api/qa/evaluations", self.evaluations),
            web.post("/api/qa/evaluations", self.start_evaluation),
            web.get(f"/api/qa/evaluations/{_EVAL_ID}", self.evaluation),
            web.put(f"/api/qa/evaluations/{_EVAL_ID}", self.update_evaluation),
            web.post(f"/api/qa/evaluations/{_EVAL_ID}/response", self.respond),
        ]

    # --- transcripts ------------------------------------------------------------------------

    @requires(*STAFF)
    @api_doc(query={"status": {"type": "string", "enum": list(t.TRANSCRIPT_STATUSES)},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500}},
             responses={200: {"type": "object", "description": "counts and entries"}},
             tags=("transcripts",))
    async def queue(self, request: web.Request) -> web.Response:
        """GET /api/transcripts: the transcription queue, with the running ones' progress."""
        status = query_text(request, "status")
        if status is not None and status not in t.TRANSCRIPT_STATUSES:
            raise json_error(web.HTTPBadRequest,
                             f"status must be one of {', '.join(t.TRANSCRIPT_STATUSES)}")
        items = await self.transcripts.listing(status, query_int(request, "limit", 100, 500, 1))
        running = dict(self.worker.running) if self.worker else {}
        return web.json_response({
            "counts": await self.transcripts.counts(),
            "worker": self.worker is not None,
            "items": [{**i.as_json(words=False),
                       "progress": round(running.get(i.recording_id, i.progress), 3)}
                      for i in items]})

    async def _recording(self, request: web.Request) -> Any:
        rec = await self.recordings.get(request.match_info["recording_id"])
        if rec is None:
            raise json_error(web.HTTPNotFound, "no such recording")
        if not may_access(_actor(request), rec, self.policies()):
            raise json_error(web.HTTPForbidden, "not yours to hear")
        return rec

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "status, progress, words, lines"},
                        403: {"description": "not yours to hear"},
                        404: {"description": "no such recording, or no transcript"}},
             tags=("transcripts",))
    async def transcript(self, request: web.Request) -> web.Response:
        """GET /api/transcripts/{recording_id}: the transcript, or how far it is."""
        rec = await self._recording(request)
        found = await self.transcripts.get(rec.id)
        if found is None:
            raise json_error(web.HTTPNotFound, "no transcript for this recording")
        out = found.as_json()
        if self.worker is not None and rec.id in self.worker.running:
            out["progress"] = round(self.worker.running[rec.id], 3)
        return web.json_response(out)

    @requires(*STAFF)
    @api_doc(responses={202: {"type": "object", "description": "queued"},
                        409: {"description": "the recording has no finished audio"}},
             tags=("transcripts",), body_optional=True)
    async def enqueue(self, request: web.Request) -> web.Response:
        """POST /api/transcripts/{recording_id}: transcribe (again), whatever the queue's policy."""
        rec = await self._recording(request)
        if rec.status != rt.STATUS_COMPLETE:
            raise json_error(web.HTTPConflict, f"the recording is {rec.status}")
        entry = await self.transcripts.enqueue(rec.id, rec.queue, self.service.now())
        if self.worker is not None:
            self.worker.nudge()
        await self.service.audit.record(_actor(request).username, "qa.transcript.queue", rec.id)
        return web.json_response(entry.as_json(words=False), status=202)

    # --- scorecards -------------------------------------------------------------------------

    @requires(*STAFF)
    @api_doc(query={"active": {"type": "string", "enum": ["0", "1"]}},
             responses={200: {"type": "object"}}, tags=("qa",))
    async def scorecards(self, request: web.Request) -> web.Response:
        """GET /api/qa/scorecards (``active=1``: only those one may evaluate with)."""
        cards = await self.service.scorecards(active_only=request.query.get("active") == "1")
        return web.json_response({"scorecards": [c.as_json() for c in cards]})

    @requires(ADMIN)
    @api_doc(request=_SCORECARD_BODY, responses={201: {"type": "object"},
                                                 400: {"description": "the form's problems"},
                                                 409: {"description": "name taken"}},
             tags=("qa",))
    async def create_scorecard(self, request: web.Request) -> web.Response:
        """POST /api/qa/scorecards {name, form, active}."""
        body = await read_declared_json(request)
        try:
            card = await self.service.save_scorecard(_actor(request), body["name"], body["form"],
                                                     body.get("active", True))
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response(card.as_json(), status=201)

    @requires(ADMIN)
    @api_doc(request=_SCORECARD_BODY, responses={200: {"type": "object"},
                                                 400: {"description": "the form's problems"},
                                                 404: {"description": "no such scorecard"},
                                                 409: {"description": "name taken"}},
             tags=("qa",))
    async def save_scorecard(self, request: web.Request) -> web.Response:
        """PUT /api/qa/scorecards/{id} {name, form, active}: a new version."""
        body = await read_declared_json(request)
        try:
            card = await self.service.save_scorecard(
                _actor(request), body["name"], body["form"], body.get("active", True),
                scorecard_id=int(request.match_info["scorecard_id"]))
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response(card.as_json())

    # --- evaluations ------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(query={"agent_id": {"type": "string", "maxLength": 64},
                    "status": {"type": "string", "enum": list(t.EVALUATION_STATUSES)},
                    "recording_id": {"type": "string", "maxLength": 32},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500}},
             responses={200: {"type": "object"}}, tags=("qa",))
    async def evaluations(self, request: web.Request) -> web.Response:
        """GET /api/qa/evaluations: staff see all, an agent their own submitted ones."""
        status = query_text(request, "status")
        if status is not None and status not in t.EVALUATION_STATUSES:
            raise json_error(web.HTTPBadRequest, "no such status")
        found = await self.service.listing(
            _actor(request), agent_id=query_text(request, "agent_id"), status=status,
            recording_id=query_text(request, "recording_id"),
            limit=query_int(request, "limit", 100, 500, 1))
        return web.json_response({"evaluations": [e.as_json() for e in found]})

    @requires(*STAFF)
    @api_doc(request={"type": "object", "required": ["recording_id", "scorecard_id"],
                      "additionalProperties": False, "properties": {
                          "recording_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                          "scorecard_id": {"type": "integer", "minimum": 1,
                                           "maximum": 999_999_999}}},
             responses={201: {"type": "object", "description": "the draft, auto-answered"},
                        404: {"description": "no such recording or scorecard"}},
             tags=("qa",))
    async def start_evaluation(self, request: web.Request) -> web.Response:
        """POST /api/qa/evaluations {recording_id, scorecard_id}: a draft."""
        body = await read_declared_json(request)
        try:
            done = await self.service.start(_actor(request), body["recording_id"],
                                            body["scorecard_id"])
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response(done.as_json(), status=201)

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object"}, 404: {"description": "no such evaluation"}},
             tags=("qa",))
    async def evaluation(self, request: web.Request) -> web.Response:
        """GET /api/qa/evaluations/{id}."""
        try:
            done = await self.service.get(_actor(request),
                                          int(request.match_info["evaluation_id"]))
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response(done.as_json())

    @requires(*STAFF)
    @api_doc(request={"type": "object", "additionalProperties": False, "properties": {
        "answers": {"type": "object", "additionalProperties": _ANSWER},
        "comment": {"type": "string", "maxLength": 5000},
        "submit": {"type": "boolean"}}},
        responses={200: {"type": "object"}, 400: {"description": "bad or missing answers"},
                   403: {"description": "another evaluator's draft"},
                   409: {"description": "already submitted"}},
        tags=("qa",))
    async def update_evaluation(self, request: web.Request) -> web.Response:
        """PUT /api/qa/evaluations/{id} {answers: {question: {value, note}}, comment, submit}."""
        body = await read_declared_json(request)
        try:
            done = await self.service.update(
                _actor(request), int(request.match_info["evaluation_id"]),
                body.get("answers") or {}, body.get("comment"), bool(body.get("submit")))
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response(done.as_json())

    @requires(*ANY_USER)
    @api_doc(request={"type": "object", "required": ["response"], "additionalProperties": False,
                      "properties": {"response": {"type": "string",
                                                  "enum": ["acknowledge", "dispute"]},
                                     "comment": {"type": "string", "maxLength": 5000}}},
             responses={200: {"type": "object"}, 403: {"description": "not your evaluation"},
                        409: {"description": "already answered"}},
             tags=("qa",))
    async def respond(self, request: web.Request) -> web.Response:
        """POST /api/qa/evaluations/{id}/response {response, comment}: the agent's answer."""
        body = await read_declared_json(request)
        try:
            done = await self.service.respond(
                _actor(request), int(request.match_info["evaluation_id"]), body["response"],
                body.get("comment", ""))
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response(done.as_json())


def add_qa_routes(app: web.Application, routes: QaRoutes) -> None:
    """The API, and the ``/qa`` page."""
    app.add_routes(routes.routes())
    add_pages(app, "qa", STATIC_DIR, ("qa",))
