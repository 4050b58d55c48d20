"""Leave a message instead of a live chat: from the offline form, or from the line (a visitor
who waited long enough); stored, told to the queue's agents and the supervisors' page, handed to
the tickets when they are wired."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import uuid
from typing import Any

from contactcenter.chat.core import ChatCore, hash_token
from contactcenter.chat.errors import ConflictError, ForbiddenError, RateLimited
from contactcenter.chat.model import (
    ConversationState,
    Refused,
    StartRequest,
    check_answers,
    check_message_text,
    display_name,
    route_for,
    signature_ok,
)
from contactcenter.chat.offline import OfflineMessage, new_message
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.routing.errors import RoutingError

log = logging.getLogger(__name__)

LEFT_TOPIC = "chat-left"  # messages left, for the supervisors' page (staff only: wiring.py)


class LeaveMessage(ChatCore):
    """Messages left by visitors."""

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
