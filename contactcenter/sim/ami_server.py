"""The simulated Asterisk Manager Interface: TCP listener and per-connection sessions.

Design note: framing is the telephony AMI codec (``AmiParser(expect_banner=False)`` for the
requests, ``serialize`` for replies); this module only does I/O, login state and fault
injection. Sessions subscribe to the PBX event bus after a successful Login (unless
``Events: off``). Fault injection: ``cut`` closes every connection after writing half an
event; ``silence`` keeps sockets open but neither sends nor reads (a half-open link).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from contactcenter.telephony.ami.protocol import AmiParser, AmiProtocolError

from .channels import Headers
from .events import encode

if TYPE_CHECKING:
    from .ami_actions import AmiActions

log = logging.getLogger(__name__)
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


class AmiSession:
    """One AMI client connection."""

    def __init__(
        self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader, self.writer = reader, writer
        self.username: str | None = None
        self.events_on = True
        self.session_id = f"0x{id(self):x}"
        self.session_tv = ""
        self._unsubscribe: Callable[[], None] | None = None
        self.closing = False
        self._out: list[bytes] = []  # written at the end of this loop turn, in one write
        self._transport = writer.transport
        sock = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local_address = f"IPV4/TCP/{sock[0]}/{sock[1]}"
        self.remote_address = f"IPV4/TCP/{peer[0]}/{peer[1]}"

    @property
    def authenticated(self) -> bool:
        """True after a successful Login."""
        return self.username is not None

    def send(self, headers: Headers) -> None:
        """Write one message (dropped while the link is silenced or closing)."""
        self.send_bytes(encode(headers))

    def send_bytes(self, data: bytes) -> None:
        """Write raw bytes (dropped while the link is silenced or closing).

        Replies and events share one ordered buffer that goes out once per event-loop turn:
        one socket write for the dozen events a single dialplan step emits, instead of one each.
        """
        if self.server.silenced or self.closing or self._transport.is_closing():
            return
        if not self._out:
            asyncio.get_running_loop().call_soon(self.flush)
        self._out.append(data)

    def flush(self) -> None:
        """Write what ``send_bytes`` buffered (it was checked when it was buffered)."""
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        if not self.writer.is_closing():
            self.writer.write(data)

    def subscribe(self) -> None:
        """Start receiving the PBX events of the user's read classes."""
        if self._unsubscribe is None and self.events_on:
            config = self.server.actions.pbx.config
            user = self.username or ""
            self._unsubscribe = self.server.bus_subscribe(
                self.send_bytes, config.read_classes(user), config.event_filter(user))

    def close(self) -> None:
        """Close the connection (after what was written so far)."""
        self.flush()
        self.closing = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.writer.close()

    async def run(self) -> None:
        """Banner, then read and handle requests until EOF."""
        self.writer.write(BANNER)
        parser = AmiParser(expect_banner=False)
        try:
            while not self.closing:
                await self.server.unsilenced.wait()
                msg = parser.next_message()
                if msg is None:
                    data = await self.reader.read(65536)
                    if not data:
                        break
                    parser.receive_data(data)
                    continue
                await self.server.actions.handle(self, msg)
        except (AmiProtocolError, ConnectionError) as exc:
            log.info("AMI session ended: %s", exc)
        finally:
            self.close()
            self.server.sessions.discard(self)


class AmiServer:
    """Listens for AMI clients and keeps their sessions."""

    def __init__(self, actions: AmiActions, bus_subscribe) -> None:
        self.actions = actions
        self.bus_subscribe = bus_subscribe
        self.sessions: set[AmiSession] = set()
        self.silenced = False
        self.unsilenced = asyncio.Event()
        self.unsilenced.set()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0 = ephemeral); returns the bound port."""
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    def others(self, session: AmiSession) -> list[AmiSession]:
        """Logged-in sessions other than ``session``."""
        return [s for s in self.sessions if s is not session and s.authenticated]

    def cut(self, mid_message: bool, partial: bytes) -> None:
        """Close every connection, first writing ``partial`` (half an event) if asked."""
        for session in list(self.sessions):
            session.flush()  # whole messages sent before the cut go out first, as before
            if mid_message and not self.silenced:
                session.writer.write(partial)
            session.closing = True
            if session._unsubscribe is not None:
                session._unsubscribe()
                session._unsubscribe = None
            session.writer.transport.abort() if not mid_message else session.writer.close()

    def silence(self, on: bool) -> None:
        """Half-open link on/off: keep sockets, send and read nothing."""
        self.silenced = on
        if on:
            self.unsilenced.clear()
        else:
            self.unsilenced.set()

    async def stop(self) -> None:
        """Stop listening and close every session."""
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()
            session.writer.transport.abort()
        self.silence(False)
        if self._tasks:
            # closing the transports ends each session's read loop; cancel only stragglers
            _, pending = await asyncio.wait(list(self._tasks), timeout=2.0)
            for task in pending:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
