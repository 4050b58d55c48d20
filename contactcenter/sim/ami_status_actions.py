"""Simulated AMI listings and system queries: Status, CoreShowChannels, bridges, Command."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from contactcenter.telephony.ami.protocol import AmiMessage

from .ami_base import ActionGroup, item, reply
from .channels import Headers
from .dialplan import LABELS

if TYPE_CHECKING:
    from .ami_server import AmiSession


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class StatusActions(ActionGroup):
    """Read-only actions: channel and bridge listings, CLI commands, core status."""

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

    async def do_showdialplan(self, s: AmiSession, msg: AmiMessage) -> None:
        """The shipped subroutines only (main/pbx.c manager_show_dialplan's replies): the
        simulator's other contexts are code, not dialplan."""
        context, exten = msg.get("Context") or "", msg.get("Extension") or ""
        subs = {key: prios for key, prios in self.dp.subroutines().items()
                if (not context or key[0] == context) and (not exten or key[1] == exten)}
        if not subs:
            if context and not any(key[0] == context for key in self.dp.subroutines()):
                text = f"Did not find context {context}"
            elif exten:
                text = (f"Did not find extension {exten}@{context}" if context
                        else f"Did not find extension {exten} in any context")
            else:
                text = f"Did not find context {context}"
            s.send(reply(msg, "Error", ("Message", text)))
            return
        items = [item(msg, "ListDialplan", ("Context", ctx), ("Extension", ext),
                      *((("ExtensionLabel", LABELS[ctx, ext, n]),)
                        if (ctx, ext, n) in LABELS else ()),
                      ("Priority", str(n)), ("Application", app), ("AppData", data),
                      ("Registrar", "pbx_config"))
                 for (ctx, ext), prios in subs.items() for n, (app, data) in enumerate(prios, 1)]
        counts = (("ListExtensions", str(len(subs))), ("ListPriorities", str(len(items))),
                  ("ListContexts", str(len({ctx for ctx, _ in subs}))))
        self._list(s, msg, "DialPlan list will follow", "ShowDialPlanComplete", items, counts)

    async def do_queuestatus(self, s: AmiSession, msg: AmiMessage) -> None:
        self._list(s, msg, "Queue status will follow", "QueueStatusComplete", [])

    async def do_queuesummary(self, s: AmiSession, msg: AmiMessage) -> None:
        self._list(s, msg, "Queue summary will follow", "QueueSummaryComplete", [])

    async def do_devicestatelist(self, s: AmiSession, msg: AmiMessage) -> None:
        self._list(s, msg, "Device State Changes will follow", "DeviceStateListComplete", [])

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
