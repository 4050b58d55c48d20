"""HTTP API of the sampling rules and the evaluators' worklist (supervisors and admins)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from contactcenter.qa import tables as t
from contactcenter.qa.sampling import NAME_RE, QUEUE_RE, RuleError
from contactcenter.qa.worklist import OPEN, RuleTaken, WorklistStore
from contactcenter.storage.audit import AuditLog
from contactcenter.web.openapi import SPACE_CLASS, api_doc, read_declared_json
from contactcenter.web.roles import STAFF, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

_RULE_ID = "{rule_id:[0-9]{1,9}}"


# A rule as check_rule takes it: its name is trimmed first (so blanks may surround it), and
# 0 % needs a minimum
_RULE_BODY = {
    "type": "object", "required": ["name", "percent"], "additionalProperties": False,
    "properties": {
        "name": {"type": "string",
                 "pattern": f"^[{SPACE_CLASS}]*{NAME_RE.pattern}[{SPACE_CLASS}]*$",
                 "x-message": "must be letters, digits, spaces, '_', '.', '-', up to 64"},
        "channel": {"type": "string", "enum": list(t.CHANNELS)},
        "queue": {"type": ["string", "null"], "pattern": f"^({QUEUE_RE.pattern})?$",
                  "description": "a queue's name; empty or null: every queue"},
        "percent": {"type": "number", "minimum": 0, "maximum": 100},
        "minimum": {"type": "integer", "minimum": 0, "maximum": 1000},
        "scorecard_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 999_999_999},
        "active": {"type": "boolean"}},
    "if": {"required": ["percent"], "properties": {"percent": {"const": 0}}},
    "then": {"required": ["minimum"], "properties": {"minimum": {"minimum": 1}}}}


def _actor(request: web.Request) -> Actor:
    actor = request.get("actor")
    if actor is None:
        raise json_error(web.HTTPUnauthorized, "login required")
    return actor


class WorklistRoutes:
    """The handlers over the worklist store."""

    def __init__(self, store: WorklistStore, audit: AuditLog, now: Any) -> None:
        self.store, self.audit, self.now = store, audit, now  # now: () -> aware datetime

    def routes(self) -> list[web.RouteDef]:
        """Every route of the worklist."""
        return [
            web.get("/api/qa/sampling/rules", self.rules),
            web.post("/api/qa/sampling/rules", self.create_rule),
            web.put(f"/api/qa/sampling/rules/{_RULE_ID}", self.save_rule),
            web.post("/api/qa/sampling/run", self.run),
            web.get("/api/qa/worklist", self.worklist),
        ]

    @requires(*STAFF)
    @api_doc(responses={200: {"type": "object"}}, tags=("qa",))
    async def rules(self, request: web.Request) -> web.Response:
        """GET /api/qa/sampling/rules."""
        return web.json_response({"rules": [r.as_json() for r in await self.store.rules()]})

    async def _save(self, request: web.Request, rule_id: int | None) -> web.Response:
        body = await read_declared_json(request)
        actor = _actor(request)
        try:
            rule = await self.store.save_rule(body, actor.username, self.now(), rule_id)
        except RuleError as exc:
            raise web.HTTPBadRequest(text=json.dumps({"error": str(exc),
                                                      "problems": exc.problems}),
                                     content_type="application/json") from None
        except RuleTaken:
            raise json_error(web.HTTPConflict, "another rule has that name") from None
        if rule is None:
            raise json_error(web.HTTPNotFound, "no such rule")
        await self.audit.record(actor.username, "qa.sampling.save", str(rule.id),
                                detail=rule.as_json())
        return web.json_response(rule.as_json(), status=201 if rule_id is None else 200)

    @requires(*STAFF)
    @api_doc(request=_RULE_BODY, responses={201: {"type": "object"},
                                            400: {"description": "the rule's problems"},
                                            409: {"description": "name taken"}},
             tags=("qa",))
    async def create_rule(self, request: web.Request) -> web.Response:
        """POST /api/qa/sampling/rules {name, channel, queue, percent, minimum, scorecard_id,
        active}."""
        return await self._save(request, None)

    @requires(*STAFF)
    @api_doc(request=_RULE_BODY, responses={200: {"type": "object"},
                                            400: {"description": "the rule's problems"},
                                            404: {"description": "no such rule"},
                                            409: {"description": "name taken"}},
             tags=("qa",))
    async def save_rule(self, request: web.Request) -> web.Response:
        """PUT /api/qa/sampling/rules/{id}: change a rule (picks already made stay)."""
        return await self._save(request, int(request.match_info["rule_id"]))

    @requires(*STAFF)
    @api_doc(responses={200: {"type": "object", "description": "how many calls were picked"}},
             tags=("qa",), body_optional=True)
    async def run(self, request: web.Request) -> web.Response:
        """POST /api/qa/sampling/run: apply the rules now (the server also does every
        ``qa.sampling_interval_s``)."""
        return web.json_response({"picked": await self.store.run(self.now())})

    @requires(*STAFF)
    @api_doc(query={"status": {"type": "string",
                               "enum": [OPEN, *t.EVALUATION_STATUSES]},
                    "rule_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
                    "agent_id": {"type": "string", "maxLength": 64},
                    "week": {"type": "string", "maxLength": 8},
                    "channel": {"type": "string", "enum": list(t.CHANNELS)},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500}},
             responses={200: {"type": "object"}}, tags=("qa",))
    async def worklist(self, request: web.Request) -> web.Response:
        """GET /api/qa/worklist: the picked calls, chats and tickets with their evaluation's
        status."""
        status = query_text(request, "status")
        if status is not None and status not in (OPEN, *t.EVALUATION_STATUSES):
            raise json_error(web.HTTPBadRequest, "no such status")
        channel = query_text(request, "channel")
        if channel is not None and channel not in t.CHANNELS:
            raise json_error(web.HTTPBadRequest, "channel must be voice, chat or ticket")
        rule_id = query_int(request, "rule_id", 0, 999_999_999)
        items = await self.store.worklist(
            status=status, rule_id=rule_id or None, agent_id=query_text(request, "agent_id"),
            week=query_text(request, "week", 8), channel=channel,
            limit=query_int(request, "limit", 100, 500, 1))
        return web.json_response({"items": items})
