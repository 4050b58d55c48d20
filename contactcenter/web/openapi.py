"""The OpenAPI 3.1 document, generated from the route table and the handlers themselves.

Design note: nothing is written twice. Paths and methods come from the router (sub-apps
included), path parameters and their patterns from ``{name}`` / ``{name:regex}`` segments (the
regex the router matches with), the summary and description from the handler's docstring, the
audience from its ``roles`` (as ``x-roles`` and the cookie security scheme), and request/response
schemas from the optional ``api_doc`` decorator. A handler reads its body with
``read_declared_json``, which checks it against that same ``request`` schema before the
handler's own checks run, so the document cannot promise less than the server enforces. Every
error is ``{"error": message}`` (the ``Error`` component): declared for each status a handler
lists, and for those the gate and the body reader answer on their own (400/413 with a body,
404 with path parameters, 401/403 without ``public``). Static files and HEAD duplicates of GET
are left out. The document is built on request, so routes added by any part of the app after
``add_auth`` are included.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from contactcenter.web.roles import PUBLIC, iter_routes, requires, route_roles
from contactcenter.web.security import (
    MAX_JSON_BODY,
    SAFE_METHODS,
    WebSecuritySettings,
    json_error,
    read_json_object,
)

F = TypeVar("F", bound=Callable[..., Any])
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*(?:\{[^{}]*\}[^{}]*)*))?\}")
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string", "description": "what went wrong, for people"}},
    "description": "Every error answer; some add fields (errors, problems, current_version).",
}
_A_TYPE = {"object": "an object", "array": "a list", "string": "a string",
           "integer": "an integer", "number": "a number", "boolean": "true or false",
           "null": "null"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def api_doc(
    *,
    request: dict[str, Any] | None = None,
    responses: dict[int | str, Any] | None = None,
    tags: tuple[str, ...] = (),
    query: dict[str, dict[str, Any]] | None = None,
    body_optional: bool = False,
) -> Callable[[F], F]:
    """Attach OpenAPI details to a handler: JSON request schema (``body_optional``: the request
    may have no body at all), responses, tags, query params (``"required": True`` in a
    parameter's schema makes it required)."""

    def mark(handler: F) -> F:
        handler.openapi = {  # type: ignore[attr-defined]
            "request": request,
            "responses": responses or {},
            "tags": tags,
            "query": query or {},
            "body_optional": body_optional,
        }
        return handler

    return mark


def check_schema(schema: dict[str, Any], value: Any, where: str = "body") -> list[str]:
    """Where ``value`` breaks ``schema`` (the JSON Schema subset ``api_doc`` declarations use:
    type, enum, required, properties, additionalProperties, items, min/maxLength, pattern,
    minimum/maximum, oneOf, not); empty when it does not. A schema's ``x-message`` says what a
    value of the wrong type or form should have been, in place of the generic text."""
    def wrong(generic: str) -> list[str]:
        return [f"{where} {schema.get('x-message', generic)}"]

    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_TYPES[k](value) for k in names):
            return wrong("must be " + " or ".join(_A_TYPE[k] for k in names))
    if "enum" in schema and value not in schema["enum"]:
        return wrong(f"must be one of {', '.join(map(str, schema['enum']))}")
    if "not" in schema and not check_schema(schema["not"], value, where):
        return wrong("has a form that is not allowed")
    if "oneOf" in schema:
        fits = [s for s in schema["oneOf"] if not check_schema(s, value, where)]
        if len(fits) != 1:
            return [f"{where}: {schema.get('x-one-of', 'must match exactly one of its forms')}"]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return [f"{where} must be at least {schema['minLength']} character(s) long"]
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return [f"{where} is longer than {schema['maxLength']} characters"]
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            return wrong(f"must match {schema['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return [f"{where} must be at least {schema['minimum']}"]
        if "maximum" in schema and value > schema["maximum"]:
            return [f"{where} must be at most {schema['maximum']}"]
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{where}.{k} is required" for k in schema.get("required", ()) if k not in value]
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                out += check_schema(props[key], item, f"{where}.{key}")
            elif extra is False:
                out.append(f"{where}.{key} is not a known field")
            elif isinstance(extra, dict):
                out += check_schema(extra, item, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += check_schema(schema["items"], item, f"{where}[{i}]")
    return out


def _pattern(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA 262: "$" ends the text. Python's "$" also matches before a
    # final newline, which would let "x\n" through "^x$".
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


async def read_declared_json(request: web.Request,
                             max_bytes: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The body as a JSON object, checked against the ``request`` schema the route's handler
    declares with ``api_doc`` (400 naming the first problem); the handler checks the rest."""
    body = await read_json_object(request, max_bytes)
    declared = getattr(request.match_info.handler, "openapi", None) or {}
    schema = declared.get("request")
    if schema is not None:
        problems = check_schema(schema, body)
        if problems:
            raise json_error(web.HTTPBadRequest, problems[0])
    return body


def _openapi_path(path: str) -> tuple[str, list[tuple[str, str | None]]]:
    params: list[tuple[str, str | None]] = []

    def repl(match: re.Match[str]) -> str:
        params.append((match.group(1), match.group(2)))
        return "{" + match.group(1) + "}"

    return _PARAM.sub(repl, path), params


def _group_patterns(resource: web.AbstractResource | None) -> dict[str, str]:
    """Each path parameter's regex, as the router matches it (``{name:regex}``; aiohttp keeps
    only the compiled whole-path pattern, with one named group per parameter)."""
    compiled = resource.get_info().get("pattern") if resource is not None else None
    text = getattr(compiled, "pattern", "")
    out: dict[str, str] = {}
    for match in re.finditer(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            if text[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        regex = text[match.end():i - 1]
        if regex != "[^{}/]+":  # aiohttp's default: any one segment, no pattern to declare
            out[match.group(1)] = regex
    return out


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _response(status: int | str, schema: Any) -> dict[str, Any]:
    error = str(status)[0] in "45"
    if isinstance(schema, dict) and "description" in schema and (
            "content" in schema or set(schema) <= {"description"}):
        if error and "content" not in schema:
            return _error_response(schema["description"])
        return schema
    if error:  # an error answer with more fields than "error": keep them, require "error"
        merged = {**schema, "required": sorted({"error", *schema.get("required", ())})}
        merged["properties"] = {**ERROR_SCHEMA["properties"], **schema.get("properties", {})}
        schema = merged
    return {"description": schema.get("description", "") if isinstance(schema, dict) else "",
            "content": {"application/json": {"schema": schema}}}


def _doc_parts(handler: Any) -> tuple[str, str]:
    doc = inspect.getdoc(handler) or ""
    summary, _, rest = doc.partition("\n")
    return summary.strip(), rest.strip()


def _operation(method: str, path: str, handler: Any, roles: frozenset[str], csrf_header: str,
               patterns: dict[str, str] | None = None):
    oapi_path, params = _openapi_path(path)
    params = [(name, rx or (patterns or {}).get(name)) for name, rx in params]
    summary, description = _doc_parts(handler)
    extra: dict[str, Any] = getattr(handler, "openapi", None) or {}
    name = getattr(handler, "__name__", "handler")
    op: dict[str, Any] = {
        "operationId": f"{method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', oapi_path).strip('_')}",
        "summary": summary or name.replace("_", " "),
        "x-roles": sorted(roles),
        "responses": {},
    }
    if description:
        op["description"] = description
    if extra.get("tags"):
        op["tags"] = list(extra["tags"])
    parameters: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True,
         "schema": {"type": "string", **({"pattern": f"^{rx}$"} if rx else {})}}
        for p, rx in params
    ]
    for qname, schema in (extra.get("query") or {}).items():
        schema = dict(schema)
        required = bool(schema.pop("required", False))
        parameters.append({"name": qname, "in": "query", "required": required, "schema": schema})
    if PUBLIC in roles:
        op["security"] = []
    elif method not in SAFE_METHODS and getattr(handler, "csrf", None) != "origin":
        parameters.append(
            {"name": csrf_header, "in": "header", "required": True, "schema": {"type": "string"}}
        )
    if parameters:
        op["parameters"] = parameters
    if extra.get("request") is not None:
        op["requestBody"] = {
            "required": not extra.get("body_optional", False),
            "content": {"application/json": {"schema": extra["request"]}},
        }
    for status, schema in (extra.get("responses") or {}).items():
        op["responses"][str(status)] = _response(status, schema)
    if not any(code.startswith("2") for code in op["responses"]):
        op["responses"]["200"] = {"description": "OK"}
    defaults: list[tuple[str, str]] = []
    if "requestBody" in op:
        defaults += [("400", "the body is not a JSON object as declared"),
                     ("413", "the body is too large")]
    if params:
        defaults.append(("404", "nothing at this path"))
    if PUBLIC not in roles:
        defaults += [("401", "not logged in"), ("403", "role not allowed or CSRF/Origin refused")]
    elif method not in SAFE_METHODS:
        defaults.append(("403", "cross-origin request refused"))
    for code, text in defaults:
        op["responses"].setdefault(code, _error_response(text))
    return oapi_path, op


def build_openapi(
    app: web.Application,
    settings: WebSecuritySettings | None = None,
    *,
    title: str = "Contact center API",
    version: str = "0.1.0",
) -> dict[str, Any]:
    """The OpenAPI document for every (non-static) route of ``app`` and its sub-apps."""
    settings = settings or WebSecuritySettings()
    paths: dict[str, dict[str, Any]] = {}
    for owner, method, path, route in iter_routes(app):
        if method == "HEAD" or method == "*" or isinstance(route.resource, web.StaticResource):
            continue
        roles = route_roles(owner, route)
        if roles is None:
            roles = frozenset()  # undeclared: the middleware refuses it; document that too
        oapi_path, op = _operation(method, path, route.handler, roles, settings.csrf_header,
                                   _group_patterns(route.resource))
        if not roles:
            op["x-roles"] = []
            op["description"] = (
                op.get("description", "") + "\n\nUndeclared roles: refused."
            ).strip()
        paths.setdefault(oapi_path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": settings.cookie_name}
            },
        },
        "security": [{"session": []}],
    }


class OpenApiHandler:
    """Serves GET /api/openapi.json for the app that the request came to."""

    def __init__(self, settings: WebSecuritySettings) -> None:
        self.settings = settings

    def routes(self) -> list[web.RouteDef]:
        """The route definition of this handler."""
        return [web.get("/api/openapi.json", self.handle)]

    @requires(PUBLIC)
    async def handle(self, request: web.Request) -> web.Response:
        """The OpenAPI document of this server."""
        root = request.match_info.apps[0]
        return web.json_response(build_openapi(root, self.settings))
