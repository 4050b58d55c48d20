"""The chat channel's use cases: a visitor starts and carries on a conversation, the queue
engine finds the agent, the agent accepts, writes, and closes with a disposition.

Design note.
* A conversation *is* an interaction of the queue engine (channel ``chat``, same id): waiting,
  skills, priority, strategies, overflow, capacity per channel, ring-no-answer and wrap-up are
  the engine's, exactly as for calls. This service subscribes to the engine's events; the
  subscriber only updates the conversation's state in memory (so every later call sees it at
  once) and queues the event; one task then does the slow part in order: store the state,
  write the system message, tell the visitor's sockets and the agent's live topic.
* Messages are numbered per conversation under the conversation's lock: stored, then sent, in
  number order (``store.py``). A visitor socket that comes back (network cut, page reload,
  server restart) says the last number it saw and gets everything after it, then live ones,
  with no gap and no repeat: the backlog is read and the socket registered under the same lock.
* Position and expected wait come from the engine's own estimator (``RoutingService.position``,
  the one the IVR announces). Chats get no periodic ``Position`` events (those are voice's
  announcement timer), so after any change of the floor the waiting chats' positions are
  recomputed, coalesced, and only a changed one is sent.
* An offer not accepted within the queue's ``ring_timeout_s`` fails as ``no-answer`` (the agent
  is paused "no answer" and the chat goes back to its place), as an unanswered call does; the
  engine's own ring safety timer is the backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import logging
import secrets
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from contactcenter.chat import protocol
from contactcenter.chat.limits import SlidingWindow
from contactcenter.chat.model import (
    ConversationRecord,
    ConversationState,
    Message,
    Sender,
    StartRequest,
    check_answers,
    check_client_id,
    check_message_text,
    display_name,
    route_for,
    signature_ok,
)
from contactcenter.chat.settings import ChatChannelSettings, ChatSettings
from contactcenter.chat.store import ChatStore, ChatWriter
from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction, InteractionState
from contactcenter.domain.routing_events import (
    Abandoned,
    Completed,
    Connected,
    Exited,
    Offered,
    Overflowed,
    RingNoAnswer,
    RoutingEvent,
    Transferred,
)
from contactcenter.routing.errors import Conflict, RoutingError
from contactcenter.routing.service import RoutingService

log = logging.getLogger(__name__)

Publish = Callable[[str, Any], int]
POSITION_EVERY_S = 0.25  # real seconds: at most this often the waiting chats' places are sent
RECENT_CLIENT_IDS = 200  # per conversation, kept in memory; the database's index backs them up


class ChatError(Exception):
    """A request the chat cannot serve; ``status`` is the HTTP status that says why."""

    status = 400


class NotFoundError(ChatError):
    status = 404


class ForbiddenError(ChatError):
    status = 403


class ConflictError(ChatError):
    status = 409


class UnavailableError(ChatError):
    status = 503


class RateLimited(ChatError):
    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many new conversations from your address; try again later")
        self.retry_after = retry_after


class VisitorPeer(Protocol):
    """One visitor socket as the service sees it: frames out, never blocking."""

    def send(self, text: str) -> None:
        """Queue one encoded frame (a peer that cannot keep up closes itself)."""

    def close(self, code: int, reason: str) -> None:
        """Close the socket soon."""


@dataclass(eq=False)
class LiveConversation:
    """An open conversation in memory: its record, visitor sockets and offer."""

    record: ConversationRecord
    token_hash: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    peers: set[VisitorPeer] = field(default_factory=set)
    offer_id: str | None = None
    ring: asyncio.TimerHandle | None = None
    closing_by: str | None = None
    last_position: tuple[int, int | None] | None = None
    client_ids: OrderedDict[str, Message] = field(default_factory=OrderedDict)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def state(self) -> ConversationState:
        return self.record.state

    def change(self, **values: Any) -> None:
        self.record = dataclasses.replace(self.record, **values)


def hash_token(token: str) -> str:
    """What is stored of a visitor's token: its SHA-256 (a database dump resumes no chat)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ChatService:
    """Conversations of every chat channel over one queue engine."""

    def __init__(self, settings: ChatSettings, routing: RoutingService, store: ChatStore,
                 clock: Clock) -> None:
        self.settings = settings
        self.routing = routing
        self.store = store
        self.writer = ChatWriter(store)  # every write after the conversation's creation
        self.clock = clock
        self.publish: Publish = lambda _topic, _data: 0  # the live hub's, once the web is up
        self._live: dict[str, LiveConversation] = {}
        self._starts = SlidingWindow(settings.new_conversations_per_ip,
                                     settings.new_conversations_window_s)
        self._messages = SlidingWindow(settings.messages_per_minute, 60.0)
        self._pending: deque[tuple[LiveConversation, RoutingEvent, str | None]] = deque()
        self._positions_dirty = False
        self._positions_timer: asyncio.TimerHandle | None = None
        self._positions_at = -1e9  # loop time of the last push
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    # ----------------------------------------------------------------- lifecycle
    def channel(self, name: str) -> ChatChannelSettings | None:
        """The chat channel called ``name``."""
        return self.settings.channel(name)

    async def start(self) -> None:
        """Take up the open conversations where the queue engine has them (call after routing
        started: it rebuilt the lines and re-offered what was being offered)."""
        rows = await self.store.open_conversations()
        changed = []
        # No await from here to the subscription: no routing event can slip in between.
        for record, token_hash in rows:
            live = LiveConversation(record, token_hash)
            state = self.routing.state_of(record.id)
            queue = self.routing.queue_of(record.id) or record.queue
            agent = self._agent_of(record.id)
            if state is None:
                live.change(state=ConversationState.CLOSED, closed_at=self.clock.time(),
                            closed_by="system")
                changed.append(live)
                continue
            if state is InteractionState.OFFERED:
                live.offer_id = self.routing.offer_of(record.id)
                live.change(state=ConversationState.OFFERED, agent_id=agent, queue=queue)
            elif state is InteractionState.CONNECTED:
                live.change(state=ConversationState.ACTIVE, agent_id=agent, queue=queue)
            else:
                live.change(state=ConversationState.WAITING, agent_id=None, queue=queue)
            if live.record != record:
                changed.append(live)
            self._live[record.id] = live
        self._unsubscribe = self.routing.subscribe(self._on_routing)
        self._task = asyncio.create_task(self._run(), name="chat-events")
        self.writer.start()
        for live in changed:
            await self.writer.save_state(live.record)
        for live in list(self._live.values()):
            if live.state is ConversationState.OFFERED and live.offer_id:
                self._arm_ring(live, live.offer_id, self.routing.queue_config(
                    live.record.queue).ring_timeout_s)
        if self._live:
            log.info("chat: %d open conversation(s) taken up", len(self._live))

    async def close(self) -> None:
        """Stop following routing; close the visitors' sockets (they reconnect and resume)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._positions_timer is not None:
            self._positions_timer.cancel()
            self._positions_timer = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for live in self._live.values():
            if live.ring is not None:
                live.ring.cancel()
            for peer in list(live.peers):
                peer.close(1012, "server restarting")
            live.peers.clear()
        await self.writer.close()

    # ----------------------------------------------------------------- visitor side
    async def start_conversation(self, channel: ChatChannelSettings, request: StartRequest,
                                 answers: Any, remote: str) -> tuple[ConversationRecord, str]:
        """A new conversation in line; returns it and the visitor's token (shown once).
        Raises ``model.Refused`` (form errors), ``RateLimited``, ``UnavailableError``."""
        checked = check_answers(channel, answers)
        now = self.clock.time()
        wait = self._starts.hit(remote, now)
        if wait > 0:
            raise RateLimited(wait)
        verified = False
        if channel.identity_secret and request.visitor_id is not None:
            # A signing site vouches for its ids: an id without the right signature is refused.
            if not signature_ok(channel.identity_secret, request.visitor_id, request.signature):
                log.warning("chat channel %s: wrong identity signature for visitor %r",
                            channel.name, request.visitor_id)
                raise ForbiddenError("the visitor's identity could not be verified")
            verified = True
        route = route_for(channel, checked)
        try:
            self.routing.queue_config(route.queue)
        except RoutingError:
            log.error("chat channel %s routes to unknown queue %r", channel.name, route.queue)
            raise UnavailableError("chat is not available now") from None
        token = secrets.token_urlsafe(32)
        record = ConversationRecord(
            id=uuid.uuid4().hex, channel=channel.name,
            visitor_id=request.visitor_id or f"v-{uuid.uuid4().hex[:16]}",
            visitor_name=display_name(checked, request.name), answers=checked,
            attributes=dict(request.attributes), page=request.page, queue=route.queue,
            state=ConversationState.WAITING, created_at=now, verified=verified)
        await self.store.create(record, hash_token(token))
        live = LiveConversation(record, hash_token(token))
        self._live[record.id] = live  # before enqueue: an offer may come within it
        data: dict[str, Any] = {"chat_channel": channel.name, "visitor_id": record.visitor_id,
                                "visitor_name": record.visitor_name}
        data.update({a.name: a.value for a in checked})
        try:
            await self.routing.enqueue(Interaction(
                channel="chat", queue=route.queue, priority=route.priority, skills=route.skills,
                data=data, id=record.id))
        except (RoutingError, ValueError) as exc:
            log.error("chat %s not queued: %s", record.id, exc)
            del self._live[record.id]
            live.change(state=ConversationState.CLOSED, closed_at=now, closed_by="system")
            await self.writer.save_state(live.record)
            raise UnavailableError("chat is not available now") from None
        return live.record, token

    async def attach(self, channel: str, conversation_id: str, token: str, after: int,
                     peer: VisitorPeer) -> LiveConversation | None:
        """A visitor socket joins its conversation: welcome, every message above ``after``,
        the place in line; then live frames. None when the conversation is over (it got the
        welcome and the transcript; the caller closes it). ``ForbiddenError`` for a wrong id
        or token, ``ConflictError`` for too many sockets."""
        live = self._live.get(conversation_id)
        if live is None:
            found = await self.store.get(conversation_id)
            if found is None or found[0].channel != channel \
                    or not hmac.compare_digest(found[1], hash_token(token)):
                raise ForbiddenError("unknown conversation or wrong token")
            record = found[0]
            peer.send(protocol.encode(protocol.welcome(record.id, record.state.value,
                                                       self._agent_name(record.agent_id),
                                                       record.last_seq)))
            await self._send_backlog(conversation_id, after, peer)
            return None
        if live.record.channel != channel \
                or not hmac.compare_digest(live.token_hash, hash_token(token)):
            raise ForbiddenError("unknown conversation or wrong token")
        async with live.lock:
            if len(live.peers) >= self.settings.max_visitor_sockets:
                raise ConflictError("too many open windows for this chat")
            record = live.record
            peer.send(protocol.encode(protocol.welcome(record.id, record.state.value,
                                                       self._agent_name(record.agent_id),
                                                       record.last_seq)))
            await self._send_backlog(conversation_id, after, peer)
            if live.record.state != record.state or live.record.agent_id != record.agent_id:
                # It moved while the backlog was read (state frames are not numbered).
                peer.send(protocol.encode(protocol.state(
                    live.state.value, self._agent_name(live.record.agent_id))))
            if live.state is ConversationState.CLOSED:
                return None
            if live.state is ConversationState.WAITING:
                pos = self.routing.position(live.id)
                if pos is not None:
                    live.last_position = (pos.position,
                                          None if pos.ewt_s is None else round(pos.ewt_s))
                    peer.send(protocol.encode(protocol.position(pos.position, pos.ewt_s)))
            live.peers.add(peer)
        return live

    async def _send_backlog(self, conversation_id: str, after: int, peer: VisitorPeer) -> None:
        while True:
            batch = await self.store.messages_after(conversation_id, after)
            for m in batch:
                peer.send(protocol.encode(protocol.message(m.as_json())))
            if len(batch) < 1000:
                return
            after = batch[-1].seq

    def detach(self, live: LiveConversation, peer: VisitorPeer) -> None:
        """A visitor socket went away (the conversation goes on: it may come back)."""
        live.peers.discard(peer)

    async def visitor_says(self, live: LiveConversation, peer: VisitorPeer, text: Any,
                           client_id: Any) -> Message:
        """The visitor's message: stored, acknowledged to ``peer``, sent to everyone."""
        if live.state is ConversationState.CLOSED:
            raise protocol.FrameRefused("closed", "the chat has ended")
        channel = self.channel(live.record.channel)
        limit = channel.max_message_chars if channel is not None else 2000
        try:
            text = check_message_text(text, limit)
            client_id = check_client_id(client_id)
        except ValueError as exc:
            raise protocol.FrameRefused("invalid", str(exc)) from None
        known = live.client_ids.get(client_id) if client_id is not None else None
        if known is not None:
            peer.send(protocol.encode(protocol.ack(client_id, known.seq)))
            return known
        if self._messages.hit(live.id, self.clock.time()) > 0:
            raise protocol.FrameRefused("rate-limited", "too many messages; slow down")
        stored = await self.append(live, Sender.VISITOR, text, name=live.record.visitor_name,
                                   client_id=client_id)
        peer.send(protocol.encode(protocol.ack(client_id, stored.seq)))
        return stored

    def visitor_typing(self, live: LiveConversation, on: bool) -> None:
        """The visitor is (no longer) typing: the agent's panel shows it."""
        agent = live.record.agent_id
        if agent and live.state is ConversationState.ACTIVE:
            self.publish(f"agent.{agent}", {"type": "chat-typing",
                                            "conversation_id": live.id, "typing": on})

    async def visitor_leaves(self, live: LiveConversation) -> None:
        """The visitor ended the chat: abandoned while waiting, completed when connected."""
        live.closing_by = live.closing_by or "visitor"
        try:
            if live.state is ConversationState.ACTIVE:
                await self.routing.complete(live.id)
            elif live.state is not ConversationState.CLOSED:
                await self.routing.abandon(live.id)
        except RoutingError as exc:
            log.info("chat %s: visitor's close not taken: %s", live.id, exc)

    # ----------------------------------------------------------------- agent side
    def _mine(self, agent_id: str, conversation_id: str) -> LiveConversation:
        live = self._live.get(conversation_id)
        if live is None:
            raise NotFoundError("no open conversation with that id")
        if live.record.agent_id != agent_id:
            raise ForbiddenError("not your conversation")
        return live

    async def accept(self, agent_id: str, conversation_id: str) -> ConversationRecord:
        """The offered agent takes the chat (Connected follows)."""
        live = self._mine(agent_id, conversation_id)
        if live.state is not ConversationState.OFFERED or live.offer_id is None:
            raise ConflictError(f"the conversation is {live.state.value}, not offered")
        try:
            await self.routing.offer_answered(live.offer_id)
        except RoutingError as exc:
            raise ConflictError(str(exc)) from None
        return live.record

    async def agent_says(self, agent_id: str, conversation_id: str, text: Any) -> Message:
        """The agent's message to the visitor."""
        live = self._mine(agent_id, conversation_id)
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        channel = self.channel(live.record.channel)
        try:
            text = check_message_text(text, channel.max_message_chars if channel else 2000)
        except ValueError as exc:
            raise ChatError(str(exc)) from None
        return await self.append(live, Sender.AGENT, text, name=self._agent_name(agent_id) or "",
                                 agent_id=agent_id)

    def agent_typing(self, agent_id: str, conversation_id: str, on: bool) -> None:
        """The agent is (no longer) typing: the visitor's widget shows it."""
        live = self._mine(agent_id, conversation_id)
        if live.state is ConversationState.ACTIVE:
            self._to_visitor(live, protocol.typing(on, self._agent_name(agent_id) or ""))

    async def close_by_agent(self, agent_id: str, conversation_id: str,
                             disposition: str | None, notes: str | None) -> None:
        """End the chat (the agent goes to wrap-up) and, with a disposition, end that wrap-up
        too. On a chat the visitor already ended, only the wrap-up is done."""
        live = self._live.get(conversation_id)
        if live is not None and live.state is not ConversationState.CLOSED:
            if live.record.agent_id != agent_id:
                raise ForbiddenError("not your conversation")
            if live.state is not ConversationState.ACTIVE:
                raise ConflictError(f"the conversation is {live.state.value}, not active")
            live.closing_by = "agent"
            try:
                await self.routing.complete(conversation_id)
            except RoutingError as exc:
                raise ConflictError(str(exc)) from None
        elif not self._in_wrapup(agent_id, conversation_id):
            raise ConflictError("no chat of yours to close or wrap up with that id")
        if disposition is not None and self._in_wrapup(agent_id, conversation_id):
            try:
                await self.routing.wrapup_done(agent_id, disposition, notes,
                                               interaction_id=conversation_id)
            except Conflict:
                pass  # the queue has no wrap-up time: it ended with the chat
            except (RoutingError, ValueError) as exc:
                raise ChatError(str(exc)) from None

    def _in_wrapup(self, agent_id: str, conversation_id: str) -> bool:
        try:
            work = self.routing.agent(agent_id).work
        except RoutingError:
            return False
        return any(w["interaction_id"] == conversation_id and w["state"] == "wrapup"
                   for w in work)

    async def agent_conversations(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's chats now (offered, active, in wrap-up), each with its transcript."""
        out = []
        for work in self.routing.agent(agent_id).work:
            if work["channel"] != "chat":
                continue
            record = await self.record(work["interaction_id"])
            if record is None:
                continue
            messages = await self.store.messages_after(record.id)
            earlier = (await self.store.earlier(record.channel, record.visitor_id,
                                                record.created_at)
                       if record.verified else [])
            out.append({"conversation": record.as_json(), "work_state": work["state"],
                        "messages": [m.as_json() for m in messages],
                        "earlier": [{"id": e.id, "created_at": e.created_at, "queue": e.queue,
                                     "agent_id": e.agent_id, "closed_by": e.closed_by}
                                    for e in earlier]})
        return out

    async def record(self, conversation_id: str) -> ConversationRecord | None:
        """A conversation, open or closed."""
        live = self._live.get(conversation_id)
        if live is not None:
            return live.record
        found = await self.store.get(conversation_id)
        return found[0] if found is not None else None

    async def transcript(self, conversation_id: str, after: int = 0) -> list[Message]:
        """A conversation's messages above ``after``."""
        return await self.store.messages_after(conversation_id, after)

    # ----------------------------------------------------------------- messages
    async def append(self, live: LiveConversation, sender: Sender, text: str, *, name: str,
                     agent_id: str | None = None, client_id: str | None = None) -> Message:
        """Number, store, then send one message (visitor sockets and the agent's topic)."""
        async with live.lock:
            msg = Message(live.id, live.record.last_seq + 1, sender, text, self.clock.time(),
                          name, agent_id, client_id)
            stored = await self.writer.append(msg)
            if client_id is not None:
                live.client_ids[client_id] = stored
                while len(live.client_ids) > RECENT_CLIENT_IDS:
                    live.client_ids.popitem(last=False)
            if stored is not msg:
                return stored  # a resend the database already had
            live.change(last_seq=msg.seq)
            self._to_visitor(live, protocol.message(msg.as_json()))
            agent = live.record.agent_id
            if agent:
                self.publish(f"agent.{agent}", {"type": "chat-message",
                                                "conversation_id": live.id,
                                                "message": msg.as_json()})
            return msg

    def _to_visitor(self, live: LiveConversation, frame: dict[str, Any]) -> None:
        if live.peers:
            text = protocol.encode(frame)
            for peer in list(live.peers):
                peer.send(text)

    def _agent_name(self, agent_id: str | None) -> str | None:
        if agent_id is None:
            return None
        agent = self.routing.config.agents.get(agent_id)
        return (agent.name if agent is not None and agent.name else None) or agent_id

    def _agent_of(self, iid: str) -> str | None:
        # Read-only look at the engine's record: the service has no accessor for it yet.
        rec = self.routing.engine.live.get(iid)
        return rec.agent_id if rec is not None else None

    # ----------------------------------------------------------------- routing events
    def _on_routing(self, event: RoutingEvent) -> None:
        """Routing subscriber (synchronous, inside the engine's dispatch): note and wake."""
        if event.kind == "position" or not self._live:
            return
        iid = getattr(event, "interaction_id", None)
        live = self._live.get(iid) if iid is not None else None
        if live is not None:
            before = live.record.agent_id
            self._apply(live, event)
            self._pending.append((live, event, before))
        self._positions_dirty = True
        self._wake.set()

    def _apply(self, live: LiveConversation, event: RoutingEvent) -> None:
        """The conversation's state after ``event``, at once (the slow part comes later)."""
        S = ConversationState
        if isinstance(event, Offered):
            live.offer_id = event.offer_id
            live.change(state=S.OFFERED, agent_id=event.agent_id, offered_at=event.at,
                        queue=event.queue)
        elif isinstance(event, RingNoAnswer):
            live.offer_id = None
            if live.ring is not None:
                live.ring.cancel()
                live.ring = None
            live.change(state=S.WAITING, agent_id=None)
        elif isinstance(event, Connected):
            if live.ring is not None:
                live.ring.cancel()
                live.ring = None
            live.change(state=S.ACTIVE, agent_id=event.agent_id, accepted_at=event.at)
        elif isinstance(event, Completed | Abandoned | Exited):
            if live.ring is not None:
                live.ring.cancel()
                live.ring = None
            by = live.closing_by or ("visitor" if isinstance(event, Abandoned) else "system")
            live.change(state=S.CLOSED, closed_at=event.at, closed_by=by)
        elif isinstance(event, Overflowed):
            live.change(queue=event.to_queue)
        elif isinstance(event, Transferred) and event.to_queue:
            live.offer_id = None
            live.change(state=S.WAITING, agent_id=None, queue=event.to_queue)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                live, event, before = self._pending.popleft()
                try:
                    await self._react(live, event, before)
                except Exception:
                    log.exception("chat %s: handling %s failed", live.id, event.kind)
            if self._positions_dirty and self._positions_timer is None:
                # Leading edge, then at most every POSITION_EVERY_S: a busy floor changes
                # many times a second, and each change would otherwise recompute every place.
                delay = max(0.0, self._positions_at + POSITION_EVERY_S - loop.time())
                self._positions_timer = loop.call_later(delay, self._positions_due)

    def _positions_due(self) -> None:
        self._positions_timer = None
        self._positions_dirty = False
        self._positions_at = asyncio.get_running_loop().time()
        self._push_positions()

    async def _react(self, live: LiveConversation, event: RoutingEvent,
                     before: str | None) -> None:
        """Store, tell and write what ``event`` means for the conversation (in event order)."""
        await self.writer.save_state(live.record)
        agent_name = self._agent_name(live.record.agent_id)
        channel = self.channel(live.record.channel)
        texts = channel.texts() if channel is not None else {}
        if isinstance(event, Offered):
            self._to_agent(event.agent_id, live, offer=True)
            self._to_visitor(live, protocol.state(live.state.value, None))
            if channel is not None and channel.auto_accept:
                with contextlib.suppress(RoutingError):
                    await self.routing.offer_answered(event.offer_id)
            else:
                self._arm_ring(live, event.offer_id, event.ring_timeout_s)
        elif isinstance(event, RingNoAnswer):
            if before:
                self.publish(f"agent.{before}", {"type": "chat-gone",
                                                 "conversation_id": live.id})
            live.last_position = None
            self._to_visitor(live, protocol.state(live.state.value, None))
        elif isinstance(event, Connected):
            self._to_visitor(live, protocol.state(live.state.value, agent_name))
            await self.append(live, Sender.SYSTEM,
                              texts.get("joined", "{name} joined the chat.").replace(
                                  "{name}", agent_name or ""), name="")
            self._to_agent(event.agent_id, live)
        elif isinstance(event, Completed | Abandoned | Exited):
            key = "unavailable" if isinstance(event, Exited) else "ended"
            await self.append(live, Sender.SYSTEM, texts.get(key, "The chat has ended."),
                              name="")
            self._to_visitor(live, protocol.state(live.state.value, agent_name))
            if before:
                self._to_agent(before, live)
            self._live.pop(live.id, None)
            self._messages.forget(live.id)
        elif isinstance(event, Transferred) and before:
            self._to_agent(before, live)

    def _to_agent(self, agent_id: str, live: LiveConversation, offer: bool = False) -> None:
        self.publish(f"agent.{agent_id}", {"type": "chat", "offer": offer,
                                           "conversation": live.record.as_json()})

    def _arm_ring(self, live: LiveConversation, offer_id: str, ring_s: float) -> None:
        if live.ring is not None:
            live.ring.cancel()
        live.ring = asyncio.get_running_loop().call_later(
            self.clock.real(ring_s), self._ring_out, live, offer_id)

    def _ring_out(self, live: LiveConversation, offer_id: str) -> None:
        live.ring = None
        if live.offer_id == offer_id and live.state is ConversationState.OFFERED:
            self._spawn(self._fail_offer(offer_id))

    async def _fail_offer(self, offer_id: str) -> None:
        try:
            await self.routing.offer_failed(offer_id, "no-answer")
        except RoutingError:
            pass  # answered or withdrawn meanwhile

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _push_positions(self) -> None:
        for live in list(self._live.values()):
            if live.state is not ConversationState.WAITING or not live.peers:
                continue
            pos = self.routing.position(live.id)
            if pos is None:
                continue
            key = (pos.position, None if pos.ewt_s is None else round(pos.ewt_s))
            if key != live.last_position:
                live.last_position = key
                self._to_visitor(live, protocol.position(pos.position, pos.ewt_s))
