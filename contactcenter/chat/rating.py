"""The rating asked at the end of a chat: a score 1..5 (5 best) and an optional comment, once
per chat, which the visitor may skip.

Design note.
* **The offer is recorded.** When a chat an agent was in ends (``Completed``: the agent or the
  visitor ended it) on a channel with ``rating`` on, and the visitor's widget is still
  connected, ``offer`` stores a ``chat_ratings`` row (``offered_at``) and sends the visitor a
  ``rating`` frame ahead of the end: the widget shows the form after it (the row is written
  by a task, so the end is not delayed; an answer waits for it). A chat that ended
  with nobody there is not offered anything, so the reports' response rate (answers / offers)
  counts only visitors who saw the form. ``ChatService`` calls ``offer`` through its
  ``on_ended`` hook; a failure here is logged and never keeps the end from the visitor.
* **The visitor's token is the key**, as for the transcript by email
  (``transcript_mail.py``): the answer comes over the widget's HTTP route with the chat's id
  and the token only its visitor holds, once the chat has ended.
* **One answer per chat: the first stands.** The answer is written with
  ``UPDATE ... WHERE rating IS NULL``, so two sends (two tabs, a retry) cannot both land; a
  later one changes nothing and is told the answer that stands.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contactcenter.chat.errors import ConflictError
from contactcenter.chat.live import LiveConversation
from contactcenter.chat.model import Refused
from contactcenter.chat.service import ChatService
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.chat.tables import ChatRatingRow
from contactcenter.web.roles import STAFF, Actor

log = logging.getLogger(__name__)
SCORES = (1, 2, 3, 4, 5)
COMMENT_MAX = 2000
RATING_FRAME = {"type": "rating"}  # the visitor socket's: the form follows the end


@dataclass(frozen=True, slots=True)
class ChatRating:
    """A chat's rating survey: offered when, answered with what (``rating`` None: not yet)."""

    conversation_id: str
    queue: str
    agent_id: str | None
    offered_at: float
    rating: int | None
    comment: str
    answered_at: float | None

    def as_json(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "queue": self.queue,
                "agent_id": self.agent_id, "offered_at": self.offered_at,
                "rating": self.rating, "comment": self.comment,
                "answered_at": self.answered_at}


def _of(row: ChatRatingRow) -> ChatRating:
    return ChatRating(row.conversation_id, row.queue, row.agent_id, row.offered_at, row.rating,
                      row.comment, row.answered_at)


def may_see(actor: Actor, agent_id: str | None) -> bool:
    """Who sees a chat's rating: staff, and the agent who had the chat (``agent_id``)."""
    return actor.role in STAFF or bool(actor.agent_id and agent_id == actor.agent_id)


def check_answer(rating: Any, comment: Any) -> tuple[int, str]:
    """A score 1..5 and a comment as stored; ``Refused`` by field otherwise."""
    if not isinstance(rating, int) or isinstance(rating, bool) or rating not in SCORES:
        raise Refused({"rating": "choose a rating from 1 to 5"})
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise Refused({"comment": "the comment must be text"})
    comment = comment.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(comment) > COMMENT_MAX:
        raise Refused({"comment": f"at most {COMMENT_MAX} characters"})
    return rating, comment


class ChatRatings:
    """Offers the rating at a chat's end and takes the visitor's one answer."""

    def __init__(self, service: ChatService) -> None:
        self.service = service
        self._storing: dict[str, asyncio.Task[None]] = {}  # offers being written, by chat

    def offered(self, channel: ChatChannelSettings | None) -> bool:
        """Whether ``channel`` asks for a rating at the end of its chats."""
        return channel is not None and channel.rating

    async def offer(self, live: LiveConversation) -> None:
        """The chat ``live`` ended: with an agent in it and its visitor still connected, tell
        the widget and store the offer (the hook of ``ChatService.on_ended``). It does not
        wait for the database: the end reaches the visitor and the agent as fast as before;
        the write runs as a task an answer waits for."""
        record = live.record
        if not self.offered(self.service.channel(record.channel)) \
                or record.accepted_at is None or not live.peers:
            return
        row = ChatRatingRow(conversation_id=record.id, channel=record.channel,
                            queue=record.queue, agent_id=record.agent_id,
                            offered_at=self.service.clock.time(), rating=None, comment="",
                            answered_at=None)
        task = asyncio.create_task(self._store_offer(row))
        self._storing[record.id] = task
        task.add_done_callback(lambda _t: self._storing.pop(record.id, None))
        self.service.track(task)
        self.service.send_to_visitor(live, RATING_FRAME)

    async def _store_offer(self, row: ChatRatingRow) -> None:
        try:
            async with self.service.store.db.session() as s, s.begin():
                if await s.get(ChatRatingRow, row.conversation_id) is None:
                    s.add(row)
        except Exception:  # the visitor's answer will be refused (409): logged, not raised
            log.exception("chat %s: the rating offer was not stored", row.conversation_id)

    async def answer(self, channel: ChatChannelSettings, conversation_id: Any, token: Any,
                     rating: Any, comment: Any) -> tuple[ChatRating, bool]:
        """Store the visitor's answer; the rating that stands and whether this answer is it
        (False: answered before, nothing changed). Raises ``ForbiddenError`` (id or token),
        ``ConflictError`` (not ended, or no rating offered), ``Refused`` (the fields)."""
        record = await self.service.ended_for_visitor(channel, conversation_id, token)
        score, text = check_answer(rating, comment)
        storing = self._storing.get(record.id)
        if storing is not None:  # the offer of a chat that just ended is being written
            await asyncio.shield(storing)
        async with self.service.store.db.session() as s, s.begin():
            done = await s.execute(
                sa.update(ChatRatingRow)
                .where(ChatRatingRow.conversation_id == record.id,
                       ChatRatingRow.rating.is_(None))
                .values(rating=score, comment=text, answered_at=self.service.clock.time())
                .execution_options(synchronize_session=False))
            row = await s.get(ChatRatingRow, record.id, populate_existing=True)
        if row is None:
            raise ConflictError("no rating was asked for this chat")
        rated = _of(row)
        if done.rowcount:  # type: ignore[attr-defined]
            self.service.counters["ratings"] += 1
            if rated.agent_id:  # the agent's panel shows it on the chat
                self.service.publish(f"agent.{rated.agent_id}", {
                    "type": "chat-rating", **rated.as_json()})
        return rated, bool(done.rowcount)  # type: ignore[attr-defined]

    async def of(self, conversation_id: str) -> ChatRating | None:
        """The rating survey of a chat (None: none was offered)."""
        async with self.service.store.db.session() as s:
            row = await s.get(ChatRatingRow, conversation_id)
            return None if row is None else _of(row)
