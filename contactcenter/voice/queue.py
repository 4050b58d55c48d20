"""The ``queue`` node's voice side: hold the caller, announce, dial the offered agent.

Design note
-----------
One coroutine per queued call drives this loop over the routing service's updates for the
interaction (``docs/routing.md``, "What the voice glue does"):

    enqueue (id = the AGI channel's uniqueid) -> SET MUSIC ON
    Position  -> at most every announce interval: position / expected wait, music back on
    Offered   -> EXEC Dial(agent dial string, ring timeout, g); AMI Newstate Ringing of the
                 agent's leg -> offer_ringing; AMI DialEnd(ANSWER) -> answered (screen pop)
                 NOANSWER/BUSY/... -> offer_failed, music on, wait again (caller keeps the head)
                 Dial returns after an answer -> the conversation (``connected_call.py``): hold,
                 resume, transfers; then complete -> "connected", or back in line (transfer)
    Exited    -> "exit" with the destination; Overflowed/Transferred -> the new queue's config
    caller gone (pushed HANGUP while idle, or during a command) -> abandon / complete

After a restart (the dialplan retries the AGI while ``CC_RESUME=1``) ``resume`` picks the call
up where it stood: waiting or offered -> this loop again; connected and on hold (the agent's
leg parked in ``[contactcenter-hold]``) -> the held conversation again; connected otherwise ->
its Dial or Bridge had returned, so the talk is over.

While the caller waits, no AGI command is in flight: the music is a channel generator, keys
come in as AMI DTMF events, and the offer can be dialled the instant it arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from contactcenter.domain import routing_events as rev
from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction, InteractionState
from contactcenter.ivr.ports import QueueOutcome, QueueRequest
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.agi.api import (
    AgiCommandError,
    CallControl,
    CallHangup,
    Subroutine,
)
from contactcenter.voice.answer_stamp import FUNCTION as ANSWER_STAMP
from contactcenter.voice.answer_stamp import answered_subroutine, stamped_at
from contactcenter.voice.callback_request import request_callback
from contactcenter.voice.channel_watch import ChannelWatch, DialAnswer, ParkedLeg
from contactcenter.voice.connected_call import AgentLegs, Conversation

log = logging.getLogger(__name__)

FAILED_STATUS = {"NOANSWER": "no-answer", "BUSY": "busy", "CHANUNAVAIL": "unavailable",
                 "CONGESTION": "unavailable", "CANCEL": "no-answer", "DONTCALL": "busy"}


class VoiceCall(CallControl, Protocol):
    """The FastAGI session features the queue needs beyond ``CallControl``."""

    async def dial(self, destination: str, ring_timeout_s: int | None = None,
                   options: str = "", *, timeout: float = ...,
                   known_status: Callable[[], str | None] | None = None,
                   before: Subroutine | None = None,
                   answered: Subroutine | None = None) -> str: ...

    async def wait_for_hangup(self, timeout: float | None = None) -> bool: ...

    async def set_variables(self, values: dict[str, str]) -> None: ...

    async def get_full_variable(self, expression: str, channel: str | None = None) -> str | None:
        ...

    async def get_variable(self, name: str, *, allow_dead: bool = False) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ConnectedCall:
    """A caller bridged to an agent: what recording, monitoring and the panel need."""

    interaction_id: str
    agent_id: str
    queue: str
    caller_id: str | None
    caller_channel: str
    agent_channel: str
    pbx: str
    started_at: float
    data: dict[str, Any]


class CallHooks(Protocol):
    """What the server does around a connected call (recording, monitoring, screen pop)."""

    def acts_before_dial(self, interaction_id: str, queue: str) -> bool:
        """Whether ``before_dial`` will use the channel (a round trip before the Dial)."""
        ...

    async def before_dial(self, call: CallControl, interaction_id: str, queue: str) -> None: ...

    async def connected(self, call: ConnectedCall) -> None: ...

    async def ended(self, interaction_id: str) -> None: ...


class VoiceQueue:
    """``QueuePort`` for calls: one routing interaction per queued call."""

    def __init__(self, routing: RoutingService, clock: Clock, watch: ChannelWatch,
                 hooks: CallHooks | None = None, pbx_of: Callable[[str], str] | None = None,
                 legs: AgentLegs | None = None, transfer_dial: Callable[[str], str] | None = None,
                 transfer_ring_s: int = 45,
                 parked: Callable[[], Iterable[ParkedLeg]] | None = None,
                 talk_ended: Callable[[str], float | None] | None = None,
                 dial_end: Callable[[str, str], Awaitable[float | None]] | None = None) -> None:
        self.routing, self.clock, self.watch, self.hooks = routing, clock, watch, hooks
        self.pbx_of = pbx_of or (lambda _uid: "")
        self.legs, self.transfer_dial, self.transfer_ring_s = legs, transfer_dial, transfer_ring_s
        self.conversations: dict[str, Conversation] = {}  # interaction id -> connected call
        # Agent legs the call models show in the hold context (after a restart, only the AMI
        # resync knows them: the caller's channel that named the leg may be gone).
        self.parked = parked or (lambda: ())
        # When a connected caller no session held left the agent (UnattendedCalls.talk_ended).
        self.talk_ended = talk_ended or (lambda _uid: None)
        # Else, when the caller's Dial ended as Asterisk tells it (pbx, channel; DialEndReader).
        self.dial_end = dial_end or _unknown
        self._tasks: set[asyncio.Task[None]] = set()
        routing.subscribe(self._on_routing_event)

    def conversation(self, iid: str) -> Conversation | None:
        """The connected call of interaction ``iid`` (for the agent's call controls), if any."""
        return self.conversations.get(iid)

    async def run(self, call: CallControl, request: QueueRequest) -> QueueOutcome:
        """Keep the call until connected, abandoned, or sent out of the queue."""
        vcall: VoiceCall = call  # type: ignore[assignment]
        uid = call.env.uniqueid
        data = dict(request.data)
        data.update({"caller_id": request.caller_id or "", "flow": request.flow,
                     "ivr_path": "/".join(s.node for s in request.trace),
                     "channel": call.env.channel})
        self.watch.watch(uid)  # before enqueue: the offer may be dialled at once
        try:
            interaction = Interaction(channel="voice", queue=request.queue,
                                      priority=request.priority, skills=dict(request.skills),
                                      data=data, id=uid)
            iid = await self.routing.enqueue(interaction)
        except (RoutingError, ValueError) as exc:
            self.watch.forget(uid)
            return QueueOutcome("failed", detail=str(exc))
        return await self._hold(vcall, iid, request.queue, request.max_wait_s)

    async def resume(self, call: CallControl) -> QueueOutcome | None:
        """A caller back after the server restarted (dialplan retry): pick up their place.

        Returns None when the channel has no open interaction (run the flow as usual). A
        waiting call waits again; an offered one (the restored engine may offer it before the
        caller's AGI is back) is re-attached, which replays the Offered, and is dialled. A call
        on hold when the server went away is held again (``_resume_held``). Any other call
        that was connected is over by the time Asterisk retries the AGI (Dial or Bridge had
        returned), so it is closed.
        """
        uid = call.env.uniqueid
        state = self.routing.state_of(uid)
        if state is None:
            return None
        if state is InteractionState.OFFERED:
            settled = await self._settle_dial_made_while_away(call, uid)
            if settled is not None:
                return settled
            state = self.routing.state_of(uid)
            if state is None:
                return QueueOutcome("abandoned", detail="ended while the server was away")
        if state is InteractionState.CONNECTED and self.routing.on_hold_since(uid) is not None:
            return await self._resume_held(call, uid)  # type: ignore[arg-type]
        if state.value not in ("waiting", "offered"):
            log.info("queue call=%s: back after a restart in state %s; closing it", uid, state)
            # The talk ended when the caller left the agent (seen on AMI), or, if that was
            # while no server listened, when their Dial returned: not now, after the retries.
            ended = self.talk_ended(uid)
            if ended is None and state is InteractionState.CONNECTED:
                ended = await self.dial_end(self.pbx_of(uid), call.env.channel)
            try:
                await self.routing.complete(uid, at=ended)
            except RoutingError:
                await self.routing.abandon(uid)
            await _clear_resume(call)
            return QueueOutcome("abandoned", detail=f"resumed in state {state.value}")
        queue = self.routing.queue_of(uid) or ""
        log.info("queue call=%s: resumed in %s (%s) after a restart", uid, queue, state.value)
        self.watch.watch(uid)  # before the re-attach: an offer is dialled at once
        await self.routing.enqueue(Interaction(channel="voice", queue=queue, id=uid))
        return await self._hold(call, uid, queue, None)  # type: ignore[arg-type]

    async def _resume_held(self, call: VoiceCall, iid: str) -> QueueOutcome:
        """The caller was on hold when the server went away: their AGI ended then, but their
        Dial had returned already (the hold's Redirect ended it) and the agent's leg still
        waits in the hold context. So: music again, the same conversation for the panel
        (resume, hang up, transfer), and the queue loop after a transfer to a queue.

        The agent's leg is the one Asterisk itself recorded on the caller's channel when the
        Dial was answered (``DIALEDPEERNAME``; the hold moved that very channel): it comes
        back with the caller, needs no write of ours at hold time (none a crash could lose)
        and no database field. Without it, a leg the AMI resync found parked for this agent
        stands in. A leg gone meanwhile ends the call as a leg hung up on hold does: goodbye,
        hang up, the agent to wrap-up.
        """
        rec = self.routing.engine.live[iid]
        agent_id = rec.agent_id or ""
        session = _QueuedCall(self, call, iid, rec.queue, self.watch.watch(iid), None)
        leg = ""
        try:
            try:
                leg = await call.get_variable("DIALEDPEERNAME") or next(
                    (p.name for p in self._parked_legs_of(agent_id)), "")
                leg_gone = await self._watch_held_leg(call, iid, leg)
            except CallHangup:  # gone the moment they came back: free the agent's leg too
                await session._caller_gone()
                await self._hang_up_leg(self.pbx_of(iid), leg, iid)
                raise
            log.info("queue call=%s: back after a restart on hold with agent %s (leg %s%s)",
                     iid, agent_id, leg or "unknown", ", gone" if leg_gone.is_set() else "")
            outcome = await session.rejoin_held(agent_id, leg, leg_gone, rec.connected_at)
            if outcome is None:  # transferred to a queue: the caller waits there now
                outcome = await session.run()
            await _clear_resume(call)
            return outcome
        finally:
            self.watch.forget(iid)

    async def _watch_held_leg(self, call: VoiceCall, iid: str, leg: str) -> asyncio.Event:
        """Watch the agent's leg ``leg`` (a channel name) for its hangup; the event returned
        is set already when that channel no longer exists."""
        uid = await _uniqueid_of(call, leg)
        gone = self.watch.watch_leg(iid, uid or "")
        # Looked at again once watched: AMI events and AGI replies are not ordered, so a
        # hangup between the first look and the watch would go unseen.
        if uid is None or await _uniqueid_of(call, leg) is None:
            gone.set()
        return gone

    async def _hang_up_leg(self, pbx: str, leg: str, iid: str) -> None:
        if self.legs is None or not leg:
            return
        try:
            await self.legs.hangup(pbx, leg)
        except Exception as exc:  # noqa: BLE001 - already gone is fine
            log.info("call=%s: hangup of held leg %s: %s", iid, leg, exc)

    def _on_routing_event(self, event: rev.RoutingEvent) -> None:
        """A hold that ended with no session holding the caller (their hangup seen by the AMI
        resync or by ``UnattendedCalls`` while the server was restarting) leaves the agent's
        leg in the hold context, where nothing else would ever end it: hang it up."""
        if not isinstance(event, rev.Unheld) or self.watch.watching(event.interaction_id) \
                or self.routing.state_of(event.interaction_id) is InteractionState.CONNECTED:
            return
        task = asyncio.get_running_loop().create_task(
            self._release_parked_leg(event.interaction_id, event.agent_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release_parked_leg(self, iid: str, agent_id: str) -> None:
        """Hang up the agent's leg an AMI resync found parked in the hold context. It is told
        by the agent's dial string (``Local/1001@agents`` -> ``Local/1001@agents-0000001b;1``),
        as ``unattended_calls`` tells an offered agent's leg: an agent has one voice call at a
        time, and the caller's channel, which named the leg, is gone."""
        for leg in self._parked_legs_of(agent_id):
            log.info("call=%s: the caller left while on hold and no session held them; "
                     "hanging up agent %s's leg %s", iid, agent_id, leg.name)
            await self._hang_up_leg(leg.pbx, leg.name, iid)

    def _parked_legs_of(self, agent_id: str) -> list[ParkedLeg]:
        """Legs of ``agent_id``'s dial string an AMI resync found in the hold context."""
        agent = self.routing.config.agents.get(agent_id)
        dial = agent.dial_string if agent is not None else None
        if not dial:
            return []
        return [leg for leg in self.watch.unclaimed(self.parked())
                if leg.name.startswith(dial + "-")]

    async def _settle_dial_made_while_away(self, call: CallControl,
                                           iid: str) -> QueueOutcome | None:
        """The caller is back while their interaction is offered: if the Dial of that very
        offer ran to its end while the server was away (the old process had sent it; Asterisk
        carried on), report how it ended. Answered: the talk is over, so the interaction is
        completed and the agent goes to wrap-up (returns the outcome). Not answered: the offer
        failed and the caller waits again (returns None). A Dial of this offer that never
        started (CC_OFFER differs) leaves it to be dialled now (None)."""
        offer_id = self.routing.offer_of(iid)
        if offer_id is None:
            return None
        status = await call.get_variable("DIALSTATUS")
        if not status or await call.get_variable("CC_OFFER") != offer_number(offer_id):
            return None
        if status != "ANSWER":
            log.info("queue call=%s: its dial ended %s while the server was away", iid, status)
            await self.routing.offer_failed(offer_id, FAILED_STATUS.get(status, "no-answer"))
            return None
        log.info("queue call=%s: answered while the server was away; the talk is over", iid)
        # Both ends as they happened: the answer the agent's leg stamped on this channel, the
        # end when the Dial returned (as for a call connected before the restart).
        answered = stamped_at(await call.get_variable(ANSWER_STAMP), offer_number(offer_id),
                              self.clock.time())
        try:
            await self.routing.offer_answered(offer_id, at=answered)
        except RoutingError:
            pass  # already known as answered (AMI saw it: UnattendedCalls)
        ended = self.talk_ended(iid)
        if ended is None:
            ended = await self.dial_end(self.pbx_of(iid), call.env.channel)
        await self.routing.complete(iid, at=ended)
        await _clear_resume(call)
        return QueueOutcome("connected", detail="answered while the server was away")

    async def _hold(self, call: VoiceCall, iid: str, queue: str,
                    max_wait_s: float | None) -> QueueOutcome:
        feed = self.watch.watch(iid)
        session = _QueuedCall(self, call, iid, queue, feed, max_wait_s)
        try:
            # Tell the dialplan to bring the caller back if we vanish while they wait. When an
            # agent was free at entry the offer is already on its way: no music, and CC_RESUME
            # travels with the dial's variables (one MSet) instead of a round trip of its own.
            if self.routing.state_of(iid) is not InteractionState.OFFERED:
                await session.settle()
            outcome = await session.run()
            await _clear_resume(call)
            return outcome
        finally:
            self.watch.forget(iid)


async def _unknown(_pbx: str, _channel: str) -> float | None:
    return None


def offer_number(offer_id: str) -> str:
    """The per-interaction number of an offer (``<interaction id>#<n>``): id-like for MSet."""
    return offer_id.rpartition("#")[2]


# dialplan/extensions_contactcenter.conf: MSet(CC_RESUME=1,CC_INTERACTION=${ARG1},
# CC_AGENT=${ARG2},CC_OFFER=${ARG3},DIALSTATUS=) -- the same variables as offer_variables.
OFFER_SUBROUTINE = ("contactcenter-subs", "offer")


def offer_variables(iid: str, offer: rev.Offered) -> dict[str, str]:
    """What the caller's channel carries while an offer is dialled (see ``resume``)."""
    return {"CC_RESUME": "1", "CC_INTERACTION": iid, "CC_AGENT": offer.agent_id,
            "CC_OFFER": offer_number(offer.offer_id), "DIALSTATUS": ""}


def offer_subroutine(iid: str, offer: rev.Offered) -> Subroutine:
    """``offer_variables`` set by the dialplan's offer subroutine, from Dial's option B."""
    context, exten = OFFER_SUBROUTINE
    return Subroutine(context, exten, (iid, offer.agent_id, offer_number(offer.offer_id)))


async def _uniqueid_of(call: VoiceCall, channel: str) -> str | None:
    """The uniqueid of the live channel named ``channel`` (None: no such channel); GET FULL
    VARIABLE evaluates on another channel when given its name (res_agi.c)."""
    if not channel:
        return None
    return await call.get_full_variable("${CHANNEL(uniqueid)}", channel) or None


async def _clear_resume(call: CallControl) -> None:
    try:
        await call.set_variable("CC_RESUME", "0")
    except CallHangup:
        pass


class _QueuedCall:
    """The state of one call in the queue loop."""

    def __init__(self, owner: VoiceQueue, call: VoiceCall, iid: str, queue: str, feed,
                 max_wait_s: float | None) -> None:
        self.o, self.call, self.iid, self.queue, self.feed = owner, call, iid, queue, feed
        self.max_wait_s = max_wait_s
        self.connected = False
        self.conv: Conversation | None = None
        self.back_in_line = False  # a transfer put the caller back in a queue
        self.last_announce = -1e18
        self.cfg = owner.routing.queue_config(queue)
        self.settled = False  # CC_RESUME=1 is set and, unless dialling, the music plays

    async def settle(self) -> None:
        """The caller is (or may be) left waiting: CC_RESUME=1, then music on."""
        self.settled = True
        await self.call.set_variable("CC_RESUME", "1")
        await self._music(True)

    async def run(self) -> QueueOutcome:
        # An agent free at entry: the offer is already waiting, behind the Entered the same
        # enqueue call made. Handle what is buffered now, before starting the tasks below:
        # each task switch waits behind everything else the event loop has ready, and this is
        # the caller's entry-to-dial time.
        while (first := self.o.routing.take_update(self.iid)) is not None:
            try:
                outcome = await self._handle(first)
            except CallHangup:
                await self._caller_gone()
                raise
            if outcome is not None:
                return outcome
            if self.back_in_line:  # keys pressed while talking are not for the queue
                self.back_in_line = False
                while not self.feed.digits.empty():
                    self.feed.digits.get_nowait()
        inbox: asyncio.Queue[rev.RoutingEvent | None] = asyncio.Queue()
        # One task owns the update stream, so cancelling a wait never interrupts the generator.
        pump = asyncio.ensure_future(self._pump(inbox))
        try:
            next_update = asyncio.ensure_future(inbox.get())
            hangup = asyncio.ensure_future(self.call.wait_for_hangup())
            key = asyncio.ensure_future(self.feed.digits.get())
            # The flow's own max wait (queue node ``max_wait``) hands the call back to the flow.
            limit = asyncio.ensure_future(self.o.clock.sleep(self.max_wait_s)
                                          if self.max_wait_s else asyncio.Event().wait())
            try:
                while True:
                    done, _ = await asyncio.wait({next_update, hangup, key, limit},
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if limit in done:
                        limit = asyncio.ensure_future(asyncio.Event().wait())
                        try:
                            await self.o.routing.withdraw(self.iid, "flow-max-wait")
                        except RoutingError:
                            pass  # already offered or gone: the updates will say
                        continue
                    if hangup in done and hangup.result():
                        raise CallHangup("caller hung up while queued")
                    if hangup in done:
                        hangup = asyncio.ensure_future(self.call.wait_for_hangup())
                    if key in done:
                        await self._key(key.result())
                        key = asyncio.ensure_future(self.feed.digits.get())
                    if next_update in done:
                        event = next_update.result()
                        if event is None:
                            return QueueOutcome("failed", detail="routing stream ended")
                        outcome = await self._handle(event)
                        if outcome is not None:
                            return outcome
                        next_update = asyncio.ensure_future(inbox.get())
                        if self.back_in_line:  # keys pressed while talking are not for the queue
                            self.back_in_line = False
                            key.cancel()
                            while not self.feed.digits.empty():
                                self.feed.digits.get_nowait()
                            key = asyncio.ensure_future(self.feed.digits.get())
            finally:
                for fut in (next_update, hangup, key, limit):
                    fut.cancel()
        except CallHangup:
            await self._caller_gone()
            raise
        finally:
            pump.cancel()

    async def _pump(self, inbox: asyncio.Queue[rev.RoutingEvent | None]) -> None:
        try:
            async for event in self.o.routing.updates(self.iid):
                inbox.put_nowait(event)
        finally:
            inbox.put_nowait(None)

    async def _handle(self, event: rev.RoutingEvent) -> QueueOutcome | None:
        if not self.settled and not isinstance(event, rev.Offered) \
                and self.o.routing.state_of(self.iid) is InteractionState.WAITING:
            await self.settle()  # the offer made at entry fell through: the caller waits
        if isinstance(event, rev.Position):
            await self._announce(event)
        elif isinstance(event, rev.Offered) and event.callback_number is None:
            return await self._dial(event)
        elif isinstance(event, rev.Exited):
            # The flow's queue node decides where an exit goes (on_exit); a "message" exit
            # plays its sound and hangs up first, so on_exit never runs for it.
            dest = event.destination or {}
            log.info("queue call=%s exit reason=%s destination=%s", self.iid, event.reason, dest)
            if dest.get("type") == "callback":
                # Call the caller id back, keeping the place (the interaction is re-opened);
                # an undialable caller id is a plain exit (the flow's on_exit decides).
                done = await request_callback(self.o.routing, self.iid, self.call.env.callerid)
                if not done.ok:
                    return QueueOutcome("exit", detail=f"{event.reason}:callback {done.detail}")
                if dest.get("target"):
                    await self.call.stream_file(str(dest["target"]))
                return QueueOutcome("callback", detail=f"{event.reason}:callback")
            if dest.get("type") in {"message", "hangup"}:
                if dest.get("target"):
                    await self.call.stream_file(str(dest["target"]))
                await self.call.hangup()
            return QueueOutcome("exit", detail=f"{event.reason}:{dest.get('type')}")
        elif isinstance(event, (rev.Abandoned, rev.Completed)):
            return QueueOutcome("abandoned" if isinstance(event, rev.Abandoned) else "connected")
        elif isinstance(event, (rev.Overflowed, rev.Transferred)) and event.to_queue:
            await self._switch_queue(event.to_queue)
        return None

    async def _switch_queue(self, queue: str, music: bool = False) -> None:
        """The call waits in another queue now: its announcements and music class apply."""
        if queue != self.queue:
            try:
                self.queue, self.cfg = queue, self.o.routing.queue_config(queue)
            except RoutingError:
                pass
            else:
                music = True
        if music and not self.connected:
            await self._music(True)

    async def _music(self, on: bool) -> None:
        await self.call.set_music(on, self.cfg.announce.moh_class if on else "")

    async def _announce(self, pos: rev.Position) -> None:
        ann = self.cfg.announce
        now = self.o.clock.monotonic()
        if not (ann.position or ann.expected_wait) or now - self.last_announce < ann.interval_s:
            return
        self.last_announce = now
        if ann.position:
            if pos.position <= 1:
                await self.call.stream_file("queue-youarenext")
            else:
                await self.call.stream_file("queue-thereare")
                await self.call.say_number(pos.position)
                await self.call.stream_file("queue-callswaiting")
        if ann.expected_wait and pos.ewt_s is not None and pos.ewt_s >= 60:
            await self.call.stream_file("queue-holdtime")
            await self.call.say_number(max(1, round(pos.ewt_s / 60)))
            await self.call.stream_file("queue-minutes")
        await self._music(True)

    async def _key(self, digit: str) -> None:
        if self.cfg.leave_digit and digit == self.cfg.leave_digit:
            log.info("queue call=%s: caller pressed %s to leave", self.iid, digit)
            await self.o.routing.leave(self.iid)  # answered by an Exited update

    async def _dial(self, offer: rev.Offered) -> QueueOutcome | None:
        if not offer.dial_string:
            await self.o.routing.offer_failed(offer.offer_id, "unavailable")
            if not self.settled:
                await self.settle()
            return None
        # The offer's variables (CC_RESUME, CC_INTERACTION, CC_AGENT, CC_OFFER, an emptied
        # DIALSTATUS) are set by the dialplan's offer subroutine, which Dial itself runs on the
        # caller's channel before it calls the agent (option B): no round trip of their own.
        # CC_OFFER and the emptied DIALSTATUS let a caller who comes back after a restart tell
        # whether this very Dial was answered while the server was away (see resume).
        before: Subroutine | None = offer_subroutine(self.iid, offer)
        hooks = self.o.hooks
        if hooks is not None and hooks.acts_before_dial(self.iid, self.queue):
            # A round trip comes before the Dial (recording starts): CC_RESUME goes first so
            # a caller offered at entry is brought back if the server vanishes meanwhile.
            await self.call.set_variables(offer_variables(self.iid, offer))
            before = None
            await hooks.before_dial(self.call, self.iid, self.queue)
        self.settled = True
        watcher = asyncio.ensure_future(self._await_answer(offer))
        while not self.feed.rings.empty():  # rings AMI showed after an earlier Dial returned
            self.feed.rings.get_nowait()
        ringer = asyncio.ensure_future(self._await_ring(offer))
        keeper = asyncio.ensure_future(self._keep_offer(offer))
        hung_up = False
        try:
            # g: Dial returns 0 when the agent's side leaves the bridge (hangup or Redirect),
            # so the caller's AGI goes on (app_dial.c OPT_GO_ON).
            # Once AMI has shown the answer, Dial's status is known: no round trip to read it.
            # U: the agent's answer stamps the caller's channel, for a server that restarts
            # before it could see the answer (answer_stamp.py).
            status = await self.call.dial(
                offer.dial_string, max(1, round(offer.ring_timeout_s)), "g",
                known_status=self._answered_status, before=before,
                answered=answered_subroutine(self.iid, offer_number(offer.offer_id)))
        except CallHangup:
            hung_up = True
            raise
        finally:
            ringer.cancel()
            keeper.cancel()
            if self.connected:
                await watcher  # let its reports (offer_answered, hooks) finish
            else:
                watcher.cancel()
                if hung_up and await self._answered_unseen():
                    # The caller hung up during the talk and AMI was down at the answer: it
                    # was answered (then the hangup completes it, rather than abandoning it).
                    try:
                        await self._answered(offer, DialAnswer(self.o.pbx_of(self.iid), "", ""))
                    except RoutingError as exc:  # the offer ended meanwhile (safety timer)
                        log.info("queue call=%s: answer not reported: %s", self.iid, exc)
        if status == "ANSWER" or self.connected:
            if not self.connected:  # AMI was down: learn it from Dial itself
                await self._answered(offer, DialAnswer(self.o.pbx_of(self.iid), "", ""))
            return await self._conversation(offer.agent_id)
        await self.o.routing.offer_failed(offer.offer_id, FAILED_STATUS.get(status, "no-answer"))
        await self._music(True)
        return None

    def _answered_status(self) -> str | None:
        return "ANSWER" if self.connected else None

    async def _keep_offer(self, offer: rev.Offered) -> None:
        """While this session's Dial runs, the offer is being carried out: keep the engine's
        ring safety timer (ring time + grace) from firing. It is there for reports that are
        lost, and this one is only late: when the AMI link was down as the agent answered, the
        answer is known when Dial returns, after the talk; meanwhile the timer would take the
        agent for "no answer", pause them and put the caller back in line. The first renewal
        is at once: the timer then counts from the Dial's start, as the Dial's own ring timeout
        does, which still ends an unanswered Dial first (offer_failed)."""
        period = max(1.0, offer.ring_timeout_s / 2)
        while not self.connected:
            try:
                await self.o.routing.renew_offer(offer.offer_id)
            except RoutingError:  # the offer ended (the caller left, another path settled it)
                return
            await self.o.clock.sleep(period)

    async def _answered_unseen(self) -> bool:
        """After the caller hung up during Dial: DIALSTATUS (readable on the dead channel)
        says the agent had answered, which AMI did not show (the link was down)."""
        try:
            status = await self.call.get_variable("DIALSTATUS", allow_dead=True)
        except (CallHangup, AgiCommandError):  # the AGI session is gone too: cannot tell
            return False
        return status == "ANSWER"

    async def rejoin_held(self, agent_id: str, leg: str, leg_gone: asyncio.Event,
                          connected_at: float | None) -> QueueOutcome | None:
        """Take up a conversation the caller was on hold in when the server restarted (see
        ``VoiceQueue._resume_held``); None when it was transferred to a queue."""
        self.settled = self.connected = True  # CC_RESUME=1 is still set: the Dial's B() set it
        pbx = self.o.pbx_of(self.iid)
        conv = Conversation(self.o.routing, self.call, self.iid, agent_id, leg, pbx,  # type: ignore[arg-type]
                            self.o.legs, leg_gone, self._music)
        conv.intent, conv.state = ("hold", ""), "held"
        self.conv = self.o.conversations[self.iid] = conv
        try:
            hooks = self.o.hooks
            if hooks is not None and not leg_gone.is_set():  # live again for this process
                env = self.call.env
                await hooks.connected(ConnectedCall(
                    self.iid, agent_id, self.queue, env.callerid, env.channel, leg, pbx,
                    connected_at or self.o.clock.time(), self._screen_pop()))
            return await self._conversation(agent_id)
        except CallHangup:
            await self._caller_gone()
            raise

    async def _conversation(self, agent_id: str) -> QueueOutcome | None:
        """The agent answered and the first bridge is over: holds, resumes, transfers."""
        conv = self.conv
        kind, target = await conv.follow() if conv is not None else ("ended", "")
        self._forget_conversation()
        hooks = self.o.hooks
        if kind in ("ended", "gone"):
            try:
                await self.o.routing.complete(self.iid)
            except RoutingError as exc:  # ended meanwhile, or a transfer raced the hangup
                log.info("queue call=%s: complete: %s", self.iid, exc)
                state = self.o.routing.state_of(self.iid)
                if state is not None and state.value in ("waiting", "offered"):
                    kind, target = "queue", self.queue  # back in line: the updates say where
            if kind != "queue" and hooks is not None:
                await hooks.ended(self.iid)
            if kind == "gone":  # the agent's leg ended while the caller was on hold
                await self.call.stream_file("vm-goodbye")
                await self.call.hangup()
            if kind != "queue":
                return QueueOutcome("connected", detail=agent_id)
        self.connected = False
        if hooks is not None:
            await hooks.ended(self.iid)
        if kind == "queue":
            self.back_in_line = True
            log.info("queue call=%s: transferred by agent %s to %s", self.iid, agent_id, target)
            await self._switch_queue(target, music=True)  # no silence while the line moves
            return None
        return await self._transfer_out(target, agent_id)

    async def _transfer_out(self, number: str, agent_id: str) -> QueueOutcome:
        """The agent sent the caller to an outside number: dial it, end with that call."""
        status = "CHANUNAVAIL"
        # The interaction is over for us: should the server go away during that outside call,
        # the dialplan must hang up when it ends, not bring the caller back to the IVR.
        await _clear_resume(self.call)
        if self.o.transfer_dial is not None:
            dial = self.o.transfer_dial(number)
            log.info("queue call=%s: agent %s transfers to %s (%s)", self.iid, agent_id, number,
                     dial)
            status = await self.call.dial(dial, self.o.transfer_ring_s, "g")
        if status != "ANSWER":
            await self.call.stream_file("vm-goodbye")
        await self.call.hangup()
        return QueueOutcome("connected", detail=f"transfer:{number}:{status.lower()}")

    def _forget_conversation(self) -> None:
        if self.conv is not None and self.o.conversations.get(self.iid) is self.conv:
            del self.o.conversations[self.iid]
        self.conv = None

    async def _await_answer(self, offer: rev.Offered) -> None:
        await self._answered(offer, await self.feed.answers.get())

    async def _await_ring(self, offer: rev.Offered) -> None:
        """Report the agent's phone ringing, so the floor shows them ``ringing``, not
        ``reserved``, until they answer or the ring times out. Only a leg of this offer's dial
        string counts: AMI may lag behind the AGI session, and a ring of the previous offer's
        leg (another agent's phone) must not be taken for this one."""
        wanted = (offer.dial_string or "").partition("/")[2]
        while await self.feed.rings.get() != wanted:
            pass
        if self.connected:
            return  # answered already: ringing is over
        try:
            await self.o.routing.offer_ringing(offer.offer_id)
        except RoutingError as exc:  # the offer ended meanwhile (safety timer, hangup)
            log.debug("queue call=%s: ringing not reported: %s", self.iid, exc)

    async def _answered(self, offer: rev.Offered, leg: DialAnswer) -> None:
        if self.connected:
            return
        self.connected = True  # before any await: _dial relies on it to wait for us
        pbx = leg.pbx or self.o.pbx_of(self.iid)
        leg_gone = self.o.watch.watch_leg(self.iid, leg.agent_uniqueid)
        self.conv = Conversation(self.o.routing, self.call, self.iid, offer.agent_id,  # type: ignore[arg-type]
                                 leg.agent_channel, pbx, self.o.legs, leg_gone, self._music)
        self.o.conversations[self.iid] = self.conv
        await self.o.routing.offer_answered(offer.offer_id)
        hooks = self.o.hooks
        if hooks is not None:
            env = self.call.env
            await hooks.connected(ConnectedCall(
                self.iid, offer.agent_id, self.queue, env.callerid, env.channel,
                leg.agent_channel, pbx, self.o.clock.time(), self._screen_pop()))

    def _screen_pop(self) -> dict[str, Any]:
        """The data the Connected event carried (what the IVR gathered), as callbacks pop."""
        return self.o.routing.screen_pop(self.iid) or {}

    async def _caller_gone(self) -> None:
        conv = self.conv
        self._forget_conversation()
        if conv is not None and conv.state in ("held", "resuming"):
            await conv.drop_leg()  # nobody else would hang up the agent's leg on hold
        try:
            # abandon completes a connected interaction (and ends a hold); a transfer may
            # already have put it back in line, where leaving is abandoning.
            await self.o.routing.abandon(self.iid)
        except RoutingError as exc:  # already ended by a timer or another path
            log.debug("queue call=%s: %s", self.iid, exc)
        if self.connected and self.o.hooks is not None:
            await self.o.hooks.ended(self.iid)


__all__ = ["Awaitable", "CallHooks", "ConnectedCall", "VoiceCall", "VoiceQueue"]
