"""The agent's call controls: hang up, transfer (to a queue or a number), hold and resume.

Design note: an agent controls only their own connected call (403 for anybody else's, 409 when
theirs is not connected now); the interaction id defaults to their connected one. The caller's
channel belongs to the caller's FastAGI session, so each control acts on the *agent's* leg
through the voice glue's ``Conversation`` (``voice/connected_call.py``): hold redirects that leg
to the hold context, resume asks the caller's AGI to bridge it back, transfers record the move
in routing and hang that leg up. Hang-up is an AMI ``Hangup`` of the agent's leg. Every control
is audited (``call.hangup``, ``call.transfer``, ``call.hold``, ``call.resume``) with its outcome.
A callback's ``Conversation`` (``callback_call.py``) moves the customer's leg instead; it refuses a
transfer to a queue (409). A transfer to a number stops the call's recording (``stopped`` by the
agent) before anything moves: what the caller says to the outside party is not ours to record.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from contactcenter.domain.interaction import check_interaction_id
from contactcenter.routing.engine import check_outside_number
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.ami import actions
from contactcenter.voice.connected_call import ControlError, Conversation
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ANY_USER, Actor, requires
from contactcenter.web.security import json_error

_UNSAFE = ("\r", "\n", "\x00")
_IID = {"interaction_id": {
    "type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
    "x-message": "must be an interaction id: 1-64 letters, digits or _ . : - "
                 "(no CR, LF or NUL); omit it for my connected call",
    "description": "omit (never null): my connected call"}}
_CALL: dict[str, Any] = {"type": "object", "properties": _IID}
_TRANSFER: dict[str, Any] = {
    "type": "object",
    "properties": {**_IID, "queue": {"type": "string", "maxLength": 64,
                                     "description": "a configured queue"},
                   "number": {"type": "string", "pattern": r"^\+?[0-9]{1,20}$"}},
    "oneOf": [{"required": ["queue"], "not": {"required": ["number"]}},
              {"required": ["number"], "not": {"required": ["queue"]}}],
    "x-one-of": "give exactly one of queue and number",
    "description": "exactly one of queue, number"}
_OK: dict[int | str, Any] = {
    200: {"description": "done"}, 400: {"description": "bad value"},
    403: {"description": "not your call"}, 409: {"description": "no connected call / not now"},
    502: {"description": "the PBX refused or is unreachable"}}


class CallServices(Protocol):
    """What the call controls need from the composition root."""

    routing: RoutingService
    voice: Any  # VoiceQueue: conversation(iid) -> Conversation | None
    callbacks: Any  # CallbackCalls: conversation(iid) -> Conversation | None
    recording: Any  # RecordingService: stop_for_transfer(iid, actor)
    monitor: Any  # MonitorService: live_calls()
    pool: Any  # AmiPool: pool[pbx].send_action(headers)
    audit: Any  # AuditLog


def own_agent(request: web.Request) -> str:
    """The agent id of the logged-in user (409 when the user is not linked to an agent)."""
    actor: Actor = request["actor"]
    if not actor.agent_id:
        raise json_error(web.HTTPConflict, "your user is not linked to an agent")
    return actor.agent_id


class CallControls:
    """Handlers for ``/api/panel/{hangup,transfer,hold,resume}``."""

    def __init__(self, services: CallServices) -> None:
        self.s = services

    def routes(self) -> list[web.RouteDef]:
        """The call-control routes."""
        return [
            web.post("/api/panel/hangup", self.hangup),
            web.post("/api/panel/transfer", self.transfer),
            web.post("/api/panel/hold", self.hold),
            web.post("/api/panel/resume", self.resume),
        ]

    # --- which call ----------------------------------------------------------------------

    def _my_interaction(self, agent_id: str, body: dict[str, Any]) -> str:
        """The named interaction if it is mine and connected; with none named, my connected one.

        Only a missing key means "none named": a null once hung up the agent's live call when
        the caller meant some other one, so it is refused like any other wrong type.
        """
        work = self.s.routing.agent(agent_id).work
        if "interaction_id" not in body:
            busy = [w["interaction_id"] for w in work if w["state"] == "busy"]
            if not busy:
                raise json_error(web.HTTPConflict, "you have no connected call")
            return str(busy[0])
        iid = body["interaction_id"]
        if not isinstance(iid, str):
            raise json_error(web.HTTPBadRequest, "interaction_id must be a string")
        try:
            check_interaction_id(iid)
        except ValueError:
            raise json_error(web.HTTPBadRequest, "interaction_id must be 1-64 letters, digits "
                                                 "or _ . : - (no CR, LF or NUL)") from None
        mine = [w for w in work if w["interaction_id"] == iid]
        if not mine:
            raise json_error(web.HTTPForbidden, "not your call")
        if mine[0]["state"] != "busy":
            raise json_error(web.HTTPConflict, f"that call is {mine[0]['state']}, not connected")
        return iid

    def _conversation(self, agent_id: str, iid: str) -> Conversation | None:
        conv = None
        for calls in (getattr(self.s, "voice", None), getattr(self.s, "callbacks", None)):
            conv = calls.conversation(iid) if calls is not None else None
            if conv is not None:
                break
        return conv if conv is not None and conv.agent_id == agent_id else None

    async def _audit(self, request: web.Request, action: str, iid: str, outcome: str,
                     detail: dict[str, Any]) -> None:
        await self.s.audit.record(request["actor"].username, action, iid, outcome, detail)

    async def _control(self, request: web.Request, action: str, iid: str,
                       detail: dict[str, Any], run: Any) -> web.Response:
        """Run one control; audit it with its outcome; map refusals to 409/502."""
        try:
            await run()
        except ControlError as exc:
            await self._audit(request, action, iid, "refused" if exc.status == 409 else "failed",
                              {**detail, "error": str(exc)[:200]})
            status = web.HTTPConflict if exc.status == 409 else web.HTTPBadGateway
            raise json_error(status, str(exc)) from None
        except RoutingError as exc:
            await self._audit(request, action, iid, "refused", {**detail, "error": str(exc)[:200]})
            raise json_error(web.HTTPConflict, str(exc)) from None
        await self._audit(request, action, iid, "ok", detail)
        return web.json_response({"interaction_id": iid, **detail})

    # --- handlers ------------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(request=_CALL, responses=_OK, tags=("calls",))
    async def hangup(self, request: web.Request) -> web.Response:
        """Hang up my connected call (AMI Hangup of my leg; the caller's side follows)."""
        agent_id = own_agent(request)
        iid = self._my_interaction(agent_id, await read_declared_json(request))
        conv = self._conversation(agent_id, iid)
        if conv is not None and conv.agent_channel:
            channel, pbx = conv.agent_channel, conv.pbx
        else:
            live = [c for c in self.s.monitor.live_calls() if c.interaction_id == iid]
            if not live:
                raise json_error(web.HTTPConflict, "you have no connected call")
            channel, pbx = live[0].agent_channel, live[0].pbx
        if any(c in channel for c in _UNSAFE):
            raise json_error(web.HTTPBadGateway, "the agent channel name is not usable")

        async def run() -> None:
            try:
                await self.s.pool[pbx].send_action(actions.Hangup(channel))
            except Exception as exc:  # noqa: BLE001 - any link failure or refusal: 502
                raise ControlError(f"hangup failed: {exc}", 502) from None

        return await self._control(request, "call.hangup", iid, {"channel": channel}, run)

    @requires(*ANY_USER)
    @api_doc(request=_TRANSFER, tags=("calls",), responses={
        **_OK, 422: {"description": "no such queue (of the declared form)"}})
    async def transfer(self, request: web.Request) -> web.Response:
        """Transfer my connected call blind: {queue} back in line there, or {number} outside."""
        agent_id = own_agent(request)
        body = await read_declared_json(request)
        queue, number = body.get("queue"), body.get("number")
        if (queue is None) == (number is None):
            raise json_error(web.HTTPBadRequest, "give exactly one of queue and number")
        if queue is not None and (not isinstance(queue, str)
                                  or queue not in self.s.routing.config.queues):
            raise json_error(web.HTTPUnprocessableEntity, "queue must name a configured queue")
        if number is not None:
            try:
                check_outside_number(number)
            except ValueError as exc:
                raise json_error(web.HTTPBadRequest, str(exc)) from None
        iid = self._my_interaction(agent_id, body)
        conv = self._conversation(agent_id, iid)
        detail = {"queue": queue} if queue is not None else {"number": number}
        if conv is None:
            rec = self.s.routing.engine.live.get(iid)
            if number is not None or rec is None or rec.channel == "voice":
                raise json_error(web.HTTPConflict, "this call cannot be controlled now")
            # Chat or ticket: nothing to move on a PBX, routing alone carries it.
            assert queue is not None  # exactly one of queue and number, and not number
            return await self._control(request, "call.transfer", iid, detail,
                                       lambda: self.s.routing.transfer(iid, queue))
        actor = request["actor"]

        async def stop_recording() -> object:
            recording = getattr(self.s, "recording", None)
            return None if recording is None else await recording.stop_for_transfer(iid, actor)

        if queue is not None:
            return await self._control(request, "call.transfer", iid, detail,
                                       lambda: conv.to_queue(queue))
        assert number is not None  # exactly one of queue and number
        return await self._control(request, "call.transfer", iid, detail,
                                   lambda: conv.to_number(number, stop_recording))

    @requires(*ANY_USER)
    @api_doc(request=_CALL, responses=_OK, tags=("calls",))
    async def hold(self, request: web.Request) -> web.Response:
        """Put my connected call on hold (the caller hears music; my leg waits)."""
        agent_id = own_agent(request)
        iid = self._my_interaction(agent_id, await read_declared_json(request))
        conv = self._voice_call(agent_id, iid)
        return await self._control(request, "call.hold", iid, {}, conv.hold)

    @requires(*ANY_USER)
    @api_doc(request=_CALL, responses=_OK, tags=("calls",))
    async def resume(self, request: web.Request) -> web.Response:
        """Take my call off hold (the caller is bridged to my leg again)."""
        agent_id = own_agent(request)
        iid = self._my_interaction(agent_id, await read_declared_json(request))
        conv = self._voice_call(agent_id, iid)
        return await self._control(request, "call.resume", iid, {}, conv.resume)

    def _voice_call(self, agent_id: str, iid: str) -> Conversation:
        conv = self._conversation(agent_id, iid)
        if conv is None:
            raise json_error(web.HTTPConflict, "this call cannot be controlled now")
        return conv
