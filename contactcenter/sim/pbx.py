"""The simulated PBX core: channel registry, variables, bridges, hangups, and their events.

Design note: every state change goes through one method here that both updates the model and
emits the AMI events Asterisk 22 emits for it, in the transcripts' order. Who decides *when*
things happen (a caller hanging up, a phone answering, an AGI command finishing) lives in
``dialplan.py`` and ``agi_session.py``; they call these methods. A channel is *owned* by one
task; ``request_hangup`` only flags it (SoftHangupRequest) and its owner performs the hangup.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine

from .channels import (
    BLOCK_LINES,
    BRIDGE_LINES,
    STATE_DOWN,
    STATE_RING,
    STATE_UP,
    Bridge,
    Headers,
    IdAllocator,
    SimChannel,
    cause_text,
    headers_text,
)
from .events import EventBus
from .model import Phone, SimConfig
from .recorder import Recorder

log = logging.getLogger(__name__)

_FUNC = re.compile(r"^([A-Z_]+)\((.*)\)$", re.IGNORECASE)


class Pbx:
    """State of the simulated Asterisk, shared by the AMI server and the dialplan."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.clock = config.clock
        self.bus = EventBus(self.clock, config.event_history)
        self.ids = IdAllocator(self.clock)
        self.channels: dict[str, SimChannel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.globals: dict[str, str] = {}
        self.phones: dict[str, Phone] = {}
        self.started_at = self.clock.time()
        self.processed_calls = 0
        self.recorder = Recorder(self.clock, config.recordings_dir)
        self._tasks: set[asyncio.Task] = set()

    # -- tasks ---------------------------------------------------------------------------
    def spawn(self, coro: Coroutine) -> asyncio.Task:
        """Run ``coro`` as a tracked background task (cancelled by ``cancel_all``)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("simulator task failed", exc_info=task.exception())

    async def cancel_all(self) -> None:
        """Cancel every background task and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- emitting ------------------------------------------------------------------------
    def emit(self, event: str, privilege: str, headers: Headers, *, stamped: bool = True) -> None:
        """Emit a raw event (``Event``/``Privilege``/``Timestamp`` are added)."""
        self.bus.emit(event, privilege, headers, stamped=stamped)

    def emit_ch(
        self,
        event: str,
        ch: SimChannel,
        extra: Headers | tuple[tuple[str, str], ...] = (),
        privilege: str = "call,all",
    ) -> None:
        """Emit an event made of ``ch``'s channel block followed by ``extra``."""
        bus = self.bus
        if bus.keeps_history:
            bus.emit(event, privilege, ch.block() + list(extra))
            return
        readers = bus.readers(event, privilege)
        if not readers:  # nobody reads it (VarSet, Newexten to our user): build nothing
            return
        body = ch.block_text() + headers_text(extra) if extra else ch.block_text()
        if not bus.send(readers, event, privilege, body, BLOCK_LINES + len(extra)):
            bus.emit(event, privilege, ch.block() + list(extra))  # raises, naming the value

    def emit_blocks(
        self,
        event: str,
        chans: tuple[tuple[SimChannel, str], ...],
        extra: Headers | tuple[tuple[str, str], ...] = (),
        bridge: Bridge | None = None,
    ) -> None:
        """Emit a call-class event: ``bridge``'s block, then each (channel, header prefix)
        block, then ``extra`` -- formatted straight to wire text when no history is kept."""
        bus = self.bus
        readers = () if bus.keeps_history else bus.readers(event, "call,all")
        if readers:
            parts = [ch.block_text(prefix) for ch, prefix in chans]
            if bridge is not None:
                parts.insert(0, bridge.block_text())
            if extra:
                parts.append(headers_text(extra))
            lines = BLOCK_LINES * len(chans) + len(extra) + (BRIDGE_LINES if bridge else 0)
            if bus.send(readers, event, "call,all", "".join(parts), lines):
                return
        elif not bus.keeps_history:
            return
        headers = bridge.block() if bridge is not None else []
        for ch, prefix in chans:
            headers += ch.block(prefix)
        bus.emit(event, "call,all", headers + list(extra))

    # -- channels ------------------------------------------------------------------------
    def new_channel(
        self,
        base: str,
        context: str,
        exten: str,
        *,
        linkedid: str | None = None,
        state: int = STATE_DOWN,
        suffix: str = "",
        sequence: str | None = None,
    ) -> SimChannel:
        """Create ``<base>-<seq><suffix>`` and emit Newchannel."""
        tech = base.partition("/")[0]
        seq = sequence or self.ids.sequence(tech)
        uid = self.ids.uniqueid()
        ch = SimChannel(
            name=f"{base}-{seq}{suffix}",
            uniqueid=uid,
            linkedid=linkedid or uid,
            tech=tech,
            context=context,
            exten=exten,
            state=state,
            created_at=self.clock.monotonic(),
        )
        if state == STATE_UP:
            ch.answered_at = ch.created_at
        self.channels[ch.name] = ch
        self.emit_ch("Newchannel", ch)
        return ch

    def new_local_pair(
        self, exten: str, context: str, linkedid: str | None = None
    ) -> tuple[SimChannel, SimChannel]:
        """Create ``Local/<exten>@<context>-N;1`` (Down) and ``;2`` (Ring)."""
        seq = self.ids.sequence("Local")
        base = f"Local/{exten}@{context}"
        one = self.new_channel(base, context, exten, linkedid=linkedid, suffix=";1", sequence=seq)
        two = self.new_channel(
            base, context, exten, linkedid=one.linkedid, state=STATE_RING, suffix=";2", sequence=seq
        )
        one.peer, two.peer = two, one
        return one, two

    def find(self, name: str) -> SimChannel | None:
        """A live channel by exact name (case-insensitive) or uniqueid, like ast_channel_get_by_name."""
        ch = self.channels.get(name)
        if ch is None:
            lowered = name.lower()
            ch = next((c for c in self.channels.values()
                       if c.name.lower() == lowered or c.uniqueid == name), None)
        return ch

    def find_prefix(self, prefix: str, skip: SimChannel | None = None) -> SimChannel | None:
        """The oldest live channel whose name starts with ``prefix`` (ChanSpy without ``u``)."""
        lowered = prefix.lower()
        return next((c for c in sorted(self.channels.values(), key=lambda c: c.created_at)
                     if c is not skip and not c.gone and c.name.lower().startswith(lowered)), None)

    def set_state(self, ch: SimChannel, state: int) -> None:
        """Change the channel state and emit Newstate."""
        if ch.state != state:
            ch.state = state
            if state == STATE_UP and ch.answered_at is None:
                ch.answered_at = self.clock.monotonic()
            self.emit_ch("Newstate", ch)

    def newexten(
        self,
        ch: SimChannel,
        app: str,
        data: str,
        *,
        priority: int | None = None,
        context: str | None = None,
        exten: str | None = None,
    ) -> None:
        """Move the channel in the dialplan and emit Newexten."""
        if context is not None:
            ch.context = context
        if exten is not None:
            ch.exten = exten
        if priority is not None:
            ch.priority = priority
        ch.application, ch.app_data = app, data
        if not self.bus.wants("Newexten", "dialplan,all"):
            return
        self.emit_ch(
            "Newexten",
            ch,
            [("Extension", ch.exten), ("Application", app), ("AppData", data)],
            privilege="dialplan,all",
        )

    def set_var(self, ch: SimChannel | None, name: str, value: str) -> None:
        """Set a channel (or global) variable and emit VarSet."""
        if ch is None:
            self.globals[name] = value
            return
        ch.variables[name] = value
        if self.bus.wants("VarSet", "dialplan,all"):
            self.emit_ch("VarSet", ch, [("Variable", name), ("Value", value)], "dialplan,all")

    def set_shared(self, ch: SimChannel, name: str, value: str) -> None:
        """``SHARED(name)`` on ``ch`` (func_global.c: a datastore, not a channel variable) and
        the VarSet it publishes, named ``SHARED(name)``."""
        ch.shared[name] = value
        if self.bus.wants("VarSet", "dialplan,all"):
            self.emit_ch("VarSet", ch, [("Variable", f"SHARED({name})"), ("Value", value)],
                         "dialplan,all")

    def get_var(self, ch: SimChannel | None, name: str) -> str | None:
        """A variable or dialplan function value, None when unset."""
        m = _FUNC.match(name)
        if m:
            return self._function(ch, m.group(1).upper(), m.group(2))
        if ch is not None:
            if name in ch.variables:
                return ch.variables[name]
            builtin = {
                "UNIQUEID": ch.uniqueid,
                "CHANNEL": ch.name,
                "CONTEXT": ch.context,
                "EXTEN": ch.exten,
                "PRIORITY": str(ch.priority),
            }
            if name in builtin:
                return builtin[name]
        return self.globals.get(name)

    def _function(self, ch: SimChannel | None, func: str, arg: str) -> str | None:
        if ch is None:
            return None
        if func == "SHARED":  # SHARED(<var>[,<channel name or uniqueid>]), case kept
            var, _, where = arg.partition(",")
            other = self.find(where.strip()) if where.strip() else ch
            if other is None or not other.shared:  # shared_read fails: no channel, no datastore
                return None
            return other.shared.get(var.strip(), "")
        arg = arg.strip().lower()
        if func == "CALLERID":
            if arg in ("num", "number"):
                return ch.caller_num or ""
            if arg == "name":
                return ch.caller_name or ""
            if arg in ("all", ""):
                return f'"{ch.caller_name or ""}" <{ch.caller_num or ""}>'
            if arg == "dnid":
                return ch.dnid
        if func == "CHANNEL":
            return {
                "name": ch.name,
                "uniqueid": ch.uniqueid,
                "linkedid": ch.linkedid,
                "state": ch.state_desc,
                "language": ch.language,
            }.get(arg, "")
        if func == "CONNECTEDLINE":
            return (ch.connected_num if arg.startswith("num") else ch.connected_name) or ""
        return ""

    def expand(self, ch: SimChannel | None, text: str) -> str:
        """Substitute ``${...}`` expressions like GET FULL VARIABLE does."""
        out, i = [], 0
        while i < len(text):
            if text.startswith("${", i):
                depth, j = 1, i + 2
                while j < len(text) and depth:
                    if text.startswith("${", j):
                        depth += 1
                        j += 1
                    elif text[j] == "}":
                        depth -= 1
                    j += 1
                inner = self.expand(ch, text[i + 2 : j - 1])
                out.append(self.get_var(ch, inner) or "")
                i = j
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def set_callerid(self, ch: SimChannel, num: str | None, name: str | None) -> None:
        """Set the caller id and emit NewCallerid."""
        ch.caller_num, ch.caller_name = num, name
        self.emit_ch(
            "NewCallerid", ch, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
        )

    def set_connected(self, ch: SimChannel, num: str | None, name: str | None) -> None:
        """Set the connected line and emit NewConnectedLine."""
        ch.connected_num, ch.connected_name = num, name
        self.emit_ch("NewConnectedLine", ch)

    def local_bridge(self, one: SimChannel, two: SimChannel) -> None:
        """Emit LocalBridge for a Local pair."""
        self.emit_blocks(
            "LocalBridge",
            ((one, "LocalOne"), (two, "LocalTwo")),
            [("Context", two.context), ("Exten", two.exten), ("LocalOptimization", "Yes")],
        )

    def dial_begin(self, caller: SimChannel | None, dest: SimChannel, dialstring: str) -> None:
        """Emit DialBegin (no caller block for an Originate)."""
        chans = ((caller, ""), (dest, "Dest")) if caller is not None else ((dest, "Dest"),)
        self.emit_blocks("DialBegin", chans, [("DialString", dialstring)])

    def dial_end(self, caller: SimChannel | None, dest: SimChannel, status: str) -> None:
        """Emit DialEnd with ``DialStatus``."""
        chans = ((caller, ""), (dest, "Dest")) if caller is not None else ((dest, "Dest"),)
        self.emit_blocks("DialEnd", chans, [("DialStatus", status)])

    def device_state(self, device: str, state: str) -> None:
        """Emit DeviceStateChange."""
        self.emit_blocks("DeviceStateChange", (), [("Device", device), ("State", state)])

    def dtmf(
        self,
        ch: SimChannel,
        digit: str,
        begin: bool,
        duration_ms: int = 150,
        direction: str = "Received",
    ) -> None:
        """Emit DTMFBegin or DTMFEnd."""
        if begin:
            self.emit_ch(
                "DTMFBegin", ch, [("Digit", digit), ("Direction", direction)], privilege="dtmf,all"
            )
        else:
            self.emit_ch(
                "DTMFEnd",
                ch,
                [("Digit", digit), ("DurationMs", str(duration_ms)), ("Direction", direction)],
                privilege="dtmf,all",
            )

    # -- bridges -------------------------------------------------------------------------
    def bridge_create(self) -> Bridge:
        """Create a basic bridge and emit BridgeCreate."""
        bridge = Bridge()
        self.bridges[bridge.uniqueid] = bridge
        self.emit_blocks("BridgeCreate", (), bridge=bridge)
        return bridge

    def bridge_enter(self, bridge: Bridge, ch: SimChannel) -> None:
        """Put ``ch`` in ``bridge`` (BridgeEnter)."""
        bridge.channels.append(ch)
        ch.bridge = bridge
        self.recorder.set_bridged(ch.name, True)
        self.recorder.heard([(c.name, c.speech) for c in bridge.channels])
        self.emit_blocks("BridgeEnter", ((ch, ""),), bridge=bridge)

    def bridge_peers(self, bridge: Bridge) -> None:
        """Emit the BRIDGEPEER VarSets of a two-party bridge."""
        if len(bridge.channels) == 2:
            a, b = bridge.channels
            self.set_var(b, "BRIDGEPEER", a.name)
            self.set_var(a, "BRIDGEPEER", b.name)

    def bridge_leave(self, ch: SimChannel) -> None:
        """Take ``ch`` out of its bridge (BridgeLeave)."""
        bridge = ch.bridge
        if bridge is None:
            return
        bridge.channels.remove(ch)
        ch.bridge = None
        self.recorder.set_bridged(ch.name, False)
        self.emit_blocks("BridgeLeave", ((ch, ""),), bridge=bridge)

    def bridge_destroy(self, bridge: Bridge) -> None:
        """Destroy an (empty) bridge (BridgeDestroy)."""
        for ch in list(bridge.channels):
            self.bridge_leave(ch)
        if self.bridges.pop(bridge.uniqueid, None) is not None:
            self.emit_blocks("BridgeDestroy", (), bridge=bridge)

    # -- hangups -------------------------------------------------------------------------
    def request_hangup(self, ch: SimChannel, cause: int = 16, *, soft: bool = True) -> None:
        """Ask the channel's owner to hang it up: SoftHangupRequest or HangupRequest."""
        if ch.gone:
            return
        ch.hangup_cause = cause
        ch.hangup_asked = True
        if soft:
            self.emit_ch("SoftHangupRequest", ch, [("Cause", "16")])
        else:
            self.emit_ch("HangupRequest", ch, [("Cause", str(cause))])
        ch.hangup_requested.set()

    def hangup(self, ch: SimChannel, cause: int | None = None) -> None:
        """The channel is gone: emit Hangup, leave its bridge, drop it from the registry."""
        if ch.gone:
            return
        ch.gone = True
        ch.hangup_requested.set()
        code = ch.hangup_cause if cause is None else cause
        ch.hangup_cause = code
        self.emit_ch("Hangup", ch, [("Cause", str(code)), ("Cause-txt", cause_text(code))])
        self.channels.pop(ch.name, None)
        self.recorder.stop(ch.name)  # quirk 12: no MixMonitorStop when the channel hangs up
        ch.ended.set()

    def answer(self, ch: SimChannel) -> None:
        """Answer a channel (Newstate Up) if it is not up yet."""
        self.set_state(ch, STATE_UP)

    def channels_of(self, linkedid: str) -> list[SimChannel]:
        """Live channels sharing ``linkedid``."""
        return [c for c in self.channels.values() if c.linkedid == linkedid]
