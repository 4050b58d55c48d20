"""FastAGI script ``callback``: the agent answered a callback leg; now dial the customer.

Design note. ``[contactcenter-callback]`` runs ``AGI(.../callback)`` on the agent's channel once
the agent answers the Originate placed by ``callback_dialer``. This handler:

    find the leg   by the channel's uniqueid (the Originate's ChannelId), else CC_CALLBACK;
                   none (a stale or foreign call) -> hang up
    ringing        reported if the phone's Newstate Ringing was not seen
    before_dial    the queue's recording starts on the agent channel, as for inbound calls
    EXEC Dial(Local/<number>@contactcenter-outbound/n, ring_timeout_s, g); agent hears ringback
    DialEnd ANSWER (AMI, via ChannelWatch) -> offer_answered -> connected hooks (screen pop with
                   the interaction's data, recording, monitoring); a ``Conversation`` with
                   ``callback=True`` takes the agent's hold / resume / transfer to a number,
                   which move the *customer's* leg (``voice/connected_call.py``)
    Dial(...,g) returns after an answer (the customer hung up, or their leg was moved), or
                   either side hangs up after it -> the conversation goes on or ends ->
                   complete -> wrap-up (a customer on hold is hung up if the agent leaves)
    NOANSWER -> offer_failed("callback-no-answer"), BUSY -> "callback-busy", other failures
                   -> "callback-failed": the agent is released, the callback retried later
    agent hangs up before the customer answers -> offer_failed("agent-hangup"): agent paused
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from contactcenter.domain.clock import Clock
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.agi.api import CallHangup
from contactcenter.voice.callback_dialer import CallbackDialer, CallbackLeg
from contactcenter.voice.channel_watch import ChannelFeed, ChannelWatch, DialAnswer
from contactcenter.voice.connected_call import AgentLegs, Conversation
from contactcenter.voice.queue import CallHooks, ConnectedCall, VoiceCall

log = logging.getLogger(__name__)

# /n: no Local optimisation (core_local.c AST_UNREAL_NO_OPTIMIZATION), so the ;1 half stays the
# customer's leg for the whole call and hold / transfer can Redirect it by name.
OUTBOUND = "Local/{number}@contactcenter-outbound/n"  # dialplan/extensions_contactcenter.conf
CUSTOMER_FAILED = {"NOANSWER": "callback-no-answer", "BUSY": "callback-busy",
                   "CANCEL": "agent-hangup"}  # anything else: "callback-failed"


class CallbackCalls:
    """The FastAGI handler for script ``callback`` (one ``handle`` per answered agent leg)."""

    def __init__(self, dialer: CallbackDialer, routing: RoutingService, watch: ChannelWatch,
                 clock: Clock, hooks: CallHooks | None = None,
                 pbx_of: Callable[[str], str] | None = None, legs: AgentLegs | None = None) -> None:
        self.dialer, self.routing, self.watch, self.clock = dialer, routing, watch, clock
        self.hooks, self.legs = hooks, legs
        self.pbx_of = pbx_of or (lambda _uid: "")
        self.conversations: dict[str, Conversation] = {}  # interaction id -> connected callback

    def conversation(self, iid: str) -> Conversation | None:
        """The connected callback of interaction ``iid`` (for the agent's call controls)."""
        return self.conversations.get(iid)

    async def handle(self, call: VoiceCall) -> None:
        """Run one callback from the agent's answered channel to its end."""
        env = call.env
        leg = self.dialer.claim(channel_id=env.uniqueid)
        if leg is None:
            token = await call.get_variable("CC_CALLBACK")
            leg = self.dialer.claim(leg_id=token) if token else None
        if leg is None:
            log.warning("callback AGI on %s (%s): no callback waits for this channel; hanging up",
                        env.channel, env.uniqueid)
            await call.hangup()
            return
        await _CallbackCall(self, call, leg).run()


class _CallbackCall:
    """One answered agent leg: dial the customer, report the outcome."""

    def __init__(self, owner: CallbackCalls, call: VoiceCall, leg: CallbackLeg) -> None:
        self.o, self.call, self.leg = owner, call, leg
        self.offer = leg.offer
        self.iid = leg.offer.interaction_id
        self.connected = False
        self.finished = False
        self.conv: Conversation | None = None

    async def run(self) -> None:
        o, uid = self.o, self.call.env.uniqueid
        await o.dialer.report_ringing(self.leg)
        feed = o.watch.watch(uid)  # before Dial: the answer comes as an AMI DialEnd
        try:
            status = await self._dial(feed)
            if status == "ANSWER" or self.connected:
                if self.conv is not None:
                    kind, target = await self.conv.follow()
                    log.info("callback %s: conversation over: %s %s", self.iid, kind, target)
                await self._finish()
            else:
                reason = CUSTOMER_FAILED.get(status, "callback-failed")
                log.info("callback %s: customer %s: %s", self.iid, self.leg.number, status)
                await o.dialer.report_failed(self.leg, reason)
            await self.call.hangup()
        except CallHangup:
            conv = self.conv
            if conv is not None and conv.state in ("held", "resuming"):
                await conv.drop_leg()  # nobody else would hang up the customer on hold
            if self.connected:
                await self._finish()
            else:  # the agent gave up before the customer answered (no-op if reported)
                await o.dialer.report_failed(self.leg, "agent-hangup")
            raise
        finally:
            if self.conv is not None and o.conversations.get(self.iid) is self.conv:
                del o.conversations[self.iid]
            o.watch.forget(uid)
            o.dialer.forget(self.leg)

    async def _dial(self, feed: ChannelFeed) -> str:
        o, offer = self.o, self.offer
        if o.hooks is not None:
            await o.hooks.before_dial(self.call, self.iid, offer.queue)
        watcher = asyncio.ensure_future(self._await_answer(feed))
        try:
            # g: Dial returns 0 when the customer's side leaves the bridge (hangup or the
            # Redirect of a hold or transfer), so the agent's AGI goes on (app_dial.c OPT_GO_ON).
            status = await self.call.dial(OUTBOUND.format(number=self.leg.number),
                                          max(1, round(offer.ring_timeout_s)), "g")
        finally:
            if self.connected:
                await watcher  # let its reports (offer_answered, hooks) finish
            else:
                watcher.cancel()
        if status == "ANSWER" and not self.connected:  # AMI was down: learn it from Dial
            await self._answered(DialAnswer(self.leg.pbx, "", ""))
        return status

    async def _await_answer(self, feed: ChannelFeed) -> None:
        await self._answered(await feed.answers.get())

    async def _answered(self, customer: DialAnswer) -> None:
        if self.connected:
            return
        self.connected = True  # before any await: _dial relies on it to wait for us
        o, offer = self.o, self.offer
        env = self.call.env
        pbx = customer.pbx or o.pbx_of(env.uniqueid)
        leg_gone = o.watch.watch_leg(env.uniqueid, customer.agent_uniqueid)
        self.conv = Conversation(o.routing, self.call, self.iid, offer.agent_id,  # type: ignore[arg-type]
                                 env.channel, pbx, o.legs, leg_gone, callback=True,
                                 leg=customer.agent_channel)
        o.conversations[self.iid] = self.conv
        try:
            await o.routing.offer_answered(offer.offer_id)  # Connected gives the leg its data
        except RoutingError as exc:
            log.warning("callback %s: connected, but routing no longer has the offer: %s",
                        self.iid, exc)
            return
        log.info("callback %s: agent %s connected to %s", self.iid, offer.agent_id,
                 self.leg.number)
        if o.hooks is not None:
            env = self.call.env
            await o.hooks.connected(ConnectedCall(
                self.iid, offer.agent_id, offer.queue, self.leg.number, customer.agent_channel,
                env.channel, customer.pbx or o.pbx_of(env.uniqueid), o.clock.time(),
                dict(self.leg.data)))

    async def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        try:
            await self.o.routing.complete(self.iid)
        except RoutingError as exc:
            log.debug("callback %s: %s", self.iid, exc)
        if self.o.hooks is not None:
            await self.o.hooks.ended(self.iid)
