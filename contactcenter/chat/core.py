"""What every part of the chat service shares: the open conversations in memory, numbering
and sending their messages, the agents' names and the channel's availability.

* Messages are numbered per conversation under the conversation's lock: stored, then sent, in
  number order (``store.py``); the visitor's resume (``visitor_side.attach``) reads its backlog
  under the same lock, so it sees no gap and no repeat.
* The parts (``visitor_side``, ``agent_side``, ``transfer_close``, ``leave_message``,
  ``engine_events``) are mixins of this class, put together as ``service.ChatService``; each
  calls only what is here or its own, so one part can be read (and changed) alone.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from contactcenter.chat import protocol
from contactcenter.chat.bot import ChatBots
from contactcenter.chat.canned import CannedStore
from contactcenter.chat.errors import ForbiddenError, NotFoundError
from contactcenter.chat.faq import Faq
from contactcenter.chat.live import LiveConversation
from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.offline import Availability, OfflineMessage, OfflineStore
from contactcenter.chat.settings import ChatChannelSettings, ChatSettings
from contactcenter.chat.store import ChatStore, ChatWriter
from contactcenter.chat.timeouts import Timeouts
from contactcenter.chat.visitor_limits import VisitorLimits
from contactcenter.domain.agent import AgentState
from contactcenter.domain.clock import Clock
from contactcenter.domain.routing_events import RoutingEvent
from contactcenter.routing.service import RoutingService

Publish = Callable[[str, Any], int]
RECENT_CLIENT_IDS = 200  # per conversation, kept in memory; the database's index backs them up


def agent_json(message: Message) -> dict[str, Any]:
    """A message for the agents' panel: the wire's, with the author agent's id (after a
    transfer, the card tells the colleague's messages from its own)."""
    return {**message.as_json(), "agent_id": message.agent_id}


def hash_token(token: str) -> str:
    """What is stored of a visitor's token: its SHA-256 (a database dump resumes no chat)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ChatCore:
    """The state of one chat service and the helpers all its parts use."""

    # Set by ``ChatService`` (each takes the whole service).
    timeouts: Timeouts  # idle and gone visitors
    bots: ChatBots  # its flows and lookups are the server's, once wired

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
        # The queue engine's events, taken in order by one task (``engine_events.py``).
        self._pending: deque[tuple[LiveConversation, RoutingEvent, str | None]] = deque()
        self._positions_dirty = False
        self._positions_timer: asyncio.TimerHandle | None = None
        self._positions_at = -1e9  # loop time of the last push
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # ``spawn``/``track``: stopped on close
        self._unsubscribe: Callable[[], None] | None = None
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

    def channel(self, name: str) -> ChatChannelSettings | None:
        """The chat channel called ``name``."""
        return self.settings.channel(name)

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

    def _mine(self, agent_id: str, conversation_id: str,
              guest: bool = False) -> LiveConversation:
        live = self._live.get(conversation_id)
        if live is None:
            raise NotFoundError("no open conversation with that id")
        if live.record.agent_id != agent_id and not (guest and agent_id in live.guests):
            raise ForbiddenError("not your conversation")
        return live

    @staticmethod
    def _marks(live: LiveConversation) -> dict[str, int]:
        return {"delivered": live.visitor_delivered, "read": live.visitor_read,
                "agent_read": live.agent_read}

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
            # The agents first (a visitor's own message is already on their screen), then the
            # bookkeeping: nothing awaits in between, so nobody sees the number out of step.
            event = {"type": "chat-message", "conversation_id": live.id,
                     "message": agent_json(msg)}
            for agent in self.agents_in(live):
                self.publish(f"agent.{agent}", event)
            live.change(last_seq=msg.seq)
            if sender is not Sender.NOTE:  # a note is for the chat's agents only
                self._to_visitor(live, protocol.message(msg.as_json()))
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

    def _to_agent(self, agent_id: str, live: LiveConversation, offer: bool = False,
                  work_state: str | None = None) -> None:
        event: dict[str, Any] = {"type": "chat", "offer": offer,
                                 "conversation": live.record.as_json()}
        if work_state is not None:
            event["work_state"] = work_state
        self.publish(f"agent.{agent_id}", event)

    def _agent_name(self, agent_id: str | None) -> str | None:
        if agent_id is None:
            return None
        agent = self.routing.config.agents.get(agent_id)
        return (agent.name if agent is not None and agent.name else None) or agent_id

    def _agent_of(self, iid: str) -> str | None:
        # Read-only look at the engine's record: the service has no accessor for it yet.
        rec = self.routing.engine.live.get(iid)
        return rec.agent_id if rec is not None else None

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
