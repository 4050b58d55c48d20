"""Asyncio AMI client: one connection per PBX, kept alive, reconnected, with action correlation.

Design note
-----------
* Thin transport around the sans-IO pieces: ``AmiParser`` (framing), ``Correlator`` (replies
  to actions), ``Backoff``/``Liveness`` (when to retry, when a quiet link is dead). It uses an
  ``asyncio.Protocol`` rather than streams: every read is parsed and dispatched synchronously
  in ``data_received``, with no task or await per event.
* Session: connect, read the banner, ``Login`` with ``Events: on``, then "connected". The
  ``on_connected`` hook (the resync of ``PbxLink``) runs as a task of that session and is
  cancelled if the session drops. A session ends on EOF, a protocol error, a failed login, or
  ``dead_after`` seconds without a single byte (half-open link); then pending actions fail
  with ``ConnectionError`` and the next attempt waits ``Backoff.next_delay()``.
* ActionIDs are ``<pbx>-<session>-<n>``: unique per client, and a reply from an old session
  can never complete an action of a new one.
* Timeouts of actions are real seconds (they guard against a stuck PBX); keep-alive and
  backoff run on the ``Clock`` so tests with a fast clock see dead links quickly.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from contactcenter.domain.clock import Clock
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.correlation import Correlator, Pending
from contactcenter.telephony.ami.protocol import (
    AmiMessage,
    AmiParser,
    AmiProtocolError,
    serialize,
)
from contactcenter.telephony.ami.reconnect import Backoff, Liveness

__all__ = ["AmiActionError", "AmiClient", "AmiEndpoint", "EventCallback", "LinkState"]

log = logging.getLogger(__name__)
# Events handled per event-loop turn before others get a turn: ~32 x 60 us ~ 2 ms at most.
DISPATCH_PER_TURN = 32

EventCallback = Callable[[str, AmiMessage], None]


class AmiActionError(Exception):
    """Asterisk answered ``Response: Error`` (or another non-success) to an action."""

    def __init__(self, message: str, response: AmiMessage | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response


@dataclass(frozen=True, slots=True)
class AmiEndpoint:
    """Where and how to reach one PBX's AMI."""

    name: str
    host: str
    port: int = 5038
    username: str = ""
    secret: str = ""
    ping_interval: float = 3.0  # clock seconds between keep-alive Pings
    dead_after: float = 8.0  # clock seconds of silence before the link is declared dead
    connect_timeout: float = 5.0  # real seconds for TCP connect + banner + Login
    first_retry: float = 0.5  # clock seconds; doubled per failure up to retry_cap
    retry_cap: float = 30.0


@dataclass(frozen=True, slots=True)
class LinkState:
    """What /api/health shows for one AMI link."""

    name: str
    state: str  # "connecting" | "connected" | "down"
    since: float  # clock epoch seconds of the last change
    reconnects: int  # successful connects after the first one
    last_error: str | None


class _AmiProtocol(asyncio.Protocol):
    """Feeds socket bytes to the client; one instance per TCP connection."""

    def __init__(self, client: AmiClient) -> None:
        self.client = client
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # Registered here, not after create_connection returns: the banner may already be
        # in the first read.
        self.client._proto = self

    def data_received(self, data: bytes) -> None:
        self.client._on_data(self, data)

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_lost(str(exc) if exc else "connection closed by peer")

    def abort(self, reason: str) -> None:
        """Tear the connection down now (protocol error, dead link, stop)."""
        self._mark_lost(reason)
        if self.transport is not None:
            self.transport.abort()

    def _mark_lost(self, reason: str) -> None:
        if not self.lost.done():
            self.lost.set_result(reason)
            self.client._on_lost(self, reason)


class AmiClient:
    """One AMI connection to one PBX, reconnecting in the background."""

    def __init__(
        self,
        endpoint: AmiEndpoint,
        clock: Clock | None = None,
        on_event: EventCallback | None = None,
        on_connected: Callable[[AmiClient], Awaitable[None]] | None = None,
        on_link_state: Callable[[LinkState], None] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.clock = clock or Clock()
        self._subscribers: list[EventCallback] = [on_event] if on_event else []
        self._on_connected = on_connected
        self._on_link_state = on_link_state
        self._backoff = backoff or Backoff(first=endpoint.first_retry, cap=endpoint.retry_cap)
        self._liveness = Liveness(endpoint.ping_interval, endpoint.dead_after)
        self._correlator = Correlator()
        self._futures: dict[str, asyncio.Future[Pending]] = {}
        self._parser: AmiParser | None = None
        self._backlog: deque[AmiMessage] = deque()  # parsed, not yet dispatched, in order
        self._draining = False
        self._proto: _AmiProtocol | None = None
        self._banner: asyncio.Future[str] | None = None
        self._session = 0
        self._seq = 0
        self._connects = 0
        self._task: asyncio.Task[None] | None = None
        self._pings: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._connected_event = asyncio.Event()
        self.link = LinkState(endpoint.name, "down", self.clock.time(), 0, None)
        self.banner: str | None = None
        self.events_received = 0

    # ------------------------------------------------------------------ public API

    @property
    def name(self) -> str:
        """The PBX name."""
        return self.endpoint.name

    @property
    def connected(self) -> bool:
        """True while logged in."""
        return self.link.state == "connected"

    def subscribe(self, fn: EventCallback) -> Callable[[], None]:
        """Call ``fn(pbx_name, msg)`` for every AMI event; returns an unsubscribe function."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    async def start(self) -> None:
        """Start connecting in the background; returns at once."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"ami-{self.name}"
            )

    async def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait (real seconds) until logged in; TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            await self._connected_event.wait()

    async def stop(self) -> None:
        """Log off if connected, close the link and stop reconnecting."""
        self._stopping = True
        if self.connected:
            try:
                await self.send_action(actions.Logoff(), timeout=1.0)
            except (AmiActionError, ConnectionError, TimeoutError):
                pass
        if self._proto is not None:
            self._proto.abort("stopped")
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._fail_pending("AMI client stopped")
        self._set_state("down", self.link.last_error)

    def drop_connection(self, reason: str = "dropped on request") -> None:
        """Abort the current connection; the client reconnects (and resyncs) as after a fault."""
        if self._proto is not None:
            self._proto.abort(reason)

    async def send_action(
        self, headers: Iterable[tuple[str, str]], timeout: float = 5.0
    ) -> AmiMessage:
        """Send one action; return its reply. AmiActionError, TimeoutError, ConnectionError."""
        pending = await self._request(list(headers), False, timeout)
        assert pending.response is not None
        return pending.response

    async def send_list_action(
        self, headers: Iterable[tuple[str, str]], timeout: float = 10.0
    ) -> list[AmiMessage]:
        """Send a list action (CoreShowChannels, Status, ...); return its items."""
        pending = await self._request(list(headers), True, timeout)
        return pending.items

    async def send_list_action_full(
        self, headers: Iterable[tuple[str, str]], timeout: float = 10.0
    ) -> Pending:
        """Like send_list_action, also giving the reply and the ``*Complete`` event."""
        return await self._request(list(headers), True, timeout)

    # ------------------------------------------------------------------ requests

    async def _request(
        self, headers: list[tuple[str, str]], is_list: bool, timeout: float,
        during_login: bool = False,
    ) -> Pending:
        proto = self._proto
        if proto is None or proto.transport is None or proto.lost.done():
            raise ConnectionError(f"AMI link {self.name} is {self.link.state}")
        if not during_login and not self.connected:
            raise ConnectionError(f"AMI link {self.name} is {self.link.state}")
        action_id = next((v for k, v in headers if k.lower() == "actionid"), None)
        if action_id is None:
            self._seq += 1
            action_id = f"{self.name}-{self._session}-{self._seq}"
            headers = headers + [("ActionID", action_id)]
        data = serialize(headers)  # refuses CR/LF/NUL before anything is registered
        pending = self._correlator.add(action_id, is_list)
        fut: asyncio.Future[Pending] = asyncio.get_running_loop().create_future()
        self._futures[action_id] = fut
        try:
            proto.transport.write(data)
            async with asyncio.timeout(timeout):
                done = await fut
        except TimeoutError:
            raise TimeoutError(f"AMI action {headers[0][1]} ({action_id}) timed out") from None
        finally:
            self._futures.pop(action_id, None)
            self._correlator.drop(action_id)
        if done.failed:
            resp = done.response
            raise AmiActionError((resp.get("Message") if resp else None) or "error", resp)
        return pending

    def _fail_pending(self, reason: str) -> None:
        self._correlator.clear()
        futures, self._futures = self._futures, {}
        for fut in futures.values():
            if not fut.done():
                fut.set_exception(ConnectionError(reason))

    # ------------------------------------------------------------------ incoming bytes

    def _on_data(self, proto: _AmiProtocol, data: bytes) -> None:
        if proto is not self._proto or self._parser is None:
            return
        self._liveness.last_rx = self.clock.monotonic()
        parser = self._parser
        try:
            parser.receive_data(data)
        except AmiProtocolError as exc:
            log.warning("AMI %s: protocol error: %s", self.name, exc)
            self._backlog.extend(parser.messages())
            self._dispatch(list(self._backlog))
            self._backlog.clear()
            proto.abort(f"protocol error: {exc}")
            return
        if self._banner is not None and parser.banner is not None and not self._banner.done():
            self._banner.set_result(parser.banner)
        self._backlog.extend(parser.messages())
        if not self._draining:
            self._drain()

    def _drain(self) -> None:
        # At most DISPATCH_PER_TURN messages per event-loop turn: one socket read can carry
        # a hundred events at 200 calls/s, and the FastAGI replies that are ready meanwhile
        # (each a caller waiting on us) should not wait for all of them. Order is kept: data
        # read while a backlog remains goes behind it.
        backlog = self._backlog
        n = min(len(backlog), DISPATCH_PER_TURN)
        self._dispatch([backlog.popleft() for _ in range(n)])
        self._draining = bool(backlog)
        if backlog:
            asyncio.get_running_loop().call_soon(self._drain)

    def _on_lost(self, proto: _AmiProtocol, reason: str) -> None:
        if proto is self._proto:
            self._fail_pending(f"AMI link {self.name} lost: {reason}")

    def _dispatch(self, msgs: list[AmiMessage]) -> None:
        correlator = self._correlator
        route = correlator.route
        subscribers = self._subscribers
        name = self.endpoint.name
        idle = not len(correlator)  # changes only through route() below
        events = 0
        for msg in msgs:
            raw = msg.raw
            if idle and raw is not None and raw.startswith("\nEvent:"):
                done = None  # nothing in flight: an event is just an event
            else:
                is_event, done = route(msg)
                idle = not len(correlator)
                if not is_event:
                    if done is not None:
                        fut = self._futures.get(done.action_id)
                        if fut is not None and not fut.done():
                            fut.set_result(done)
                    continue
            events += 1
            for fn in subscribers:
                try:
                    fn(name, msg)
                except Exception:
                    log.exception("AMI %s: event subscriber %r failed", name, fn)
        self.events_received += events

    # ------------------------------------------------------------------ session loop

    def _set_state(self, state: str, error: str | None) -> None:
        if state == self.link.state and error == self.link.last_error:
            return
        reconnects = max(0, self._connects - 1)
        self.link = replace(self.link, state=state, since=self.clock.time(),
                            reconnects=reconnects, last_error=error)
        if state == "connected":
            self._connected_event.set()
        else:
            self._connected_event.clear()
        if self._on_link_state is not None:
            try:
                self._on_link_state(self.link)
            except Exception:
                log.exception("AMI %s: link state callback failed", self.name)

    async def _run(self) -> None:
        while not self._stopping:
            self._set_state("connecting", self.link.last_error)
            started = self.clock.monotonic()
            error = await self._session_once()
            self._fail_pending(f"AMI link {self.name} lost: {error}")
            if self._stopping:
                break
            self._set_state("down", error)
            log.warning("AMI %s: link down (%s)", self.name, error)
            self._backoff.session_ended(self.clock.monotonic() - started)
            await self.clock.sleep(self._backoff.next_delay())

    async def _session_once(self) -> str:
        loop = asyncio.get_running_loop()
        ep = self.endpoint
        self._session += 1
        self._parser = AmiParser(expect_banner=True)
        self._banner = loop.create_future()
        helpers: list[asyncio.Task[None]] = []
        proto: _AmiProtocol | None = None
        try:
            try:
                async with asyncio.timeout(ep.connect_timeout):
                    _, proto = await loop.create_connection(
                        lambda: _AmiProtocol(self), ep.host, ep.port
                    )
                    self._proto = proto
                    await asyncio.wait(
                        (self._banner, proto.lost), return_when=asyncio.FIRST_COMPLETED
                    )
                    if proto.lost.done():
                        raise ConnectionError(proto.lost.result())
                    self.banner = self._banner.result()
                    await self._request(
                        actions.Login(ep.username, ep.secret, events="on"), False,
                        ep.connect_timeout, during_login=True,
                    )
            except AmiActionError as exc:
                return f"login failed: {exc.message}"
            except ValueError as exc:  # e.g. a secret with a CR in it: refused, never sent
                return f"bad endpoint configuration: {exc}"
            except (OSError, TimeoutError, ConnectionError) as exc:
                return f"connect failed: {exc or type(exc).__name__}"
            self._connects += 1
            self._liveness.start(self.clock.monotonic())
            self._set_state("connected", None)
            helpers.append(loop.create_task(self._watchdog(proto)))
            if self._on_connected is not None:
                helpers.append(loop.create_task(self._run_on_connected()))
            return await proto.lost
        finally:
            helpers.extend(self._pings)
            self._pings.clear()
            for task in helpers:
                task.cancel()
            for task in helpers:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:
                    log.debug("AMI %s: helper task failed at session end", self.name,
                              exc_info=True)
            if proto is not None:
                proto.abort("session ended")
            self._proto = None
            self._parser = None

    async def _run_on_connected(self) -> None:
        assert self._on_connected is not None
        try:
            await self._on_connected(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("AMI %s: on_connected hook failed", self.name)

    async def _watchdog(self, proto: _AmiProtocol) -> None:
        live = self._liveness
        previous = self.clock.monotonic()
        while not proto.lost.done():
            await self.clock.sleep(live.tick)
            now = self.clock.monotonic()
            live.checked(now, previous)
            previous = now
            if live.is_dead(now):
                log.warning("AMI %s: nothing received for %.1fs, link is dead",
                            self.name, now - live.last_rx)
                proto.abort(f"no data for {live.dead_after:g}s (half-open link)")
                return
            if live.ping_due(now):
                # Fire and forget: the reply (or its absence) only matters through last_rx.
                task = asyncio.get_running_loop().create_task(self._ping())
                self._pings.add(task)
                task.add_done_callback(self._pings.discard)

    async def _ping(self) -> None:
        try:
            await self._request(actions.Ping(), False, max(1.0, self.endpoint.dead_after))
        except (AmiActionError, TimeoutError, ConnectionError):
            pass
