"""A queued call once an agent answered: conversation, hold, resume, transfers.

Design note
-----------
The caller's FastAGI session owns the caller's channel for the whole call: a Redirect of that
channel would end the AGI (trace 05, quirk 16). So every control moves the *agent's* leg and the
caller's AGI carries on (checked against Asterisk's source, see docs/panel.md):

  hold         AMI Redirect of the agent leg to [contactcenter-hold]. The redirected channel
               leaves the basic bridge, which dissolves (DISSOLVE_HANGUP); the caller's
               ``EXEC Dial(...,g)`` returns 0 and the caller gets music on hold here.
  resume       ``EXEC Bridge(<agent leg>,x)``: Bridge() yanks the leg out of the hold context
               into a new bridge with the caller; ``x`` hangs it up when the caller leaves.
  to a queue   ``routing.transfer`` (agent to wrap-up, caller back in line), then AMI Hangup of
               the agent leg; the caller's Dial or Bridge returns and the queue loop goes on.
  to a number  ``routing.transfer_out`` (logged; the interaction ends), AMI Hangup of the agent
               leg; then the caller's AGI dials the transfer template and ends with that call.

The web side records its intent *before* it moves the agent leg, so that when the caller's Dial
or Bridge returns, the caller's task knows why; no intent means the agent hung up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from contactcenter.routing.engine import check_outside_number
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.agi.api import CallControl, CallHangup
from contactcenter.telephony.ami import actions

log = logging.getLogger(__name__)

HOLD_CONTEXT, HOLD_EXTEN = "contactcenter-hold", "agent"  # dialplan/extensions_contactcenter.conf


class ControlError(Exception):
    """A call control refused now (``status`` 409) or failed on the PBX (502)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class AgentLegs(Protocol):
    """What the controls do to an agent's leg (AMI, on the PBX the call is on)."""

    async def hangup(self, pbx: str, channel: str) -> None: ...

    async def redirect(self, pbx: str, channel: str, context: str, exten: str) -> None: ...


class AmiAgentLegs:
    """``AgentLegs`` over ``send(pbx, headers)`` (an AMI action; raises on an Error reply)."""

    def __init__(self, send: Callable[[str, list[tuple[str, str]]], Awaitable[Any]]) -> None:
        self.send = send

    async def hangup(self, pbx: str, channel: str) -> None:
        """AMI Hangup of one channel."""
        await self.send(pbx, actions.Hangup(channel))

    async def redirect(self, pbx: str, channel: str, context: str, exten: str) -> None:
        """AMI Redirect of one channel to ``context,exten,1``."""
        await self.send(pbx, actions.Redirect(channel, context, exten, 1))


class BridgingCall(CallControl, Protocol):
    """The FastAGI session features a conversation needs beyond ``CallControl``."""

    hung_up: bool

    async def bridge(self, channel: str, options: str = "x", *, timeout: float = ...) -> str: ...

    async def wait_for_hangup(self, timeout: float | None = None) -> bool: ...


class Conversation:
    """One caller connected to one agent's leg; controlled from the web, driven by the
    caller's AGI task (``follow``)."""

    def __init__(self, routing: RoutingService, call: BridgingCall, iid: str, agent_id: str,
                 agent_channel: str, pbx: str, legs: AgentLegs | None, leg_gone: asyncio.Event,
                 music: Callable[[bool], Awaitable[None]]) -> None:
        self.routing, self.call, self.iid, self.agent_id = routing, call, iid, agent_id
        self.agent_channel, self.pbx, self.legs = agent_channel, pbx, legs
        self.leg_gone, self.music = leg_gone, music
        self.state = "talking"  # talking | held | resuming | leaving | ended
        self.intent: tuple[str, str] | None = None  # (hold|queue|number, target)
        self._wake = asyncio.Event()

    # --- the web side ------------------------------------------------------------------------

    def _leg(self) -> AgentLegs:
        if self.legs is None or not self.agent_channel:
            raise ControlError("the agent's leg of this call is not known (AMI was down)")
        return self.legs

    async def hold(self) -> None:
        """Put the caller on hold: the agent's leg goes to the hold context."""
        legs = self._leg()
        if self.state != "talking" or self.intent is not None:
            raise ControlError(f"the call is {self.state}, not in conversation")
        self.intent = ("hold", "")
        try:
            await legs.redirect(self.pbx, self.agent_channel, HOLD_CONTEXT, HOLD_EXTEN)
        except Exception as exc:  # noqa: BLE001 - any PBX failure: nothing moved
            if self.intent == ("hold", ""):
                self.intent = None
            raise ControlError(f"hold failed: {exc}", 502) from None
        try:
            await self.routing.hold(self.iid)
        except RoutingError as exc:  # the call ended meanwhile: the caller's task sorts it out
            log.info("call=%s: hold not recorded: %s", self.iid, exc)

    async def resume(self) -> None:
        """Take the caller off hold: the caller's AGI bridges them with the agent's leg again."""
        if self.state != "held":
            raise ControlError(f"the call is {self.state}, not on hold")
        try:
            await self.routing.unhold(self.iid)
        except RoutingError as exc:
            raise ControlError(str(exc)) from None
        self.state = "resuming"
        self._wake.set()

    async def to_queue(self, queue: str) -> None:
        """Blind transfer to another queue: the caller waits there for the next agent."""
        await self._leave(lambda: self.routing.transfer(self.iid, queue), ("queue", queue))

    async def to_number(self, number: str) -> None:
        """Blind transfer to an outside number (digits, optionally a leading +)."""
        check_outside_number(number)
        await self._leave(lambda: self.routing.transfer_out(self.iid, number), ("number", number))

    async def _leave(self, record: Callable[[], Awaitable[None]], intent: tuple[str, str]) -> None:
        legs = self._leg()
        if self.state not in ("talking", "held") or self.intent is not None:
            raise ControlError(f"the call is {self.state}, not in conversation")
        try:  # the engine refuses what it must (not connected, unknown queue) before anything moves
            await record()
        except RoutingError as exc:
            raise ControlError(str(exc)) from None
        self.intent, self.state = intent, "leaving"
        self._wake.set()
        try:
            await legs.hangup(self.pbx, self.agent_channel)
        except Exception as exc:  # noqa: BLE001
            raise ControlError(f"transfer recorded, but the agent's leg could not be hung up "
                               f"({exc}); it goes through when the agent hangs up", 502) from None

    # --- the caller's side -------------------------------------------------------------------

    async def follow(self) -> tuple[str, str]:
        """After the caller's Dial returned with the agent answered: run holds and resumes
        until the conversation is over here. Returns ``("ended", "")`` (the agent hung up),
        ``("gone", "")`` (the agent's leg ended while on hold), ``("queue", name)`` or
        ``("number", digits)``; raises ``CallHangup`` when the caller hangs up."""
        while True:
            if getattr(self.call, "hung_up", False):
                raise CallHangup("caller hung up")
            intent, self.intent = self.intent, None
            if intent is None:
                self.state = "ended"
                return ("ended", "")
            if intent[0] != "hold":
                self.state = "ended"
                return intent
            self.state = "held"
            why = await self._held()
            if why == "resume":
                self.state = "talking"
                await self.music(False)
                result = await self.call.bridge(self.agent_channel, "x")
                if result not in ("SUCCESS", "") and self.intent is None:
                    log.info("call=%s: Bridge to %s gave %s", self.iid, self.agent_channel, result)
                    self.state = "ended"
                    return ("gone", "")
            elif why == "gone":
                self.state = "ended"
                return ("gone", "")
            # else an intent (a transfer) arrived while held: the loop takes it

    async def _held(self) -> str:
        """Music until the agent resumes, transfers, or their leg ends ("resume"/"intent"/"gone")."""
        await self.music(True)
        while True:
            if self.intent is not None:
                return "intent"
            if self.state == "resuming":
                return "resume"
            if self.leg_gone.is_set():
                return "gone"
            self._wake.clear()
            hangup = asyncio.ensure_future(self.call.wait_for_hangup())
            waits = {asyncio.ensure_future(self._wake.wait()),
                     asyncio.ensure_future(self.leg_gone.wait()), hangup}
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            if hangup.done() and not hangup.cancelled() and hangup.result():
                raise CallHangup("caller hung up while on hold")

    async def drop_leg(self) -> None:
        """The caller left while on hold: hang up the agent's leg sitting in the hold context."""
        if self.legs is None or not self.agent_channel or self.leg_gone.is_set():
            return
        try:
            await self.legs.hangup(self.pbx, self.agent_channel)
        except Exception as exc:  # noqa: BLE001 - already gone is fine
            log.info("call=%s: hangup of held leg %s: %s", self.iid, self.agent_channel, exc)


__all__ = ["HOLD_CONTEXT", "HOLD_EXTEN", "AgentLegs", "AmiAgentLegs", "BridgingCall",
           "ControlError", "Conversation"]
