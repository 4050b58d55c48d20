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
* A channel's bot flow (``bot.py``) talks first: the conversation waits in state ``bot``,
  outside the engine, until the flow hands it over (queued with its original arrival time)
  or ends it (deflected or ended, never queued).
* Articles before a person (``faq.py``): a start that says an article answered the question is
  stored closed (``self_served``) and never becomes an interaction; any other start with a
  ``faq`` part has the question as message 1 before it is queued.
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
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from contactcenter.chat import protocol
from contactcenter.chat.bot import ChatBots
from contactcenter.chat.canned import CannedStore, for_queue
from contactcenter.chat.faq import SELF_SERVED, Faq, FaqChoice
from contactcenter.chat.live import LiveConversation, VisitorPeer
from contactcenter.chat.model import (
    ConversationRecord,
    ConversationState,
    Message,
    Refused,
    Sender,
    StartRequest,
    check_answers,
    check_client_id,
    check_message_text,
    display_name,
    route_for,
    signature_ok,
)
from contactcenter.chat.offline import Availability, OfflineMessage, OfflineStore, new_message
from contactcenter.chat.settings import DEFAULT_STRINGS, ChatChannelSettings, ChatSettings
from contactcenter.chat.store import ChatStore, ChatWriter
from contactcenter.chat.timeouts import Timeouts
from contactcenter.chat.visitor_limits import VisitorLimits
from contactcenter.common.canned_text import fill
from contactcenter.domain.agent import AgentState
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
from contactcenter.ivr.text_runner import Handover
from contactcenter.routing.errors import Conflict, RoutingError
from contactcenter.routing.service import RoutingService

log = logging.getLogger(__name__)

Publish = Callable[[str, Any], int]
POSITION_EVERY_S = 0.25  # real seconds: at most this often the waiting chats' places are sent
LEFT_TOPIC = "chat-left"  # messages left, for the supervisors' page (staff only: wiring.py)
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


class OfflineError(ChatError):
    """The channel takes no live chat now: the widget offers "leave a message"."""

    status = 409

    def __init__(self, reason: str) -> None:
        super().__init__("chat is offline now; please leave a message")
        self.reason = reason


class RateLimited(ChatError):
    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many new chats from you; please try again later")
        self.retry_after = retry_after


def agent_json(message: Message) -> dict[str, Any]:
    """A message for the agents' panel: the wire's, with the author agent's id (after a
    transfer, the card tells the colleague's messages from its own)."""
    return {**message.as_json(), "agent_id": message.agent_id}


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
        self.offline = OfflineStore(store.db)
        self.canned = CannedStore(store.db)
        self.faq = Faq(settings)  # its ``kb`` is the server's knowledge base, once wired
        self.availability = Availability()
        self.publish: Publish = lambda _topic, _data: 0  # the live hub's, once the web is up
        self._live: dict[str, LiveConversation] = {}
        self.limits = VisitorLimits(settings)
        self._pending: deque[tuple[LiveConversation, RoutingEvent, str | None]] = deque()
        self._positions_dirty = False
        self._positions_timer: asyncio.TimerHandle | None = None
        self._positions_at = -1e9  # loop time of the last push
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self.timeouts = Timeouts(self)  # idle and gone visitors
        self.bots = ChatBots(self)  # its flows and lookups are the server's, once wired
        # Since start, for /metrics (``metrics()``): started, offline_messages, idle_closed,
        # visitor_gone, transferred; self_served (an article answered: deflected), faq_person
        # (articles shown, a person asked for), faq_none (no article matched).
        self.counters: Counter[str] = Counter()
        # A message left (offline or from the line) goes on here: app.py points it at the
        # tickets (chat never imports them); None: messages stay chat's own.
        self.message_left: Callable[[OfflineMessage], Awaitable[Any]] | None = None
        # A chat with an agent ended (Completed), before the visitor is told: the wiring points
        # it at rating.py's offer (the rating form, for a visitor still connected).
        self.on_ended: Callable[[LiveConversation], Awaitable[None]] | None = None

    # ----------------------------------------------------------------- lifecycle
    def channel(self, name: str) -> ChatChannelSettings | None:
        """The chat channel called ``name``."""
        return self.settings.channel(name)

    async def start(self) -> None:
        """Take up the open conversations where the queue engine has them (call after routing
        started: it rebuilt the lines and re-offered what was being offered)."""
        rows = await self.store.open_conversations()
        changed = []
        with_bot = []  # the bot's place in its flow was in memory: these go to a person
        # No await from here to the subscription: no routing event can slip in between.
        for record, token_hash in rows:
            live = LiveConversation(record, token_hash)
            state = self.routing.state_of(record.id)
            queue = self.routing.queue_of(record.id) or record.queue
            agent = self._agent_of(record.id)
            if state is None and record.state is ConversationState.BOT:
                self._live[record.id] = live
                with_bot.append(live)
                continue
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
        for live in with_bot:
            await self.bots.hand_over(live, self.channel(live.record.channel),
                                      Handover(None, reason="restart"))
        for live in list(self._live.values()):
            if live.state is ConversationState.OFFERED and live.offer_id:
                self._arm_ring(live, live.offer_id, self.routing.queue_config(
                    live.record.queue).ring_timeout_s)
        for live in list(self._live.values()):
            self.timeouts.socket_left(live)  # no socket yet: each must come back in the grace
            if live.state is ConversationState.ACTIVE:
                self.timeouts.visitor_turn(live)
            elif live.state in (ConversationState.WAITING, ConversationState.OFFERED):
                self.timeouts.waiting(live, self.clock.time() - live.record.created_at)
        if self._live:
            log.info("chat: %d open conversation(s) taken up", len(self._live))

    async def close(self) -> None:
        """Stop following routing; close the visitors' sockets (they reconnect and resume)."""
        self.timeouts.stop()
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
            live.stop_timers()
            for peer in list(live.peers):
                peer.close(1012, "server restarting")
            live.peers.clear()
        await self.writer.close()

    # ----------------------------------------------------------------- visitor side
    async def start_conversation(self, channel: ChatChannelSettings, request: StartRequest,
                                 answers: Any, remote: str,
                                 faq: FaqChoice | None = None) -> tuple[ConversationRecord, str]:
        """A new conversation in line; returns it and the visitor's token (shown once).
        With ``faq`` (what came of the articles offered first, ``faq.py``): ``answered`` stores
        it closed as self-served and never queues it; otherwise the question is its first
        message. Raises ``model.Refused`` (form errors), ``RateLimited``, ``UnavailableError``."""
        checked = check_answers(channel, answers)
        if faq is not None and not self.faq.offered(channel):
            raise Refused({"faq": "this chat offers no articles"})
        self_served = faq is not None and faq.outcome == "answered"
        now = self.clock.time()
        route = route_for(channel, checked)
        reason = None if self_served else self.offline_reason(channel, route.queue)
        if reason is not None:
            raise OfflineError(reason)
        verified = False
        if channel.identity_secret and request.visitor_id is not None:
            # A signing site vouches for its ids: an id without the right signature is refused.
            if not signature_ok(channel.identity_secret, request.visitor_id, request.signature):
                log.warning("chat channel %s: wrong identity signature for visitor %r",
                            channel.name, request.visitor_id)
                raise ForbiddenError("the visitor's identity could not be verified")
            verified = True
        wait = self.limits.start(remote, request.visitor_id, now)
        if wait > 0:
            raise RateLimited(wait)
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
        titles: dict[int, str] = {}
        if faq is not None:
            titles = await self.faq.titles(faq.shown)
            if self_served and faq.article_id not in titles:
                raise Refused({"faq": "article_id: not a published article"})
            record = dataclasses.replace(record, faq_outcome=faq.outcome,
                                         faq_article_id=faq.article_id)
        if self_served:
            record = dataclasses.replace(record, state=ConversationState.CLOSED, closed_at=now,
                                         closed_by=SELF_SERVED)
        bot = self.bots.flow_for(channel) if faq is None else None
        if bot is not None:
            record = dataclasses.replace(record, state=ConversationState.BOT, bot_flow=bot.name)
        await self.store.create(record, hash_token(token))
        live = LiveConversation(record, hash_token(token))
        if bot is not None:
            self._live[record.id] = live
            self.bots.begin(live, channel, bot, remote)
            self.counters["bot_started"] += 1
            return live.record, token
        if faq is not None:
            await self._faq_messages(live, channel, faq, titles)
        if self_served:
            assert faq is not None and faq.article_id is not None
            self.counters["self_served"] += 1
            await self.faq.vote(faq.article_id, remote)
            return live.record, token
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
        self.counters["started"] += 1
        self.timeouts.waiting(live)
        if faq is not None:
            self.counters[f"faq_{faq.outcome}"] += 1
        return live.record, token

    async def _faq_messages(self, live: LiveConversation, channel: ChatChannelSettings,
                            faq: FaqChoice, titles: dict[int, str]) -> None:
        """The question as the visitor's first message, then which articles were suggested
        (and which answered), so the agent and the transcript have them."""
        texts = channel.texts()
        await self.append(live, Sender.VISITOR, faq.question, name=live.record.visitor_name)
        shown = [titles[i] for i in faq.shown if i in titles]
        if shown:
            await self.append(live, Sender.SYSTEM, texts["faq_suggested"].replace(
                "{titles}", "; ".join(shown)), name="")
        if faq.article_id is not None:
            await self.append(live, Sender.SYSTEM, texts["faq_thanks"], name="")

    def metrics(self) -> dict[str, Any]:
        """Open conversations by (chat channel, queue, state) and the counters since start,
        read at scrape time (docs/chat.md, "Metrics")."""
        open_now: Counter[tuple[str, str, str]] = Counter(
            (live.record.channel, live.record.queue, live.state.value)
            for live in self._live.values() if live.state is not ConversationState.CLOSED)
        return {"conversations": [{"channel": c, "queue": q, "state": st, "count": n}
                                  for (c, q, st), n in sorted(open_now.items())],
                "counters": dict(self.counters)}

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
            if live.agent_read:
                peer.send(protocol.encode(protocol.read(live.agent_read)))
            if live.bot_prompt is not None:
                peer.send(protocol.encode(live.bot_prompt))
            if live.id in self.timeouts.offered:
                peer.send(protocol.encode({"type": "leave_message"}))
            if live.state is ConversationState.WAITING:
                pos = self.routing.position(live.id)
                if pos is not None:
                    live.last_position = (pos.position,
                                          None if pos.ewt_s is None else round(pos.ewt_s))
                    peer.send(protocol.encode(protocol.position(pos.position, pos.ewt_s)))
            live.peers.add(peer)
            self.timeouts.socket_back(live)
        return live

    async def _send_backlog(self, conversation_id: str, after: int, peer: VisitorPeer) -> None:
        while True:
            batch = await self.store.messages_after(conversation_id, after)
            for m in batch:
                if m.sender is not Sender.NOTE:
                    peer.send(protocol.encode(protocol.message(m.as_json())))
            if len(batch) < 1000:
                return
            after = batch[-1].seq

    def detach(self, live: LiveConversation, peer: VisitorPeer) -> None:
        """A visitor socket went away (the conversation goes on: it may come back, within the
        channel's ``visitor_gone_s`` when that is set)."""
        live.peers.discard(peer)
        if not live.peers:
            self.timeouts.socket_left(live)

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
        self.limits.message(live.record.visitor_id, client_id, self.clock)
        stored = await self.append(live, Sender.VISITOR, text, name=live.record.visitor_name,
                                   client_id=client_id)
        self.timeouts.visitor_spoke(live)
        peer.send(protocol.encode(protocol.ack(client_id, stored.seq)))
        if live.state is ConversationState.BOT:
            self.bots.heard(live, text)
        return stored

    def visitor_seen(self, live: LiveConversation, delivered: int | None,
                     read: int | None) -> None:
        """The widget's delivered/read marks; the agent's card is told when they move."""
        top = live.record.last_seq
        new_delivered = max(live.visitor_delivered, min(delivered or 0, top), min(read or 0, top))
        new_read = max(live.visitor_read, min(read or 0, top))
        if (new_delivered, new_read) == (live.visitor_delivered, live.visitor_read):
            return
        live.visitor_delivered, live.visitor_read = new_delivered, new_read
        agent = live.record.agent_id
        if agent:
            self.publish(f"agent.{agent}", {"type": "chat-marks", "conversation_id": live.id,
                                            **self._marks(live)})

    def agent_read(self, agent_id: str, conversation_id: str, seq: Any) -> None:
        """The agent read the chat up to ``seq``: the visitor's widget marks its messages."""
        live = self._mine(agent_id, conversation_id)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ChatError("seq must be a message number")
        seq = min(seq, live.record.last_seq)
        if seq > live.agent_read:
            live.agent_read = seq
            self._to_visitor(live, protocol.read(seq))

    @staticmethod
    def _marks(live: LiveConversation) -> dict[str, int]:
        return {"delivered": live.visitor_delivered, "read": live.visitor_read,
                "agent_read": live.agent_read}

    def visitor_typing(self, live: LiveConversation, on: bool) -> None:
        """The visitor is (no longer) typing: the agent's panel shows it."""
        agent = live.record.agent_id
        if agent and live.state is ConversationState.ACTIVE:
            self.publish(f"agent.{agent}", {"type": "chat-typing",
                                            "conversation_id": live.id, "typing": on})

    async def visitor_leaves(self, live: LiveConversation) -> None:
        """The visitor ended the chat: abandoned while waiting, completed when connected."""
        live.closing_by = live.closing_by or "visitor"
        if live.state is ConversationState.BOT:
            await self.bots.stop(live, "visitor")
            return
        try:
            if live.state is ConversationState.ACTIVE:
                await self.routing.complete(live.id)
            elif live.state is not ConversationState.CLOSED:
                await self.routing.abandon(live.id)
        except RoutingError as exc:
            log.info("chat %s: visitor's close not taken: %s", live.id, exc)

    # ----------------------------------------------------------------- agent side
    def _mine(self, agent_id: str, conversation_id: str,
              guest: bool = False) -> LiveConversation:
        live = self._live.get(conversation_id)
        if live is None:
            raise NotFoundError("no open conversation with that id")
        if live.record.agent_id != agent_id and not (guest and agent_id in live.guests):
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
        """The agent's (or an invited colleague's) message to the visitor."""
        live = self._mine(agent_id, conversation_id, guest=True)
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        channel = self.channel(live.record.channel)
        try:
            text = check_message_text(text, channel.max_message_chars if channel else 2000)
        except ValueError as exc:
            raise ChatError(str(exc)) from None
        msg = await self.append(live, Sender.AGENT, text, name=self._agent_name(agent_id) or "",
                                agent_id=agent_id)
        if not live.idle_warned:
            self.timeouts.visitor_turn(live)  # silence from now on counts
        return msg

    def agent_typing(self, agent_id: str, conversation_id: str, on: bool) -> None:
        """The agent is (no longer) typing: the visitor's widget shows it."""
        live = self._mine(agent_id, conversation_id, guest=True)
        if live.state is ConversationState.ACTIVE:
            self._to_visitor(live, protocol.typing(on, self._agent_name(agent_id) or ""))

    async def close_by_agent(self, agent_id: str, conversation_id: str,
                             disposition: str | None, notes: str | None) -> None:
        """End the chat (the agent goes to wrap-up) and, with a disposition, end that wrap-up
        too. On a chat the visitor already ended, only the wrap-up is done."""
        live = self._live.get(conversation_id)
        is_open = live is not None and live.state is not ConversationState.CLOSED
        if live is not None and is_open and live.record.agent_id == agent_id:
            if live.state is not ConversationState.ACTIVE:
                raise ConflictError(f"the conversation is {live.state.value}, not active")
            live.closing_by = "agent"
            try:
                await self.routing.complete(conversation_id)
            except RoutingError as exc:
                raise ConflictError(str(exc)) from None
        elif not self._in_wrapup(agent_id, conversation_id):  # (a chat I transferred is)
            if is_open:
                raise ForbiddenError("not your conversation")
            raise ConflictError("no chat of yours to close or wrap up with that id")
        if disposition is not None and self._in_wrapup(agent_id, conversation_id):
            try:
                await self.routing.wrapup_done(agent_id, disposition, notes,
                                               interaction_id=conversation_id)
            except Conflict:
                pass  # the queue has no wrap-up time: it ended with the chat
            except (RoutingError, ValueError) as exc:
                raise ChatError(str(exc)) from None

    async def transfer(self, agent_id: str, conversation_id: str, queue: Any) -> None:
        """Send my chat to another queue: it waits there (the visitor is told), the next agent
        gets the whole transcript, I go to wrap-up for it."""
        live = self._mine(agent_id, conversation_id)
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        if not isinstance(queue, str) or queue not in self.routing.config.queues:
            raise ChatError("queue: not a configured queue")
        if queue == live.record.queue:
            raise ConflictError(f"the chat is already in {queue}")
        try:
            await self.routing.transfer(conversation_id, queue)
        except Conflict as exc:
            raise ConflictError(str(exc)) from None
        except RoutingError as exc:
            raise ChatError(str(exc)) from None
        self.counters["transferred"] += 1

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
        works = [w for w in self.routing.agent(agent_id).work if w["channel"] == "chat"]
        works += [{"interaction_id": live.id, "state": "guest"}  # invited in (supervise.py)
                  for live in self.open_conversations()
                  if agent_id in live.guests and live.record.agent_id != agent_id]
        for work in works:
            record = await self.record(work["interaction_id"])
            if record is None:
                continue
            messages = await self.store.messages_after(record.id)
            earlier = (await self.store.earlier(record.channel, record.visitor_id,
                                                record.created_at)
                       if record.verified else [])
            live = self._live.get(record.id)
            marks = self._marks(live) if live is not None else None
            out.append({"conversation": record.as_json(), "work_state": work["state"],
                        "marks": marks,
                        "messages": [agent_json(m) for m in messages],
                        "earlier": [{"id": e.id, "created_at": e.created_at, "queue": e.queue,
                                     "agent_id": e.agent_id, "closed_by": e.closed_by}
                                    for e in earlier]})
        return out

    async def canned_replies(self, agent_id: str, conversation_id: str) -> list[dict[str, Any]]:
        """The canned replies for one of my chats: its queue's and the global ones, with the
        placeholders filled in for this visitor and agent."""
        live = self._mine(agent_id, conversation_id, guest=True)
        record = live.record
        values = {"visitor_name": record.visitor_name,
                  "agent_name": self._agent_name(agent_id) or "", "queue": record.queue}
        replies = for_queue(await self.canned.listing([record.queue]), record.queue)
        return [{"shortcut": r.shortcut, "text": fill(r.text, values)} for r in replies]

    async def record(self, conversation_id: str) -> ConversationRecord | None:
        """A conversation, open or closed."""
        live = self._live.get(conversation_id)
        if live is not None:
            return live.record
        found = await self.store.get(conversation_id)
        return found[0] if found is not None else None

    async def ended_for_visitor(self, channel: ChatChannelSettings, conversation_id: Any,
                                token: Any) -> ConversationRecord:
        """The ended chat a visitor names by its id and token (what comes after the end: the
        transcript by mail, the rating). Raises ``ForbiddenError`` (id, channel or token),
        ``ConflictError`` (not ended yet)."""
        if not isinstance(conversation_id, str) or not isinstance(token, str):
            raise ForbiddenError("unknown conversation or wrong token")
        found = await self.store.get(conversation_id[:64])
        if found is None or found[0].channel != channel.name \
                or not hmac.compare_digest(found[1], hash_token(token)):
            raise ForbiddenError("unknown conversation or wrong token")
        record = (await self.record(found[0].id)) or found[0]
        if record.closed_at is None:
            raise ConflictError("the chat has not ended yet")
        return record

    async def transcript(self, conversation_id: str, after: int = 0) -> list[Message]:
        """A conversation's messages above ``after``."""
        return await self.store.messages_after(conversation_id, after)

    # ----------------------------------------------------------------- messages
    async def append(self, live: LiveConversation, sender: Sender, text: str, *, name: str,
                     agent_id: str | None = None, client_id: str | None = None,
                     attachment: dict[str, Any] | None = None) -> Message:
        """Number, store, then send one message (visitor sockets and the agent's topic);
        ``attachment``: the file it carries (``attachments.py``)."""
        async with live.lock:
            msg = Message(live.id, live.record.last_seq + 1, sender, text, self.clock.time(),
                          name, agent_id, client_id, attachment)
            stored = await self.writer.append(msg)
            if client_id is not None:
                live.client_ids[client_id] = stored
                while len(live.client_ids) > RECENT_CLIENT_IDS:
                    live.client_ids.popitem(last=False)
            if stored is not msg:
                return stored  # a resend the database already had
            live.change(last_seq=msg.seq)
            if sender is not Sender.NOTE:  # a note is for the chat's agents only
                self._to_visitor(live, protocol.message(msg.as_json()))
            event = {"type": "chat-message", "conversation_id": live.id,
                     "message": agent_json(msg)}
            for agent in self.agents_in(live):
                self.publish(f"agent.{agent}", event)
            self.publish(f"chat.{live.id}", event)  # supervisors watching (staff only)
            return msg

    @staticmethod
    def agents_in(live: LiveConversation) -> list[str]:
        """The agents a conversation's messages go to: the one who has it, then guests."""
        owner = live.record.agent_id
        return ([owner] if owner else []) + sorted(live.guests - {owner})

    def live_of(self, conversation_id: str) -> LiveConversation | None:
        """The open conversation ``conversation_id``, if it is open."""
        return self._live.get(conversation_id)

    def open_conversations(self) -> list[LiveConversation]:
        """Every open conversation, oldest first."""
        return sorted(self._live.values(), key=lambda live: live.record.created_at)

    def _state_to_visitor(self, live: LiveConversation, agent_name: str | None) -> None:
        """The state frame of a step on the way (offered, connected, transferred...): the state
        is already the newest event's (``_apply``), and a "closed" is left to the end's own
        frames, which come after what the widget must have first (the rating offer)."""
        if live.state is not ConversationState.CLOSED:
            self._to_visitor(live, protocol.state(live.state.value, agent_name))

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
            live.guests.discard(event.agent_id)  # a colleague invited in now has it
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
            live.stop_timers()
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
        self.publish(f"chat.{live.id}", {"type": "chat", "conversation": live.record.as_json()})
        agent_name = self._agent_name(live.record.agent_id)
        channel = self.channel(live.record.channel)
        texts = channel.texts() if channel is not None else {}
        if isinstance(event, Offered):
            self._to_agent(event.agent_id, live, offer=True)
            self._state_to_visitor(live, None)
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
            self._state_to_visitor(live, None)
        elif isinstance(event, Connected):
            self._state_to_visitor(live, agent_name)
            await self.append(live, Sender.SYSTEM,
                              texts.get("joined", "{name} joined the chat.").replace(
                                  "{name}", agent_name or ""), name="")
            self._to_agent(event.agent_id, live)
            self.timeouts.visitor_turn(live)
        elif isinstance(event, Completed | Abandoned | Exited):
            key = "unavailable" if isinstance(event, Exited) else "ended"
            await self.append(live, Sender.SYSTEM, texts.get(key, "The chat has ended."),
                              name="")
            if isinstance(event, Exited) and channel is not None \
                    and channel.leave_message_after_s:
                self.timeouts.offer(live)  # past max_wait_s: a message rather than nothing
            self.timeouts.forget(live.id)
            if isinstance(event, Completed) and self.on_ended is not None:
                await self.on_ended(live)
            self._to_visitor(live, protocol.state(live.state.value, agent_name))
            if before:
                self._to_agent(before, live)
            for guest in sorted(live.guests - {before}):
                self._to_agent(guest, live, work_state="guest")
            self._live.pop(live.id, None)
        elif isinstance(event, Transferred) and before:
            live.stop_idle()
            self._to_agent(before, live, work_state="wrapup")
            await self.append(live, Sender.SYSTEM, texts.get(
                "transferred", DEFAULT_STRINGS["transferred"]).replace("{name}", self._agent_name(before) or ""), name="")
            self._state_to_visitor(live, None)
            live.last_position = None

    def _to_agent(self, agent_id: str, live: LiveConversation, offer: bool = False,
                  work_state: str | None = None) -> None:
        event: dict[str, Any] = {"type": "chat", "offer": offer,
                                 "conversation": live.record.as_json()}
        if work_state is not None:
            event["work_state"] = work_state
        self.publish(f"agent.{agent_id}", event)

    def _arm_ring(self, live: LiveConversation, offer_id: str, ring_s: float) -> None:
        if live.ring is not None:
            live.ring.cancel()
        live.ring = asyncio.get_running_loop().call_later(
            self.clock.real(ring_s), self._ring_out, live, offer_id)

    def _ring_out(self, live: LiveConversation, offer_id: str) -> None:
        live.ring = None
        if live.offer_id == offer_id and live.state is ConversationState.OFFERED:
            self.spawn(self._fail_offer(offer_id))

    async def _fail_offer(self, offer_id: str) -> None:
        try:
            await self.routing.offer_failed(offer_id, "no-answer")
        except RoutingError:
            pass  # answered or withdrawn meanwhile

    def is_open(self, live: LiveConversation) -> bool:
        """Whether ``live`` is still one of the open conversations (not ended meanwhile)."""
        return self._live.get(live.id) is live

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task that ``close()`` stops."""
        self.track(asyncio.create_task(coro))

    def track(self, task: asyncio.Task[Any]) -> None:
        """Let ``close()`` stop ``task``."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def send_to_visitor(self, live: LiveConversation, frame: dict[str, Any]) -> None:
        """Send ``frame`` to the conversation's visitor sockets."""
        self._to_visitor(live, frame)

    def forget(self, live: LiveConversation) -> None:
        """A conversation that ended outside the engine (the bot's) leaves the open ones."""
        self._live.pop(live.id, None)

    async def end_bot(self, live: LiveConversation, by: str) -> None:
        """The visitor went away while the bot talked (``timeouts.py``)."""
        await self.bots.stop(live, by)

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

    # ----------------------------------------------------------------- leave a message
    def someone_logged_in(self, queue: str) -> bool:
        """Whether an agent with chat capacity is logged in to ``queue`` (paused counts)."""
        # Read-only look at the engine's agents, as _agent_of does for its records.
        return any(queue in a.queues and a.presence is not AgentState.LOGGED_OUT
                   and a.config.capacity.get("chat", 0) > 0
                   for a in self.routing.engine.agents.values())

    def offline_reason(self, channel: ChatChannelSettings, queue: str | None = None) -> str | None:
        """Why ``channel`` takes no live chat now (``closed``, ``holiday``, ``nobody``), or
        None; ``queue``: where the chat would wait (the channel's queue when not given)."""
        logged_in = (self.someone_logged_in(queue or channel.queue)
                     if channel.offline_when_nobody_logged_in else True)
        return self.availability.offline_reason(channel, self.clock.time(), logged_in)

    async def leave_message(self, channel: ChatChannelSettings, request: StartRequest,
                            answers: Any, text: Any, remote: str,
                            conversation: tuple[str, str] | None = None) -> OfflineMessage:
        """Store a visitor's message left instead of a live chat; its queue's agents are told.
        ``conversation`` (id, token): a visitor in line chose to leave one (``leave_message``
        frame): that chat ends abandoned by choice (``closed_by: message``) and its answers and
        transcript so far go with the message.
        Raises ``model.Refused`` (form or text errors), ``RateLimited``, ``ForbiddenError``."""
        try:
            text = check_message_text(text, channel.max_message_chars)
        except ValueError as exc:
            raise Refused({"message": str(exc)}) from None
        if conversation is not None:
            return await self._leave_from_line(channel, conversation, text)
        checked = check_answers(channel, answers)
        now = self.clock.time()
        if channel.identity_secret and request.visitor_id is not None and not signature_ok(
                channel.identity_secret, request.visitor_id, request.signature):
            raise ForbiddenError("the visitor's identity could not be verified")
        wait = self.limits.start(remote, request.visitor_id, now)
        if wait > 0:
            raise RateLimited(wait)
        route = route_for(channel, checked)
        msg = new_message(
            channel=channel.name, queue=route.queue,
            visitor_id=request.visitor_id or f"v-{uuid.uuid4().hex[:16]}",
            visitor_name=display_name(checked, request.name), answers=checked, text=text,
            page=request.page, reason=self.offline_reason(channel, route.queue) or "open",
            created_at=now)
        await self._message_stored(msg)
        return msg

    async def _leave_from_line(self, channel: ChatChannelSettings,
                               conversation: tuple[str, str], text: str) -> OfflineMessage:
        """A waiting visitor leaves a message: end the wait, keep the chat so far with it."""
        conversation_id, token = conversation
        found = await self.store.get(conversation_id)
        if found is None or found[0].channel != channel.name \
                or not hmac.compare_digest(found[1], hash_token(token)):
            raise ForbiddenError("unknown conversation or wrong token")
        live = self._live.get(conversation_id)
        record = live.record if live is not None else found[0]
        # In line (or just past max_wait_s: closed by the system) and never answered; once.
        closed = record.state is ConversationState.CLOSED
        if not channel.leave_message_after_s or record.accepted_at is not None \
                or (closed and record.closed_by != "system") \
                or record.state not in (ConversationState.WAITING, ConversationState.OFFERED,
                                        ConversationState.CLOSED):
            raise ConflictError("this chat cannot turn into a message")
        if live is not None and live.state is not ConversationState.CLOSED:
            live.closing_by = "message"
            try:
                await self.routing.abandon(live.id)
            except RoutingError as exc:
                log.info("chat %s: leaving a message, abandon not taken: %s", live.id, exc)
        lines = [f"{m.name or m.sender.value}: {m.text}"
                 for m in await self.transcript(conversation_id)]
        full = text if not lines else text + "\n\nThe chat so far:\n" + "\n".join(lines)
        msg = new_message(
            channel=channel.name, queue=record.queue, visitor_id=record.visitor_id,
            visitor_name=record.visitor_name, answers=record.answers, text=full,
            page=record.page, reason="waited", created_at=self.clock.time())
        await self._message_stored(msg)
        return msg

    async def _message_stored(self, msg: OfflineMessage) -> None:
        """Store ``msg``, tell its queue's agents and supervisors, hand it to ``message_left``
        (tickets) and keep the ticket's number it answers."""
        await self.offline.add(msg)
        self.counters["offline_messages"] += 1
        for agent in self.routing.engine.agents.values():
            if msg.queue in agent.queues or msg.queue in agent.config.queues:
                self.publish(f"agent.{agent.id}", {"type": "chat-offline-message",
                                                   "message": msg.as_json()})
        self.left_message_changed(msg)
        if self.message_left is None:
            return
        try:
            ticket = await self.message_left(msg)
        except Exception:  # the message is stored: a ticket failing must not lose it
            log.exception("chat message %s: filing it as a ticket failed", msg.id)
            return
        ticket_id = getattr(ticket, "id", None)
        if isinstance(ticket_id, int):
            await self.offline.set_ticket(msg.id, ticket_id)
            self.left_message_changed(dataclasses.replace(msg, ticket_id=ticket_id))

    def left_message_changed(self, msg: OfflineMessage) -> None:
        """Tell the supervisors' page of messages left (topic ``chat-left``)."""
        self.publish(LEFT_TOPIC, {"type": "chat-left", "message": msg.as_json()})
