"""Admin endpoints for people: list, create, view, change, disable users; read the audit log.

Every change is audited with the acting admin's name and the fields that changed (never a
password). A change to someone's role, agent link, password or enabled state ends all their
sessions at once (their websockets close too), so nobody keeps rights they lost; a new phone
(the dial string monitoring rings) grants no rights, so it leaves sessions alone. The last
enabled admin cannot be disabled or demoted, so the panel cannot lock everyone out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from contactcenter.domain.agent import DIAL_STRING_RX
from contactcenter.domain.clock import Clock
from contactcenter.web.openapi import api_doc, check_schema
from contactcenter.web.roles import ADMIN, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text, read_json_object
from contactcenter.web.sessions import SessionManager
from contactcenter.web.users import ROLES, User, UserError, UserExists, UserStore

MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MAX_USER_ID = 2**31 - 1  # the column's range on every database we run on
# Up to ten digits: more cannot be an id, and the router answers 404 before int() is called.
USER_PATH = r"/api/users/{user_id:[0-9]{1,10}}"

_NAME = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
_PASSWORD: dict[str, Any] = {"type": "string", "minLength": MIN_PASSWORD,
                             "maxLength": MAX_PASSWORD, "pattern": "^[^\\r\\n\\x00]*$"}
_FIELDS: dict[str, Any] = {
    "role": {"enum": list(ROLES)},
    "agent_id": {"type": ["string", "null"], "pattern": _NAME},
    "phone": {"type": ["string", "null"], "maxLength": 200,
              "pattern": f"^({DIAL_STRING_RX})?$",
              "description": "one device's dial string; \"\" or null removes it"},
    "disabled": {"type": "boolean"},
    "password": _PASSWORD,
}
_CREATE_BODY: dict[str, Any] = {
    "type": "object", "required": ["username", "role", "password"],
    "properties": {"username": {"type": "string", "pattern": _NAME},
                   **{k: v for k, v in _FIELDS.items() if k != "disabled"}}}
_PATCH_BODY: dict[str, Any] = {"type": "object", "properties": _FIELDS,
                               "additionalProperties": False}
_USER: dict[str, Any] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "username": {"type": "string"}, "role": {"enum": list(ROLES)},
    "agent_id": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
    "disabled": {"type": "boolean"}}}
_REFUSED = {"description": "the change is refused (invalid, taken, the last admin)"}
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


class UsersApi:
    """/api/users and /api/audit handlers (admins only)."""

    def __init__(
        self,
        store: UserStore,
        sessions: SessionManager,
        audit: Any,
        clock: Clock,
        hasher: Callable[[str], str],
        release_agent: Callable[[str, str], Awaitable[str]] | None = None,
    ) -> None:
        self.store = store
        # The routing port (wired in app.py): the agent a user can no longer work as leaves its
        # queues; it answers what happened, for the audit log.
        self.release_agent = release_agent
        self.sessions = sessions
        self.audit = audit
        self.clock = clock
        self.hasher = hasher

    def routes(self) -> list[web.RouteDef]:
        """The route definitions of these handlers."""
        return [
            web.get("/api/users", self.list_users),
            web.post("/api/users", self.create_user),
            web.get(USER_PATH, self.get_user),
            web.patch(USER_PATH, self.update_user),
            web.get("/api/audit", self.list_audit),
        ]

    async def _user_or_404(self, request: web.Request) -> User:
        user_id = int(request.match_info["user_id"])
        if not 1 <= user_id <= MAX_USER_ID:
            raise json_error(web.HTTPNotFound, "no such user")
        user = await self.store.get(user_id)
        if user is None:
            raise json_error(web.HTTPNotFound, "no such user")
        return user

    @requires(ADMIN)
    @api_doc(responses={200: {"type": "object", "properties": {
        "users": {"type": "array", "items": _USER}}}}, tags=("users",))
    async def list_users(self, request: web.Request) -> web.Response:
        """Every user, by username."""
        return web.json_response({"users": [user_json(u) for u in await self.store.list_users()]})

    @requires(ADMIN)
    @api_doc(responses={200: _USER}, tags=("users",))
    async def get_user(self, request: web.Request) -> web.Response:
        """One user by id."""
        return web.json_response(user_json(await self._user_or_404(request)))

    @requires(ADMIN)
    @api_doc(request=_CREATE_BODY, tags=("users",), responses={
        201: _USER, 400: _REFUSED, 409: {"description": "the username is taken"}})
    async def create_user(self, request: web.Request) -> web.Response:
        """Create a user from {username, role, password, agent_id?, phone?}."""
        actor: Actor = request["actor"]
        body = await read_json_object(request)
        try:
            problems = check_schema(_CREATE_BODY, body)
            if problems:  # the declared shape, refused and audited like the rest
                raise UserError(problems[0])
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
            taken = isinstance(exc, UserExists)
            raise json_error(web.HTTPConflict if taken else web.HTTPBadRequest, str(exc)) from None
        await self.audit.record(
            actor.username,
            "users.create",
            target=user.username,
            detail={"role": user.role, "agent_id": user.agent_id, "phone": user.phone},
        )
        return web.json_response(user_json(user), status=201)

    @requires(ADMIN)
    @api_doc(request=_PATCH_BODY, responses={200: _USER, 400: _REFUSED}, tags=("users",))
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
            problems = check_schema(_PATCH_BODY, body)
            if problems:
                raise UserError(problems[0])
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
        released = _released_agent(user, updated)
        if released is not None and self.release_agent is not None:
            try:
                outcome = await self.release_agent(released, "user disabled")
            except LookupError as exc:  # an agent id no routing configuration knows (any more)
                outcome = f"not released: {exc}"
            shown["agent_released"] = f"{released}: {outcome}"
        await self.audit.record(actor.username, "users.update", target=user.username, detail=shown)
        return web.json_response(user_json(updated))

    @requires(ADMIN)
    @api_doc(query={"limit": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100},
                    "offset": {"type": "integer", "minimum": 0, "maximum": 10_000_000,
                               "default": 0},
                    "action": {"type": "string", "maxLength": 64,
                               "description": "keep entries whose action starts with this"}},
             responses={200: {"type": "object"}, 400: {"description": "bad parameter"}},
             tags=("users",))
    async def list_audit(self, request: web.Request) -> web.Response:
        """The audit log, newest first (?limit=100&offset=0&action=auth.)."""
        limit = query_int(request, "limit", 100, 1000)
        offset = query_int(request, "offset", 0, 10_000_000)
        prefix = query_text(request, "action") or None
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


def _released_agent(before: User, after: User) -> str | None:
    """The agent ``before`` worked as that ``after`` may no longer work as: the user was
    disabled, or linked to another agent (or none)."""
    if before.agent_id is None or before.disabled:
        return None
    if after.disabled or after.agent_id != before.agent_id:
        return before.agent_id
    return None
