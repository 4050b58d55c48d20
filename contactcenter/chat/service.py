"""The chat channel's use cases: a visitor starts and carries on a conversation, the queue
engine finds the agent, the agent accepts, writes, and closes with a disposition.

``ChatService`` is put together from one part per job, each a module of its own:
``core`` (the open conversations, numbering and sending messages), ``visitor_side``,
``agent_side``, ``transfer_close``, ``leave_message`` and ``engine_events`` (the queue engine's
events); here are only its construction, start and stop, and its metrics. The errors are in
``errors.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

from contactcenter.chat.agent_side import AgentSide
from contactcenter.chat.bot import ChatBots
from contactcenter.chat.engine_events import EngineEvents
from contactcenter.chat.leave_message import LeaveMessage
from contactcenter.chat.live import LiveConversation
from contactcenter.chat.model import ConversationState
from contactcenter.chat.settings import ChatSettings
from contactcenter.chat.store import ChatStore
from contactcenter.chat.timeouts import Timeouts
from contactcenter.chat.transfer_close import TransferClose
from contactcenter.chat.visitor_side import VisitorSide
from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import InteractionState
from contactcenter.ivr.text_runner import Handover
from contactcenter.routing.service import RoutingService

log = logging.getLogger(__name__)



class ChatService(VisitorSide, AgentSide, TransferClose, LeaveMessage, EngineEvents):
    """Conversations of every chat channel over one queue engine."""

    def __init__(self, settings: ChatSettings, routing: RoutingService, store: ChatStore,
                 clock: Clock) -> None:
        super().__init__(settings, routing, store, clock)
        self.timeouts = Timeouts(self)  # idle and gone visitors
        self.bots = ChatBots(self)  # its flows and lookups are the server's, once wired

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

    def metrics(self) -> dict[str, Any]:
        """Open conversations by (chat channel, queue, state) and the counters since start,
        read at scrape time (docs/chat.md, "Metrics")."""
        open_now: Counter[tuple[str, str, str]] = Counter(
            (live.record.channel, live.record.queue, live.state.value)
            for live in self._live.values() if live.state is not ConversationState.CLOSED)
        return {"conversations": [{"channel": c, "queue": q, "state": st, "count": n}
                                  for (c, q, st), n in sorted(open_now.items())],
                "counters": dict(self.counters)}
