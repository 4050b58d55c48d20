"""Admin REST API for the routing configuration: queues, agents and the skills catalogue.

Design note. The same seven routes exist for each kind (``/api/admin/queues``, ``/agents``,
``/skills``): list and get (supervisors and admins), validate, create, save, enable/disable and
revert to the file (admins). An entry is sent either as ``document`` (a JSON object in the YAML
shape of one entry) or as ``yaml`` (the text the panel's editor shows); both go through the file
loader's checks (``routing.config_editor`` has the steps). Answers: 422 with every problem
(``field`` for JSON, ``line``/``col`` for YAML) when the content is invalid; 409 when the version
the admin read is stale (``current_version``) or when the engine cannot take it now
(``problems``, e.g. callers still waiting in a queue being removed). Nothing changes in either
case. Every attempt is audited as ``config.<kind>.<verb>`` with a diff summary, and every
accepted change is pushed to the admins' ``admin.config`` live topic.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.routing.config_editor import (
    Change,
    ConfigInvalid,
    ConfigRefused,
    RoutingConfigEditor,
    VersionConflict,
    diff_summary,
)
from contactcenter.routing.config_merge import (
    KINDS,
    SINGULAR,
    FieldMark,
    field_of,
    parse_entry_text,
)
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ADMIN, STAFF, Actor, requires
from contactcenter.web.security import json_error
from contactcenter.web.uploads import CHECK_TIMEOUT, check_off_loop

CONFIG_TOPIC = "admin.config"
MAX_BODY = 128 * 1024
MAX_VERSION = 2**31 - 1  # the column's range: a larger number would fail in the database
_NAME_RX = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_NAME = re.compile(f"^{_NAME_RX}$")
_VERSION: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": MAX_VERSION,
                            "description": "the version read (0: none stored)"}
_ENTRY_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "document": {"type": "object", "description": "the entry in the YAML shape"},
        "yaml": {"type": "string", "description": "the entry as YAML text"},
        "version": _VERSION,
        "enabled": {"type": "boolean"},
    },
    # oneOf already refuses a body with both; a "not" in each form made generators give up
    "oneOf": [{"required": ["document"]}, {"required": ["yaml"]}],
    "x-one-of": "send the entry as exactly one of document (a JSON object) or yaml",
}
_ERRORS: dict[str, Any] = {"type": "object", "properties": {
    "error": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "source": {"type": "string"}, "field": {"type": ["string", "null"]},
        "line": {"type": ["integer", "null"]}, "col": {"type": ["integer", "null"]},
        "message": {"type": "string"}}}},
}}
_CONFLICT: dict[str, Any] = {"type": "object", "properties": {
    "error": {"type": "string"}, "current_version": {"type": ["integer", "null"]},
    "problems": {"type": "array", "items": {"type": "string"}}}}
_WRITE_RESPONSES: dict[int | str, Any] = {
    200: {"type": "object"}, 400: {"description": "bad name, version or shape"},
    404: {"description": "no such entry"}, 409: _CONFLICT, 422: _ERRORS}
_VALIDATED: dict[str, Any] = {"type": "object", "properties": {
    "ok": {"type": "boolean"}, "errors": _ERRORS["properties"]["errors"],
    "problems": {"type": "array", "items": {"type": "string"}}}}

Handler = Callable[[str, web.Request], Awaitable[web.StreamResponse]]


def error_json(err: SourceError, document: Any = None) -> dict[str, Any]:
    """One problem as the API reports it: where (source, field or line/col) and what."""
    mark = err.mark
    located = not isinstance(mark, FieldMark)
    return {"source": mark.file, "field": field_of(document, mark),
            "line": mark.line if located else None, "col": mark.col if located else None,
            "message": err.message, "text": str(err)}


class RoutingAdminApi:
    """Handlers over one ``RoutingConfigEditor``; ``routes()`` binds them to each kind."""

    def __init__(self, editor: RoutingConfigEditor, audit: Any,
                 publish: Callable[[str, Any], int] | None = None,
                 check_timeout: float = CHECK_TIMEOUT) -> None:
        self.editor = editor
        self.audit = audit
        self.publish = publish
        self.check_timeout = check_timeout

    def routes(self) -> list[web.RouteDef]:
        """Seven routes per kind (queues, agents, skills)."""
        out = []
        for kind in KINDS:
            base = f"/api/admin/{kind}"
            one = f"{base}/{{name:{_NAME_RX}}}"
            out += [
                web.get(base, self._bind(kind, self.list_entries)),
                web.post(base, self._bind(kind, self.create)),
                web.get(one, self._bind(kind, self.get_entry)),
                web.put(one, self._bind(kind, self.save)),
                web.patch(one, self._bind(kind, self.set_enabled)),
                web.delete(one, self._bind(kind, self.revert)),
                web.post(one + "/validate", self._bind(kind, self.validate)),
            ]
        return out

    @staticmethod
    def _bind(kind: str, method: Any) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await method(kind, request)

        # The route table, role check and OpenAPI read these from the handler itself.
        handler.__name__ = handler.__qualname__ = f"{method.__name__}_{kind}"
        handler.__doc__ = (method.__doc__ or "").format(kind=kind, one=SINGULAR[kind])
        handler.roles = method.roles  # type: ignore[attr-defined]
        doc = getattr(method, "openapi", None)
        if doc is not None:
            handler.openapi = {**doc, "tags": ("routing configuration",)}  # type: ignore[attr-defined]
        return handler

    # ------------------------------------------------------------------ reads
    @requires(*STAFF)
    @api_doc(responses={200: {"type": "object"}})
    async def list_entries(self, kind: str, request: web.Request) -> web.Response:
        """Every {one} of the files and the database, with its source, version and state."""
        return web.json_response({"kind": kind, "entries": self.editor.entries(kind)})

    @requires(*STAFF)
    @api_doc(responses={200: {"type": "object"}, 404: {"description": "no such entry"}})
    async def get_entry(self, kind: str, request: web.Request) -> web.Response:
        """One {one}: stored and file documents, YAML text, version."""
        view = self.editor.entry(kind, _name(request))
        if view is None:
            raise json_error(web.HTTPNotFound, f"no {SINGULAR[kind]} {_name(request)!r}")
        return web.json_response(view)

    # ------------------------------------------------------------------ writes
    @api_doc(request=_ENTRY_BODY, responses={200: _VALIDATED, 422: {
        "description": "not checked in time"}})
    @requires(ADMIN)
    async def validate(self, kind: str, request: web.Request) -> web.Response:
        """Check a {one} without saving: {{ok, errors, problems}} (problems: why not now)."""
        name = _name(request)
        body = await read_declared_json(request, MAX_BODY)
        try:
            document = await self._document(kind, name, body)
        except SourceErrors as exc:
            return web.json_response({"ok": False, "errors": [error_json(e) for e in exc.errors],
                                      "problems": []})
        errors, problems = self.editor.validate(kind, name, document, _enabled(body))
        return web.json_response({"ok": not errors and not problems,
                                  "errors": [error_json(e, document) for e in errors],
                                  "problems": problems})

    @api_doc(request={**_ENTRY_BODY, "required": ["name"], "properties": {
        **_ENTRY_BODY["properties"], "name": {"type": "string", "pattern": f"^{_NAME_RX}$"}}},
        responses={201: {"type": "object"}, 400: {"description": "bad name or shape"},
                   409: _CONFLICT, 422: _ERRORS})
    @requires(ADMIN)
    async def create(self, kind: str, request: web.Request) -> web.Response:
        """Create a new {one} {{name, document | yaml}}; 409 if the name is taken."""
        body = await read_declared_json(request, MAX_BODY)
        name = body.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise json_error(web.HTTPBadRequest, "name must be 1-64 letters, digits, _ . -")
        if self.editor.entry(kind, name) is not None:
            raise json_error(web.HTTPConflict, f"{SINGULAR[kind]} {name!r} already exists")
        return await self._write(kind, name, "create", request, 0, body, status=201)

    @api_doc(request={**_ENTRY_BODY, "required": ["version"]}, responses=_WRITE_RESPONSES)
    @requires(ADMIN)
    async def save(self, kind: str, request: web.Request) -> web.Response:
        """Save a {one} {{document | yaml, version, enabled?}}: checked, stored, applied live."""
        body = await read_declared_json(request, MAX_BODY)
        return await self._write(kind, _name(request), "save", request, _version(body), body)

    @api_doc(request={"type": "object", "required": ["enabled", "version"], "properties": {
        "enabled": {"type": "boolean"}, "version": _VERSION}},
        responses=_WRITE_RESPONSES)
    @requires(ADMIN)
    async def set_enabled(self, kind: str, request: web.Request) -> web.Response:
        """Enable or disable a {one} {{enabled, version}}; disabled removes it from routing."""
        body = await read_declared_json(request)
        if not isinstance(body.get("enabled"), bool):
            raise json_error(web.HTTPBadRequest, "enabled must be true or false")
        verb = "enable" if body["enabled"] else "disable"
        return await self._write(kind, _name(request), verb, request, _version(body), body)

    @api_doc(query={"version": {**_VERSION, "required": True}}, responses=_WRITE_RESPONSES)
    @requires(ADMIN)
    async def revert(self, kind: str, request: web.Request) -> web.Response:
        """Drop the stored {one} (?version=N): the file's entry of that name applies again."""
        return await self._write(kind, _name(request), "revert", request,
                                 _version(dict(request.query), text=True), {})

    async def _write(self, kind: str, name: str, verb: str, request: web.Request, version: int,
                     body: dict[str, Any], status: int = 200) -> web.Response:
        actor: Actor = request["actor"]
        action = f"config.{SINGULAR[kind]}.{verb}"
        document = None
        try:
            if verb in ("create", "save"):
                document = await self._document(kind, name, body)
                row = self.editor.stored[kind].get(name)  # no "enabled": keep the entry's
                enabled = _enabled(body, row.enabled if row is not None else True)
                change = await self.editor.save(kind, name, document, enabled, version,
                                                actor.username)
            elif verb == "revert":
                change = await self.editor.revert(kind, name, version, actor.username)
            else:
                change = await self.editor.set_enabled(kind, name, body["enabled"], version,
                                                       actor.username)
        except (SourceErrors, ConfigInvalid) as exc:
            errors = [error_json(e, document) for e in exc.errors]
            await self.audit.record(actor.username, action, name, "refused",
                                    {"errors": [e["text"] for e in errors[:20]]})
            return web.json_response({"error": "invalid configuration: nothing was saved",
                                      "errors": errors}, status=422)
        except VersionConflict as exc:
            await self.audit.record(actor.username, action, name, "conflict",
                                    {"expected": exc.expected, "current": exc.current})
            return web.json_response({"error": str(exc), "current_version": exc.current},
                                     status=409)
        except ConfigRefused as exc:
            await self.audit.record(actor.username, action, name, "refused",
                                    {"problems": exc.problems[:20]})
            return web.json_response({"error": "cannot apply this now: nothing was saved",
                                      "problems": exc.problems}, status=409)
        except LookupError as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return await self._accepted(change, action, verb, actor, status)

    async def _document(self, kind: str, name: str, body: dict[str, Any]) -> Any:
        """The entry from ``yaml`` (positions kept for errors; parsed in a worker thread, with
        a time limit) or ``document``."""
        if isinstance(body.get("yaml"), str):
            return await check_off_loop(parse_entry_text, kind, name, body["yaml"],
                                        timeout=self.check_timeout)
        if isinstance(body.get("document"), dict):
            return body["document"]
        raise json_error(web.HTTPBadRequest, "send the entry as document (a JSON object) or yaml")

    async def _accepted(self, change: Change, action: str, verb: str, actor: Actor,
                        status: int) -> web.Response:
        version = change.entry.version if change.entry is not None else 0
        await self.audit.record(actor.username, action, change.name, "ok",
                                {"version": version, "diff": diff_summary(change.before,
                                                                          change.after)})
        if self.publish is not None:
            self.publish(CONFIG_TOPIC, {"type": "config", "kind": change.kind, "name": change.name,
                                        "action": verb, "version": version,
                                        "by": actor.username})
        return web.json_response(self.editor.entry(change.kind, change.name)
                                 or {"name": change.name, "version": 0, "removed": True},
                                 status=status)


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if not _NAME.match(name):
        raise json_error(web.HTTPBadRequest, "name must be 1-64 letters, digits, _ . -")
    return name


def _version(body: dict[str, Any], text: bool = False) -> int:
    value = body.get("version")
    if text and isinstance(value, str) and value.isascii() and value.isdigit() \
            and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VERSION:
        raise json_error(web.HTTPBadRequest,
                         "version must be the entry's version as read (0: none stored)")
    return value


def _enabled(body: dict[str, Any], default: bool = True) -> bool:
    value = body.get("enabled", default)
    if not isinstance(value, bool):
        raise json_error(web.HTTPBadRequest, "enabled must be true or false")
    return value


def add_routing_admin_routes(app: web.Application, editor: RoutingConfigEditor,
                             audit: Any, check_timeout: float = CHECK_TIMEOUT) -> RoutingAdminApi:
    """Install the routing configuration API on ``app`` (after ``add_auth``)."""
    api = RoutingAdminApi(editor, audit, app[AUTH_KEY].live.publish, check_timeout)
    app.add_routes(api.routes())
    return api
