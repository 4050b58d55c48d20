"""The callback dialer: when a callback's turn comes, ring the agent first, then the customer.

Design note. An ``Offered`` with a ``callback_number`` has nobody on hold to dial from, so this
glue places the call itself, agent leg first (docs/routing.md, "Callbacks: which leg first"):

    Offered(callback)    -> AMI Originate (Async) of the agent's dial string into
                            [contactcenter-callback], caller id = the customer's number,
                            ChannelId = "<leg id>-1" (how the FastAGI session finds its leg)
    Newstate Ringing     -> offer_ringing
    OriginateResponse Failure (not answered in ring_timeout_s, busy, unreachable), the agent
    channel hung up before its AGI session took it, or the Originate refused
                         -> offer_failed("no-answer" | "busy" | "unavailable"): the agent is
                            paused, the callback goes back to its place (attempt not counted)
    agent answers        -> [contactcenter-callback] runs AGI(.../callback): ``callback_call``
                            dials the customer and reports the rest
    the engine's own ring safety timer failed the offer -> hang the agent leg up

The customer's number is checked (digits, optional leading +) before it is put in a caller id
or a dial string. Legs live in memory, so an agent leg's uniqueid says whose it is:
``leg_prefix(offer id)`` + ``leg_tag(interaction, agent)`` + a random part. After a restart:

* a callback that was *connected* has no AGI session any more: after the first AMI resync
  ``reconcile`` completes it at once if its leg (found by ``leg_prefix``) is gone, else when
  the leg hangs up;
* a callback that was *offered* went back to its place at the restore and is offered again
  (a new offer id). Its old agent leg may still ring (Asterisk carries on with the Originate),
  so callback offers are held until the first resync shows what is live. A leg with the same
  ``leg_tag`` is adopted by the new offer: no second Originate, the agent's phone just goes on
  ringing, and an answer, even one given while the server was away, reaches the callback
  (adopting rather than cancelling: a Hangup could cut off an agent answering that very
  moment). A leg whose callback is no longer offered to that agent is hung up before any new
  leg is dialled. No leg left (it rang out, or was answered while no FastAGI listened, which
  ends it) -> a new one. An AGI arriving before the resync is adopted the same way (``claim``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable, Collection, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from contactcenter.domain import routing_events as rev
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService
from contactcenter.telephony import events as tev
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.client import AmiActionError
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.telephony.callmodel_core import listens_to
from contactcenter.telephony.originated_leg import OriginatedLeg, leg_channel_id
from contactcenter.voice.callback_request import dialable_number

log = logging.getLogger(__name__)

CALLBACK_CONTEXT = "contactcenter-callback"  # dialplan/extensions_contactcenter.conf
STATE_RINGING = 5  # Newstate ChannelState of a ringing outbound channel
ORIGINATE_BUSY = 5  # OriginateResponse Reason: the agent's device was busy
CAUSE_BUSY = 17  # Q.850 user busy


def leg_prefix(offer_id: str) -> str:
    """How the uniqueids of an offer's agent legs begin (then ``leg_tag`` and a part random
    per Originate, so an offer dialled again never reuses a ChannelId)."""
    return f"cb-{hashlib.sha1(offer_id.encode()).hexdigest()[:12]}-"


def leg_tag(interaction_id: str, agent_id: str) -> str:
    """Who an agent leg rings for what, whatever the offer: the part of its uniqueid after
    ``leg_prefix`` by which a leg from before a restart is matched to the new offer."""
    return hashlib.sha1(f"{interaction_id}\0{agent_id}".encode()).hexdigest()[:12]


def tag_of(uniqueid: str) -> str | None:
    """The ``leg_tag`` in an agent leg's uniqueid (``cb-<prefix>-<tag>-<random>-1``); None for
    any other channel (a ``;2`` half, a leg of an older server version, a foreign call)."""
    parts = uniqueid.split("-")
    if len(parts) == 5 and parts[0] == "cb" and parts[4] == "1" and len(parts[2]) == 12:
        return parts[2]
    return None


class AmiPort(Protocol):
    """One PBX's AMI link, as far as the dialer uses it (``PbxLink``)."""

    @property
    def name(self) -> str: ...

    async def send_action(self, headers: Iterable[tuple[str, str]],
                          timeout: float = 5.0) -> AmiMessage: ...

    async def wait_ready(self, timeout: float = 10.0) -> None: ...


@dataclass(eq=False)
class CallbackLeg(OriginatedLeg):
    """One attempt of one callback: the agent leg we originated and what we told routing."""

    offer: rev.Offered
    number: str  # checked by dialable_number
    leg_id: str
    pbx: str = ""
    ringing: bool = False
    answered: bool = False  # the agent answered: a FastAGI session owns the leg
    reported: bool = False  # the offer's outcome went to routing
    data: dict[str, Any] = field(default_factory=dict)  # the screen pop, from Connected



class CallbackDialer:
    """Originates agent legs for callbacks and tells routing how they went."""

    def __init__(self, routing: RoutingService, ami_for: Callable[[str], AmiPort], *,
                 pbx: str = "", action_timeout: float = 5.0, ready_timeout: float = 10.0) -> None:
        self.routing, self.ami_for, self.pbx = routing, ami_for, pbx
        self.action_timeout, self.ready_timeout = action_timeout, ready_timeout
        self.legs: dict[str, CallbackLeg] = {}  # by agent channel id
        self._by_offer: dict[str, CallbackLeg] = {}
        self._by_action: dict[str, CallbackLeg] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self.orphans: dict[str, str] = {}  # agent leg uniqueid -> connected callback, no AGI
        # Callback offers not dialled yet: until the first AMI resync a leg from before a
        # restart may still ring for them (by offer id).
        self._held: dict[str, rev.Offered] = {}
        self._released = asyncio.Event()  # the first resync was handled: dial at once
        # Our FastAGI server listens. An agent leg answered before that (an auto-answer phone,
        # or a quick agent, while a restarting server still starts) ran its AGI against a
        # closed port and failed as "no-answer" (seen in tests/e2e/test_restart_callbacks.py).
        self._agi_listening = asyncio.Event()

    def start(self) -> None:
        """Follow routing's events (Offered callbacks, and how their offers end), and dial
        the callbacks routing offered before we listened (at its restore)."""
        if self._unsubscribe is None:
            self._unsubscribe = self.routing.subscribe(self.on_routing_event)
            for offer in self.routing.callback_offers():
                self._dial(offer)

    def agi_listening(self) -> None:
        """The FastAGI server accepts sessions: offers held for it are dialled."""
        self._agi_listening.set()

    async def close(self) -> None:
        """Stop following routing; cancel what is in flight."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- inputs -------------------------------------------------------------------------------
    def on_routing_event(self, event: rev.RoutingEvent) -> None:
        """Routing subscriber (synchronous: anything slow runs in a task)."""
        if isinstance(event, rev.Offered) and event.callback_number is not None:
            self._dial(event)
        elif isinstance(event, rev.Connected):
            leg = self._by_offer.get(event.offer_id)
            if leg is not None:
                leg.data = dict(event.data)
        elif isinstance(event, rev.RingNoAnswer):
            self._held.pop(event.offer_id, None)
            leg = self._by_offer.get(event.offer_id)
            if leg is not None and not leg.reported:  # the engine's ring safety timer
                log.warning("callback %s: offer %s timed out in routing; hanging up the agent "
                            "leg", event.interaction_id, event.offer_id)
                leg.reported = True
                self.forget(leg)
                self._spawn(self._hangup(leg))

    @listens_to(tev.OriginateResult, tev.ChannelStateChanged, tev.ChannelHungUp)
    def on_telephony_event(self, event: object) -> None:
        """Call-model subscriber of every PBX link: Originate outcomes and ringing."""
        if isinstance(event, tev.OriginateResult):
            leg = self._by_action.get(event.action_id or "")
            if leg is not None and not event.success and not leg.answered:
                reason = "busy" if event.reason == ORIGINATE_BUSY else "no-answer"
                log.info("callback %s: agent %s did not answer (Reason %s)",
                         leg.offer.interaction_id, leg.offer.agent_id, event.reason)
                self._spawn(self.report_failed(leg, reason))
        elif isinstance(event, tev.ChannelStateChanged) and event.state == STATE_RINGING:
            leg = self.legs.get(event.uniqueid)
            if leg is not None and not leg.ringing and not leg.reported:
                self._spawn(self.report_ringing(leg))
        elif isinstance(event, tev.ChannelHungUp) and event.uniqueid in self.orphans:
            iid = self.orphans.pop(event.uniqueid)
            log.info("callback %s: its agent leg from before the restart hung up", iid)
            self._spawn(self._complete(iid))
        elif isinstance(event, tev.ChannelHungUp):
            # The agent leg ended before any AGI session took it (not answered, or the AGI
            # could not reach us): say so now rather than when routing's safety timer fires.
            leg = self.legs.get(event.uniqueid)
            if leg is not None and not leg.answered and not leg.reported:
                reason = "busy" if event.cause == CAUSE_BUSY else "no-answer"
                self._spawn(self.report_failed(leg, reason))

    def reconcile(self, live: Collection[str]) -> list[str]:
        """After an AMI resync (``live``: every channel's uniqueid): connected callbacks that no
        session of ours carries (the server restarted during the conversation) are completed
        now if their agent leg is gone, else when it hangs up. Returns the ids completed now.
        Then agent legs from before the restart (``settle_old_legs``).

        Synchronous, so no hangup event can slip between the snapshot and the watch."""
        done = []
        for iid, offer_id in self.routing.connected_callbacks():
            if offer_id in self._by_offer or iid in self.orphans.values():
                continue  # ours (a live AGI session), or already watched
            prefix = leg_prefix(offer_id)
            legs = [uid for uid in live if uid.startswith(prefix) and uid.endswith("-1")]
            if legs:
                log.info("callback %s: still connected after a restart (%s)", iid, legs[0])
                self.orphans.update(dict.fromkeys(legs, iid))
            else:
                log.info("callback %s: its call ended while the server was away", iid)
                done.append(iid)
                self._spawn(self._complete(iid))
        self.settle_old_legs(live)
        return done

    def settle_old_legs(self, live: Collection[str]) -> None:
        """Agent legs in ``live`` that are neither ours nor a connected callback's were placed
        before a restart: one whose callback is held for the same agent becomes that offer's
        leg; any other is hung up. The held offers left are dialled once those hangups are
        sent, so an agent's phone never rings twice for us."""
        held = {leg_tag(o.interaction_id, o.agent_id): o for o in self._held.values()}
        stale = []
        for uid in sorted(live):
            tag = tag_of(uid)
            if tag is None or uid in self.legs or uid in self.orphans:
                continue
            offer = held.pop(tag, None)
            leg = self._adopt(offer, uid) if offer is not None else None
            if leg is None:
                stale.append(uid)
                continue
            log.info("callback %s: agent %s's leg from before the restart (%s) still rings; "
                     "the new offer takes it", leg.offer.interaction_id, leg.offer.agent_id, uid)
            self._spawn(self.report_ringing(leg))
        self._spawn(self._release(stale))

    # -- what the FastAGI side uses -----------------------------------------------------------
    def claim(self, channel_id: str | None = None, leg_id: str | None = None) -> CallbackLeg | None:
        """The leg whose agent just answered (by its channel's uniqueid, else by the leg id the
        Originate set in CC_CALLBACK); None when unknown, already claimed or already over."""
        leg = self.legs.get(channel_id or "")
        if leg is None and leg_id:
            leg = self.legs.get(leg_channel_id(leg_id))
        if leg is None:  # a leg from before a restart, answered before the first resync
            leg = self._adopt_answered(channel_id or (leg_channel_id(leg_id) if leg_id else ""))
        if leg is None or leg.answered or leg.reported:
            return None
        leg.answered = True
        return leg

    async def report_ringing(self, leg: CallbackLeg) -> None:
        """The agent's phone rings (once per leg)."""
        if leg.ringing:
            return
        leg.ringing = True
        try:
            await self.routing.offer_ringing(leg.offer.offer_id)
        except RoutingError as exc:
            log.debug("callback %s: ringing not reported: %s", leg.offer.interaction_id, exc)

    async def report_failed(self, leg: CallbackLeg, reason: str) -> None:
        """The attempt failed (agent or customer side, per ``reason``); the leg is over."""
        if leg.reported:
            return
        leg.reported = True
        self.forget(leg)
        try:
            await self.routing.offer_failed(leg.offer.offer_id, reason)
        except RoutingError as exc:  # the engine timed the offer out first
            log.info("callback %s: %s not reported: %s", leg.offer.interaction_id, reason, exc)

    def forget(self, leg: CallbackLeg) -> None:
        """Drop the leg from the tables (its outcome is known or no longer ours to report)."""
        self.legs.pop(leg.channel_id, None)
        self._by_offer.pop(leg.offer.offer_id, None)
        self._by_action.pop(leg.action_id, None)

    # -- internals ----------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _dial(self, offer: rev.Offered) -> None:
        if self._released.is_set() and self._agi_listening.is_set():
            self._spawn(self._originate(offer))
        else:
            self._held[offer.offer_id] = offer
            self._spawn(self._dial_held(offer))

    async def _dial_held(self, offer: rev.Offered) -> None:
        """Dial a held offer once the first resync is handled and our FastAGI listens; without
        a resync in time (AMI down) dial anyway, as before (``_originate`` waits for AMI, else
        reports "unavailable")."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.ready_timeout):
                await self._released.wait()
        await self._agi_listening.wait()  # the server's start ends with it (or stops us)
        if self._held.pop(offer.offer_id, None) is None:
            return  # adopted an old leg, or the offer is over
        if self.routing.offer_of(offer.interaction_id) != offer.offer_id:
            return  # (the engine moved on while we waited)
        await self._originate(offer)

    async def _release(self, stale: list[str]) -> None:
        for uid in stale:
            log.info("callback agent leg %s from before the restart rings for no offer; "
                     "hanging it up", uid)
        await asyncio.gather(*(self._hangup_channel(self.pbx, uid) for uid in stale))
        self._released.set()

    def _adopt_answered(self, uniqueid: str) -> CallbackLeg | None:
        tag = tag_of(uniqueid)
        offer = next((o for o in self._held.values()
                      if leg_tag(o.interaction_id, o.agent_id) == tag), None)
        leg = self._adopt(offer, uniqueid) if tag is not None and offer is not None else None
        if leg is not None:
            log.info("callback %s: agent %s answered the leg rung before the restart (%s)",
                     leg.offer.interaction_id, leg.offer.agent_id, uniqueid)
        return leg

    def _adopt(self, offer: rev.Offered, uniqueid: str) -> CallbackLeg | None:
        """Make ``uniqueid``, an agent leg placed before a restart, the leg of held ``offer``
        (its leg id, hence ActionID, are the old ones: a late OriginateResponse still finds
        it)."""
        try:
            number = dialable_number(offer.callback_number)
        except ValueError:
            return None  # left held: its dialling fails the offer
        self._held.pop(offer.offer_id, None)
        leg = CallbackLeg(offer, number, uniqueid.removesuffix("-1"))
        self.legs[leg.channel_id] = leg
        self._by_offer[offer.offer_id] = leg
        self._by_action[leg.action_id] = leg
        return leg

    async def _originate(self, offer: rev.Offered) -> None:
        try:
            number = dialable_number(offer.callback_number)
        except ValueError:
            # Not the agent's fault: counts as a failed attempt of this callback.
            log.warning("callback %s: refusing to dial %r", offer.interaction_id,
                        offer.callback_number)
            await self._fail_offer(offer, "callback-failed")
            return
        if not offer.dial_string:
            await self._fail_offer(offer, "unavailable")
            return
        leg = CallbackLeg(offer, number, leg_prefix(offer.offer_id)
                          + f"{leg_tag(offer.interaction_id, offer.agent_id)}-{uuid.uuid4().hex[:6]}")
        self.legs[leg.channel_id] = leg
        self._by_offer[offer.offer_id] = leg
        self._by_action[leg.action_id] = leg
        try:
            link = self.ami_for(self.pbx)
            leg.pbx = link.name
            await link.wait_ready(self.ready_timeout)  # at start-up AMI may still be logging in
            headers = actions.Originate(
                offer.dial_string, context=CALLBACK_CONTEXT, exten="s", priority=1,
                caller_id=f'"Callback" <{number}>',
                timeout_ms=int(offer.ring_timeout_s * 1000),
                variables={"CC_CALLBACK": leg.leg_id, "CC_INTERACTION": offer.interaction_id,
                           "CC_AGENT": offer.agent_id},
                channel_id=leg.channel_id, other_channel_id=leg.other_channel_id,
                action_id=leg.action_id,
            )
            await link.send_action(headers, timeout=self.action_timeout)
        except (AmiActionError, ConnectionError, TimeoutError, ValueError, LookupError,
                RuntimeError) as exc:  # (RuntimeError: no PBX link at all)
            # The agent leg could not even be placed (AMI down, refused): not the customer's
            # fault, so the callback keeps its attempts; the agent shows "unavailable".
            log.warning("callback %s: Originate to %s failed: %s", offer.interaction_id,
                        offer.dial_string, exc)
            await self.report_failed(leg, "unavailable")
            return
        log.info("callback %s: ringing agent %s (%s) for %s", offer.interaction_id,
                 offer.agent_id, offer.dial_string, number)

    async def _complete(self, iid: str) -> None:
        try:
            await self.routing.complete(iid)  # the agent goes to wrap-up
        except RoutingError as exc:  # ended meanwhile by another path
            log.info("callback %s: complete after a restart: %s", iid, exc)

    async def _fail_offer(self, offer: rev.Offered, reason: str) -> None:
        try:
            await self.routing.offer_failed(offer.offer_id, reason)
        except RoutingError as exc:
            log.info("callback %s: %s not reported: %s", offer.interaction_id, reason, exc)

    async def _hangup(self, leg: CallbackLeg) -> None:
        await self._hangup_channel(leg.pbx, leg.channel_id)

    async def _hangup_channel(self, pbx: str, uniqueid: str) -> None:
        try:
            await self.ami_for(pbx).send_action(actions.Hangup(uniqueid),
                                                timeout=self.action_timeout)
        except (AmiActionError, ConnectionError, TimeoutError, LookupError,
                RuntimeError) as exc:  # (AmiActionError: the channel went meanwhile)
            log.info("callback agent leg %s: hangup: %s", uniqueid, exc)
