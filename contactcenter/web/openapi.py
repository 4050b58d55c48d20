"""The OpenAPI 3.1 document, generated from the route table and the handlers themselves.

Design note: nothing is written twice. Paths and methods come from the router (sub-apps
included), path parameters from ``{name}`` / ``{name:regex}`` segments, the summary and
description from the handler's docstring, the audience from its ``roles`` (as ``x-roles`` and
the cookie security scheme), and request/response schemas from the optional ``api_doc``
decorator. Static files and HEAD duplicates of GET are left out. The document is built on
request, so routes added by any part of the app after ``add_auth`` are included.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from contactcenter.web.roles import PUBLIC, iter_routes, requires, route_roles
from contactcenter.web.security import SAFE_METHODS, WebSecuritySettings

F = TypeVar("F", bound=Callable[..., Any])
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")


def api_doc(
    *,
    request: dict[str, Any] | None = None,
    responses: dict[int | str, Any] | None = None,
    tags: tuple[str, ...] = (),
    query: dict[str, dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Attach OpenAPI details to a handler: JSON request schema, responses, tags, query params."""

    def mark(handler: F) -> F:
        handler.openapi = {  # type: ignore[attr-defined]
            "request": request,
            "responses": responses or {},
            "tags": tags,
            "query": query or {},
        }
        return handler

    return mark


def _openapi_path(path: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def repl(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "{" + match.group(1) + "}"

    return _PARAM.sub(repl, path), names


def _doc_parts(handler: Any) -> tuple[str, str]:
    doc = inspect.getdoc(handler) or ""
    summary, _, rest = doc.partition("\n")
    return summary.strip(), rest.strip()


def _operation(method: str, path: str, handler: Any, roles: frozenset[str], csrf_header: str):
    oapi_path, params = _openapi_path(path)
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
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
    ]
    for qname, schema in (extra.get("query") or {}).items():
        parameters.append({"name": qname, "in": "query", "required": False, "schema": schema})
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
            "required": True,
            "content": {"application/json": {"schema": extra["request"]}},
        }
    for status, schema in (extra.get("responses") or {}).items():
        op["responses"][str(status)] = (
            schema
            if isinstance(schema, dict) and "description" in schema
            else {"description": "", "content": {"application/json": {"schema": schema}}}
        )
    if not op["responses"]:
        op["responses"]["200"] = {"description": "OK"}
    if PUBLIC not in roles:
        op["responses"].setdefault("401", {"description": "not logged in"})
        op["responses"].setdefault(
            "403", {"description": "role not allowed or CSRF/Origin refused"}
        )
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
        oapi_path, op = _operation(method, path, route.handler, roles, settings.csrf_header)
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
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": settings.cookie_name}
            }
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
