"""Admin endpoints for people: list, create, view, change, disable users; read the audit log.

Every change is audited with the acting admin's name and the fields that changed (never a
password). A change to someone's role, agent link, password or enabled state ends all their
sessions at once (their websockets close too), so nobody keeps rights they lost; a new phone
(the dial string monitoring rings) grants no rights, so it leaves sessions alone. The last
enabled admin cannot be disabled or demoted, so the panel cannot lock everyone out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.web.roles import ADMIN, Actor, requires
from contactcenter.web.security import json_error, read_json_object
from contactcenter.web.sessions import SessionManager
from contactcenter.web.users import User, UserError, UserStore

MIN_PASSWORD, MAX_PASSWORD = 8, 1024
_PATCH_FIELDS = {"role", "agent_id", "disabled", "password", "phone"}
_NO_LOGOUT = {"phone"}  # changes that grant or take no rights


def check_new_password(password: Any) -> str:
    """The password if acceptable (8-1024 characters, no CR/LF/NUL), else UserError."""
    if not isinstance(password, str):
        raise UserError("password must be a string")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if any(c in password for c in "\r\n\x00"):
        raise UserError("password contains CR, LF or NUL")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError("password is not valid UTF-8 text") from None
    return password


def user_json(user: User | Actor) -> dict[str, Any]:
    """The public view of a user or actor (never the password hash)."""
    data: dict[str, Any] = {
        "id": user.user_id if isinstance(user, Actor) else user.id,
        "username": user.username,
        "role": user.role,
        "agent_id": user.agent_id,
    }
    if isinstance(user, User):
        data["phone"] = user.phone
        data["disabled"] = user.disabled
    return data


def _int_param(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise json_error(web.HTTPBadRequest, f"{name} must be an integer") from None
    if not 0 <= value <= maximum:
        raise json_error(web.HTTPBadRequest, f"{name} must be between 0 and {maximum}")
    return value


class UsersApi:
    """/api/users and /api/audit handlers (admins only)."""

    def __init__(
        self,
        store: UserStore,
        sessions: SessionManager,
        audit: Any,
        clock: Clock,
        hasher: Callable[[str], str],
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.audit = audit
        self.clock = clock
        self.hasher = hasher

    def routes(self) -> list[web.RouteDef]:
        """The route definitions of these handlers."""
        return [
            web.get("/api/users", self.list_users),
            web.post("/api/users", self.create_user),
            web.get(r"/api/users/{user_id:\d+}", self.get_user),
            web.patch(r"/api/users/{user_id:\d+}", self.update_user),
            web.get("/api/audit", self.list_audit),
        ]

    async def _user_or_404(self, request: web.Request) -> User:
        user = await self.store.get(int(request.match_info["user_id"]))
        if user is None:
            raise json_error(web.HTTPNotFound, "no such user")
        return user

    @requires(ADMIN)
    async def list_users(self, request: web.Request) -> web.Response:
        """Every user, by username."""
        return web.json_response({"users": [user_json(u) for u in await self.store.list_users()]})

    @requires(ADMIN)
    async def get_user(self, request: web.Request) -> web.Response:
        """One user by id."""
        return web.json_response(user_json(await self._user_or_404(request)))

    @requires(ADMIN)
    async def create_user(self, request: web.Request) -> web.Response:
        """Create a user from {username, role, password, agent_id?, phone?}."""
        actor: Actor = request["actor"]
        body = await read_json_object(request)
        try:
            password = check_new_password(body.get("password"))
            username, role, agent_id = body.get("username"), body.get("role"), body.get("agent_id")
            if not isinstance(username, str) or not isinstance(role, str):
                raise UserError("username and role are required strings")
            password_hash = await asyncio.to_thread(self.hasher, password)
            user = await self.store.create_user(
                username, password_hash, role, agent_id, self.clock.time(), phone=body.get("phone")
            )
        except UserError as exc:
            await self.audit.record(
                actor.username,
                "users.create",
                target=str(body.get("username")),
                outcome="refused",
                detail={"reason": str(exc)},
            )
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        await self.audit.record(
            actor.username,
            "users.create",
            target=user.username,
            detail={"role": user.role, "agent_id": user.agent_id, "phone": user.phone},
        )
        return web.json_response(user_json(user), status=201)

    @requires(ADMIN)
    async def update_user(self, request: web.Request) -> web.Response:
        """Change {role?, agent_id?, disabled?, password?, phone?}; their sessions end (not for phone)."""
        actor: Actor = request["actor"]
        user = await self._user_or_404(request)
        body = await read_json_object(request)
        unknown = set(body) - _PATCH_FIELDS
        if unknown:
            raise json_error(web.HTTPBadRequest, f"unknown field(s): {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {}
        try:
            if "role" in body:
                if not isinstance(body["role"], str):
                    raise UserError("role must be a string")
                changes["role"] = body["role"]
            if "agent_id" in body:
                changes["agent_id"] = body["agent_id"]
            if "phone" in body:
                changes["phone"] = body["phone"]
            if "disabled" in body:
                if not isinstance(body["disabled"], bool):
                    raise UserError("disabled must be true or false")
                changes["disabled"] = body["disabled"]
            if "password" in body:
                password = check_new_password(body["password"])
                changes["password_hash"] = await asyncio.to_thread(self.hasher, password)
            loses_admin = (
                user.role == ADMIN
                and not user.disabled
                and (changes.get("role", ADMIN) != ADMIN or changes.get("disabled") is True)
            )
            if loses_admin and await self.store.count_admins() <= 1:
                raise UserError("cannot disable or demote the last enabled admin")
            updated = await self.store.update_user(user.id, self.clock.time(), **changes)
        except UserError as exc:
            await self.audit.record(
                actor.username,
                "users.update",
                target=user.username,
                outcome="refused",
                detail={"reason": str(exc)},
            )
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        if set(changes) - _NO_LOGOUT:
            await self.sessions.end_user(user.id)
        shown = {k: v for k, v in changes.items() if k != "password_hash"}
        if "password_hash" in changes:
            shown["password"] = "changed"
        await self.audit.record(actor.username, "users.update", target=user.username, detail=shown)
        return web.json_response(user_json(updated))

    @requires(ADMIN)
    async def list_audit(self, request: web.Request) -> web.Response:
        """The audit log, newest first (?limit=100&offset=0&action=auth.)."""
        limit = _int_param(request, "limit", 100, 1000)
        offset = _int_param(request, "offset", 0, 10_000_000)
        prefix = request.query.get("action") or None
        entries = await self.audit.list(limit=limit, offset=offset, action_prefix=prefix)
        return web.json_response(
            {
                "entries": [
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "target": e.target,
                        "outcome": e.outcome,
                        "detail": e.detail,
                    }
                    for e in entries
                ]
            }
        )
