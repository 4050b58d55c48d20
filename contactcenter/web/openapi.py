"""The OpenAPI 3.1 document, generated from the route table and the handlers themselves.

Design note: nothing is written twice. Paths and methods come from the router (sub-apps
included), path parameters and their patterns from ``{name}`` / ``{name:regex}`` segments (the
regex the router matches with), the summary and description from the handler's docstring, the
audience from its ``roles`` (as ``x-roles`` and the cookie security scheme), and request/response
schemas from the optional ``api_doc`` decorator. A handler reads its body with
``read_declared_json``, which checks it against that same ``request`` schema before the
handler's own checks run, and the query middleware checks the declared ``query`` parameters
before any handler runs, so the document cannot promise less than the server enforces. Every
error is ``{"error": message}`` (the ``Error`` component): declared for each status a handler
lists, and for those the gate, the query check and the body reader answer on their own (400 with
declared query parameters, 400/413 with a body, 404 with path parameters, 401/403 without
``public``); outside ``/api/`` those answers are plain text or a page. Static files and HEAD
duplicates of GET are left out. The document is built on request, so routes added by any part
of the app after ``add_auth`` are included.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import re
import sys
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
    # JSON Schema counts 3.0 as an integer; read_declared_json hands the handler int(3.0)
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)
                          or isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


# A schema ``{"x-enum-from": name}`` takes its ``enum`` from the server's settings: the values
# the composition root gives ``declare_enum`` (kb.locales), filled in for the document and for
# the checks alike, so a server documents and enforces its own configuration.
ENUM_FROM = "x-enum-from"
DECLARED_ENUMS: web.AppKey[dict[str, list[str]]] = web.AppKey("openapi_declared_enums")


def declare_enum(app: web.Application, name: str, values: tuple[str, ...]) -> None:
    """Give the declarations' ``{"x-enum-from": name}`` its values on ``app`` (the root app)."""
    known: dict[str, list[str]] = app.get(DECLARED_ENUMS) or {}
    app[DECLARED_ENUMS] = {**known, name: list(values)}


def with_enums(schema: Any, enums: dict[str, list[str]]) -> Any:
    """``schema`` with each ``x-enum-from`` that ``enums`` knows made an ``enum``."""
    if isinstance(schema, list):
        return [with_enums(s, enums) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: with_enums(v, enums) for k, v in schema.items()}
    if schema.get(ENUM_FROM) in enums:
        out["enum"] = enums[schema[ENUM_FROM]]
    return out


def api_doc(
    *,
    request: dict[str, Any] | None = None,
    responses: dict[int | str, Any] | None = None,
    tags: tuple[str, ...] = (),
    query: dict[str, dict[str, Any]] | None = None,
    body_optional: bool = False,
    body_type: str = "application/json",
    websocket: bool = False,
) -> Callable[[F], F]:
    """Attach OpenAPI details to a handler: request schema (``body_optional``: the request
    may have no body at all; ``body_type``: its media type, JSON unless a form posts it),
    responses, tags, query params (``"required": True`` in a parameter's schema makes it
    required); ``websocket``: the handler upgrades to a websocket (101) or answers 400."""

    def mark(handler: F) -> F:
        handler.openapi = {  # type: ignore[attr-defined]
            "request": request,
            "responses": responses or {},
            "tags": tags,
            "query": query or {},
            "body_optional": body_optional,
            "body_type": body_type,
            "websocket": websocket,
        }
        return handler

    return mark


def check_schema(schema: dict[str, Any], value: Any, where: str = "body") -> list[str]:
    """Where ``value`` breaks ``schema`` (the JSON Schema subset ``api_doc`` declarations use:
    type, enum, const, required, properties, additionalProperties, propertyNames, items,
    min/maxItems, uniqueItems, min/maxLength, pattern, format date and date-time,
    minimum/maximum and their exclusive forms, oneOf, anyOf, allOf, not, if/then/else);
    empty when it does not. A schema's ``x-message`` says what a value of the wrong type or
    form should have been, in place of the generic text; ``x-one-of`` and ``x-any-of`` say
    which forms a value may take."""
    def wrong(generic: str) -> list[str]:
        return [f"{where} {schema.get('x-message', generic)}"]

    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_TYPES[k](value) for k in names):
            return wrong("must be " + " or ".join(_A_TYPE[k] for k in names))
    if "enum" in schema and not any(_same(value, v) for v in schema["enum"]):
        return wrong(f"must be one of {', '.join(map(str, schema['enum']))}")
    if "const" in schema and not _same(value, schema["const"]):
        return wrong(f"must be {json.dumps(schema['const'])}")
    if "not" in schema and not check_schema(schema["not"], value, where):
        return wrong("has a form that is not allowed")
    if "oneOf" in schema:
        fits = [s for s in schema["oneOf"] if not check_schema(s, value, where)]
        if len(fits) != 1:
            return [f"{where}: {schema.get('x-one-of', 'must match exactly one of its forms')}"]
    if "anyOf" in schema and all(check_schema(s, value, where) for s in schema["anyOf"]):
        return [f"{where}: {schema.get('x-any-of', 'must match one of its forms')}"]
    for part in schema.get("allOf", ()):
        if problems := check_schema(part, value, where):
            return problems
    if "if" in schema:
        branch = schema.get("else" if check_schema(schema["if"], value, where) else "then")
        if branch is not None and (problems := check_schema(branch, value, where)):
            return problems
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return [f"{where} must be at least {schema['minLength']} character(s) long"]
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return [f"{where} is longer than {schema['maxLength']} characters"]
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            return wrong(f"must match {schema['pattern']}")
        if not _FORMATS.get(schema.get("format", ""), _any)(value):
            return wrong(f"must be a {schema['format']} (RFC 3339)")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return [f"{where} must be at least {schema['minimum']}"]
        if "maximum" in schema and value > schema["maximum"]:
            return [f"{where} must be at most {schema['maximum']}"]
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return [f"{where} must be more than {schema['exclusiveMinimum']}"]
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            return [f"{where} must be less than {schema['exclusiveMaximum']}"]
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return [f"{where} must have at least {schema['minItems']} item(s)"]
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return [f"{where} must have at most {schema['maxItems']} item(s)"]
        if schema.get("uniqueItems") and any(
                _same(a, b) for i, a in enumerate(value) for b in value[i + 1:]):
            return [f"{where} must not hold the same item twice"]
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{where}.{k} is required" for k in schema.get("required", ()) if k not in value]
        extra = schema.get("additionalProperties", True)
        key_schema: dict[str, Any] | None = schema.get("propertyNames")
        for key, item in value.items():
            bad_name = (check_schema(key_schema, key, f"{where}.{key} (its name)")
                        if key_schema else [])
            if bad_name:
                out += bad_name
                continue
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


def _same(a: Any, b: Any) -> bool:
    """JSON Schema's equality (``enum``, ``const``, ``uniqueItems``): 1 and 1.0 are the same
    number, true is not 1, and objects and lists compare by their members."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) in (int, float) and type(b) in (int, float) and a == b or (
        type(a) is type(b) and a == b)


def _any(_value: str) -> bool:
    return True


def _is_date(value: str) -> bool:
    try:
        return bool(re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)) and bool(
            dt.date.fromisoformat(value))
    except ValueError:
        return False


_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                      r"([Zz]|[+-][0-9]{2}:[0-9]{2})")


def _is_date_time(value: str) -> bool:
    try:
        return bool(_RFC3339.fullmatch(value)) and bool(dt.datetime.fromisoformat(value.upper()))
    except ValueError:
        return False


# The formats a declaration may use and the server then enforces (others are annotations)
_FORMATS: dict[str, Callable[[str], bool]] = {"date": _is_date, "date-time": _is_date_time}


_CLASS_ESCAPES = frozenset("\\[]^-")  # what a regex class must escape (Rust reads "[" too)


@functools.cache
def char_class(keep: Callable[[str], bool]) -> str:
    """The code points ``keep`` holds, as the body of a regex class: ranges of the characters
    themselves (``\\u{...}`` is not Python's regex syntax, ``\\U`` not ECMA's; JSON escapes
    them), so Python (our checks), Rust (schemathesis' validator) and ECMA read one set. This
    Python's Unicode tables: the document and the check share the interpreter."""
    def lit(i: int) -> str:
        return ("\\" if chr(i) in _CLASS_ESCAPES else "") + chr(i)

    held = bytes(map(keep, map(chr, range(sys.maxunicode + 1))))  # 1 where kept
    return "".join(lit(a) if a == b - 1 else f"{lit(a)}-{lit(b - 1)}"
                   for a, b in (m.span() for m in re.finditer(b"\x01+", held)))


def _unprintable(char: str) -> bool:
    return not char.isprintable()


# What str.isspace (and so str.strip) takes, as a class body: written out, since a scan of every
# code point at each import costs more than a test that compares it with one
# (tests/contract/test_declared_rules.py); Python's tables have kept it since 3.3.
SPACE_CLASS = "\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000"


@functools.cache
def printable(min_length: int, max_length: int) -> dict[str, Any]:
    """A string schema that accepts exactly what ``str.isprintable`` accepts, of the lengths
    given: the rule the routing engine keeps for reasons, said in the declaration."""
    return {"type": "string", "minLength": min_length, "maxLength": max_length,
            "pattern": f"^[^{char_class(_unprintable)}]*$",
            "x-message": f"must be a string of {min_length} to {max_length} printable "
                          "characters"}


@functools.cache
def not_blank(max_length: int) -> dict[str, Any]:
    """A string schema of at most ``max_length`` characters, no NUL (PostgreSQL stores none),
    with something left after ``str.strip()``: the rule of names and titles."""
    return {"type": "string", "minLength": 1, "maxLength": max_length,
            "pattern": f"^[^\\x00]*[^{SPACE_CLASS}\\x00][^\\x00]*$",
            "x-message": f"must be 1 to {max_length} characters, not all blank, and no NUL"}


def _pattern(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA 262: "$" ends the text. Python's "$" also matches before a
    # final newline, which would let "x\n" through "^x$".
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _as_declared(schema: dict[str, Any], value: Any) -> Any:
    """``value`` (already checked against ``schema``) with integral floats where ``schema``
    asks for an integer made ints, so handlers never see 3.0 for a count or a version."""
    kinds = schema.get("type")
    names = [kinds] if isinstance(kinds, str) else list(kinds or ())
    if isinstance(value, float) and "integer" in names and "number" not in names:
        return int(value)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: _as_declared(props.get(k, extra if isinstance(extra, dict) else {}), v)
                for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_as_declared(schema["items"], v) for v in value]
    for form in schema.get("oneOf", ()):
        if not check_schema(form, value):
            return _as_declared(form, value)
    return value


async def read_declared_json(request: web.Request,
                             max_bytes: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The body as a JSON object, checked against the ``request`` schema the route's handler
    declares with ``api_doc`` (400 naming the first problem as ``error``, and every one as
    ``problems``, as the forms list them); the handler checks the rest."""
    body = await read_json_object(request, max_bytes)
    declared = getattr(request.match_info.handler, "openapi", None) or {}
    schema = declared.get("request")
    if schema is not None:
        schema = with_enums(schema, request.config_dict.get(DECLARED_ENUMS, {}))
        problems = check_schema(schema, body)
        if problems:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": problems[0], "problems": problems}),
                content_type="application/json")
        body = _as_declared(schema, body)
    return body


def _query_value(schema: dict[str, Any], raw: str) -> Any:
    """A query string value as the JSON value its schema's type reads it as (else the text)."""
    kinds = schema.get("type")
    names = [kinds] if isinstance(kinds, str) else list(kinds or ())
    if ("integer" in names or "number" in names) and re.fullmatch(r"-?[0-9]{1,30}", raw):
        return int(raw)
    if "number" in names and re.fullmatch(r"-?[0-9]{1,30}\.[0-9]{1,30}", raw):
        return float(raw)
    if "boolean" in names and raw in ("true", "false"):
        return raw == "true"
    return raw


# Query text is one line: ``query_text`` refuses CR, LF and NUL (PostgreSQL refuses NUL in text)
ONE_LINE = r"^[^\r\n\x00]*$"


def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A declared query parameter's schema as documented and checked: ``required`` is the
    parameter's, and free text (a string with no enum, pattern or format) is one line."""
    out = {k: v for k, v in schema.items() if k != "required"}
    if out.get("type") == "string" and not {"enum", "pattern", "format"} & set(out):
        out["pattern"] = ONE_LINE
        out.setdefault("x-message", "must be one line (no CR, LF or NUL)")
    return out


def check_query(declared: dict[str, dict[str, Any]], query: Any) -> list[str]:
    """Where the query string (a multidict) breaks the ``query`` parameters a handler
    declares; empty when it does not. Undeclared parameters are left to the handler."""
    problems: list[str] = []
    for name, schema in declared.items():
        schema = _query_schema(schema)
        values = query.getall(name, [])
        if not values and declared[name].get("required"):
            problems.append(f"{name} is required")
        for value in values:  # a repeated parameter (queue=a&queue=b): each one as declared
            problems += check_schema(schema, _query_value(schema, value), name)
    return problems


@web.middleware
async def declared_query_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse (400) a query string that breaks what the handler declares in ``api_doc``."""
    declared = getattr(request.match_info.handler, "openapi", None) or {}
    if declared.get("query"):
        problems = check_query(with_enums(declared["query"], request.config_dict.get(
            DECLARED_ENUMS, {})), request.query)
        if problems:
            raise json_error(web.HTTPBadRequest, problems[0])
    return await handler(request)


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


def _error_response(description: str, api: bool = True) -> dict[str, Any]:
    if not api:  # pages answer their errors as text or as a page, not as JSON
        text = {"schema": {"type": "string"}}
        return {"description": description,
                "content": {"text/plain": text, "text/html": text}}
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _response(status: int | str, schema: Any, api: bool = True) -> dict[str, Any]:
    error = str(status)[0] in "45"
    if isinstance(schema, dict) and "description" in schema and (
            "content" in schema or set(schema) <= {"description"}):
        if error and "content" not in schema:
            return _error_response(schema["description"], api)
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
        parameters.append({"name": qname, "in": "query", "required": bool(schema.get("required")),
                           "schema": _query_schema(schema)})
    if PUBLIC in roles:
        op["security"] = []
    elif method not in SAFE_METHODS and getattr(handler, "csrf", None) != "origin":
        parameters.append(
            {"name": csrf_header, "in": "header", "required": True, "schema": {"type": "string"}}
        )
    if parameters:
        op["parameters"] = parameters
    if extra.get("request") is not None:
        media = extra.get("body_type", "application/json")
        op["requestBody"] = {
            "required": not extra.get("body_optional", False),
            "content": {media: {"schema": extra["request"]}},
        }
    api = oapi_path.startswith("/api/")
    for status, schema in (extra.get("responses") or {}).items():
        op["responses"][str(status)] = _response(status, schema, api)
    if extra.get("websocket"):
        # an HTTP client that does not upgrade gets the 400; schemathesis cannot upgrade
        op["x-websocket"] = True
        op["responses"].setdefault("101", {"description": "switched to the websocket"})
    elif not any(code.startswith("2") for code in op["responses"]):
        op["responses"]["200"] = {"description": "OK"}
    defaults: list[tuple[str, str]] = []
    if extra.get("websocket"):
        defaults.append(("400", "websocket upgrade expected"))
    if extra.get("query"):
        defaults.append(("400", "a query parameter is not as declared"))
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
        op["responses"].setdefault(code, _error_response(text, api))
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
        "paths": with_enums(dict(sorted(paths.items())), app.get(DECLARED_ENUMS, {})),
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
