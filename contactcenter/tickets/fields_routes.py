"""Ticket types and custom fields over HTTP: admins define them, whoever may change a ticket
sets its type and values.

  GET    /api/tickets/fields                  {types, fields}: any user (the page builds its
                                              inputs and filters from it)
  PUT    /api/tickets/fields/types            {types: [..]}: the whole list, admins
  POST   /api/tickets/fields                  {key, label, kind, options?, required_on_solve?}
  PUT    /api/tickets/fields/{key}            the field again (its key stays), admins
  DELETE /api/tickets/fields/{key}            the field and every ticket's value of it, admins
  GET    /api/tickets/{id}/fields             {type, values}
  PATCH  /api/tickets/{id}/fields             {type?, values?: {key: value|null}}

A body of the wrong form is 400; a value its field does not take (a word in a number, a date
that is not one, an option not offered), an unknown field or type is 422 naming it.
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.tickets.fields import TYPE, Kind, parse_field, parse_types
from contactcenter.tickets.fields_service import UNCHANGED, TicketFields
from contactcenter.tickets.fields_store import FieldStore
from contactcenter.tickets.model import TicketError
from contactcenter.tickets.routes import who_of
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ADMIN, ANY_USER, requires
from contactcenter.web.security import json_error

_ID = "{ticket_id:[0-9]{1,9}}"
# not "types": PUT /api/tickets/fields/types is the list of types (its Allow lists no DELETE)
_KEY = "{key:(?!types$)[a-z][a-z0-9_]{0,31}}"
_FIELD = {
    "type": "object", "required": ["key", "kind"], "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "pattern": "^(?!types$)[a-z][a-z0-9_]{0,31}$"},
        "label": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"},
        "kind": {"type": "string", "enum": [k.value for k in Kind]},
        "options": {"type": "array", "maxItems": 100,
                    "items": {"type": "string", "minLength": 1, "maxLength": 100}},
        "required_on_solve": {"type": "boolean"}}}
_TYPES = {"type": "object", "required": ["types"], "additionalProperties": False,
          "properties": {"types": {"type": "array", "maxItems": 50, "uniqueItems": True,
                                   "items": {"type": "string", "pattern": TYPE.pattern}}}}
_VALUE = {"type": ["string", "number", "boolean", "null"]}
_VALUES = {"type": "object", "additionalProperties": False, "properties": {
    "type": {"type": ["string", "null"], "maxLength": 32},
    "values": {"type": "object", "maxProperties": 100, "additionalProperties": _VALUE}}}
_REFUSED = {"description": "the body has the declared form, but its content is refused"}
_DEFS = {"type": "object", "description": "types and fields"}


def _error(exc: TicketError) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {
        403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict}
    return json_error(kinds.get(exc.status, web.HTTPUnprocessableEntity), str(exc))


class FieldRoutes:
    """Handlers over the field store and ``TicketFields``."""

    def __init__(self, fields: TicketFields, store: FieldStore) -> None:
        self.fields = fields
        self.store = store

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/tickets/fields", self.listing, allow_head=False),
            web.put("/api/tickets/fields/types", self.put_types),
            web.post("/api/tickets/fields", self.create),
            web.put(f"/api/tickets/fields/{_KEY}", self.replace),
            web.delete(f"/api/tickets/fields/{_KEY}", self.delete),
            web.get(f"/api/tickets/{_ID}/fields", self.values, allow_head=False),
            web.patch(f"/api/tickets/{_ID}/fields", self.set_values),
        ]

    async def _all(self) -> dict[str, object]:
        return {"types": await self.store.types(),
                "fields": [f.as_json() for f in await self.store.fields()]}

    @requires(*ANY_USER)
    @api_doc(responses={200: _DEFS}, tags=("tickets",))
    async def listing(self, request: web.Request) -> web.Response:
        """GET /api/tickets/fields: the ticket types and the custom fields, in order."""
        return web.json_response(await self._all())

    @requires(ADMIN)
    @api_doc(request=_TYPES, responses={200: _DEFS, 422: _REFUSED}, tags=("tickets",))
    async def put_types(self, request: web.Request) -> web.Response:
        """PUT /api/tickets/fields/types: the list of ticket types, replaced as a whole."""
        body = await read_declared_json(request)
        try:
            await self.store.set_types(parse_types(body["types"]))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(await self._all())

    @requires(ADMIN)
    @api_doc(request=_FIELD, responses={201: {"type": "object", "description": "the field"},
                                        409: {"description": "the key is taken"},
                                        422: _REFUSED}, tags=("tickets",))
    async def create(self, request: web.Request) -> web.Response:
        """POST /api/tickets/fields: a new custom field (last in the order)."""
        body = await read_declared_json(request)
        try:
            field = parse_field(body)
        except TicketError as exc:
            raise _error(exc) from None
        saved = await self.store.save_field(field, who_of(request).name,
                                            self.fields.service.clock.time(), create=True)
        if saved is None:
            raise json_error(web.HTTPConflict, f"field {field.key!r} exists")
        return web.json_response(saved.as_json(), status=201)

    @requires(ADMIN)
    @api_doc(request=_FIELD, responses={200: {"type": "object", "description": "the field"},
                                        404: {"description": "no such field"},
                                        422: _REFUSED}, tags=("tickets",))
    async def replace(self, request: web.Request) -> web.Response:
        """PUT /api/tickets/fields/{key}: the field again (values stay; check them again
        when the kind changes: a stored value is only checked when written)."""
        body = await read_declared_json(request)
        key = request.match_info["key"]
        try:
            if body.get("key") != key:
                raise TicketError("the key of a field does not change")
            field = parse_field(body)
        except TicketError as exc:
            raise _error(exc) from None
        saved = await self.store.save_field(field, who_of(request).name,
                                            self.fields.service.clock.time(), create=False)
        if saved is None:
            raise json_error(web.HTTPNotFound, f"no field {key!r}")
        return web.json_response(saved.as_json())

    @requires(ADMIN)
    @api_doc(responses={204: {"description": "deleted"}, 404: {"description": "no such field"}},
             tags=("tickets",))
    async def delete(self, request: web.Request) -> web.Response:
        """DELETE /api/tickets/fields/{key}: the field and its values on every ticket."""
        if not await self.store.delete_field(request.match_info["key"]):
            raise json_error(web.HTTPNotFound, "no such field")
        return web.Response(status=204)

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "type and values"}},
             tags=("tickets",))
    async def values(self, request: web.Request) -> web.Response:
        """GET /api/tickets/{ticket_id}/fields: the ticket's type and field values."""
        try:
            found = await self.fields.of(int(request.match_info["ticket_id"]),
                                         who_of(request))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(found)

    @requires(*ANY_USER)
    @api_doc(request=_VALUES, responses={200: {"type": "object", "description": "after"},
                                         422: _REFUSED}, tags=("tickets",))
    async def set_values(self, request: web.Request) -> web.Response:
        """PATCH /api/tickets/{ticket_id}/fields: set the type (null: none) and values (null:
        clear); every change goes into the ticket's history."""
        body = await read_declared_json(request)
        try:
            found = await self.fields.set(
                int(request.match_info["ticket_id"]), who_of(request), body.get("values", {}),
                body.get("type", UNCHANGED))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(found)


def add_field_routes(app: web.Application, fields: TicketFields, store: FieldStore) -> None:
    app.add_routes(FieldRoutes(fields, store).routes())
