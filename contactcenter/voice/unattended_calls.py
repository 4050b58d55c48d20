"""Queued callers that no AGI session holds: between a server restart and the AGI retry.

When the server stops, Asterisk carries on with every call. A waiting caller's dialplan
retries the AGI (``CC_RESUME``) and the caller picks up their place (``VoiceQueue.resume``).
A caller whose agent's phone was ringing stays inside that Dial: its FastAGI connection is
gone, but Dial returns only when the ring times out, or when the agent answered and the talk
is over. The restored engine keeps that offer (``EngineRestore.restore``); without what this
watches, its ring safety timer would fire while the agent talks, pause that agent for "no
answer", and offer the caller to another agent whom nobody dials.

So, for a voice interaction that no session watches (``ChannelWatch.watching`` is False):

* ``DialEnded`` of its channel to the offered agent's dial string: ANSWER -> the offer was
  answered (the agent is busy; the caller's AGI, back after the talk, completes it); any other
  status but CANCEL -> the offer failed, as it would have with a session (CANCEL is the caller
  leaving: its hangup abandons the call, and the agent is not paused);
* after an AMI resync, a caller offered and already bridged with the agent's leg -> answered,
  at the moment the agent's leg stamped on the caller's channel when it answered
  (``answer_stamp.py``; without a stamp, an older dialplan: at the resync);
  one still there and not bridged -> still ringing as far as anyone can tell: the offer's ring
  safety timer (long while nothing could be seen, ``UNSEEN_RING_S``) counts from now;
* its channel hangs up -> abandoned (completed when it was connected);
* connected, its channel leaves the bridge (the agent hung up: the Dial returns, and the
  caller's AGI comes back only after the dialplan's retry, music and 2 s) -> the moment the
  talk really ended is kept for the AGI's return to complete it with (``talk_ended``).

The times are the call model's (the events' ``Timestamp``, else when they arrived): what
happened while no server listened has no event, and is settled when it is learned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from contactcenter.domain.interaction import InteractionState
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.callmodel_core import CallModelCore, listens_to
from contactcenter.telephony.events import BridgeLeft, ChannelHungUp, DialEnded, ModelResynced
from contactcenter.voice.channel_watch import ChannelWatch
from contactcenter.voice.queue import FAILED_STATUS, offer_number

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], None]
# (pbx, caller's channel, offer number) -> when the agent answered it (AnswerStampReader)
AnsweredAt = Callable[[str, str, str], Awaitable[float | None]]


class UnattendedCalls:
    """Settles what happens to queued calls while no session holds them (see the module)."""

    def __init__(self, routing: RoutingService, watch: ChannelWatch,
                 model_of: Callable[[str], CallModelCore | None], spawn: Spawn,
                 answered_at: AnsweredAt | None = None) -> None:
        self.routing, self.watch, self.model_of, self.spawn = routing, watch, model_of, spawn
        self.answered_at = answered_at or _unstamped
        self._talk_ended: dict[str, float] = {}  # connected caller -> when they left the bridge

    def talk_ended(self, uniqueid: str) -> float | None:
        """When the connected caller ``uniqueid``, held by no session, left the agent's bridge
        (None: not seen); forgotten once read."""
        return self._talk_ended.pop(uniqueid, None)

    @listens_to(DialEnded, ChannelHungUp, ModelResynced, BridgeLeft)
    def on_telephony_event(self, event: object) -> None:
        """Subscriber of every PBX link's typed telephony events."""
        cls = event.__class__
        if cls is DialEnded:
            self._dial_ended(event)  # type: ignore[arg-type]
        elif cls is ChannelHungUp and not event.resync:  # type: ignore[attr-defined]
            self._hung_up(event.uniqueid)  # type: ignore[attr-defined]
        elif cls is ModelResynced:
            self._resynced(event.pbx)  # type: ignore[attr-defined]
        elif cls is BridgeLeft and not event.resync:  # type: ignore[attr-defined]
            self._left_bridge(event)  # type: ignore[arg-type]

    def _unattended(self, uniqueid: str | None) -> Any:
        """The engine's record of a plain voice call no session holds, else None."""
        if uniqueid is None or self.watch.watching(uniqueid):
            return None
        rec = self.routing.engine.live.get(uniqueid)
        if rec is None or rec.channel != "voice" or rec.callback is not None:
            return None
        return rec

    def _ringing_to(self, rec: Any) -> str | None:
        """The dial string of the agent ``rec`` is offered to (None when not offered)."""
        if rec.state is not InteractionState.OFFERED or rec.offer_id is None:
            return None
        agent = self.routing.engine.agents.get(rec.agent_id or "")
        return agent.config.dial_string if agent is not None else None

    def _dial_ended(self, event: DialEnded) -> None:
        rec = self._unattended(event.caller_uniqueid)
        dial = self._ringing_to(rec) if rec is not None else None
        if dial is None or not _leg_of(event.dest_name, dial) or event.dial_status == "CANCEL":
            return  # CANCEL: the caller left (or was redirected); its Hangup settles it
        offer_id = rec.offer_id
        if event.dial_status == "ANSWER":
            log.info("call=%s: answered by %s with no session holding it (server restart)",
                     rec.id, rec.agent_id)
            self.spawn(self._settle(self.routing.offer_answered(offer_id)))
        else:
            log.info("call=%s: its dial to %s ended %s with no session holding it",
                     rec.id, rec.agent_id, event.dial_status)
            self.spawn(self._settle(self.routing.offer_failed(
                offer_id, FAILED_STATUS.get(event.dial_status, "no-answer"))))

    def _resynced(self, pbx: str) -> None:
        model = self.model_of(pbx)
        if model is None:
            return
        for rec in list(self.routing.engine.live.values()):
            dial = self._ringing_to(rec) if self._unattended(rec.id) is not None else None
            channel = model.channels.get(rec.id) if dial is not None else None
            if dial is None or channel is None:  # not ours, or gone (reconcile abandons it)
                continue
            assert rec.offer_id is not None  # _ringing_to gives a dial only to an offer
            if _bridged_with(model, channel.bridge_id, rec.id, dial):
                log.info("call=%s: found talking to %s after the AMI resync", rec.id,
                         rec.agent_id)
                self.spawn(self._settle(self._answered_unseen(pbx, channel.name,
                                                              rec.offer_id)))
            else:
                self.spawn(self._settle(self.routing.renew_offer(rec.offer_id)))

    async def _answered_unseen(self, pbx: str, channel: str, offer_id: str) -> None:
        """Offer ``offer_id`` was answered while no server listened: connected when the agent's
        leg stamped it on the caller's ``channel``, else (no stamp) now."""
        at = await self.answered_at(pbx, channel, offer_number(offer_id))
        await self.routing.offer_answered(offer_id, at=at)

    def _left_bridge(self, event: BridgeLeft) -> None:
        rec = self._unattended(event.uniqueid)
        if (rec is not None and rec.state is InteractionState.CONNECTED
                and self.routing.on_hold_since(rec.id) is None):
            live = self.routing.engine.live  # forget calls ended some other way meanwhile
            for gone in [uid for uid in self._talk_ended if uid not in live]:
                del self._talk_ended[gone]
            self._talk_ended.setdefault(rec.id, event.timestamp)

    def _hung_up(self, uniqueid: str) -> None:
        """A queued caller hung up while no AGI session held them (after a restart, before the
        dialplan's AGI retry came back): nobody else will see it, so end their interaction."""
        if self._unattended(uniqueid) is None:
            return
        log.info("call=%s: hung up with no session holding it; ending its interaction", uniqueid)
        # Connected: completed, when the talk ended (the agent may have left first).
        self.spawn(self._settle(self.routing.abandon(uniqueid, self.talk_ended(uniqueid))))

    @staticmethod
    async def _settle(step: Coroutine[Any, Any, None]) -> None:
        try:
            await step
        except RoutingError as exc:  # settled meanwhile by another path (the AGI came back)
            log.debug("unattended call: %s", exc)


async def _unstamped(_pbx: str, _channel: str, _offer: str) -> float | None:
    return None


def _bridged_with(model: CallModelCore, bridge_id: str | None, caller: str, dial: str) -> bool:
    """True when bridge ``bridge_id`` holds, besides ``caller``, a leg of ``dial``."""
    bridge = model.bridges.get(bridge_id) if bridge_id else None
    if bridge is None:
        return False
    for uid in bridge.channels:
        other = model.channels.get(uid)
        if uid != caller and other is not None and _leg_of(other.name, dial):
            return True
    return False


def _leg_of(channel_name: str, dial_string: str) -> bool:
    """True when ``channel_name`` is a leg Dial(``dial_string``) creates: ``PJSIP/1001-0000002a``
    for ``PJSIP/1001``, ``Local/1001@agents-0000001b;1`` for ``Local/1001@agents``."""
    return channel_name.startswith(dial_string + "-")


def spawner(tasks: list[asyncio.Task[None]]) -> Spawn:
    """A ``Spawn`` that keeps its tasks in ``tasks`` (so they can be cancelled at stop)."""
    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        tasks.append(asyncio.get_running_loop().create_task(coro))
    return spawn
