"""The PBX simulator's facade: build the pieces, start/stop, place calls, inject faults."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Self

from .agi_session import AgiSession
from .ami_actions import AmiActions
from .ami_server import AmiServer
from .calls import SimCall
from .channels import SimChannel
from .dialplan import Dialplan
from .events import encode
from .model import CallerScript, Phone, SimConfig, check_safe
from .originate import Originator
from .pbx import Pbx


class Simulator:
    """A simulated Asterisk 22: an AMI server and a FastAGI client over one fake PBX."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.pbx = Pbx(config)
        self.dialplan = Dialplan(self.pbx)
        self.dialplan.agi_runner = self._run_agi
        self.originator = Originator(self.dialplan)
        self.actions = AmiActions(
            self.dialplan, self.originator, config.ami_users, lambda: self.ami
        )
        self.ami: AmiServer = AmiServer(self.actions, self.pbx.bus.subscribe)
        self.calls: list[SimCall] = []
        self.ami_port = 0
        self._started = False

    async def start(self) -> None:
        """Start listening for AMI clients (``ami_port`` is then the bound port)."""
        self.ami_port = await self.ami.start(self.config.ami_host, self.config.ami_port)
        self._started = True

    async def stop(self) -> None:
        """Stop everything: AMI sessions, calls in progress, background tasks."""
        await self.ami.stop()
        await self.pbx.cancel_all()
        for call in self.calls:
            call.mark_ended()
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- world ---------------------------------------------------------------------------
    def add_phone(self, phone: Phone) -> None:
        """Make ``phone`` reachable by its dial string."""
        self.pbx.phones[phone.dial_string] = phone

    def remove_phone(self, dial_string: str) -> None:
        """Forget a phone (dialling it then fails with CHANUNAVAIL)."""
        self.pbx.phones.pop(dial_string, None)

    @property
    def channels(self) -> dict[str, SimChannel]:
        """Live channels by name."""
        return self.pbx.channels

    @property
    def events(self):
        """Recent events emitted on AMI (header lists), for tests."""
        return self.pbx.bus

    def requests(self, action: str) -> list[dict[str, str]]:
        """AMI requests received for ``action`` (case-insensitive) as dicts, oldest first; for tests."""
        wanted = action.lower()
        return [dict(m.headers) for m in self.actions.received
                if (m.get("Action") or "").lower() == wanted]

    @property
    def recordings(self):
        """Paths of the WAV files MixMonitor wrote so far."""
        return list(self.pbx.recorder.written)

    def silences(self, path: Path | str) -> list[tuple[float, float]]:
        """Where a finished recording is silent, in file seconds, from the clock times this
        PBX muted and bridged at (not measured in the audio); for tests."""
        return self.pbx.recorder.silences(Path(path))

    async def place_call(self, script: CallerScript) -> SimCall:
        """Start an inbound call; returns once its channels exist (the call then runs on)."""
        urls = (script.agi_url,) if script.agi_url else self.config.agi_nodes()
        for url in urls:
            check_safe("agi_url", url)
        call = SimCall(script)
        self.calls.append(call)
        # The channels are made here, at once (a failure raises to the caller); one task then
        # runs the call, where a helper task and a polling loop per call used to wait for them.
        one, two = self.dialplan.open_inbound(call)
        self.pbx.spawn(self.dialplan.run_inbound(call, one, two, urls))
        return call

    async def _run_agi(self, ch: SimChannel, url: str, call: SimCall | None) -> None:
        status = await AgiSession(self.dialplan, ch, url, call).run()
        self.pbx.set_var(ch, "AGISTATUS", status)

    # -- faults --------------------------------------------------------------------------
    async def hangup_channel(self, name: str, cause: int = 16) -> bool:
        """Hang up a channel as the far end would; False when there is no such channel."""
        ch = self.pbx.find(name)
        if ch is None:
            return False
        self.pbx.request_hangup(ch, cause)
        await asyncio.sleep(0)
        return True

    async def cut_ami(self, mid_message: bool = True) -> None:
        """Close every AMI connection, after writing half an event when ``mid_message``."""
        event = encode(
            [
                ("Event", "VarSet"),
                ("Privilege", "dialplan,all"),
                ("Channel", "Local/100@cc-inbound-00000000;2"),
                ("Variable", "CUT"),
                ("Value", "here"),
            ]
        )
        self.ami.cut(mid_message, event[: len(event) // 2])
        await asyncio.sleep(0)

    def silence_ami(self, on: bool) -> None:
        """Half-open link: keep AMI sockets open but send and read nothing (False ends it)."""
        self.ami.silence(on)
