"""The chat channel's bot: a chat flow (``channel: chat``) that talks before the queue.

Design note. A channel with ``bot: <flow>`` starts each conversation in state ``bot``: it is
stored, it has a token and a socket like any chat, but it is no interaction yet. The flow runs
in ``ivr.text_runner`` (the IVR's flow language, one floor down) over this module's ports:
the bot's messages are the conversation's own numbered messages (sender ``bot``, so the agent
later reads the whole transcript), their buttons and articles go to the widget as a ``bot``
frame kept for a socket that rejoins, and the visitor's messages feed the runner's inbox. The
knowledge base is reached through the chat's ``Faq`` (published articles only).
When the flow lets go:
* hand-over (a queue node, "agent"/"human", a "no", nothing confident, a failure): the
  conversation becomes an interaction of the queue engine with the conversation's *original*
  arrival time (``Interaction.arrived_at = created_at``), so its wait and service level count
  the time spent with the bot;
* deflected (a "yes" to an article, then the end) or ended: it is closed by the bot, never
  queued; ``bot_outcome`` keeps which, per ``bot_flow``: the deflections per flow
  (``outcomes()``).
A "yes" is also a helpful vote on each article offered, as the help center's button is one
(``Faq.vote``: one per visitor's address and article, within ``kb.votes_per_hour``), counted
when the runner lets go or the visitor leaves, whichever comes first.
Restart: the runner's place lives in memory only, so a conversation found in state ``bot`` at
start is handed over (its transcript is stored): nobody is left talking to a bot that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from contactcenter.chat import protocol
from contactcenter.chat.live import LiveConversation
from contactcenter.chat.model import ConversationState, Sender, route_for
from contactcenter.chat.settings import DEFAULT_STRINGS, ChatChannelSettings
from contactcenter.chat.tables import ChatConversationRow
from contactcenter.domain.interaction import MAX_DATA_TEXT, Interaction
from contactcenter.ivr.model import Flow
from contactcenter.ivr.ports import LookupResult
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.text_runner import (
    BotResult,
    Handover,
    KbAnswer,
    KbArticle,
    TextFlowRunner,
    VisitorGone,
)
from contactcenter.kb.limits import client_key
from contactcenter.kb.model import Audience, KbError, help_url
from contactcenter.routing.errors import RoutingError

if TYPE_CHECKING:
    from contactcenter.chat.service import ChatService

log = logging.getLogger(__name__)
OUTCOMES = ("handover", "deflected", "ended", "abandoned")
MAX_BOT_DATA = 20  # hand-over data items the bot adds to the chat's own


class BotKb:
    """``KbPort`` over the chat's knowledge base: published articles of one locale."""

    def __init__(self, service: ChatService, locale: str, remote: str) -> None:
        self.service, self.locale, self.client = service, locale, client_key(remote)

    async def search(self, question: str, limit: int) -> KbAnswer:
        """The knowledge base's answer; none when it has none or refuses the search."""
        kb = self.service.faq.kb
        if kb is None:
            return KbAnswer("none")
        try:
            result = await kb.search(question, self.locale or None, Audience.PUBLIC, limit,
                                     client=self.client)
        except KbError as exc:
            log.warning("chat bot: knowledge base search refused: %s", exc)
            return KbAnswer("none")
        urls = kb.settings.help_center
        return KbAnswer(result.mode, tuple(
            KbArticle(h.article_id, h.title, h.score, help_url(h.locale, h.slug) if urls else None)
            for h in result.hits))


class NoLookups:
    """``LookupPort`` for a server that wired none: every lookup fails as an error."""

    async def lookup(self, source: str, key: str) -> LookupResult:
        """Nothing found, with an error (the flow's ``on_error`` runs)."""
        return LookupResult(False, {}, source, "no lookups in chat")


class BotConversation:
    """``TextConversation`` over one live conversation."""

    def __init__(self, service: ChatService, live: LiveConversation, name: str) -> None:
        self.service, self.live, self.name = service, live, name
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.runner: TextFlowRunner | None = None
        self.remote = ""
        self.voted: set[int] = set()  # articles whose "yes" was counted as helpful

    async def send(self, text: str, buttons: tuple[str, ...] = (),
                   articles: tuple[KbArticle, ...] = ()) -> None:
        """Store the bot's message (article titles included, for the agent), then its
        buttons and article links for the widget."""
        body = "\n".join([text, *(f"• {a.title}" for a in articles)]).strip()
        if not body:
            return
        msg = await self.service.append(self.live, Sender.BOT, body, name=self.name)
        frame = {"type": "bot", "seq": msg.seq, "buttons": list(buttons),
                 "articles": [{"id": a.id, "title": a.title, "url": a.url} for a in articles]}
        async with self.live.lock:  # a socket joining now gets it once: live or at its welcome
            self.live.bot_prompt = frame if buttons else None
            self.service.send_to_visitor(self.live, frame)

    async def receive(self) -> str:
        """The visitor's next message."""
        text = await self.inbox.get()
        if text is None:
            raise VisitorGone
        return text


class ChatBots:
    """Runs the bot flows of a chat service's conversations."""

    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.flows: Callable[[], Mapping[str, Flow]] | None = None  # the flows' registry
        self.lookups: Any = NoLookups()
        self.settings = IvrSettings()

    def flow_for(self, channel: ChatChannelSettings) -> Flow | None:
        """The chat flow ``channel`` runs, when it names one that is loaded."""
        if not channel.bot:
            return None
        flow = self.flows().get(channel.bot) if self.flows is not None else None
        if flow is None or flow.channel != "chat":
            log.warning("chat channel %s: bot flow %r is not a loaded chat flow; chats go "
                        "straight to the queue", channel.name, channel.bot)
            return None
        return flow

    def begin(self, live: LiveConversation, channel: ChatChannelSettings, flow: Flow,
              remote: str) -> None:
        """Start the flow for a new conversation (its record is stored, in state ``bot``)."""
        texts = channel.texts()
        conv = BotConversation(self.service, live, texts.get("bot_name", DEFAULT_STRINGS[
            "bot_name"]))
        live.bot = conv
        variables: dict[str, Any] = {
            "visitor_name": live.record.visitor_name, "channel": channel.name,
            "page": live.record.page, "language": channel.faq.locale}
        variables.update({f"answer.{a.name}": a.value for a in live.record.answers})
        runner = TextFlowRunner(conv, kb=BotKb(self.service, channel.faq.locale, remote),
                                lookups=self.lookups, clock=self.service.clock,
                                settings=self.settings, variables=variables)
        conv.runner, conv.remote = runner, remote
        conv.task = asyncio.create_task(self._run(live, channel, runner, flow),
                                        name=f"chat-bot-{live.id}")
        self.service.track(conv.task)

    async def _run(self, live: LiveConversation, channel: ChatChannelSettings,
                   runner: TextFlowRunner, flow: Flow) -> None:
        result = await runner.run(flow)
        if live.bot is None or live.state is not ConversationState.BOT:
            return  # the visitor left meanwhile (``stop``)
        conv = live.bot
        if isinstance(conv, BotConversation):
            await self._count_helped(conv, result.helped)
        try:
            if result.outcome == "handover":
                await self.hand_over(live, channel, result.handover or Handover(None), result)
            else:
                await self.finish(live, result.outcome, "bot")
        except Exception:  # a hand-over that failed must still end the conversation
            log.exception("chat %s: the bot's end failed", live.id)

    def heard(self, live: LiveConversation, text: str) -> None:
        """The visitor said ``text`` while the bot talks."""
        if isinstance(live.bot, BotConversation):
            live.bot.inbox.put_nowait(text)

    async def stop(self, live: LiveConversation, by: str) -> None:
        """The visitor left (closed the chat, or went away) while the bot talked."""
        conv = live.bot
        if isinstance(conv, BotConversation) and conv.task is not None \
                and conv.task is not asyncio.current_task():
            conv.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conv.task
        if isinstance(conv, BotConversation) and conv.runner is not None:
            await self._count_helped(conv, tuple(conv.runner.helped))  # a "yes", then gone
        await self.finish(live, "abandoned", by)

    async def _count_helped(self, conv: BotConversation, helped: tuple[int, ...]) -> None:
        """Each article the visitor said answered the question counts helpful, once."""
        for article_id in dict.fromkeys(helped):
            if article_id not in conv.voted:
                conv.voted.add(article_id)
                await self.service.faq.vote(article_id, conv.remote)

    async def finish(self, live: LiveConversation, outcome: str, by: str) -> None:
        """Close a bot conversation nobody else holds; ``outcome`` is kept for the flow."""
        if live.state is not ConversationState.BOT:
            return
        live.bot, live.bot_prompt = None, None
        channel = self.service.channel(live.record.channel)
        texts = channel.texts() if channel is not None else DEFAULT_STRINGS
        live.stop_timers()
        await self.service.append(live, Sender.SYSTEM, texts["ended"], name="")
        live.change(state=ConversationState.CLOSED, closed_at=self.service.clock.time(),
                    closed_by=by, bot_outcome=outcome)
        await self.service.writer.save_state(live.record)
        self.service.send_to_visitor(live, protocol.state("closed", None))
        self.service.forget(live)
        self.service.counters[f"bot_{outcome}"] += 1

    async def hand_over(self, live: LiveConversation, channel: ChatChannelSettings | None,
                        handover: Handover, result: BotResult | None = None) -> None:
        """Queue the conversation for a person, as arrived when it began."""
        live.bot, live.bot_prompt = None, None
        texts = channel.texts() if channel is not None else DEFAULT_STRINGS
        route = route_for(channel, live.record.answers) if channel is not None else None
        queue = handover.queue or (route.queue if route else live.record.queue)
        skills = dict(handover.skills) if handover.queue or route is None else route.skills
        priority = handover.priority if handover.queue or route is None else route.priority
        data: dict[str, Any] = {"chat_channel": live.record.channel,
                                "visitor_id": live.record.visitor_id,
                                "visitor_name": live.record.visitor_name,
                                "bot_flow": live.record.bot_flow, "bot_reason": handover.reason}
        data.update({a.name: a.value for a in live.record.answers})
        data.update(_scalars(handover.data))
        self.service.send_to_visitor(live, {"type": "bot", "seq": live.record.last_seq,
                                            "buttons": [], "articles": []})
        await self.service.append(live, Sender.SYSTEM, texts["bot_handover"], name="")
        live.change(state=ConversationState.WAITING, queue=queue, bot_outcome="handover")
        await self.service.writer.save_state(live.record)
        self.service.send_to_visitor(live, protocol.state("waiting", None))
        try:
            await self.service.routing.enqueue(Interaction(
                channel="chat", queue=queue, priority=priority, skills=skills, data=data,
                id=live.id, arrived_at=live.record.created_at))
        except (RoutingError, ValueError) as exc:
            log.error("chat %s: the bot's hand-over was not queued: %s", live.id, exc)
            await self.service.append(live, Sender.SYSTEM, texts["unavailable"], name="")
            live.change(state=ConversationState.CLOSED, closed_at=self.service.clock.time(),
                        closed_by="system")
            await self.service.writer.save_state(live.record)
            self.service.send_to_visitor(live, protocol.state("closed", None))
            self.service.forget(live)
            return
        self.service.counters["bot_handover"] += 1
        self.service.counters["started"] += 1
        self.service.timeouts.waiting(live)  # "leave a message" after a long wait, as for all


def _scalars(data: Mapping[str, Any]) -> dict[str, Any]:
    """The flow's hand-over data as the engine takes it: flat, wire-safe, short scalars."""
    out: dict[str, Any] = {}
    for key, value in list(data.items())[:MAX_BOT_DATA]:
        if value is None:
            continue
        if not isinstance(value, (str, int, float, bool)):
            value = str(value)
        if isinstance(value, str):
            value = " ".join(value.split())[:MAX_DATA_TEXT]
        out[key.replace("\r", "").replace("\n", "")] = value
    return out


async def outcomes(db: Any, since: float | None = None) -> list[dict[str, Any]]:
    """Per bot flow: how many conversations it began and how each ended (the deflections)."""
    row = ChatConversationRow
    query = sa.select(row.bot_flow, row.bot_outcome, sa.func.count()).where(
        row.bot_flow.is_not(None)).group_by(row.bot_flow, row.bot_outcome)
    if since is not None:
        query = query.where(row.created_at >= since)
    by_flow: dict[str, dict[str, Any]] = {}
    async with db.session() as session:
        for flow, outcome, count in (await session.execute(query)).all():
            entry = by_flow.setdefault(flow, {"flow": flow, "conversations": 0, "talking": 0,
                                              **{o: 0 for o in OUTCOMES}})
            entry["conversations"] += count
            entry[outcome if outcome in OUTCOMES else "talking"] += count
    for entry in by_flow.values():
        done = entry["conversations"] - entry["talking"]
        entry["deflection_rate"] = round(entry["deflected"] / done, 4) if done else None
    return [by_flow[k] for k in sorted(by_flow)]
