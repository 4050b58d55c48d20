"""The command/reply link of one FastAGI connection: ordering, deadlines and hangup rules.

Design note
-----------
The link is fed by its connection (``feed`` / ``connection_lost``), not by a reader task, so a
``HANGUP`` pushed while the script is idle (e.g. waiting for a queue offer on music on hold) is
noticed at once and ``wait_for_hangup`` wakes up. One command is in flight at a time (a FIFO
turn handed from one caller to the next; cancelled waiters are skipped, and a waiter cancelled
after being handed the turn passes it on); each has a deadline on the Clock, enforced through
the server's shared
``DeadlineWheel``: the link's entry is moved only when a deadline comes earlier than the slot
it sits in, so a call normally costs one dict insert, not a loop timer per command (uvloop
timers cost more than the command itself).

When is the caller gone (``hung_up``)? Rules, from the Asterisk 22 traces:
* a ``511`` reply (command not permitted on a dead channel);
* a pushed ``HANGUP`` line, whenever it arrives (it follows a -1 result by ~40 ms, a redirect's
  ``result=0``, or our own HANGUP command);
* a ``result=-1`` reply followed by ``HANGUP`` within ``hangup_grace`` real seconds: we wait for
  it, because a -1 without HANGUP is a plain failure (STREAM FILE of a missing file);
* end of input from Asterisk, or our own ``close``.
Once hung up, every command raises ``CallHangup`` without touching the wire, except reads
called with ``allow_dead=True`` (Asterisk still answers GET VARIABLE on a dead channel).
A command that outlives its deadline closes the connection and raises ``AgiTimeoutError``
(a ``CallHangup``): a late reply could no longer be matched to its command.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from types import MappingProxyType
from typing import Protocol

from contactcenter.domain.clock import Clock
from contactcenter.telephony.agi.api import AgiCommandError, AgiEnvironment, CallHangup
from contactcenter.telephony.agi.deadlines import DeadlineWheel, slot_time
from contactcenter.telephony.agi.protocol import (
    NEED_DATA,
    AgiClosed,
    AgiHangupPush,
    AgiProtocolError,
    AgiReply,
    AgiServerProtocol,
    Quoted,
    build_command,
)

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_HANGUP_GRACE",
    "AgiLink",
    "AgiReplyError",
    "AgiTimeoutError",
    "AgiTransport",
]

log = logging.getLogger(__name__)

DEFAULT_COMMAND_TIMEOUT = 300.0  # clock seconds; Dial to an agent passes its own, longer one
DEFAULT_HANGUP_GRACE = 0.3  # real seconds to wait for HANGUP after a -1 (Asterisk: ~40 ms)
_BARE = MappingProxyType(
    {n: build_command(n) for n in ("ANSWER", "NOOP", "CHANNEL STATUS", "HANGUP", "SET MUSIC OFF")}
)


class AgiTimeoutError(CallHangup):
    """A command got no reply before its deadline; the connection was closed."""


class AgiReplyError(AgiCommandError):
    """Asterisk answered 510/520 (or another non-200 code); ``reply`` holds the details."""

    def __init__(self, command: str, reply: AgiReply) -> None:
        detail = reply.usage if reply.usage is not None else reply.text
        super().__init__(f"{command} -> {reply.code} {detail}")
        self.command = command
        self.reply = reply


class AgiTransport(Protocol):
    """What the link needs from its connection (an asyncio or uvloop transport fits)."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def is_closing(self) -> bool: ...


class AgiLink:
    """Commands and replies on one FastAGI connection, in order, with deadlines and hangups."""

    # __slots__: thousands live at once; fewer GC-tracked objects per call keeps collections cheap
    __slots__ = (
        "_busy",
        "_clock",
        "_command_timeout",
        "_deadline",
        "_deadlines",
        "_hangup_grace",
        "_hangup_waiters",
        "_loop",
        "_pending",
        "_proto",
        "_slot",
        "_transport",
        "_turn_waiters",
        "closed",
        "commands",
        "env",
        "hung_up",
        "protocol_error",
        "timed_out",
    )

    def __init__(
        self,
        env: AgiEnvironment,
        protocol: AgiServerProtocol,
        transport: AgiTransport,
        *,
        clock: Clock | None = None,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        hangup_grace: float = DEFAULT_HANGUP_GRACE,
        loop: asyncio.AbstractEventLoop | None = None,
        deadlines: DeadlineWheel | None = None,
    ) -> None:
        self.env = env
        self._proto = protocol
        self._transport = transport
        self._clock = clock or Clock()
        self._command_timeout = command_timeout
        self._hangup_grace = hangup_grace
        # The server passes its loop and deadline wheel: get_running_loop() costs a getpid()
        # system call, and a wheel per link would mean a loop timer per link again.
        self._loop = loop or asyncio.get_running_loop()
        self._deadlines = deadlines if deadlines is not None else DeadlineWheel(self._loop)
        self._busy = False  # a command owns the link (one in flight; see _wait_turn)
        self._turn_waiters: deque[asyncio.Future[None]] | None = None  # made on first contention
        self._pending: asyncio.Future[AgiReply] | None = None
        self._deadline: float | None = None  # loop time by which the pending reply is due
        self._slot: float | None = None  # fire time of our wheel slot, when registered
        self._hangup_waiters: list[asyncio.Future[None]] | None = None  # made on first wait
        self.closed = False
        self.hung_up = False
        self.timed_out = False
        self.protocol_error: AgiProtocolError | None = None
        self.commands = 0  # commands answered, for metrics and tests

    # -- wire side: called by the connection ---------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes from Asterisk."""
        if self.closed:
            return
        try:
            self._proto.receive_data(data)
        except AgiProtocolError as exc:
            self._fail(exc)
            return
        self.drain()

    def drain(self) -> None:
        """Dispatch every complete event already buffered in the protocol."""
        proto = self._proto
        while not self.closed:
            try:
                event = proto.next_event()
            except AgiProtocolError as exc:
                self._fail(exc)
                return
            if event is NEED_DATA:
                return
            if event.__class__ is AgiReply:
                pending = self._pending
                if pending is None or pending.done():
                    self._fail(AgiProtocolError(f"reply with no command in flight: {event!r}"))
                    return
                self._pending = None
                pending.set_result(event)
            elif isinstance(event, AgiHangupPush):
                self._mark_hung_up()
            elif isinstance(event, AgiClosed):
                self.connection_lost()
            else:
                self._fail(AgiProtocolError(f"unexpected event {event!r}"))
                return

    def connection_lost(self) -> None:
        """The socket is gone (peer EOF, reset, or our own close)."""
        self.closed = True
        self._mark_hung_up()
        if self._slot is not None:
            self._deadlines.discard(self._slot, self)
            self._slot = None
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_exception(CallHangup("AGI connection closed"))

    def close(self) -> None:
        """Close the connection (Asterisk never closes it itself)."""
        if not self._transport.is_closing():
            self._transport.close()
        self.connection_lost()

    def _fail(self, exc: AgiProtocolError) -> None:
        log.warning("AGI protocol error on %s: %s", self.env.channel, exc)
        self.protocol_error = exc
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_exception(AgiCommandError(f"Asterisk answered garbage: {exc}"))
        self.close()

    def _mark_hung_up(self) -> None:
        self.hung_up = True
        waiters, self._hangup_waiters = self._hangup_waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    # -- generic command ---------------------------------------------------------------------

    async def command(
        self,
        name: str,
        *args: str | int | Quoted,
        timeout: float | None = None,
        allow_dead: bool = False,
    ) -> AgiReply:
        """Send one command and return its 200 reply; raise CallHangup / AgiCommandError."""
        # refuses CR/LF/NUL before anything is sent; argument-less commands are prebuilt
        cmd = (_BARE.get(name) if not args else None) or build_command(name, *args)
        return await self._roundtrip(cmd.name, cmd.wire, timeout, allow_dead)

    async def _roundtrip(
        self, name: str, wire: bytes, timeout: float | None, allow_dead: bool
    ) -> AgiReply:
        """Send ``wire`` (an already validated command line) and return its reply, checked."""
        if self._busy:
            await self._wait_turn()  # returns owning the link
        else:
            self._busy = True
        try:
            if self.closed or (self.hung_up and not allow_dead):
                raise CallHangup(f"caller gone before {name}")
            loop = self._loop
            fut: asyncio.Future[AgiReply] = loop.create_future()
            self._pending = fut
            self._transport.write(self._proto.send_wire(wire))
            limit = self._command_timeout if timeout is None else timeout
            speed = self._clock.speed
            if speed != 1.0:
                limit = limit / speed
            now = loop.time()
            deadline = self._deadline = now + limit
            # Lazy: the wheel entry stays where it is unless it would fire later than this
            # deadline's own slot could (one slot width, as slot_time picks it); an earlier
            # fire re-checks and registers again (see on_deadline).
            slot = self._slot
            if slot is None or slot > deadline + (
                0.01 if limit < 1.0 else (0.1 if limit < 10.0 else 1.0)
            ):
                self._arm(deadline, now)
            try:
                reply = await fut
            finally:
                self._deadline = None
                if self._pending is fut:
                    self._pending = None
            self.commands += 1
        finally:
            if self._turn_waiters:
                self._pass_turn()
            else:
                self._busy = False
        if (
            reply.code == 200
            and not self.hung_up
            and reply.result != "-1"
            and reply.data != "hangup"
        ):
            return reply  # the common case, without another coroutine
        return await self._check(name, reply, allow_dead)

    async def _wait_turn(self) -> None:
        # A minimal FIFO lock (asyncio.Lock costs two coroutines and two calls per command):
        # the turn is handed over directly, so _busy stays True from one owner to the next.
        waiter: asyncio.Future[None] = self._loop.create_future()
        if self._turn_waiters is None:
            self._turn_waiters = deque()
        self._turn_waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._pass_turn()  # handed the turn but cancelled before using it: pass it on
            raise

    def _pass_turn(self) -> None:
        waiters = self._turn_waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._busy = False

    def _arm(self, deadline: float, now: float) -> None:
        if self._slot is not None:
            self._deadlines.discard(self._slot, self)
        self._slot = self._deadlines.add(slot_time(deadline, now), self)

    def on_deadline(self) -> None:
        """Called by the deadline wheel: time out the pending command if it is due."""
        self._slot = None
        deadline = self._deadline
        if deadline is None or self.closed:
            return  # idle: the next command registers again
        now = self._loop.time()
        if now < deadline:
            self._arm(deadline, now)
            return
        pending = self._pending
        if pending is None or pending.done():
            return
        self.timed_out = True
        pending.set_exception(AgiTimeoutError("AGI command timed out"))
        log.warning("AGI command timed out on %s; closing", self.env.channel)
        self.close()

    async def _check(self, name: str, reply: AgiReply, allow_dead: bool) -> AgiReply:
        if reply.code == 511:
            self._mark_hung_up()
            raise CallHangup(f"{name}: {reply.text}")
        if reply.code != 200:
            raise AgiReplyError(name, reply)
        if (reply.result == "-1" or reply.data == "hangup") and not self.hung_up:
            # Asterisk pushes HANGUP ~40 ms after a -1 caused by the caller leaving.
            await self.wait_for_hangup(self._hangup_grace, real=True)
        if self.hung_up and not allow_dead:
            raise CallHangup(f"caller hung up during {name}")
        return reply

    async def wait_for_hangup(self, timeout: float | None = None, *, real: bool = False) -> bool:
        """Wait until the caller is gone; True if so, False when ``timeout`` (clock s) ran out."""
        if self.hung_up:
            return True
        waiter: asyncio.Future[None] = self._loop.create_future()
        if self._hangup_waiters is None:
            self._hangup_waiters = []
        self._hangup_waiters.append(waiter)
        try:
            if timeout is None:
                await waiter
            else:
                seconds = timeout if real else self._clock.real(timeout)
                async with asyncio.timeout(seconds):
                    await asyncio.shield(waiter)
        except TimeoutError:
            pass
        finally:
            if self._hangup_waiters is not None and waiter in self._hangup_waiters:
                self._hangup_waiters.remove(waiter)
        return self.hung_up
