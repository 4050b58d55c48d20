"""Originate and ChanSpy in the simulated PBX.

Design note: an Originate creates the callee leg like Dial does (Local pair or PJSIP channel),
rings it, and on answer reports ``OriginateResponse`` (Async only) and runs the application or
the dialplan location on the near channel, which it then owns. ChanSpy reproduces quirk 17:
ChanSpyStart ~100 ms after answer; after the spyer is hung up, ChanSpyStop follows ~20 ms
later only if the spied-on channel carries audio, else when the spied-on call ends (04b).
ChanSpy's spec is a name prefix unless option ``u`` asks for an exact name/uniqueid, and
option ``E`` ends the spy leg with the spied-on channel (otherwise it spies on the next match).
``ChannelId``/``OtherChannelId`` become the uniqueids of the originated channels. An Originate
into ``[contactcenter-callback]`` runs that context as the dialplan file does: Answer, the node
list (agi-nodes), then ``AGI(agi://<node>/callback)`` on the answered channel over the nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .channels import SimChannel
from .dial import dial
from .dialplan import Dialplan, Target
from .waits import wait_any


@dataclass
class OriginateRequest:
    """The parsed fields of an Originate action."""

    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    caller_id: tuple[str | None, str | None] | None = None
    variables: list[tuple[str, str]] = field(default_factory=list)
    timeout: float = 30.0
    action_id: str | None = None
    channel_id: str | None = None  # uniqueid for the originated channel (``;1``)
    other_channel_id: str | None = None  # uniqueid for the other half of a Local pair


# Contexts of dialplan/extensions_contactcenter.conf that run a FastAGI script of the server
# (context -> script); the servers' hosts and ports come from ``SimConfig.agi_nodes()``.
AGI_CONTEXTS = {"contactcenter-callback": "callback"}


def script_url(agi_url: str, script: str) -> str:
    """``agi://host:port/ivr?flow=main`` -> ``agi://host:port/<script>``."""
    scheme, sep, rest = agi_url.partition("://")
    return f"{scheme}{sep}{rest.split('/', 1)[0]}/{script}"


def parse_callerid(text: str | None) -> tuple[str | None, str | None] | None:
    """``"Name" <num>`` -> (num, name)."""
    if not text:
        return None
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].partition("<")
        return num.strip() or None, name.strip().strip('"') or None
    return text.strip(), None


class Originator:
    """Runs Originate requests and ChanSpy legs."""

    def __init__(self, dp: Dialplan) -> None:
        self.dp, self.pbx, self.clock = dp, dp.pbx, dp.clock

    def _response(
        self, req: OriginateRequest, ok: bool, ch: SimChannel | None, reason: int
    ) -> None:
        headers = [("ActionID", req.action_id)] if req.action_id is not None else []
        headers += [
            ("Response", "Success" if ok else "Failure"),
            ("Channel", ch.name if ok and ch is not None else req.channel),
        ]
        if req.application:
            headers += [("Application", req.application), ("Data", req.data)]
        else:
            headers += [("Context", req.context), ("Exten", req.exten)]
        num, name = req.caller_id or (None, None)
        headers += [
            ("Reason", str(reason)),
            ("Uniqueid", ch.uniqueid if ok and ch else "<unknown>"),
            ("CallerIDNum", num or "<unknown>"),
            ("CallerIDName", name or "<unknown>"),
        ]
        self.pbx.emit("OriginateResponse", "call,all", headers)

    def fail_events(self, req: OriginateRequest, report: bool) -> None:
        """The events of an Originate to nowhere (transcript 05)."""
        pbx = self.pbx
        tech, _, rest = req.channel.partition("/")
        if tech == "Local" and "@" in rest:
            exten, _, context = rest.split("/")[0].partition("@")
            one, two = pbx.new_local_pair(exten, context)
            pbx.newexten(one, "AppDial2", "(Outgoing Line)")
            pbx.hangup(two, 0)
            if report:
                self._response(req, False, None, 0)
            pbx.hangup(one, 0)
        elif report:
            self._response(req, False, None, 0)

    async def originate(
        self,
        req: OriginateRequest,
        target: Target | None,
        report: bool,
        answered: Callable[[bool], None] | None = None,
    ) -> None:
        """Run one Originate to its end; ``answered(ok)`` is called once the outcome is known."""
        pbx = self.pbx
        if target is None:
            if answered:
                answered(False)
            self.fail_events(req, report)
            return
        # ChannelId/OtherChannelId: Asterisk gives the new channels these uniqueids.
        self.pbx.ids.preset([i for i in (req.channel_id, req.other_channel_id) if i])
        try:
            near, far = self.dp.create_leg(target, None, None, req.caller_id)
        finally:
            self.pbx.ids.preset([])
        for name, value in req.variables:
            pbx.set_var(near, name, value)
            if far is not near:
                pbx.set_var(far, name, value)
        pbx.dial_begin(None, near, req.channel.split("/", 1)[1])
        if target.kind == "inbound":
            status = "ANSWER"
            pbx.newexten(far, "NoOp", f"{target.context} call to {target.exten}")
            pbx.newexten(far, "Answer", "", priority=2)
            pbx.answer(far)
        else:
            status = await self.dp.ring(near, far, target, req.timeout, [])
        if status != "ANSWER":
            pbx.dial_end(None, near, status)
            self.dp.drop_leg(near, far, 17 if status == "BUSY" else 16)
            if report:  # Reason: the last control frame seen (3 ringing, 5 busy, 1 hangup)
                self._response(req, False, None, {"NOANSWER": 3, "BUSY": 5}.get(status, 1))
            if answered:
                answered(False)
            return
        pbx.processed_calls += 1
        if report:
            self._response(req, True, near, 4)
        pbx.answer(near)
        pbx.dial_end(None, near, "ANSWER")
        if answered:
            answered(True)
        if far is not near:
            if target.kind == "inbound":
                urls = pbx.config.agi_nodes()
                pbx.newexten(far, "AGI", urls[0], priority=3)
                pbx.spawn(self.dp.run_agi_leg(far, urls, None))
            else:
                pbx.spawn(self.dp.far_side_owner(near, far, target))
        await self.run_near(near, req)

    async def run_near(self, ch: SimChannel, req: OriginateRequest) -> None:
        """Run the originated channel's application or dialplan location until it ends."""
        if not req.application and req.context in AGI_CONTEXTS:
            await self._run_agi_context(ch, req)
            return
        app = req.application.lower()
        if app == "chanspy":
            await self.chanspy(ch, req.data)
            return
        if app == "agi":
            assert self.dp.agi_runner is not None
            await self.dp.agi_runner(ch, req.data, None)
            await self.dp.after_agi(ch)
            return
        if app:
            limit = self.clock.real(max(0.0, float(req.data or 0))) if app == "wait" else None
            await wait_any((ch.hangup_requested,), limit)
        elif req.context:
            target = self.dp.resolve(f"Local/{req.exten}@{req.context}")
            if req.context in self.pbx.config.inbound_contexts:
                urls = self.pbx.config.agi_nodes()
                self.pbx.newexten(
                    ch, "AGI", urls[0], priority=1, context=req.context, exten=req.exten)
                await self.dp.run_agi_leg(ch, urls, None)
                return
            if (
                target is not None
                and target.kind == "local"
                and target.context not in ("sim-agent", "sim-agent-moh")
            ):
                self.pbx.newexten(
                    ch, "Dial", target.dial_string, context=req.context, exten=req.exten
                )
                await dial(self.dp, ch, target.dial_string, None)
            else:
                await wait_any((ch.hangup_requested,))
        if not ch.gone:
            self.dp.end_pair(ch)

    async def _run_agi_context(self, ch: SimChannel, req: OriginateRequest) -> None:
        """A context of dialplan/extensions_contactcenter.conf that answers and runs FastAGI
        on the server (``[contactcenter-callback]``: the agent answered a callback leg), over
        the nodes in order as the shipped context does."""
        urls = [script_url(u, AGI_CONTEXTS[req.context]) for u in self.pbx.config.agi_nodes()]
        pbx = self.pbx
        pbx.newexten(ch, "NoOp", f"contactcenter callback {req.exten}", priority=1,
                     context=req.context, exten=req.exten)
        pbx.newexten(ch, "Answer", "", priority=2)
        await self.dp.run_agi_leg(ch, urls, None, run_agi_nodes=True)

    async def chanspy(self, spyer: SimChannel, data: str) -> None:
        """ChanSpy(<spec>,<options>) on ``spyer``.

        Without ``u`` the spec is a name prefix (the oldest matching channel is spied on, and
        once that call ends ChanSpy moves on to the next match); with ``u`` it is an exact
        channel name or uniqueid. With ``E`` the spy leg ends when the spied-on channel does.
        """
        pbx = self.pbx
        spec, _, options = data.partition(",")
        exact, end_with_spyee = "u" in options, "E" in options
        await wait_any((spyer.hangup_requested,), self.clock.real(0.1))
        while not spyer.hangup_requested.is_set():
            spyee = pbx.find(spec) if exact else pbx.find_prefix(spec, skip=spyer)
            if spyee is None or spyee is spyer or spyee.gone:
                break  # (real ChanSpy would keep scanning; the simulator ends the leg)
            pbx.emit("ChanSpyStart", "call,all", spyer.block("Spyer") + spyee.block("Spyee"))
            await wait_any((spyer.hangup_requested, spyee.ended))
            if spyer.hangup_requested.is_set() and not spyee.gone:
                if self._has_audio(spyee):
                    await self.clock.sleep(0.02)
                else:
                    await spyee.ended.wait()  # ChanSpy only wakes on audio (quirk 17)
            pbx.emit("ChanSpyStop", "call,all", spyer.block("Spyer") + spyee.block("Spyee"))
            if end_with_spyee:
                break
        if not spyer.gone:
            self.dp.end_pair(spyer, spyer.hangup_cause if spyer.hangup_requested.is_set() else 16)

    def _has_audio(self, ch: SimChannel) -> bool:
        if ch.audio:
            return True
        return ch.bridge is not None and any(c.audio for c in ch.bridge.channels)
