"""The live hub: authenticated websockets at GET /api/live with per-topic JSON fan-out.

Design note: the auth middleware has already resolved the session cookie before this handler
runs (the route requires a logged-in role), and the handler checks Origin against the allowed
origins *before* upgrading, so a cross-site page cannot ride a victim's cookie. After the
upgrade, the client subscribes to topics; each topic is checked against ``TopicRule``s (fail
closed: a topic no rule allows is refused). ``publish`` serialises a message once, to bytes, and
hands the same frame payload to every subscriber. A client whose socket is keeping up gets it
written at once, in the publishing call (no task, no queue, no loop iteration per client: that
per-client overhead was most of the server's fan-out cost). Only when a socket's transport asks
to pause (the peer reads too slowly) does that client get a flusher task and a bounded backlog;
frames keep their order behind it, a slow client never delays the others, and a client whose
backlog overflows is closed (code 1013) so it reconnects and reloads state instead of silently
missing updates. Memory per client is thus bounded by the transport's high-water mark plus the
backlog. Ending a session (logout, user disabled, password changed) closes its sockets at once;
a periodic re-check also closes sockets whose session expired or was revoked by another process.

Wire, client -> server: {"type": "subscribe" | "unsubscribe", "topics": [...]}, {"type": "ping"}.
Server -> client: {"type": "hello", "user": {...}}, {"type": "subscribed", "topics": [...],
"refused": [...]}, {"type": "event", "topic": T, "data": ..., "seq": N}, {"type": "pong"},
{"type": "error", "error": "..."}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from contactcenter.domain.clock import Clock
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import ADMIN, AGENT, ANY_USER, STAFF, Actor, requires
from contactcenter.web.security import (
    WebSecuritySettings,
    json_error,
    parse_json,
    websocket_origin_ok,
)
from contactcenter.web.sessions import Revocation, SessionManager

log = logging.getLogger(__name__)

_TOPIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
MAX_TOPICS_PER_CLIENT = 200
CLOSE_SESSION_ENDED = 4001
CLOSE_TOO_SLOW = 1013


@dataclass(frozen=True, slots=True)
class TopicRule:
    """Who may subscribe to ``prefix`` (exact, or any topic under it when it ends with '.').

    ``own_roles`` may subscribe only to ``prefix + their agent_id``.
    """

    prefix: str
    roles: frozenset[str]
    own_roles: frozenset[str] = frozenset()

    def matches(self, topic: str) -> bool:
        """True when this rule is about ``topic``."""
        return topic == self.prefix or (self.prefix.endswith(".") and topic.startswith(self.prefix))

    def allows(self, actor: Actor, topic: str) -> bool:
        """True when ``actor`` may subscribe to ``topic`` under this rule."""
        if actor.role in self.roles:
            return True
        return (
            actor.role in self.own_roles
            and actor.agent_id is not None
            and topic == self.prefix + actor.agent_id
        )


def default_topic_rules() -> list[TopicRule]:
    """Topics of the panel: wallboard/queues/calls for staff, agent.<id> for that agent."""
    staff = frozenset(STAFF)
    return [
        TopicRule("wallboard", staff),
        TopicRule("queue.", staff),
        TopicRule("calls", staff),
        TopicRule("agent.", staff, own_roles=frozenset({AGENT})),
        TopicRule("admin.", frozenset({ADMIN})),
    ]


@dataclass(frozen=True, slots=True)
class RawJson:
    """Data already encoded as one JSON value; ``publish`` splices it in instead of re-encoding."""

    text: str


@dataclass(frozen=True, slots=True)
class Deferred:
    """Data built only if the topic has subscribers: ``build()`` returns it (or ``RawJson``),
    or None when there is nothing to send after all."""

    build: Callable[[], Any]


@dataclass(eq=False)
class _Client:
    ws: web.WebSocketResponse
    actor: Actor
    session_id: int
    topics: set[str] = field(default_factory=set)
    backlog: deque[bytes] = field(default_factory=deque)  # frames behind a send that waits
    flusher: asyncio.Task[None] | None = None  # set while a send waits for the socket to drain
    closing: bool = False


class _Rest:
    """The rest of a coroutine that has already run up to its first suspension (``first``).

    Awaiting it from a task continues the same coroutine exactly as a task would have: the
    future it yielded is handed on, and whatever the task sends or throws goes back into it.
    """

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, None], first: Any) -> None:
        self.coro, self.first = coro, first

    def __await__(self) -> Generator[Any, Any, None]:
        value = self.first
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # noqa: BLE001 -- cancellation too: the coroutine decides
                try:
                    value = self.coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = self.coro.send(sent)
                except StopIteration:
                    return


def send_now(ws: web.WebSocketResponse, payload: bytes) -> Awaitable[None] | None:
    """Write one text frame; None when it went out without waiting, else the rest to await.

    aiohttp writes an uncompressed frame to the transport synchronously and only waits when the
    transport has asked to pause. Running ``send_frame`` by hand up to its first suspension makes
    the common case cost one call; the rare wait is returned for a task to finish.
    """
    coro = ws.send_frame(payload, WSMsgType.TEXT)
    try:
        first = coro.send(None)
    except StopIteration:
        return None
    return _Rest(coro, first)


class LiveRelay(Protocol):
    """Where a hub also sends what it publishes: other nodes' hubs (``cluster/live_bus.py``)."""

    def wants(self, topic: str) -> bool:
        """True when some other node has subscribers to ``topic``."""
        ...

    def send(self, topic: str, body: str) -> None:
        """Pass on one event's data (JSON text); never blocks, never raises."""
        ...


class LiveHub:
    """Websocket endpoint and topic fan-out; build one per app and publish into it."""

    def __init__(
        self,
        sessions: SessionManager,
        settings: WebSecuritySettings,
        clock: Clock,
        *,
        rules: Iterable[TopicRule] | None = None,
        queue_size: int = 1024,
        heartbeat: float = 30.0,
        recheck_interval: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.rules: list[TopicRule] = list(default_topic_rules() if rules is None else rules)
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self.recheck_interval = recheck_interval
        self._clients: set[_Client] = set()
        self._by_topic: dict[str, set[_Client]] = {}
        self._seq = 0
        self._recheck_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.relay: LiveRelay | None = None  # a cluster's leader: the other nodes' hubs
        sessions.add_revoke_listener(self.on_revoke)

    # --- topics -----------------------------------------------------------------------------

    def can_subscribe(self, actor: Actor, topic: str) -> bool:
        """True when some rule lets ``actor`` subscribe to ``topic`` (fail closed)."""
        if not isinstance(topic, str) or not _TOPIC.fullmatch(topic):
            return False
        return any(rule.matches(topic) and rule.allows(actor, topic) for rule in self.rules)

    @property
    def client_count(self) -> int:
        """How many websockets are connected."""
        return len(self._clients)

    def topics(self) -> list[str]:
        """The topics that have subscribers here now."""
        return list(self._by_topic)

    def subscriber_count(self, topic: str) -> int:
        """How many websockets are subscribed to ``topic``."""
        return len(self._by_topic.get(topic, ()))

    def publish(self, topic: str, data: Any) -> int:
        """Send ``data`` (or ``RawJson``, ``Deferred``) to every subscriber of ``topic``; returns
        how many got it."""
        subscribers = self._by_topic.get(topic)
        relay = self.relay if self.relay is not None and self.relay.wants(topic) else None
        if not subscribers and relay is None:
            return 0
        if isinstance(data, Deferred):
            data = data.build()
            if data is None:
                return 0
        body = data.text if isinstance(data, RawJson) else json.dumps(data, separators=(",", ":"))
        if relay is not None:
            relay.send(topic, body)
        if not subscribers:
            return 0
        self._seq += 1
        payload = (f'{{"type":"event","topic":{json.dumps(topic)},"data":{body},'
                   f'"seq":{self._seq}}}').encode()
        sent = 0
        for client in list(subscribers):  # a failed send unsubscribes that client
            sent += self._deliver(client, payload)
        return sent

    def _deliver(self, client: _Client, payload: bytes) -> bool:
        """Send now, or behind the send already waiting; close a client whose backlog is full."""
        if client.closing:
            return False
        if client.flusher is not None:
            if len(client.backlog) >= self.queue_size:
                self._spawn(self._close(client, CLOSE_TOO_SLOW, "too slow; reconnect"))
                return False
            client.backlog.append(payload)
            return True
        try:
            rest = send_now(client.ws, payload)
        except (ConnectionError, RuntimeError):  # the socket is going: its handler cleans up
            client.closing = True
            self._forget(client)
            return False
        if rest is not None:
            client.flusher = asyncio.create_task(self._flush(client, rest))
        return True

    async def _flush(self, client: _Client, rest: Awaitable[None]) -> None:
        """Finish the send that had to wait, then the backlog, in order."""
        try:
            await rest
            while client.backlog and not client.closing:
                await client.ws.send_frame(client.backlog.popleft(), WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            client.closing = True
            self._forget(client)
        finally:
            client.flusher = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, _app: web.Application | None = None) -> None:
        """Start the periodic session re-check (usable as an ``on_startup`` hook)."""
        if self._recheck_task is None:
            self._recheck_task = asyncio.create_task(self._recheck_loop())

    async def close(self, _app: web.Application | None = None) -> None:
        """Close every socket and stop background work (usable as an ``on_shutdown`` hook)."""
        if self._recheck_task is not None:
            self._recheck_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recheck_task
            self._recheck_task = None
        await asyncio.gather(
            *(self._close(c, 1001, "server shutting down") for c in list(self._clients)),
            return_exceptions=True,
        )
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def on_revoke(self, revocation: Revocation) -> None:
        """Close the sockets of sessions that just ended."""
        doomed = [
            c
            for c in self._clients
            if c.session_id in revocation.session_ids or c.actor.user_id == revocation.user_id
        ]
        await asyncio.gather(
            *(self._close(c, CLOSE_SESSION_ENDED, "session ended") for c in doomed),
            return_exceptions=True,
        )

    async def _recheck_loop(self) -> None:
        while True:
            await self.clock.sleep(self.recheck_interval)
            ids = sorted({c.session_id for c in self._clients})
            if not ids:
                continue
            try:
                live = await self.sessions.live_ids(ids)
            except Exception:
                log.exception("live session re-check failed")
                continue
            await self.on_revoke(Revocation(frozenset(set(ids) - live)))

    def drop_all(self, message: str) -> int:
        """Close every websocket (1013) so each client reconnects and reloads its state."""
        clients = list(self._clients)
        for client in clients:
            self._spawn(self._close(client, CLOSE_TOO_SLOW, message))
        return len(clients)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, client: _Client, code: int, message: str) -> None:
        if client.closing:
            return
        client.closing = True
        self._forget(client)
        self._stop_flusher(client)
        with contextlib.suppress(Exception):
            await client.ws.close(code=code, message=message.encode())

    @staticmethod
    def _stop_flusher(client: _Client) -> None:
        # Frames are written whole before any wait, so cancelling never cuts one in half.
        client.backlog.clear()
        if client.flusher is not None:
            client.flusher.cancel()

    def _forget(self, client: _Client) -> None:
        self._clients.discard(client)
        for topic in client.topics:
            subscribers = self._by_topic.get(topic)
            if subscribers is not None:
                subscribers.discard(client)
                if not subscribers:
                    del self._by_topic[topic]

    # --- the endpoint -----------------------------------------------------------------------

    @requires(*ANY_USER)
    @api_doc(websocket=True)
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Websocket of live updates (subscribe to topics); Origin must be allowed."""
        if not websocket_origin_ok(request, self.settings):
            raise json_error(web.HTTPForbidden, "cross-origin websocket refused")
        session = request["session"]
        # No permessage-deflate: compressing each fan-out copy per client costs more than it saves.
        ws = web.WebSocketResponse(heartbeat=self.heartbeat, max_msg_size=64 * 1024, compress=False)
        if not ws.can_prepare(request).ok:
            raise json_error(web.HTTPBadRequest, "websocket upgrade expected")
        await ws.prepare(request)
        client = _Client(ws, session.actor, session.id)
        self._clients.add(client)
        self._reply(
            client,
            {
                "type": "hello",
                "user": {
                    "id": client.actor.user_id,
                    "username": client.actor.username,
                    "role": client.actor.role,
                    "agent_id": client.actor.agent_id,
                },
            },
        )
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                self._on_text(client, msg.data)
        finally:
            self._forget(client)
            client.closing = True
            flusher = client.flusher
            self._stop_flusher(client)
            if flusher is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
            await ws.close()
        return ws

    def _reply(self, client: _Client, message: dict[str, Any]) -> None:
        self._deliver(client, json.dumps(message, separators=(",", ":")).encode())

    def _on_text(self, client: _Client, text: str) -> None:
        try:
            message = parse_json(text)
        except ValueError:
            self._reply(client, {"type": "error", "error": "not JSON"})
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            self._reply(client, {"type": "pong"})
        elif kind in ("subscribe", "unsubscribe"):
            topics = message.get("topics")
            if not isinstance(topics, list) or len(topics) > MAX_TOPICS_PER_CLIENT:
                self._reply(client, {"type": "error", "error": "topics must be a short list"})
            elif kind == "subscribe":
                self._subscribe(client, topics)
            else:
                self._unsubscribe(client, topics)
        else:
            self._reply(client, {"type": "error", "error": "unknown message type"})

    def _subscribe(self, client: _Client, topics: list[Any]) -> None:
        accepted, refused = [], []
        for topic in topics:
            room = len(client.topics) < MAX_TOPICS_PER_CLIENT
            if room and not client.closing and self.can_subscribe(client.actor, topic):
                client.topics.add(topic)
                self._by_topic.setdefault(topic, set()).add(client)
                accepted.append(topic)
            else:
                refused.append(topic if isinstance(topic, str) else repr(topic)[:64])
        self._reply(client, {"type": "subscribed", "topics": accepted, "refused": refused})

    def _unsubscribe(self, client: _Client, topics: list[Any]) -> None:
        removed = []
        for topic in topics:
            if isinstance(topic, str) and topic in client.topics:
                client.topics.discard(topic)
                subscribers = self._by_topic.get(topic)
                if subscribers is not None:
                    subscribers.discard(client)
                    if not subscribers:
                        del self._by_topic[topic]
                removed.append(topic)
        self._reply(client, {"type": "unsubscribed", "topics": removed})
