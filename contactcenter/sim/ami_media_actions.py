"""Simulated AMI recording control: MixMonitor, MixMonitorMute, StopMixMonitor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contactcenter.telephony.ami.protocol import AmiMessage

from .ami_base import ActionGroup, reply

if TYPE_CHECKING:
    from .ami_server import AmiSession


class MediaActions(ActionGroup):
    """Recording actions; the files are written by the simulator's recorder."""

    async def do_mixmonitor(self, s: AmiSession, msg: AmiMessage) -> None:
        ch = self._channel(s, msg, "No channel specified")
        if ch is None:
            return
        filename = msg.get("File") or f"{ch.uniqueid}.wav"
        try:
            self.pbx.recorder.start(
                ch.name, filename, ch.bridge is not None, msg.get("Options") or ""
            )
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
