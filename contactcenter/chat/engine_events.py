"""The glue to the queue engine: its events become the conversations' states, system messages
and frames; the offer's ring timer; the waiting chats' places.

* A conversation *is* an interaction of the queue engine (channel ``chat``, same id): waiting,
  skills, priority, strategies, overflow, capacity per channel, ring-no-answer and wrap-up are
  the engine's, exactly as for calls. The service subscribes to the engine's events; the
  subscriber only updates the conversation's state in memory (so every later call sees it at
  once) and queues the event; one task then does the slow part in order: store the state,
  write the system message, tell the visitor's sockets and the agent's live topic.
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
import logging

from contactcenter.chat import protocol
from contactcenter.chat.core import ChatCore
from contactcenter.chat.live import LiveConversation
from contactcenter.chat.model import ConversationState, Sender
from contactcenter.chat.settings import DEFAULT_STRINGS
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
from contactcenter.routing.errors import RoutingError

log = logging.getLogger(__name__)

POSITION_EVERY_S = 0.25  # real seconds: at most this often the waiting chats' places are sent


class EngineEvents(ChatCore):
    """Following the queue engine's events for the open conversations."""

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
