"""The simulated dialplan: inbound calls, agent legs, Dial, Originate targets and ChanSpy.

Design note: each live channel has exactly one owner coroutine here (or in the AGI session),
which waits for its ``hangup_requested`` flag and then performs the hangup with the events of
the transcripts. Contexts known without configuration, like the lab's: the inbound contexts
(Answer, then ``AGI(<agi_url>)``, then the shipped dialplan's node loop: agi_nodes.py),
``sim-agent`` (auto-answering silent phone) and ``sim-agent-moh`` (the same, carrying audio).
Any added ``Phone`` is also a dial target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .agi_nodes import NODE_LABELS, NODE_SUBROUTINES, NodeLoop
from .channels import STATE_RINGING, SimChannel
from .model import Phone
from .waits import Flag, wait_any

if TYPE_CHECKING:
    from .calls import SimCall
    from .pbx import Pbx

SIM_AGENT_CONTEXTS = {"sim-agent": False, "sim-agent-moh": True}  # context -> carries audio


# [contactcenter-subs] offer: what Dial's B() runs on the caller as the server dials an agent.
OFFER_SUB = ("contactcenter-subs", "offer")
# [contactcenter-answered] s: what Dial's U() runs on the agent's leg once it answered.
ANSWERED_SUB = ("contactcenter-answered", "s")
# dialplan/extensions_contactcenter.conf's subroutines, as ShowDialPlan lists them (the ones the
# simulator runs itself: offer here, the node loop's in agi_nodes.py, trunk folded into its
# outbound code).
SUBROUTINES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    **NODE_SUBROUTINES,
    ("contactcenter-subs", "trunk"): (
        ("Set", "CC_TRUNK=${CONTACTCENTER_TRUNK}"),
        ("GotoIf", '$["${CC_TRUNK}" != ""]?done'),
        ("Set", "CC_TRUNK=PJSIP/trunk"), ("Return", "")),
    OFFER_SUB: (
        ("MSet", ("CC_RESUME=1,CC_INTERACTION=${ARG1},CC_AGENT=${ARG2},CC_OFFER=${ARG3},"
                  "DIALSTATUS=")),
        ("Return", "")),
    ANSWERED_SUB: (
        ("Set", "SHARED(CC_ANSWERED,${ARG1})=${ARG2}@${STRFTIME(,,%s.%3q)}"),
        ("Return", "")),
}
# Their labelled priorities (ShowDialPlan's ExtensionLabel): (context, exten, priority) -> label.
LABELS = {**NODE_LABELS, ("contactcenter-subs", "trunk", 4): "done"}


@dataclass(frozen=True, slots=True)
class Target:
    """Where a dial string leads."""

    dial_string: str
    kind: str  # "local" | "pjsip" | "inbound"
    exten: str
    context: str
    answer_after: float | None
    talk_for: float | None
    audio: bool
    busy: bool = False  # the phone refuses the call (Phone.busy)
    speech: str | None = None  # what the phone says (Phone.speech)


class Dialplan:
    """Runs channels through the simulated dialplan."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.clock = pbx.clock
        # Set by the simulator: runs an AGI session on a channel.
        self.agi_runner: Callable[[SimChannel, str, SimCall | None], Awaitable[None]] | None = None
        # Callee legs redirected out of a bridge, running their new location (bridge_app.py);
        # Bridge() may take them over from these tasks.
        self.parked: dict[SimChannel, asyncio.Task] = {}

    # -- targets -------------------------------------------------------------------------
    def resolve(self, dial_string: str) -> Target | None:
        """The target of ``Local/x@ctx`` or ``PJSIP/x``, None when nothing answers there."""
        tech, _, rest = dial_string.partition("/")
        phone: Phone | None = self.pbx.phones.get(dial_string) or (
            self.pbx.phones.get(f"Local/{rest.split('/', 1)[0]}") if tech == "Local" else None)
        rest = rest.split("/", 1)[0]  # drop Local/.../n options
        if tech == "Local" and "@" in rest:
            exten, _, context = rest.partition("@")
            if phone is not None:
                return Target(
                    dial_string,
                    "local",
                    exten,
                    context,
                    phone.answer_after,
                    phone.talk_for,
                    phone.audio,
                    phone.busy,
                    phone.speech,
                )
            if context in SIM_AGENT_CONTEXTS:
                return Target(
                    dial_string, "local", exten, context, 0.0, None, SIM_AGENT_CONTEXTS[context]
                )
            if context in self.pbx.config.inbound_contexts:
                return Target(dial_string, "inbound", exten, context, 0.0, None, False)
            return None
        if tech in ("PJSIP", "SIP") and phone is not None and rest:
            return Target(
                dial_string,
                "pjsip",
                rest,
                "default",
                phone.answer_after,
                phone.talk_for,
                phone.audio,
                phone.busy,
                phone.speech,
            )
        return None

    # -- hangup helpers ------------------------------------------------------------------
    async def _wait_hangup(self, ch: SimChannel, seconds: float | None) -> bool:
        """Until ``ch`` is asked to hang up (True) or ``seconds`` clock seconds pass (False;
        None: no limit)."""
        limit = None if seconds is None else self.clock.real(max(0.0, seconds))
        return await wait_any((ch.hangup_requested,), limit)

    def end_pair(self, ch: SimChannel, cause: int | None = None) -> None:
        """Hang up ``ch`` and then its Local peer, with the transcripts' event order."""
        pbx = self.pbx
        code = ch.hangup_cause if cause is None else cause
        peer = ch.peer if ch.peer is not None and not ch.peer.gone else None
        if peer is not None:
            pbx.emit_ch("HangupRequest", peer, [("Cause", str(code))])
        pbx.hangup(ch, code)
        if peer is not None:
            pbx.emit_ch("SoftHangupRequest", peer, [("Cause", "16")])
            pbx.hangup(peer, code)

    def _devices(self, ch: SimChannel, state: str) -> None:
        device = ch.name.rsplit("-", 1)[0]
        if ch.tech == "Local":
            self.pbx.device_state(device, state)

    # -- agent-side legs -----------------------------------------------------------------
    def _answer_far_side(self, far: SimChannel, target: Target) -> None:
        """The callee's dialplan answers: NoOp, Answer, Newstate Up."""
        if target.kind == "local":
            self.pbx.newexten(far, "NoOp", f"{target.context} {target.exten} answering", priority=1)
            self.pbx.newexten(far, "Answer", "", priority=2)
        self.pbx.answer(far)

    def create_leg(
        self,
        target: Target,
        linkedid: str | None,
        caller: SimChannel | None,
        caller_id: tuple[str | None, str | None] | None,
    ) -> tuple[SimChannel, SimChannel]:
        """Create the callee's channel(s); returns (near, far) -- the same channel for PJSIP."""
        pbx = self.pbx
        if target.kind == "pjsip":
            ch = pbx.new_channel(f"PJSIP/{target.exten}", target.context, "s", linkedid=linkedid)
            ch.audio, ch.speech = target.audio, target.speech
            if caller is not None:
                pbx.set_var(ch, "DIALEDPEERNUMBER", target.exten)
                pbx.set_callerid(ch, caller.caller_num, caller.caller_name)
                pbx.set_connected(ch, caller.caller_num, caller.caller_name)
            elif caller_id is not None:
                pbx.set_callerid(ch, *caller_id)
                pbx.set_connected(ch, *caller_id)
            return ch, ch
        one, two = pbx.new_local_pair(target.exten, target.context, linkedid=linkedid)
        one.audio = two.audio = target.audio
        one.speech = two.speech = target.speech
        if caller is not None:
            number = f"{target.exten}@{target.context}"
            pbx.set_var(one, "DIALEDPEERNUMBER", number)
            pbx.newexten(one, "AppDial", "(Outgoing Line)", exten=caller.exten)
            pbx.set_callerid(one, caller.exten, caller.caller_name)
            pbx.set_connected(one, caller.caller_num, caller.caller_name)
            pbx.set_var(two, "DIALEDPEERNUMBER", number)
            pbx.set_callerid(two, caller.caller_num, caller.caller_name)
            pbx.set_connected(two, caller.exten, caller.caller_name)
        else:
            pbx.newexten(one, "AppDial2", "(Outgoing Line)")
            if caller_id is not None:
                for ch in (one, two):
                    pbx.set_callerid(ch, *caller_id)
                    pbx.set_connected(ch, *caller_id)
        pbx.local_bridge(one, two)
        return one, two

    async def ring(
        self,
        near: SimChannel,
        far: SimChannel,
        target: Target,
        timeout: float | None,
        watch: list[Flag],
    ) -> str:
        """Let the callee ring; returns ANSWER, NOANSWER, CANCEL (a ``watch`` flag) or BUSY."""
        if target.busy:  # 486 Busy Here at once: no ringing, the leg ends with cause 17
            far.hangup_cause = 17
            return "BUSY"
        if target.answer_after == 0.0:
            self._answer_far_side(far, target)
            return "ANSWER"
        self.pbx.set_state(near, STATE_RINGING)
        if target.kind == "pjsip":
            self.pbx.device_state(f"PJSIP/{target.exten}", "RINGING")
        gone = near.hangup_requested if near is far else far.hangup_requested
        answer_after = target.answer_after
        # One timer: the phone's answer, unless the dial timeout comes first (a tie answers).
        answers = answer_after is not None and (timeout is None or answer_after <= timeout)
        wait_s = answer_after if answers else timeout
        rang_out = not await wait_any(
            [*watch, gone], None if wait_s is None else self.clock.real(wait_s))
        if any(e.is_set() for e in watch):
            return "CANCEL"
        if far.hangup_requested.is_set() or near.hangup_requested.is_set():
            return "BUSY" if far.hangup_cause in (17, 21) else "CHANUNAVAIL"
        if answers and rang_out:
            self._answer_far_side(far, target)
            return "ANSWER"
        return "NOANSWER"

    def drop_leg(self, near: SimChannel, far: SimChannel, cause: int = 16) -> None:
        """Hang up an unanswered or finished callee leg."""
        if near.gone and far.gone:
            return
        if near is far:
            self.pbx.hangup(near, cause)
            self.pbx.device_state(
                f"PJSIP/{near.name.split('/', 1)[1].rsplit('-', 1)[0]}", "NOT_INUSE"
            )
            return
        self.end_pair(near if not near.gone else far, cause)

    async def far_side_owner(self, near: SimChannel, far: SimChannel, target: Target) -> None:
        """Own a callee's far half (or PJSIP channel) until it ends; ask the near side to go."""
        if near is not far:
            self.pbx.newexten(far, "Wait", "60", priority=3)
        await self._wait_hangup(far, target.talk_for)
        if far.gone or (far.redirect_to is not None and not far.hangup_asked):
            return  # gone, or redirected (its new location owns it now)
        if not far.hangup_requested.is_set():  # the agent hangs up after talking
            if near is not far:
                self.pbx.newexten(far, "Hangup", "", priority=4)
                self.pbx.emit_ch("SoftHangupRequest", far, [("Cause", "16")])
            far.hangup_cause = 16
            far.hangup_asked = True
            far.hangup_requested.set()
        if near is not far:
            near.hangup_cause = far.hangup_cause
            self.pbx.emit_ch("HangupRequest", near, [("Cause", str(far.hangup_cause))])
            near.hangup_asked = True
            near.hangup_requested.set()
            self.pbx.hangup(far)
        else:
            self.pbx.emit_ch("HangupRequest", far, [("Cause", "16")])

    # -- subroutines ---------------------------------------------------------------------
    def gosub(self, ch: SimChannel, location: str) -> bool:
        """Run ``context,exten,priority(args)`` on ``ch`` as app_stack does (events as Asterisk
        23 sends them: ``LOCAL(ARGn)``/``LOCAL(ARGC)`` VarSets, a Newexten per priority, the
        frame's variables emptied on Return), then put the channel back where it was. Only the
        subroutines of dialplan/extensions_contactcenter.conf that the server calls are known;
        any other location returns False (Asterisk logs an error and Dial goes on)."""
        where, _, rest = location.partition("(")
        parts = where.split(",")
        args = rest[:-1].split(",") if rest.endswith(")") else []
        if len(parts) != 3 or (parts[0], parts[1]) not in self.subroutines():
            return False
        pbx = self.pbx
        saved = ch.context, ch.exten, ch.priority, ch.application, ch.app_data
        frame = [f"ARG{i}" for i in range(1, len(args) + 1)] + ["ARGC"]
        for name, value in zip(frame, [*args, str(len(args))], strict=True):
            ch.variables[name] = value
            self._varset_event(ch, f"LOCAL({name})", value)
        # The subroutine as listed: one setting priority over the ${ARGn} (unset ones expand
        # to ""), then Return.
        (app, data), (ret, ret_data) = SUBROUTINES[parts[0], parts[1]]
        for i in range(1, 4):
            data = data.replace(f"${{ARG{i}}}", args[i - 1] if i <= len(args) else "")
        if "${STRFTIME(,,%s.%3q)}" in data:  # now, to the millisecond, truncated as %3q does
            now = self.clock.time()
            data = data.replace("${STRFTIME(,,%s.%3q)}", f"{int(now)}.{int(now % 1 * 1000):03d}")
        pbx.newexten(ch, app, data, context=parts[0], exten=parts[1], priority=1)
        if app == "MSet":
            for pair in data.split(","):  # ids only: no quoting in the values
                name, _, value = pair.partition("=")
                pbx.set_var(ch, name, value)
        else:  # Set(SHARED(<var>,<channel>)=<value>): func_global's shared_write
            target, _, value = data.partition("=")
            var, _, where = target[len("SHARED("):-1].partition(",")
            other = pbx.find(where) if where else ch
            if other is not None and not other.gone:  # else Asterisk logs "not found"
                pbx.set_shared(other, var, value)
        pbx.newexten(ch, ret, ret_data, priority=2)
        for name in reversed(frame):  # ARGC, ARGn..ARG1: the frame's locals are dropped
            ch.variables.pop(name, None)
            self._varset_event(ch, name, "")
        pbx.set_var(ch, "GOSUB_RETVAL", "")
        ch.context, ch.exten, ch.priority, ch.application, ch.app_data = saved
        return True

    def subroutines(self) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
        """The shipped dialplan's subroutines this PBX has: (context, exten) -> priorities as
        (application, data), as ShowDialPlan lists them."""
        subs = dict(SUBROUTINES)
        if self.pbx.config.without_offer_sub:
            del subs[OFFER_SUB]
        if self.pbx.config.without_answered_sub:
            del subs[ANSWERED_SUB]
        return subs

    def _varset_event(self, ch: SimChannel, name: str, value: str) -> None:
        """A VarSet that changes no ordinary variable (a Gosub frame's locals)."""
        if self.pbx.bus.wants("VarSet", "dialplan,all"):
            self.pbx.emit_ch("VarSet", ch, [("Variable", name), ("Value", value)],
                             "dialplan,all")

    # -- inbound calls -------------------------------------------------------------------
    async def inbound_call(self, call: SimCall, agi_urls: Sequence[str]) -> None:
        """A caller dials ``exten``: Local pair, ;2 answers and runs AGI, ;1 is the caller."""
        one, two = self.open_inbound(call)
        await self.run_inbound(call, one, two, agi_urls)

    def open_inbound(self, call: SimCall) -> tuple[SimChannel, SimChannel]:
        """The first, synchronous part of ``inbound_call``: the answered Local pair."""
        pbx, s = self.pbx, call.script
        one, two = pbx.new_local_pair(s.exten, s.context)
        call.uniqueid, call.linkedid = one.uniqueid, one.linkedid
        call.caller_channel, call.agi_channel = one.name, two.name
        pbx.processed_calls += 1
        pbx.newexten(one, "AppDial2", "(Outgoing Line)")
        for name, value in s.variables.items():
            pbx.set_var(one, name, value)
        for name, value in s.variables.items():
            pbx.set_var(two, name, value)
        if s.caller_id or s.caller_name:
            for ch in (one, two):
                pbx.set_callerid(ch, s.caller_id, s.caller_name)
                pbx.set_connected(ch, s.caller_id, s.caller_name)
        two.dnid = s.exten
        two.speech = s.speech  # the caller's voice: ;2 is the channel bridged to the agent
        pbx.local_bridge(one, two)
        pbx.dial_begin(None, one, f"{s.exten}@{s.context}")
        pbx.newexten(
            two,
            "NoOp",
            f'{s.context} call to {s.exten} from "{s.caller_name or ""}" <{s.caller_id or ""}>',
        )
        pbx.newexten(two, "Answer", "", priority=2)
        pbx.answer(two)
        pbx.answer(one)
        pbx.dial_end(None, one, "ANSWER")
        self._devices(one, "INUSE")
        self._devices(two, "INUSE")
        return one, two

    async def run_inbound(
        self, call: SimCall, one: SimChannel, two: SimChannel, agi_urls: Sequence[str]
    ) -> None:
        """The rest of ``inbound_call``: the caller's side, and AGI on ;2 until it ends."""
        caller = self.pbx.spawn(self._caller(call, one))
        try:
            await self.run_agi_leg(two, agi_urls, call)
        finally:
            await asyncio.wait([caller], timeout=self.clock.real(5.0))
            call.mark_ended()

    async def _caller(self, call: SimCall, one: SimChannel) -> None:
        await self._wait_hangup(one, call.script.hangup_after)
        if one.gone:
            return
        if not one.hangup_requested.is_set():
            self.pbx.request_hangup(one, 16)
        call.set_outcome("caller-hangup")
        two = one.peer
        if two is not None and not two.gone:
            two.hangup_cause = one.hangup_cause
            self.pbx.emit_ch("HangupRequest", two, [("Cause", str(one.hangup_cause))])
            two.hangup_asked = True
            two.hangup_requested.set()
        self.pbx.hangup(one)
        self._devices(one, "NOT_INUSE")

    async def run_agi_leg(self, ch: SimChannel, agi_urls: Sequence[str], call: SimCall | None,
                          *, run_agi_nodes: bool = False) -> None:
        """Own ``ch`` from its AGI() priority to its hangup (redirects included), trying the
        nodes ``agi_urls`` in order as the shipped dialplan does (agi_nodes.py). With
        ``run_agi_nodes`` the context runs ``Gosub(contactcenter-subs,agi-nodes,1)`` first and
        connects at once (``[contactcenter-callback]``); else after ``agi_connect_delay``."""
        config = self.pbx.config
        loop = NodeLoop(self.pbx, ch, tuple(agi_urls), explicit=bool(config.agi_urls))
        url: str | None = loop.url
        if run_agi_nodes:
            loop.run_agi_nodes()
            self.pbx.newexten(ch, "AGI", loop.url, priority=ch.priority + 1)
        delay = 0.0 if run_agi_nodes else config.agi_connect_delay
        while url is not None:
            await self._wait_hangup(ch, delay)
            if ch.gone:
                return
            if not ch.hangup_requested.is_set():
                assert self.agi_runner is not None
                if ch.application != "AGI":
                    self.pbx.newexten(ch, "AGI", url, priority=ch.priority + 1)
                loop.agi_priority = ch.priority
                await self.agi_runner(ch, url, call)
            if ch.gone or ch.hangup_requested.is_set() or ch.redirect_to is not None:
                break
            # A refused node: the next one at once; a new round: after agi-next's Wait(2).
            refused = self.pbx.get_var(ch, "AGISTATUS") == "FAILURE"
            node = loop.node
            url = await loop.next_url()
            delay = 0.0 if refused and loop.node == node + 1 else config.agi_connect_delay
            if url is None and refused and call is not None:
                call.set_outcome("agi-failed")  # no node took the call
        await self.after_agi(ch)

    async def _follow_redirect(self, ch: SimChannel) -> bool:
        """Run the channel at its pending Redirect target, if any; True when it did."""
        if ch.redirect_to is None or ch.hangup_asked:
            return False
        context, exten, priority = ch.redirect_to
        ch.redirect_to = None
        ch.hangup_requested.clear()
        await self.run_location(ch, context, exten, priority, redirected=True)
        return True

    async def after_agi(self, ch: SimChannel) -> None:
        """The dialplan after AGI returned: follow a redirect or hang up."""
        if ch.gone:
            return
        if await self._follow_redirect(ch):
            return
        if not ch.hangup_requested.is_set():
            self.pbx.newexten(ch, "Hangup", "", priority=ch.priority + 1)
        self.pbx.emit_ch("SoftHangupRequest", ch, [("Cause", "16")])
        self.end_pair(ch)

    async def run_location(
        self, ch: SimChannel, context: str, exten: str, priority: int, redirected: bool = False
    ) -> None:
        """Run ``ch`` at context/exten (after a Redirect or an Originate) until it hangs up."""
        pbx = self.pbx
        ch.context, ch.exten, ch.priority = context, exten, priority
        if context in pbx.config.inbound_contexts:
            pbx.newexten(ch, "Answer", "", priority=2)
            pbx.answer(ch)
            urls = pbx.config.agi_nodes()
            pbx.newexten(ch, "AGI", urls[0], priority=3)
            await self.run_agi_leg(ch, urls, None)
            return
        target = self.resolve(f"Local/{exten}@{context}")
        if target is None and not redirected:
            pbx.newexten(ch, "Hangup", "", priority=priority)
            self.end_pair(ch, 16)
            return
        pbx.newexten(ch, "Answer", "", priority=2)
        pbx.answer(ch)
        pbx.newexten(ch, "Wait", "60", priority=3)
        await self._wait_hangup(ch, target.talk_for if target is not None else None)
        if ch.gone:
            return
        if await self._follow_redirect(ch):
            return
        if not ch.hangup_requested.is_set():
            pbx.newexten(ch, "Hangup", "", priority=4)
            pbx.emit_ch("SoftHangupRequest", ch, [("Cause", "16")])
        self.end_pair(ch)
