"""Simulated AMI call control: Originate, Redirect, Hangup, Getvar/Setvar, PlayDTMF."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from contactcenter.telephony.ami.protocol import AmiMessage

from .ami_base import ActionGroup, reply
from .channels import SimChannel
from .originate import OriginateRequest, Originator, parse_callerid

if TYPE_CHECKING:
    from .ami_server import AmiSession
    from .dialplan import Dialplan


class CallActions(ActionGroup):
    """Actions that start, move, end or inspect calls."""

    def __init__(self, dp: Dialplan, originator: Originator) -> None:
        super().__init__(dp)
        self.originator = originator

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

        def answered(ok: bool) -> None:
            if not outcome.done():
                outcome.set_result(ok)

        self.pbx.spawn(self.originator.originate(req, target, report=False, answered=answered))
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
        """Send ``ch`` to a new dialplan location (quirk 16 when it runs AGI). A callee in a
        Dial bridge leaves it and the caller's Dial returns (``dial.py``, ``bridge_app.py``)."""
        ch.context, ch.exten, ch.priority = context, exten, priority
        app, data = ch.application, ch.app_data
        if not app:  # a dialled PJSIP leg runs no dialplan: app_dial names it AppDial
            app, data = ("AGI", data) if ch.in_agi or ch.bridge is None else (
                "AppDial", "(Outgoing Line)")
        self.pbx.emit_ch(
            "Newexten",
            ch,
            [
                ("Extension", exten),
                ("Application", app),
                ("AppData", data),
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
