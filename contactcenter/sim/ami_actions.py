"""What the simulated Asterisk answers to each AMI action (texts from the 01/05 transcripts).

Design note: one handler per action, each writing replies through ``session.send``. Replies put
``ActionID`` second when the request had one (quirk 5) and leave it out otherwise; list actions
send ``EventList: start``, the items, then ``<Name>Complete``. Errors use Asterisk's texts.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from contactcenter.telephony.ami.protocol import AmiMessage

from .channels import Headers, SimChannel
from .events import timestamp
from .originate import OriginateRequest, Originator, parse_callerid

if TYPE_CHECKING:
    from .ami_server import AmiSession
    from .dialplan import Dialplan

Handler = Callable[["AmiSession", AmiMessage], Awaitable[None]]


def reply(msg: AmiMessage, response: str, *pairs: tuple[str, str]) -> Headers:
    """``Response`` then ``ActionID`` (when the request had one) then ``pairs``."""
    aid = msg.get("ActionID")
    return [("Response", response)] + ([("ActionID", aid)] if aid is not None else []) + list(pairs)


def item(msg: AmiMessage, event: str, *pairs: tuple[str, str]) -> Headers:
    """A list item / completion event with ActionID second."""
    aid = msg.get("ActionID")
    return [("Event", event)] + ([("ActionID", aid)] if aid is not None else []) + list(pairs)


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class AmiActions:
    """Dispatches AMI actions against the simulated PBX."""

    def __init__(
        self, dp: Dialplan, originator: Originator, users: dict[str, str], server_ref
    ) -> None:
        self.dp, self.pbx, self.clock = dp, dp.pbx, dp.clock
        self.originator = originator
        self.users = users
        self.server_ref = server_ref  # () -> AmiServer
        self.received: deque[AmiMessage] = deque(maxlen=5000)  # requests as read, for tests
        self.handlers: dict[str, Handler] = {
            name.lower(): getattr(self, f"do_{name.lower()}")
            for name in (
                "Login",
                "Logoff",
                "Ping",
                "Events",
                "Originate",
                "Redirect",
                "Hangup",
                "Getvar",
                "Setvar",
                "Status",
                "CoreShowChannels",
                "BridgeList",
                "BridgeInfo",
                "MixMonitor",
                "MixMonitorMute",
                "StopMixMonitor",
                "PlayDTMF",
                "Command",
                "CoreStatus",
                "QueueStatus",
                "QueueSummary",
                "DeviceStateList",
            )
        }

    async def handle(self, s: AmiSession, msg: AmiMessage) -> None:
        """Answer one request."""
        action = msg.get("Action")
        self.received.append(msg)
        if not s.authenticated and (action or "").lower() not in ("login", "logoff"):
            s.send(reply(msg, "Error", ("Message", "Permission denied")))
            return
        if action is None:
            s.send(reply(msg, "Error", ("Message", "Missing action in request")))
            self._bad_format(s, "NONE")
            return
        handler = self.handlers.get(action.lower())
        if handler is None:
            text = f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
            s.send(reply(msg, "Error", ("Message", text)))
            self._bad_format(s, action)
            return
        await handler(s, msg)

    def _security(
        self,
        s: AmiSession,
        event: str,
        severity: str,
        version: str,
        tail: Headers,
        account: bool = True,
    ) -> Headers:
        now = self.clock.time()
        tv = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            + f".{int(now % 1 * 1000):03d}+0000"
        )
        head: Headers = [
            ("Event", event),
            ("Privilege", "security,all"),
            ("Timestamp", timestamp(self.clock)),
            ("EventTV", tv),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", version),
        ]
        return head + tail

    def _bad_format(self, s: AmiSession, action: str) -> None:
        s.send(
            self._security(
                s,
                "RequestBadFormat",
                "Error",
                "1",
                [
                    ("SessionID", s.session_id),
                    ("LocalAddress", s.local_address),
                    ("RemoteAddress", s.remote_address),
                    ("RequestType", f"Action: {action}"),
                    ("SessionTV", s.session_tv),
                    ("AccountID", s.username or ""),
                ],
            )
        )

    # -- session -------------------------------------------------------------------------
    async def do_login(self, s: AmiSession, msg: AmiMessage) -> None:
        user, secret = msg.get("Username") or "", msg.get("Secret") or ""
        if self.users.get(user) != secret or not user:
            for other in self.server_ref().others(s):
                other.send(
                    self._security(
                        other,
                        "InvalidPassword",
                        "Error",
                        "2",
                        [
                            ("AccountID", user),
                            ("SessionID", s.session_id),
                            ("LocalAddress", s.local_address),
                            ("RemoteAddress", s.remote_address),
                            ("SessionTV", "1970-01-01T00:00:00.000+0000"),
                        ],
                    )
                )
            await self.clock.sleep(self.pbx.config.bad_login_delay)
            s.send(reply(msg, "Error", ("Message", "Authentication failed")))
            s.close()
            return
        s.username = user
        s.events_on = (msg.get("Events") or "on").lower() not in ("off", "no", "false")
        uptime = str(int(self.clock.time() - self.pbx.started_at))
        s.send(reply(msg, "Success", ("Message", "Authentication accepted")))
        s.send(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ]
        )
        auth = self._security(
            s,
            "SuccessfulAuth",
            "Informational",
            "1",
            [
                ("AccountID", user),
                ("SessionID", s.session_id),
                ("LocalAddress", s.local_address),
                ("RemoteAddress", s.remote_address),
                ("UsingPassword", "0"),
            ],
        )
        s.session_tv = dict(auth)["EventTV"]
        s.send(auth + [("SessionTV", s.session_tv)])
        s.subscribe()

    async def do_logoff(self, s: AmiSession, msg: AmiMessage) -> None:
        s.send(reply(msg, "Goodbye", ("Message", "Thanks for all the fish.")))
        s.close()

    async def do_ping(self, s: AmiSession, msg: AmiMessage) -> None:
        s.send(reply(msg, "Success", ("Ping", "Pong"), ("Timestamp", timestamp(self.clock))))

    async def do_events(self, s: AmiSession, msg: AmiMessage) -> None:
        mask = (msg.get("EventMask") or "on").lower()
        s.events_on = mask not in ("off", "no", "false", "none")
        if s.events_on:
            s.subscribe()
        elif s._unsubscribe is not None:
            s._unsubscribe()
            s._unsubscribe = None
        s.send(reply(msg, "Success", ("Events", "On" if s.events_on else "Off")))

    # -- channel lookups -----------------------------------------------------------------
    def _channel(self, s: AmiSession, msg: AmiMessage, missing: str) -> SimChannel | None:
        name = msg.get("Channel")
        if not name:
            s.send(reply(msg, "Error", ("Message", missing)))
            return None
        ch = self.pbx.find(name)
        if ch is None:
            s.send(reply(msg, "Error", ("Message", "No such channel")))
        return ch

    # -- call control --------------------------------------------------------------------
    async def do_originate(self, s: AmiSession, msg: AmiMessage) -> None:
        channel = msg.get("Channel")
        if not channel:
            s.send(reply(msg, "Error", ("Message", "Channel not specified")))
            return
        variables = []
        for raw in msg.getall("Variable"):
            for pair in raw.split(","):
                if "=" in pair:
                    k, _, v = pair.partition("=")
                    variables.append((k.strip(), v))
        try:
            timeout = int(msg.get("Timeout") or 30000) / 1000
            priority = int(msg.get("Priority") or 1)
        except ValueError:
            s.send(reply(msg, "Error", ("Message", "Invalid timeout")))
            return
        req = OriginateRequest(
            channel=channel,
            context=msg.get("Context") or "",
            exten=msg.get("Exten") or "",
            priority=priority,
            application=msg.get("Application") or "",
            data=msg.get("Data") or "",
            caller_id=parse_callerid(msg.get("CallerID")),
            variables=variables,
            timeout=timeout,
            action_id=msg.get("ActionID"),
            channel_id=msg.get("ChannelId") or None,
            other_channel_id=msg.get("OtherChannelId") or None,
        )
        target = self.dp.resolve(channel)
        if (msg.get("Async") or "").lower() in ("true", "yes", "1"):
            s.send(reply(msg, "Success", ("Message", "Originate successfully queued")))
            self.pbx.spawn(self.originator.originate(req, target, report=True))
            return
        if target is None:  # quirk 13: the error comes before the attempt's events
            s.send(reply(msg, "Error", ("Message", "Originate failed")))
            self.pbx.spawn(self.originator.originate(req, None, report=False))
            return
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.pbx.spawn(
            self.originator.originate(
                req,
                target,
                report=False,
                answered=lambda ok: outcome.done() or outcome.set_result(ok),
            )
        )
        ok = await outcome
        if ok:
            s.send(reply(msg, "Success", ("Message", "Originate successfully queued")))
        else:
            s.send(reply(msg, "Error", ("Message", "Originate failed")))

    async def do_redirect(self, s: AmiSession, msg: AmiMessage) -> None:
        if not msg.get("Channel"):
            s.send(reply(msg, "Error", ("Message", "Channel not specified")))
            return
        if not msg.get("Context"):
            s.send(reply(msg, "Error", ("Message", "Context not specified")))
            return
        ch = self._channel(s, msg, "Channel not specified")
        if ch is None:
            return
        try:
            priority = int(msg.get("Priority") or 1)
        except ValueError:
            s.send(reply(msg, "Error", ("Message", "Invalid priority")))
            return
        s.send(reply(msg, "Success", ("Message", "Redirect successful")))
        self.redirect(ch, msg.get("Context") or "", msg.get("Exten") or "s", priority)

    def redirect(self, ch: SimChannel, context: str, exten: str, priority: int) -> None:
        """Send ``ch`` to a new dialplan location (quirk 16 when it runs AGI)."""
        ch.context, ch.exten, ch.priority = context, exten, priority
        self.pbx.emit_ch(
            "Newexten",
            ch,
            [
                ("Extension", exten),
                ("Application", ch.application or "AGI"),
                ("AppData", ch.app_data),
            ],
            privilege="dialplan,all",
        )
        ch.redirect_to = (context, exten, priority)
        ch.hangup_requested.set()

    async def do_hangup(self, s: AmiSession, msg: AmiMessage) -> None:
        ch = self._channel(s, msg, "No channel specified")
        if ch is None:
            return
        cause = msg.get("Cause")
        s.send(reply(msg, "Success", ("Message", "Channel Hungup")))
        if cause is not None and cause.isdigit():
            self.pbx.request_hangup(ch, int(cause))
        else:
            ch.hangup_cause = 0
            ch.hangup_asked = True
            ch.hangup_requested.set()

    # -- variables -----------------------------------------------------------------------
    def _variable_target(
        self, s: AmiSession, msg: AmiMessage
    ) -> tuple[str, SimChannel | None] | None:
        """The Variable and optional Channel of Getvar/Setvar; None after replying an error."""
        var = msg.get("Variable")
        if not var:
            s.send(reply(msg, "Error", ("Message", "No variable specified")))
            return None
        ch = None
        if msg.get("Channel"):
            ch = self._channel(s, msg, "No channel specified")
            if ch is None:
                return None
        return var, ch

    async def do_getvar(self, s: AmiSession, msg: AmiMessage) -> None:
        target = self._variable_target(s, msg)
        if target is None:
            return
        var, ch = target
        value = self.pbx.get_var(ch, var) if ch is not None else self.pbx.globals.get(var)
        if ch is not None and var.upper().startswith("CALLERID(") and not ch.caller_num:
            value = ""
        s.send(reply(msg, "Success", ("Variable", var), ("Value", value or "")))

    async def do_setvar(self, s: AmiSession, msg: AmiMessage) -> None:
        target = self._variable_target(s, msg)
        if target is None:
            return
        var, ch = target
        s.send(reply(msg, "Success", ("Message", "Variable Set")))
        self.pbx.set_var(ch, var, msg.get("Value") or "")

    # -- listings ------------------------------------------------------------------------
    def _list(
        self,
        s: AmiSession,
        msg: AmiMessage,
        message: str,
        complete: str,
        items: list[Headers],
        extra: Headers = (),
    ) -> None:
        s.send(reply(msg, "Success", ("EventList", "start"), ("Message", message)))
        for it in items:
            s.send(it)
        s.send(
            item(msg, complete, ("EventList", "Complete"), ("ListItems", str(len(items))), *extra)
        )

    def _ordered(self) -> list[SimChannel]:
        return sorted(self.pbx.channels.values(), key=lambda c: c.name)

    async def do_status(self, s: AmiSession, msg: AmiMessage) -> None:
        chans = self._ordered()
        if msg.get("Channel"):
            ch = self._channel(s, msg, "No channel specified")
            if ch is None:
                return
            chans = [ch]
        wanted = [v.strip() for v in (msg.get("Variables") or "").split(",") if v.strip()]
        aid = msg.get("ActionID")
        items = []
        now = self.clock.monotonic()
        for ch in chans:
            h: Headers = (
                [("Event", "Status"), ("Privilege", "Call")]
                + ch.block()
                + [
                    ("Type", ch.tech),
                    ("DNID", ch.dnid),
                    ("EffectiveConnectedLineNum", ch.connected_num or "<unknown>"),
                    ("EffectiveConnectedLineName", ch.connected_name or "<unknown>"),
                    ("TimeToHangup", "0"),
                    ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
                    ("Application", ch.application),
                    ("Data", ch.app_data),
                    ("Nativeformats", "(slin)"),
                    ("Readformat", "slin"),
                    ("Readtrans", ""),
                    ("Writeformat", "slin"),
                    ("Writetrans", ""),
                    ("Callgroup", "0"),
                    ("Pickupgroup", "0"),
                    ("Seconds", str(int(now - ch.created_at))),
                ]
            )
            h += [("Variable", f"{v}={self.pbx.get_var(ch, v) or ''}") for v in wanted]
            if aid is not None:
                h.append(("ActionID", aid))
            items.append(h)
        n = str(len(items))
        self._list(s, msg, "Channel status will follow", "StatusComplete", items, [("Items", n)])

    async def do_coreshowchannels(self, s: AmiSession, msg: AmiMessage) -> None:
        now = self.clock.monotonic()
        items = [
            item(
                msg,
                "CoreShowChannel",
                *ch.block(),
                ("Application", ch.application),
                ("ApplicationData", ch.app_data),
                ("Duration", _hms(now - ch.created_at)),
                ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
            )
            for ch in self._ordered()
        ]
        self._list(s, msg, "Channels will follow", "CoreShowChannelsComplete", items)

    async def do_bridgelist(self, s: AmiSession, msg: AmiMessage) -> None:
        items = [item(msg, "BridgeListItem", *b.block()) for b in self.pbx.bridges.values()]
        self._list(s, msg, "Bridge listing will follow", "BridgeListComplete", items)

    async def do_bridgeinfo(self, s: AmiSession, msg: AmiMessage) -> None:
        bid = msg.get("BridgeUniqueid")
        if not bid:
            s.send(reply(msg, "Error", ("Message", "No BridgeUniqueid specified")))
            return
        bridge = self.pbx.bridges.get(bid)
        if bridge is None:
            s.send(reply(msg, "Error", ("Message", f"Bridge {bid} not found")))
            return
        items = [item(msg, "BridgeInfoChannel", *ch.block()) for ch in reversed(bridge.channels)]
        self._list(
            s,
            msg,
            "Bridge channel listing will follow",
            "BridgeInfoComplete",
            items,
            bridge.block(),
        )

    async def do_queuestatus(self, s: AmiSession, msg: AmiMessage) -> None:
        self._list(s, msg, "Queue status will follow", "QueueStatusComplete", [])

    async def do_queuesummary(self, s: AmiSession, msg: AmiMessage) -> None:
        self._list(s, msg, "Queue summary will follow", "QueueSummaryComplete", [])

    async def do_devicestatelist(self, s: AmiSession, msg: AmiMessage) -> None:
        self._list(s, msg, "Device State Changes will follow", "DeviceStateListComplete", [])

    # -- recording and DTMF --------------------------------------------------------------
    async def do_mixmonitor(self, s: AmiSession, msg: AmiMessage) -> None:
        ch = self._channel(s, msg, "No channel specified")
        if ch is None:
            return
        filename = msg.get("File") or f"{ch.uniqueid}.wav"
        try:
            self.pbx.recorder.start(ch.name, filename, ch.bridge is not None,
                                    msg.get("Options") or "")
        except ValueError as exc:
            s.send(reply(msg, "Error", ("Message", str(exc))))
            return
        s.send(reply(msg, "Success"))
        self.pbx.set_var(ch, "MIXMONITOR_FILENAME", filename)
        self.pbx.emit_ch("MixMonitorStart", ch)

    async def do_mixmonitormute(self, s: AmiSession, msg: AmiMessage) -> None:
        ch = self._channel(s, msg, "No channel specified")
        if ch is None:
            return
        state = (msg.get("State") or "1").strip()
        direction = msg.get("Direction") or "both"
        if not self.pbx.recorder.mute(ch.name, state not in ("0", "false", "no")):
            s.send(reply(msg, "Error", ("Message", "Cannot set mute flag")))
            return
        s.send(reply(msg, "Success"))
        self.pbx.emit_ch("MixMonitorMute", ch, [("Direction", direction), ("State", state)])

    async def do_stopmixmonitor(self, s: AmiSession, msg: AmiMessage) -> None:
        ch = self._channel(s, msg, "No channel specified")
        if ch is None:
            return
        if self.pbx.recorder.stop(ch.name) is None:
            s.send(reply(msg, "Error", ("Message", "Could not stop monitoring channel")))
            return
        s.send(reply(msg, "Success"))
        self.pbx.emit_ch("MixMonitorStop", ch)

    async def do_playdtmf(self, s: AmiSession, msg: AmiMessage) -> None:
        ch = self._channel(s, msg, "No channel specified")
        if ch is None:
            return
        digit = (msg.get("Digit") or "")[:1]
        if not digit:
            s.send(reply(msg, "Error", ("Message", "No digit specified")))
            return
        ms = int(msg.get("Duration") or 250) if (msg.get("Duration") or "250").isdigit() else 250
        await self.clock.sleep(ms / 1000)
        s.send(reply(msg, "Success", ("Message", "DTMF successfully queued")))
        other = ch.peer if ch.peer is not None and not ch.peer.gone else ch
        self.pbx.dtmf(other, digit, True)
        self.pbx.spawn(self._dtmf_end(other, digit, ms))

    async def _dtmf_end(self, ch: SimChannel, digit: str, ms: int) -> None:
        await self.clock.sleep(ms / 1000)
        if not ch.gone:
            self.pbx.dtmf(ch, digit, False, ms)

    # -- system --------------------------------------------------------------------------
    async def do_command(self, s: AmiSession, msg: AmiMessage) -> None:
        cmd = " ".join((msg.get("Command") or "").split()).lower()
        if cmd == "core show version":
            out = ["Asterisk 22.10.1 built by sim @ contactcenter on a x86_64 running Linux"]
        elif cmd == "core show channels":
            out = [f"{'Channel':<64} {'Location':<32} {'State':<7} {'Application(Data)':<30}"]
            for ch in self._ordered():
                loc = (
                    f"{ch.exten}@{ch.context}:{ch.priority}"
                    if ch.application != "AppDial"
                    else "(None)"
                )
                app = f"{ch.application}({ch.app_data})"
                out.append(f"{ch.name:<64} {loc:<32} {ch.state_desc:<7} {app:<30}")
            n = len(self.pbx.channels)
            calls = len({c.linkedid for c in self.pbx.channels.values()})
            out += [
                f"{n} active channels",
                f"{calls} of 200 max active calls ( {calls / 2:.2f}% of capacity)",
                f"{self.pbx.processed_calls} calls processed",
            ]
        elif cmd == "core show uptime":
            up = int(self.clock.time() - self.pbx.started_at)
            out = [f"System uptime: {up} seconds", f"Last reload: {up} seconds"]
        else:
            words = " ".join(cmd.split()[:2])
            s.send(
                reply(
                    msg,
                    "Error",
                    ("Message", "Command output follows"),
                    (
                        "Output",
                        f"No such command '{cmd}' (type 'core show help {words}' for other possible commands)",
                    ),
                )
            )
            return
        s.send(
            reply(
                msg, "Success", ("Message", "Command output follows"), *[("Output", o) for o in out]
            )
        )

    async def do_corestatus(self, s: AmiSession, msg: AmiMessage) -> None:
        started = time.gmtime(self.pbx.started_at)
        date, tod = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
        calls = len({c.linkedid for c in self.pbx.channels.values()})
        s.send(
            reply(
                msg,
                "Success",
                ("CoreStartupDate", date),
                ("CoreStartupTime", tod),
                ("CoreReloadDate", date),
                ("CoreReloadTime", tod),
                ("CoreCurrentCalls", str(len(self.pbx.channels) if calls else 0)),
                ("CoreProcessedCalls", str(self.pbx.processed_calls)),
            )
        )
