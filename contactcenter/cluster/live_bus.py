"""The live panel on every node of a cluster: the leader's hub events over LISTEN/NOTIFY.

Design note. Only the leader routes, so only its hub has events; panel users keep their
websockets on whichever node the balancer picked. The leader's hub hands every event whose
topic another node wants to ``LeaderBus`` (its ``LiveRelay``), which NOTIFYs it on
``cc_live``; each standby's ``StandbyBus`` LISTENs there and publishes it into its own hub as
the very JSON text the leader's websockets got. Interest flows back: a standby NOTIFYs the
topics its websockets hold on ``cc_live_topics`` at once when they change and again every
``announce_s``, and the leader forgets a topic no node has named for three periods, so a topic
nobody watches costs nothing, as on one node. The leader also NOTIFYs a beacon (node, term,
web URL) every ``announce_s``: standbys send panel requests there (``standby_web.py``) and drop
events of an older term. Both sides keep one dedicated connection (LISTEN belongs to a
session) and reconnect when it fails; a standby that lost events meanwhile, or saw the leader
change, closes its websockets (1013) so every panel reconnects and reloads its state, as after
a slow-client close. Sending never blocks the leader's publisher: payloads wait in a bounded
queue, and when it is full an event is dropped and counted (``dropped``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from contactcenter.cluster.live_wire import (
    EVENTS_CHANNEL,
    INTEREST_CHANNEL,
    Beacon,
    Event,
    Interest,
    Joiner,
    encode_beacon,
    encode_event,
    encode_interest,
)
from contactcenter.storage.leadership import asyncpg_dsn
from contactcenter.web.live import LiveHub, RawJson

log = logging.getLogger(__name__)
_NOTIFY = "SELECT pg_notify($1, $2)"
_BATCH = 200  # notifications per round trip
RECONNECT_S = 1.0


async def _connect(dsn: str, name: str) -> Any:
    return await asyncio.wait_for(asyncpg.connect(
        dsn, timeout=5, server_settings={"application_name": name[:63]}), 10)


async def _reconnecting(dsn: str, name: str, serve: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``serve`` on a dedicated connection, again on a new one whenever it fails."""
    while True:
        conn = None
        try:
            conn = await _connect(dsn, name)
            await serve(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  # the database is away: try again
            log.warning("%s: %s; reconnecting", name, exc)
        finally:
            await _close(conn)
        await asyncio.sleep(RECONNECT_S)


async def _close(conn: Any) -> None:
    if conn is None:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.close(), 2)
    if not conn.is_closed():
        conn.terminate()


class _Background:
    """One task on its own reconnecting connection (``_run``), started and cancelled."""

    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"cluster-live-{type(self).__name__}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


class LeaderBus(_Background):
    """The leader's side: relay for its hub (``LiveHub.relay``), beacons, standbys' interest."""

    def __init__(self, url: str, beacon: Beacon, *, announce_s: float = 1.0,
                 queue_size: int = 10_000) -> None:
        self.dsn = asyncpg_dsn(url)
        self.beacon = beacon
        self.announce_s = announce_s
        self.queue_size = queue_size
        self.dropped = 0
        self._wanted: dict[str, float] = {}  # topic -> monotonic time it lapses
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self._ids = itertools.count(1)
        self._joiner = Joiner()

    # --- LiveRelay ---------------------------------------------------------------------------

    def wants(self, topic: str) -> bool:
        lapses = self._wanted.get(topic)
        return lapses is not None and lapses > time.monotonic()

    def send(self, topic: str, body: str) -> None:
        payloads = encode_event(Event(self.beacon.term, topic, body), next(self._ids))
        if len(self._queue) + len(payloads) > self.queue_size:
            self.dropped += 1
            return
        self._queue.extend(payloads)
        self._ready.set()

    async def _run(self) -> None:
        await _reconnecting(self.dsn, f"contactcenter live {self.beacon.node}", self._serve)

    async def _serve(self, conn: Any) -> None:
        await conn.add_listener(INTEREST_CHANNEL, self._on_interest)
        beacon = encode_beacon(self.beacon)
        next_beacon = 0.0
        while True:
            now = time.monotonic()
            if now >= next_beacon:
                await conn.execute(_NOTIFY, EVENTS_CHANNEL, beacon)
                next_beacon = now + self.announce_s
                self._forget_lapsed(now)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), max(0.0, next_beacon - now))
            self._ready.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
                await conn.executemany(_NOTIFY, [(EVENTS_CHANNEL, p) for p in batch])

    def _on_interest(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        message = self._joiner.feed(payload)
        if isinstance(message, Interest):
            lapses = time.monotonic() + 3 * self.announce_s
            for topic in message.topics:
                self._wanted[topic] = lapses

    def _forget_lapsed(self, now: float) -> None:
        for topic in [t for t, lapses in self._wanted.items() if lapses <= now]:
            del self._wanted[topic]


class StandbyBus(_Background):
    """A standby's side: the leader's events into this node's hub, this hub's topics out."""

    def __init__(self, url: str, node: str, hub: LiveHub, *, announce_s: float = 1.0,
                 poll_s: float = 0.1) -> None:
        self.dsn = asyncpg_dsn(url)
        self.node = node
        self.hub = hub
        self.announce_s = announce_s
        self.poll_s = poll_s
        self.leader: Beacon | None = None
        self.received = 0
        self._term = 0  # the newest term heard of; older events are a stale leader's
        self._joiner = Joiner()
        self._was_connected = False

    async def _run(self) -> None:
        await _reconnecting(self.dsn, f"contactcenter live {self.node}", self._listen)

    async def _listen(self, conn: Any) -> None:
        self._joiner = Joiner()
        await conn.add_listener(EVENTS_CHANNEL, self._on_event)
        if self._was_connected:  # events were missed while the connection was down
            self.hub.drop_all("live updates were interrupted; reconnect")
        self._was_connected = True
        await self._announce(conn)

    async def _announce(self, conn: Any) -> None:
        said: set[str] | None = None
        said_at = 0.0
        while True:
            topics = set(self.hub.topics())
            now = time.monotonic()
            if topics != said or now - said_at >= self.announce_s:
                await conn.executemany(_NOTIFY, [
                    (INTEREST_CHANNEL, p) for p in encode_interest(self.node, sorted(topics))])
                said, said_at = topics, now
            await asyncio.sleep(self.poll_s)

    def _on_event(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        message = self._joiner.feed(payload)
        if isinstance(message, Beacon):
            if message.term < self._term:
                return
            changed = self.leader is not None and self.leader.term != message.term
            self._term, self.leader = message.term, message
            if changed:  # a new leader rebuilt its state: the panels reload theirs
                self.hub.drop_all("the leader changed; reconnect")
        elif isinstance(message, Event) and message.term >= self._term:
            self._term = message.term
            self.received += 1
            self.hub.publish(message.topic, RawJson(message.body))
