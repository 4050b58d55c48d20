"""Roles, the acting user, and the rule that every route declares who may call it.

Design note: a handler states its audience with ``@requires("supervisor", "admin")`` (or
``@requires("public")``), which sets ``handler.roles``. The auth middleware reads that attribute
from the matched route and refuses any route without it (fail closed). ``check_route_roles``
walks an application's route table, sub-applications included, so a test can prove that 100% of
routes declare roles. Static files cannot carry attributes, so they are declared public through
``add_public_static`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

AGENT = "agent"
SUPERVISOR = "supervisor"
ADMIN = "admin"
PUBLIC = "public"

USER_ROLES: frozenset[str] = frozenset({AGENT, SUPERVISOR, ADMIN})
ALL_ROLES: frozenset[str] = USER_ROLES | {PUBLIC}
# Convenience sets for handlers written elsewhere.
ANY_USER: tuple[str, ...] = (AGENT, SUPERVISOR, ADMIN)
STAFF: tuple[str, ...] = (SUPERVISOR, ADMIN)

PUBLIC_STATIC_KEY = web.AppKey("cc_public_static", set)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user behind a request (``request["actor"]``)."""

    user_id: int
    username: str
    role: str
    agent_id: str | None = None

    def has_role(self, *roles: str) -> bool:
        """True when this actor's role is one of ``roles``."""
        return self.role in roles


def requires(*roles: str) -> Callable[[F], F]:
    """Decorator declaring which roles may call a handler; ``"public"`` means no login needed."""
    if not roles:
        raise ValueError("requires() needs at least one role")
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")
    if PUBLIC in roles and len(roles) > 1:
        raise ValueError("'public' cannot be combined with other roles")
    declared = frozenset(roles)

    def mark(handler: F) -> F:
        handler.roles = declared  # type: ignore[attr-defined]
        return handler

    return mark


def handler_roles(handler: Any) -> frozenset[str] | None:
    """The roles a handler declares, or None when it declares none (or something invalid)."""
    roles = getattr(handler, "roles", None)
    if not isinstance(roles, frozenset) or not roles or not roles <= ALL_ROLES:
        return None
    return roles


def add_public_static(app: web.Application, prefix: str, path: str | Path) -> web.AbstractResource:
    """Serve a directory of static assets that anyone may fetch (marked public)."""
    resource = app.router.add_static(prefix, path, follow_symlinks=False)
    app.setdefault(PUBLIC_STATIC_KEY, set()).add(id(resource))
    return resource


def route_roles(app: web.Application, route: web.AbstractRoute) -> frozenset[str] | None:
    """Roles declared for one route of ``app`` (static resources via ``add_public_static``)."""
    resource = route.resource
    if isinstance(resource, web.StaticResource):
        if id(resource) in app.get(PUBLIC_STATIC_KEY, set()):
            return frozenset({PUBLIC})
        return None
    return handler_roles(route.handler)


def iter_routes(
    app: web.Application,
) -> Iterator[tuple[web.Application, str, str, web.AbstractRoute]]:
    """Every (owning app, method, path, route) in ``app`` and its sub-applications."""
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            # A sub-app's resources already carry the prefix in their canonical path.
            yield from iter_routes(resource._app)
            continue
        for route in resource:
            yield app, route.method, resource.canonical, route


def check_route_roles(app: web.Application) -> list[str]:
    """Problems found walking the route table: each route that declares no (valid) roles."""
    problems = []
    for owner, method, path, route in iter_routes(app):
        if route_roles(owner, route) is None:
            name = getattr(route.handler, "__qualname__", repr(route.handler))
            problems.append(f"{method} {path} ({name}) declares no roles")
    return problems


def roles_for_request(request: web.Request) -> frozenset[str] | None:
    """Roles of the route matched by ``request``; None means undeclared (refuse)."""
    match_info = request.match_info
    route = match_info.route
    resource = route.resource
    if isinstance(resource, web.StaticResource):
        for app in reversed(match_info.apps):
            if id(resource) in app.get(PUBLIC_STATIC_KEY, set()):
                return frozenset({PUBLIC})
        return None
    return handler_roles(match_info.handler)
