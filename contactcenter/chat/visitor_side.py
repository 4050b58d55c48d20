"""The visitor's side of a chat: start (past the articles and the bot), join with a socket and
resume, write, mark read, type, leave; and what comes after the end (``ended_for_visitor``).

* A channel's bot flow (``bot.py``) talks first: the conversation waits in state ``bot``,
  outside the engine, until the flow hands it over (queued with its original arrival time)
  or ends it (deflected or ended, never queued).
* Articles before a person (``faq.py``): a start that says an article answered the question is
  stored closed (``self_served``) and never becomes an interaction; any other start with a
  ``faq`` part has the question as message 1 before it is queued.
* A visitor socket that comes back (network cut, page reload, server restart) says the last
  number it saw and gets everything after it, then live ones, with no gap and no repeat: the
  backlog is read and the socket registered under the conversation's lock.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
import uuid
from typing import Any

from contactcenter.chat import protocol
from contactcenter.chat.core import ChatCore, hash_token
from contactcenter.chat.errors import (
    ConflictError,
    ForbiddenError,
    OfflineError,
    RateLimited,
    UnavailableError,
)
from contactcenter.chat.faq import SELF_SERVED, FaqChoice
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
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.domain.interaction import Interaction
from contactcenter.routing.errors import RoutingError

log = logging.getLogger(__name__)


class VisitorSide(ChatCore):
    """What the visitor's widget asks of the chat service."""

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

    async def end_bot(self, live: LiveConversation, by: str) -> None:
        """The visitor went away while the bot talked (``timeouts.py``)."""
        await self.bots.stop(live, by)
