"""The triggers' admin API: the rules (ordered), their dry run, the webhook delivery log.

Admins only; every change of a rule is audited (``tickets.trigger.create|update|delete``),
and so is every firing (``tickets.trigger.fire``, by the actor ``trigger:<name>``). Webhook
secrets are write-only: answers carry ``secret_set``, never the secret; a rule saved again
without a webhook's secret keeps the one it had for the same URL.

  GET    /api/tickets/triggers                   the rules in the order they run
  POST   /api/tickets/triggers                   {name, event, conditions, actions, enabled?,
                                                  position?}
  GET    /api/tickets/triggers/{id}
  PUT    /api/tickets/triggers/{id}              the whole rule again
  DELETE /api/tickets/triggers/{id}
  POST   /api/tickets/triggers/dry-run           a rule (stored or not): what it matches now
  GET    /api/tickets/webhooks/deliveries?trigger=&status=&ticket=&limit=
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.tickets.model import TicketError
from contactcenter.tickets.triggers import (
    ACTIONS,
    EVENTS,
    FIELD_PREFIX,
    OPERATORS,
    parse_trigger,
)
from contactcenter.tickets.triggers_engine import TriggerEngine
from contactcenter.tickets.triggers_store import TriggerStore
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ADMIN, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

_ID = "{trigger_id:[0-9]{1,9}}"
_CONDITION = {"type": "object", "required": ["field", "op"], "additionalProperties": False,
              "properties": {"field": {"type": "string", "maxLength": 40, "pattern": (
                  f"^({'|'.join(OPERATORS)}|{FIELD_PREFIX.replace('.', '[.]')}"
                  "[a-z][a-z0-9_]{0,31})$"), "description": "a fact, or fields.<key>"},
                             "op": {"type": "string", "maxLength": 16},
                             "value": {"type": ["string", "number", "boolean", "array",
                                                "null"]}}}
_ACTION = {"type": "object", "required": ["type"], "additionalProperties": False,
           "properties": {"type": {"type": "string", "enum": list(ACTIONS)},
                          "field": {"type": "string", "maxLength": 32,
                                    "description": "set_field: the field's key"},
                          "value": {"type": ["string", "number", "boolean", "null"],
                                    "maxLength": 1000},
                          "to": {"type": "string", "maxLength": 254},
                          "subject": {"type": "string", "maxLength": 200},
                          "text": {"type": "string", "maxLength": 10_000},
                          "url": {"type": "string", "maxLength": 500},
                          "secret": {"type": ["string", "null"], "maxLength": 200},
                          "secret_set": {"type": "boolean"}}}
_TRIGGER = {
    "type": "object", "required": ["name", "event", "actions"], "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "event": {"type": "string", "enum": list(EVENTS)},
        "enabled": {"type": "boolean"},
        "position": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "conditions": {"type": "array", "maxItems": 20, "items": _CONDITION},
        "actions": {"type": "array", "minItems": 1, "maxItems": 20, "items": _ACTION}}}
_RULE = {"type": "object", "description": "a trigger (id, name, event, conditions, actions)"}
_REFUSED = {"description": "the rule has the declared form, but its content is refused"}


def _error(exc: TicketError) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {404: web.HTTPNotFound, 409: web.HTTPConflict}
    return json_error(kinds.get(exc.status, web.HTTPUnprocessableEntity), str(exc))


class TriggerRoutes:
    """Handlers over one ``TriggerEngine`` and its store."""

    def __init__(self, engine: TriggerEngine, store: TriggerStore) -> None:
        self.engine = engine
        self.store = store

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/tickets/triggers", self.listing, allow_head=False),
            web.post("/api/tickets/triggers", self.create),
            web.post("/api/tickets/triggers/dry-run", self.dry_run),
            web.get(f"/api/tickets/triggers/{_ID}", self.show, allow_head=False),
            web.put(f"/api/tickets/triggers/{_ID}", self.replace),
            web.delete(f"/api/tickets/triggers/{_ID}", self.delete),
            web.get("/api/tickets/webhooks/deliveries", self.deliveries, allow_head=False),
        ]

    async def _audit(self, request: web.Request, action: str, target: str,
                     detail: dict[str, Any]) -> None:
        actor: Actor = request["actor"]
        await request.app[AUTH_KEY].audit.record(actor.username, action, target=target,
                                                 detail=detail)

    @requires(ADMIN)
    @api_doc(responses={200: {"type": "object", "description": "triggers, in order; "
                                                             "events"}},
             tags=("tickets",))
    async def listing(self, request: web.Request) -> web.Response:
        """GET /api/tickets/triggers: every rule in the order it runs, and the events a rule
        may name (the page's event choice)."""
        return web.json_response({"triggers": [t.as_json() for t in
                                               await self.store.triggers()],
                                  "events": list(EVENTS)})

    @requires(ADMIN)
    @api_doc(responses={200: _RULE, 404: {"description": "no such trigger"}},
             tags=("tickets",))
    async def show(self, request: web.Request) -> web.Response:
        """GET /api/tickets/triggers/{trigger_id}: one rule."""
        try:
            trigger = await self.store.get(int(request.match_info["trigger_id"]))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(trigger.as_json())

    @requires(ADMIN)
    @api_doc(request=_TRIGGER, responses={201: _RULE, 409: {"description": "name taken"},
                                          422: _REFUSED}, tags=("tickets",))
    async def create(self, request: web.Request) -> web.Response:
        """POST /api/tickets/triggers: a new rule (last, unless a position is given)."""
        body = await read_declared_json(request)
        actor: Actor = request["actor"]
        try:
            trigger = parse_trigger(body, position=body.get("position", 0),
                                    catalog=await self.engine.catalog())
            stored = await self.store.add(trigger, self.engine.clock.time(), actor.username)
        except TicketError as exc:
            raise _error(exc) from None
        await self._audit(request, "tickets.trigger.create", f"trigger:{stored.id}",
                          stored.as_json())
        self.engine.wake()
        return web.json_response(stored.as_json(), status=201)

    @requires(ADMIN)
    @api_doc(request=_TRIGGER, responses={200: _RULE, 404: {"description": "no such trigger"},
                                          409: {"description": "name taken"}, 422: _REFUSED},
             tags=("tickets",))
    async def replace(self, request: web.Request) -> web.Response:
        """PUT /api/tickets/triggers/{trigger_id}: the rule replaced (enable/disable, order,
        conditions, actions)."""
        body = await read_declared_json(request)
        actor: Actor = request["actor"]
        trigger_id = int(request.match_info["trigger_id"])
        try:
            old = await self.store.get(trigger_id)
            trigger = parse_trigger(body, position=body.get("position", 0),
                                    trigger_id=trigger_id, old=old,
                                    catalog=await self.engine.catalog())
            stored = await self.store.replace(trigger, self.engine.clock.time(),
                                              actor.username)
        except TicketError as exc:
            raise _error(exc) from None
        await self._audit(request, "tickets.trigger.update", f"trigger:{stored.id}",
                          {"before": old.as_json(), "after": stored.as_json()})
        self.engine.wake()
        return web.json_response(stored.as_json())

    @requires(ADMIN)
    @api_doc(responses={204: {"description": "deleted"}, 404: {"description": "no such "
                                                                            "trigger"}},
             tags=("tickets",), body_optional=True)
    async def delete(self, request: web.Request) -> web.Response:
        """DELETE /api/tickets/triggers/{trigger_id}: the rule removed (its delivery log
        stays, with its name)."""
        try:
            gone = await self.store.delete(int(request.match_info["trigger_id"]))
        except TicketError as exc:
            raise _error(exc) from None
        await self._audit(request, "tickets.trigger.delete", f"trigger:{gone.id}",
                          gone.as_json())
        return web.Response(status=204)

    @requires(ADMIN)
    @api_doc(request=_TRIGGER, responses={
        200: {"type": "object", "description": "matches: [{ticket, changes, emails, "
                                               "webhooks, skipped}], scanned"},
        404: {"description": "no stored trigger with that id"},
        422: _REFUSED}, tags=("tickets",))
    async def dry_run(self, request: web.Request) -> web.Response:
        """POST /api/tickets/triggers/dry-run: which tickets (not closed) a rule matches now
        and what it would change; nothing is written. With the ``id`` of a stored time
        automation, the tickets it already fired for in their current status are left out."""
        body = await read_declared_json(request)
        try:
            old = await self.store.get(body["id"]) if body.get("id") else None
            trigger = parse_trigger({k: v for k, v in body.items() if k not in ("id",
                                                                                "position")},
                                    trigger_id=old.id if old else 0, old=old,
                                    catalog=await self.engine.catalog())
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(await self.engine.dry_run(trigger))

    @requires(ADMIN)
    @api_doc(query={"trigger": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
                    "ticket": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
                    "status": {"type": "string", "enum": ["queued", "delivered", "failed"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500}},
             responses={200: {"type": "object", "description": "deliveries, newest first"}},
             tags=("tickets",))
    async def deliveries(self, request: web.Request) -> web.Response:
        """GET /api/tickets/webhooks/deliveries: the webhook calls, newest first (attempts,
        status, next try, response code, last error; never the secret)."""
        trigger = query_int(request, "trigger", 0, 999_999_999)
        ticket = query_int(request, "ticket", 0, 999_999_999)
        status = query_text(request, "status")
        if status is not None and status not in ("queued", "delivered", "failed"):
            raise json_error(web.HTTPBadRequest, "status must be queued, delivered or failed")
        found = await self.store.deliveries(
            trigger_id=trigger or None, ticket_id=ticket or None, status=status,
            limit=query_int(request, "limit", 100, 500, 1))
        return web.json_response({"deliveries": [d.as_json() for d in found]})


def add_trigger_routes(app: web.Application, engine: TriggerEngine,
                       store: TriggerStore) -> None:
    """The triggers' admin API (the page is the tickets page's admin section)."""
    app.add_routes(TriggerRoutes(engine, store).routes())
