"""Quality's HTTP API: transcripts (and their queue), scorecards, evaluations; the ``/qa`` page.

Who: a transcript follows its recording's access rule (``recording.access``); the queue, the
scorecards, the keyword lists and evaluating are for supervisors and admins, editing scorecards
for admins; an agent reads their own submitted evaluations and acknowledges or disputes them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.qa import tables as t
from contactcenter.qa.evaluations import QaError, QaService
from contactcenter.qa.keywords import MAX_PHRASE, MAX_PHRASES, NAME_RE, KeywordError, KeywordStore
from contactcenter.qa.scorecards import ABSENT, MAX_QUESTIONS, PRESENT, SCALE, YES_NO
from contactcenter.qa.transcripts import TranscriptStore
from contactcenter.qa.worker import TranscriptWorker
from contactcenter.recording import tables as rt
from contactcenter.recording.access import may_access
from contactcenter.recording.index import RecordingIndex
from contactcenter.recording.policy import PolicyBook
from contactcenter.web.openapi import api_doc, not_blank, read_declared_json
from contactcenter.web.pages import add_pages
from contactcenter.web.roles import ADMIN, ANY_USER, STAFF, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

STATIC_DIR = Path(__file__).with_name("static")
_REC_ID = "{recording_id:[0-9a-f]{32}}"
_EVAL_ID = "{evaluation_id:[0-9]{1,9}}"
_CARD_ID = "{scorecard_id:[0-9]{1,9}}"
# not "hits": GET /api/qa/keywords/hits is the search, and its Allow must not list PUT/DELETE
_LIST = "{name:(?!hits$)[a-z0-9][a-z0-9_-]{0,63}}"
# RFC 3339, its zone included: what the query check lets through, ``_instant`` reads
_INSTANT = {"type": "string", "format": "date-time",
            "x-message": "must be an ISO 8601 time with its zone, such as 2026-05-01T00:00:00Z"}
_THREAD = "{channel:chat|ticket}/{item_id:[A-Za-z0-9_.-]{1,64}}"
_ERRORS = {"not_found": web.HTTPNotFound, "forbidden": web.HTTPForbidden,
           "conflict": web.HTTPConflict, "invalid": web.HTTPBadRequest}
# A form as parse_form reads it. What no JSON Schema says is answered 422 with every problem:
# a question id used twice, an auto rule's window ending before it starts, over MAX_QUESTIONS.
_SECONDS = {"type": "number", "minimum": 0, "maximum": 86400}
_AUTO = {
    "type": ["object", "null"], "additionalProperties": False, "required": ["phrase"],
    "description": "answer a yes_no question from the transcript: was the phrase said?",
    "properties": {"phrase": not_blank(200), "from_s": _SECONDS,
                   "to_s": {**_SECONDS, "type": ["number", "null"]},
                   "expect": {"type": "string", "enum": [PRESENT, ABSENT]},
                   "min_match": {"type": "number", "minimum": 0.1, "maximum": 1}}}
_QUESTION = {
    "type": "object", "required": ["id", "text"], "additionalProperties": False,
    "properties": {"id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,40}$",
                          "description": "unique in the form"},
                   "text": not_blank(500), "kind": {"type": "string", "enum": [YES_NO, SCALE]},
                   "weight": {"type": "number", "minimum": 0, "maximum": 1000},
                   "critical": {"type": "boolean"}, "allow_na": {"type": "boolean"},
                   "scale_max": {"type": "integer", "minimum": 1, "maximum": 10},
                   "auto": _AUTO},
    # only a yes_no question can be critical or answered automatically
    "if": {"required": ["kind"], "properties": {"kind": {"const": SCALE}}},
    "then": {"properties": {"critical": {"const": False}, "auto": {"type": "null"}}}}
_FORM = {
    "type": "object", "required": ["sections"], "additionalProperties": False,
    "description": f"sections of questions (at most {MAX_QUESTIONS} in all), docs/qa.md",
    "properties": {"sections": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["questions"], "additionalProperties": False,
        "properties": {"title": {"type": "string", "maxLength": 200},
                       "questions": {"type": "array", "minItems": 1,
                                     "maxItems": MAX_QUESTIONS, "items": _QUESTION}}}}}}
_SCORECARD_BODY = {
    "type": "object", "required": ["name", "form"], "additionalProperties": False,
    "properties": {"name": not_blank(100), "form": _FORM, "active": {"type": "boolean"}}}
_FORM_PROBLEMS = {"description": "what the form's declaration cannot say: a question id "
                                 "used twice, to_s before from_s, too many questions"}
# A phrase as check_list takes it: something words_of finds (a letter, digit or apostrophe,
# or a character whose lowercase is one: the Kelvin sign, the dotted capital I)
_KEYWORDS_BODY = {
    "type": "object", "required": ["phrases"], "additionalProperties": False,
    "properties": {
        "phrases": {"type": "array", "minItems": 1, "maxItems": MAX_PHRASES, "items": {
            "type": "string", "maxLength": MAX_PHRASE, "pattern": "[A-Za-z0-9'\u0130\u212a]",
            "x-message": "must hold words (letters or digits)"}},
        "min_match": {"type": "number", "minimum": 0.5, "maximum": 1,
                      "description": "the share of a phrase's words heard (0.8 if left out)"}}}
_ANSWER = {"type": "object", "additionalProperties": False, "properties": {
    "value": {"type": ["string", "integer", "null"], "maxLength": 8},
    "note": {"type": "string", "maxLength": 1000}}}


def _actor(request: web.Request) -> Actor:
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    return actor


def _qa_error(exc: QaError, invalid: type[web.HTTPException] = web.HTTPBadRequest
              ) -> web.HTTPException:
    # invalid: the status of an "invalid" refusal (422 where the body had the declared form)
    kind = invalid if exc.kind == "invalid" else _ERRORS[exc.kind]
    return kind(text=json.dumps({"error": str(exc), "problems": exc.problems}),
                content_type="application/json")


class QaRoutes:
    """The handlers over the transcripts, the worker and the QA service."""

    def __init__(self, service: QaService, transcripts: TranscriptStore,
                 worker: TranscriptWorker | None, recordings: RecordingIndex,
                 policies: Any, keywords: KeywordStore | None = None) -> None:
        self.service = service
        self.keywords = keywords
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
            web.get(f"/api/qa/interactions/{_THREAD}", self.thread),
            web.get("/api/qa/keywords", self.keyword_lists),
            web.get("/api/qa/keywords/hits", self.keyword_hits),
            web.put(f"/api/qa/keywords/{_LIST}", self.save_keywords),
            web.delete(f"/api/qa/keywords/{_LIST}", self.delete_keywords),
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
        if self.keywords is not None:
            out["keyword_hits"] = [h.as_json() for h in await self.keywords.hits_for(rec.id)]
        if self.worker is not None and rec.id in self.worker.running:
            out["progress"] = round(self.worker.running[rec.id], 3)
        return web.json_response(out)

    @requires(*STAFF)
    @api_doc(responses={202: {"type": "object", "description": "queued"},
                        409: {"description": "the recording has no finished audio, or the "
                                              "call is past its transcript retention"}},
             tags=("transcripts",), body_optional=True)
    async def enqueue(self, request: web.Request) -> web.Response:
        """POST /api/transcripts/{recording_id}: transcribe (again), whatever the queue's policy."""
        rec = await self._recording(request)
        if rec.status != rt.STATUS_COMPLETE:
            raise json_error(web.HTTPConflict, f"the recording is {rec.status}")
        kept = self.policies().for_queue(rec.queue).transcript_retention_days
        if kept is not None and rec.started_at < self.service.now() - timedelta(days=kept):
            # the next sweep would erase it again: transcript retention is the queue's rule
            raise json_error(web.HTTPConflict,
                             f"the call is older than the queue's transcript retention "
                             f"({kept} days)")
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
                                                 409: {"description": "name taken"},
                                                 422: _FORM_PROBLEMS},
             tags=("qa",))
    async def create_scorecard(self, request: web.Request) -> web.Response:
        """POST /api/qa/scorecards {name, form, active}."""
        body = await read_declared_json(request)
        try:
            card = await self.service.save_scorecard(_actor(request), body["name"], body["form"],
                                                     body.get("active", True))
        except QaError as exc:
            raise _qa_error(exc, web.HTTPUnprocessableEntity) from None
        return web.json_response(card.as_json(), status=201)

    @requires(ADMIN)
    @api_doc(request=_SCORECARD_BODY, responses={200: {"type": "object"},
                                                 404: {"description": "no such scorecard"},
                                                 409: {"description": "name taken"},
                                                 422: _FORM_PROBLEMS},
             tags=("qa",))
    async def save_scorecard(self, request: web.Request) -> web.Response:
        """PUT /api/qa/scorecards/{id} {name, form, active}: a new version."""
        body = await read_declared_json(request)
        try:
            card = await self.service.save_scorecard(
                _actor(request), body["name"], body["form"], body.get("active", True),
                scorecard_id=int(request.match_info["scorecard_id"]))
        except QaError as exc:
            raise _qa_error(exc, web.HTTPUnprocessableEntity) from None
        return web.json_response(card.as_json())

    # --- evaluations ------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(query={"agent_id": {"type": "string", "maxLength": 64},
                    "status": {"type": "string", "enum": list(t.EVALUATION_STATUSES)},
                    "recording_id": {"type": "string", "maxLength": 32},
                    "channel": {"type": "string", "enum": list(t.CHANNELS)},
                    "item_id": {"type": "string", "maxLength": 64},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500}},
             responses={200: {"type": "object"}}, tags=("qa",))
    async def evaluations(self, request: web.Request) -> web.Response:
        """GET /api/qa/evaluations: staff see all, an agent their own submitted ones."""
        status = query_text(request, "status")
        if status is not None and status not in t.EVALUATION_STATUSES:
            raise json_error(web.HTTPBadRequest, "no such status")
        channel = query_text(request, "channel")
        if channel is not None and channel not in t.CHANNELS:
            raise json_error(web.HTTPBadRequest, "channel must be voice, chat or ticket")
        found = await self.service.listing(
            _actor(request), agent_id=query_text(request, "agent_id"), status=status,
            recording_id=query_text(request, "recording_id"),
            limit=query_int(request, "limit", 100, 500, 1), channel=channel,
            item_id=query_text(request, "item_id"))
        return web.json_response({"evaluations": [e.as_json() for e in found]})

    @requires(*STAFF)
    @api_doc(request={"type": "object", "required": ["scorecard_id"],
                      "additionalProperties": False, "properties": {
                          "recording_id": {"type": "string", "pattern": "^[0-9a-f]{32}$",
                                           "description": "a call (same as channel voice)"},
                          "channel": {"type": "string", "enum": list(t.CHANNELS)},
                          "item_id": {"type": "string", "minLength": 1, "maxLength": 64,
                                      "description": "recording id, chat id, ticket number"},
                          "scorecard_id": {"type": "integer", "minimum": 1,
                                           "maximum": 999_999_999}},
                      "anyOf": [{"required": ["recording_id"]},
                                {"required": ["channel", "item_id"]}],
                      "x-any-of": "name a recording_id, or a channel and an item_id"},
             responses={201: {"type": "object", "description": "the draft, auto-answered"},
                        404: {"description": "no such interaction or scorecard"}},
             tags=("qa",))
    async def start_evaluation(self, request: web.Request) -> web.Response:
        """POST /api/qa/evaluations {recording_id | channel + item_id, scorecard_id}: a
        draft."""
        body = await read_declared_json(request)
        if "recording_id" in body:
            channel, item_id = t.VOICE, body["recording_id"]
        else:  # the declaration's anyOf: then a channel and an item_id
            channel, item_id = body["channel"], body["item_id"]
        try:
            done = await self.service.start_item(_actor(request), channel, item_id,
                                                 body["scorecard_id"])
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response(done.as_json(), status=201)

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object",
                              "description": "the interaction and its lines, in order"},
                        404: {"description": "no such interaction (or not yours)"}},
             tags=("qa",))
    async def thread(self, request: web.Request) -> web.Response:
        """GET /api/qa/interactions/{chat|ticket}/{id}: a chat's messages or a ticket's
        thread, for the evaluation page (staff; an agent once evaluated on it)."""
        try:
            subject, lines = await self.service.thread(
                _actor(request), request.match_info["channel"], request.match_info["item_id"])
        except QaError as exc:
            raise _qa_error(exc) from None
        return web.json_response({
            "channel": subject.channel, "item_id": subject.item_id,
            "interaction_id": subject.interaction_id, "agent_id": subject.agent_id,
            "queue": subject.queue, "started_at": subject.started_at.isoformat(),
            "label": subject.label, "finished": subject.finished,
            "lines": [ln.as_json() for ln in lines]})

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

    # --- keyword lists ----------------------------------------------------------------------

    def _keywords(self) -> KeywordStore:
        if self.keywords is None:
            raise json_error(web.HTTPNotFound, "keyword lists are not set up")
        return self.keywords

    @requires(*STAFF)
    @api_doc(responses={200: {"type": "object"}}, tags=("qa",))
    async def keyword_lists(self, request: web.Request) -> web.Response:
        """GET /api/qa/keywords: every keyword list."""
        return web.json_response({"lists": [k.as_json() for k in
                                            await self._keywords().lists()]})

    @requires(*STAFF)
    @api_doc(request=_KEYWORDS_BODY,
             responses={200: {"type": "object", "description": "the list, a new version"}},
             tags=("qa",))
    async def save_keywords(self, request: web.Request) -> web.Response:
        """PUT /api/qa/keywords/{name} {phrases, min_match}: create or replace a list."""
        body = await read_declared_json(request)
        name = request.match_info["name"]
        store = self._keywords()
        try:
            saved = await store.save(name, body["phrases"], body.get("min_match", 0.8),
                                     _actor(request).username, self.service.now())
        except KeywordError as exc:
            raise web.HTTPBadRequest(text=json.dumps({"error": str(exc), "problems": exc.problems}),
                                     content_type="application/json") from None
        await self.service.audit.record(_actor(request).username, "qa.keywords.save", name,
                                        detail={"version": saved.version,
                                                "phrases": len(saved.phrases)})
        await store.scan()  # the first batch now; the worker's sweeps do the rest
        return web.json_response(saved.as_json())

    @requires(*STAFF)
    @api_doc(responses={204: {"description": "removed"}, 404: {"description": "no such list"}},
             tags=("qa",))
    async def delete_keywords(self, request: web.Request) -> web.Response:
        """DELETE /api/qa/keywords/{name}: the list and its hits."""
        name = request.match_info["name"]
        if not await self._keywords().delete(name):
            raise json_error(web.HTTPNotFound, "no such keyword list")
        await self.service.audit.record(_actor(request).username, "qa.keywords.delete", name)
        return web.Response(status=204)

    @requires(*STAFF)
    @api_doc(query={"list": {"type": "string", "pattern": f"^{NAME_RE.pattern}$",
                             "required": True},
                    "phrase": {"type": "string", "maxLength": 200},
                    "agent_id": {"type": "string", "maxLength": 64},
                    "queue": {"type": "string", "maxLength": 64},
                    "from": {**_INSTANT, "description": "RFC 3339: started at or after"},
                    "to": {**_INSTANT, "description": "RFC 3339: started before"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
                    "offset": {"type": "integer", "minimum": 0, "maximum": 1_000_000}},
             responses={200: {"type": "object", "description": "recordings with their hits"}},
             tags=("qa",))
    async def keyword_hits(self, request: web.Request) -> web.Response:
        """GET /api/qa/keywords/hits?list=&phrase=&agent_id=&queue=&from=&to=: recordings
        where a list's phrases were heard, newest first, with each hit's time."""
        name = query_text(request, "list")
        if not name or not NAME_RE.fullmatch(name):
            raise json_error(web.HTTPBadRequest, "list must name a keyword list")
        found = await self._keywords().search(
            name, phrase=query_text(request, "phrase", 200),
            agent_id=query_text(request, "agent_id"), queue=query_text(request, "queue"),
            start=_instant(request, "from"), end=_instant(request, "to"),
            limit=query_int(request, "limit", 50, 200, 1),
            offset=query_int(request, "offset", 0, 1_000_000))
        return web.json_response({"recordings": found})


def _instant(request: web.Request, name: str) -> datetime | None:
    raw = query_text(request, name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.upper())  # RFC 3339 allows a small t and z
    except ValueError:
        raise json_error(web.HTTPBadRequest, f"{name} must be an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_qa_routes(app: web.Application, routes: QaRoutes) -> None:
    """The API, and the ``/qa`` page."""
    app.add_routes(routes.routes())
    add_pages(app, "qa", STATIC_DIR, ("qa",))
