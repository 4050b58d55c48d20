"""Idle timeouts of open conversations, on the server's Clock.

Design note. Two timers per conversation, both optional per chat channel:
* *idle*: while a conversation is active and it is the visitor's turn (after the agent joined
  or wrote), ``idle_warning_s`` of silence brings a system message (``idle_warning``), and
  ``idle_close_s`` more end the chat (``idle_closed``, ``closed_by: idle``). A visitor's
  message stops it; a transfer or the end cancels it.
* *gone*: when the last visitor socket goes, the visitor has ``visitor_gone_s`` to come back
  (a reload, a network cut); otherwise the conversation is abandoned (``closed_by: gone``;
  the engine completes a connected one, as for a call).
* *leave a message*: a visitor still waiting ``leave_message_after_s`` after the start is
  offered "leave a message" (a ``leave_message`` frame; the widget shows the form beside the
  line, offline.py); the wait goes on until the visitor chooses.
Timers are loop handles scaled by ``Clock.real`` (tests run them many times faster); what
fires only schedules the work, which checks again that the conversation is still open.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine
from typing import Any, Protocol

from contactcenter.chat.live import LiveConversation
from contactcenter.chat.model import ConversationState, Message, Sender
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.domain.clock import Clock
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService

log = logging.getLogger(__name__)


class TimeoutHost(Protocol):
    """What the timers need from the chat service."""

    clock: Clock
    routing: RoutingService
    counters: Counter[str]

    def channel(self, name: str) -> ChatChannelSettings | None:
        """The chat channel called ``name``."""

    def is_open(self, live: LiveConversation) -> bool:
        """Whether ``live`` is still one of the service's open conversations."""

    async def end_bot(self, live: LiveConversation, by: str) -> None:
        """The visitor went away while the bot talked: it lets go."""

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task the service stops on close."""

    def send_to_visitor(self, live: LiveConversation, frame: dict[str, Any]) -> None:
        """Send ``frame`` to every socket of the visitor."""

    async def append(self, live: LiveConversation, sender: Sender, text: str, *, name: str,
                     agent_id: str | None = None, client_id: str | None = None) -> Message:
        """Number, store and send one message."""


class Timeouts:
    """The idle and gone timers of every open conversation of one chat service."""

    def __init__(self, host: TimeoutHost) -> None:
        self.host = host
        self.closing = False  # set when the service stops: no new timers
        self._offers: dict[str, asyncio.TimerHandle] = {}  # "leave a message", per chat
        self.offered: set[str] = set()  # chats offered it (a reconnecting widget is told again)

    def _later(self, seconds: float, fn: Any, live: LiveConversation) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(self.host.clock.real(seconds), fn, live)

    # --------------------------------------------------------------------- idle
    def visitor_turn(self, live: LiveConversation) -> None:
        """(Re)start the visitor's silence: a warning after ``idle_warning_s``."""
        live.stop_idle()
        live.idle_warned = False
        channel = self.host.channel(live.record.channel)
        if channel is None or not channel.idle_warning_s or self.closing:
            return
        live.idle = self._later(channel.idle_warning_s, self._idle_due, live)

    def visitor_spoke(self, live: LiveConversation) -> None:
        """The visitor answered: it is the agent's turn, no countdown."""
        live.stop_idle()
        live.idle_warned = False

    def _idle_due(self, live: LiveConversation) -> None:
        live.idle = None
        if live.state is ConversationState.ACTIVE and self.host.is_open(live):
            self.host.spawn(self._idle_step(live))

    async def _idle_step(self, live: LiveConversation) -> None:
        """Warn the silent visitor, or close the chat when the warning got no answer."""
        channel = self.host.channel(live.record.channel)
        if channel is None or live.state is not ConversationState.ACTIVE:
            return
        texts = channel.texts()
        if not live.idle_warned:
            live.idle_warned = True
            minutes = max(1, round(channel.idle_close_s / 60))
            await self.host.append(live, Sender.SYSTEM, texts["idle_warning"].replace(
                "{minutes}", str(minutes)), name="")
            # (unless the visitor answered, or the chat moved, while the warning was stored)
            if live.idle is None and live.idle_warned and not self.closing \
                    and live.state is ConversationState.ACTIVE:
                live.idle = self._later(channel.idle_close_s, self._idle_due, live)
            return
        await self.host.append(live, Sender.SYSTEM, texts["idle_closed"], name="")
        live.closing_by = "idle"
        self.host.counters["idle_closed"] += 1
        try:
            await self.host.routing.complete(live.id)
        except RoutingError as exc:
            log.info("chat %s: idle close not taken: %s", live.id, exc)

    # --------------------------------------------------------------------- leave a message
    def waiting(self, live: LiveConversation, waited_s: float = 0.0) -> None:
        """A visitor in line: "leave a message" is offered ``leave_message_after_s`` after the
        start (``waited_s`` of it already gone, after a restart)."""
        channel = self.host.channel(live.record.channel)
        if channel is None or not channel.leave_message_after_s or self.closing \
                or live.id in self._offers or live.id in self.offered:
            return
        delay = max(0.0, channel.leave_message_after_s - waited_s)
        self._offers[live.id] = self._later(delay, self._offer_due, live)

    def _offer_due(self, live: LiveConversation) -> None:
        self._offers.pop(live.id, None)
        if self.host.is_open(live) and live.state in (ConversationState.WAITING,
                                                       ConversationState.OFFERED):
            self.offer(live)

    def offer(self, live: LiveConversation) -> None:
        """Tell the visitor's widget it may leave a message instead of waiting."""
        self.offered.add(live.id)
        self.host.counters["leave_message_offered"] += 1
        self.host.send_to_visitor(live, {"type": "leave_message"})

    def forget(self, conversation_id: str) -> None:
        """The chat ended: no offer is due any more."""
        handle = self._offers.pop(conversation_id, None)
        if handle is not None:
            handle.cancel()
        self.offered.discard(conversation_id)

    def stop(self) -> None:
        """The service stops: every pending offer is cancelled."""
        self.closing = True
        for handle in self._offers.values():
            handle.cancel()
        self._offers.clear()

    # --------------------------------------------------------------------- gone
    def socket_left(self, live: LiveConversation) -> None:
        """With no visitor socket left, the visitor has ``visitor_gone_s`` to come back."""
        channel = self.host.channel(live.record.channel)
        if channel is None or not channel.visitor_gone_s or live.peers or self.closing \
                or live.state is ConversationState.CLOSED:
            return
        if live.gone is not None:
            live.gone.cancel()
        live.gone = self._later(channel.visitor_gone_s, self._gone_due, live)

    @staticmethod
    def socket_back(live: LiveConversation) -> None:
        """A visitor socket joined: the visitor is not gone."""
        if live.gone is not None:
            live.gone.cancel()
            live.gone = None

    def _gone_due(self, live: LiveConversation) -> None:
        live.gone = None
        if not live.peers and self.host.is_open(live) \
                and live.state is not ConversationState.CLOSED:
            self.host.spawn(self._visitor_gone(live))

    async def _visitor_gone(self, live: LiveConversation) -> None:
        """The visitor left without a word and did not come back: the chat is abandoned
        (completed, when an agent had it: the engine's own rule for a connected one)."""
        live.closing_by = live.closing_by or "gone"
        self.host.counters["visitor_gone"] += 1
        if live.state is ConversationState.BOT:  # no interaction yet: the bot lets go
            await self.host.end_bot(live, "gone")
            return
        try:
            await self.host.routing.abandon(live.id)
        except RoutingError as exc:
            log.info("chat %s: visitor gone, not taken: %s", live.id, exc)
