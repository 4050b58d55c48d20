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

Callbacks (``callback_call.py``) turn this around: the FastAGI session owns the *agent's*
channel and the customer is the dialled leg (``Local/<number>@contactcenter-outbound;1``), so
the same controls move the *customer's* leg (``callback=True``):

  hold         AMI Redirect of the customer leg to [contactcenter-hold] ``customer``, which
               plays music (the agent's ``Dial(...,g)`` returns; the agent hears silence).
  resume       ``EXEC Bridge(<customer leg>,x)`` from the agent's AGI, as above.
  to a number  ``routing.transfer_out``, then AMI Redirect of the customer leg to
               ``[contactcenter-outbound]`` at the number: that leg dials it and ends with that
               call; the agent's AGI hangs the agent up. No dead air: the customer hears
               ringback from the Redirect on.
  to a queue   refused (409): the customer's leg runs no AGI that could wait in a line
               (it would need a new FastAGI session and a second interaction for one call).
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
CUSTOMER_HOLD_EXTEN = "customer"  # [contactcenter-hold]: music for a callback customer
OUTBOUND_CONTEXT = "contactcenter-outbound"  # <number>: Dial through the trunk


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


async def _nothing(_on: bool) -> None:
    """The music of a callback's AGI channel (the agent's): none, they hear silence on hold."""


class Conversation:
    """One caller connected to one agent; controlled from the web, driven by the AGI task
    (``follow``). ``leg`` is the channel the controls move: the agent's on an inbound call,
    the customer's on a callback (``callback=True``; ``agent_channel`` is then the AGI's)."""

    def __init__(self, routing: RoutingService, call: BridgingCall, iid: str, agent_id: str,
                 agent_channel: str, pbx: str, legs: AgentLegs | None, leg_gone: asyncio.Event,
                 music: Callable[[bool], Awaitable[None]] = _nothing, *, callback: bool = False,
                 leg: str | None = None) -> None:
        self.routing, self.call, self.iid, self.agent_id = routing, call, iid, agent_id
        self.agent_channel, self.pbx, self.legs = agent_channel, pbx, legs
        self.leg = agent_channel if leg is None else leg
        self.callback = callback
        self.leg_gone, self.music = leg_gone, music
        self.state = "talking"  # talking | held | resuming | leaving | ended
        self.intent: tuple[str, str] | None = None  # (hold|queue|number, target)
        self._wake = asyncio.Event()

    # --- the web side ------------------------------------------------------------------------

    def _leg(self) -> AgentLegs:
        if self.legs is None or not self.leg:
            who = "customer's" if self.callback else "agent's"
            raise ControlError(f"the {who} leg of this call is not known (AMI was down)")
        return self.legs

    async def hold(self) -> None:
        """Put the caller on hold: the moved leg goes to the hold context."""
        legs = self._leg()
        if self.state != "talking" or self.intent is not None:
            raise ControlError(f"the call is {self.state}, not in conversation")
        self.intent = ("hold", "")
        exten = CUSTOMER_HOLD_EXTEN if self.callback else HOLD_EXTEN
        try:
            await legs.redirect(self.pbx, self.leg, HOLD_CONTEXT, exten)
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
        if self.callback:
            raise ControlError("a callback cannot be transferred to a queue (the customer's "
                               "leg has no IVR session to wait in line); transfer it to a number")
        await self._leave(lambda: self.routing.transfer(self.iid, queue), ("queue", queue))

    async def to_number(self, number: str,
                        before_move: Callable[[], Awaitable[object]] | None = None) -> None:
        """Blind transfer to an outside number (digits, optionally a leading +);
        ``before_move`` runs once routing took it, before the PBX moves anything."""
        check_outside_number(number)
        await self._leave(lambda: self.routing.transfer_out(self.iid, number), ("number", number),
                          before_move)

    async def _leave(self, record: Callable[[], Awaitable[None]], intent: tuple[str, str],
                     before_move: Callable[[], Awaitable[object]] | None = None) -> None:
        legs = self._leg()
        if self.state not in ("talking", "held") or self.intent is not None:
            raise ControlError(f"the call is {self.state}, not in conversation")
        try:  # the engine refuses what it must (not connected, unknown queue) before anything moves
            await record()
        except RoutingError as exc:
            raise ControlError(str(exc)) from None
        if before_move is not None:
            try:
                await before_move()
            except Exception:  # e.g. the recording: must never strand the transfer
                log.exception("call=%s: before the transfer moved the call", self.iid)
        self.intent, self.state = intent, "leaving"
        self._wake.set()
        try:
            if self.callback:  # the customer's leg dials the number; the agent's AGI ends
                await legs.redirect(self.pbx, self.leg, OUTBOUND_CONTEXT, intent[1])
            else:
                await legs.hangup(self.pbx, self.leg)
        except Exception as exc:  # noqa: BLE001
            if self.callback:
                raise ControlError(f"transfer recorded, but the customer's leg could not be "
                                   f"moved ({exc}); the call ends when the agent hangs up",
                                   502) from None
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
                result = await self.call.bridge(self.leg, "x")
                if result not in ("SUCCESS", "") and self.intent is None:
                    log.info("call=%s: Bridge to %s gave %s", self.iid, self.leg, result)
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
        """The AGI's side left while on hold: hang up the leg sitting in the hold context."""
        if self.legs is None or not self.leg or self.leg_gone.is_set():
            return
        try:
            await self.legs.hangup(self.pbx, self.leg)
        except Exception as exc:  # noqa: BLE001 - already gone is fine
            log.info("call=%s: hangup of held leg %s: %s", self.iid, self.leg, exc)


__all__ = ["CUSTOMER_HOLD_EXTEN", "HOLD_CONTEXT", "HOLD_EXTEN", "OUTBOUND_CONTEXT", "AgentLegs", "AmiAgentLegs", "BridgingCall",
           "ControlError", "Conversation"]
