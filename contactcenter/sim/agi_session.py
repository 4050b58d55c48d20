"""The Asterisk side of one FastAGI session: connect, send the environment, run commands.

Design note: one reader loop runs the server's commands one at a time (AGIExecStart/End
around each). Hangup follows quirk 5: the running command returns ``-1``, ``HANGUP\\n`` is
pushed once about 40 ms later (also when the hangup comes between commands), then channel and
media commands get 511 while variables and EXEC still answer. Asterisk never closes the socket:
the session ends only when the server closes it, and the caller of ``run`` decides AGISTATUS.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from . import agi_wire as wire
from .agi_commands import CommandRunner
from .channels import SimChannel

if TYPE_CHECKING:
    from .calls import SimCall
    from .dialplan import Dialplan

log = logging.getLogger(__name__)
HANGUP_PUSH_DELAY = 0.04  # clock seconds between a command's -1 and the pushed HANGUP
MAX_AGI_CONNECT_S = 2.0  # res_agi.c MAX_AGI_CONNECT (real seconds): the longest a connect takes


class AgiSession:
    """Runs one AGI() application on ``ch`` against the server at ``url``."""

    def __init__(self, dp: Dialplan, ch: SimChannel, url: str, call: SimCall | None) -> None:
        self.dp, self.pbx, self.clock = dp, dp.pbx, dp.clock
        self.ch, self.url, self.call = ch, url, call
        self._writer: asyncio.StreamWriter | None = None
        self._busy = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.hangup_pushed = False
        self.dead_commands = 0  # commands refused with 511
        self._pusher: asyncio.Task | None = None

    def write(self, text: str) -> None:
        """Send text to the server (ignored once the socket is gone)."""
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(text.encode())
            if self.pbx.config.agi_trace is not None:
                self.pbx.config.agi_trace(self.ch.uniqueid, "sent", text)

    async def run(self) -> str:
        """Run the session; returns AGISTATUS (SUCCESS, HANGUP or FAILURE)."""
        ch = self.ch
        ch.in_agi = True
        try:
            host, port, _ = wire.script_of(self.url.split(",", 1)[0])
            # res_agi gives up on a connection that neither opens nor is refused after
            # MAX_AGI_CONNECT (2 s): a node whose host is down; AGISTATUS=FAILURE as refused.
            # Real seconds, whatever the clock's speed: the network is not sped up, and a
            # loaded test machine must not turn a slow loopback connect into a failure.
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), MAX_AGI_CONNECT_S)
        except (OSError, ValueError) as exc:
            log.info("AGI connection to %s failed: %s", self.url, exc)
            ch.in_agi = False  # the call's outcome: the node loop's (dialplan.py) once it ends
            return "FAILURE"
        self._writer = writer
        args = tuple(self.url.split(",")[1:])
        self.write(
            wire.environment_lines(
                url=self.url,
                channel=ch.name,
                uniqueid=ch.uniqueid,
                caller_num=ch.caller_num,
                caller_name=ch.caller_name,
                dnid=ch.dnid or None,
                context=ch.context,
                extension=ch.exten,
                priority=ch.priority,
                threadid=random.randrange(10**14, 10**15),
                args=args,
            )
        )
        unwatch = ch.hangup_requested.when_set(self._hangup_requested)
        runner = CommandRunner(self)
        buffer = wire.LineBuffer()
        try:
            while True:
                line = buffer.next_line()
                if line is None:
                    data = await reader.read(65536)
                    if not data:
                        break
                    buffer.receive_data(data)
                    continue
                if self.pbx.config.agi_trace is not None:
                    self.pbx.config.agi_trace(ch.uniqueid, "read", line)
                self._busy = True
                self._idle.clear()
                try:
                    await runner.execute(line)
                finally:
                    self._busy = False
                    self._idle.set()
        except (ConnectionError, ValueError) as exc:
            log.info("AGI session on %s ended: %s", ch.name, exc)
        finally:
            unwatch()
            if self._pusher is not None:
                self._pusher.cancel()
            ch.in_agi = False
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        if self.call is not None and not ch.hangup_requested.is_set():
            self.call.set_outcome("agi-closed")
        if ch.hangup_requested.is_set():
            return "FAILURE" if runner.dead_hangup_sent else "HANGUP"
        return "SUCCESS"

    def _hangup_requested(self) -> None:
        if self._pusher is None:
            self._pusher = self.pbx.spawn(self._push_hangup())

    async def _push_hangup(self) -> None:
        """Push ``HANGUP`` once, ~40 ms after the channel died and its command returned."""
        while True:
            await self._idle.wait()
            await self.clock.sleep(HANGUP_PUSH_DELAY)
            if self._idle.is_set():
                break
        self.hangup_pushed = True
        self.write(wire.PUSHED_HANGUP)
