"""The agent's side of a chat: accept the offer, write, type, mark read, and what the panel
lists (my chats with their transcripts, the canned replies)."""

from __future__ import annotations

from typing import Any

from contactcenter.chat import protocol
from contactcenter.chat.canned import for_queue
from contactcenter.chat.core import ChatCore, agent_json
from contactcenter.chat.errors import ChatError, ConflictError
from contactcenter.chat.model import (
    ConversationRecord,
    ConversationState,
    Message,
    Sender,
    check_message_text,
)
from contactcenter.common.canned_text import fill
from contactcenter.routing.errors import RoutingError


class AgentSide(ChatCore):
    """What the agents' panel asks of the chat service."""

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

    def agent_read(self, agent_id: str, conversation_id: str, seq: Any) -> None:
        """The agent read the chat up to ``seq``: the visitor's widget marks its messages."""
        live = self._mine(agent_id, conversation_id)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ChatError("seq must be a message number")
        seq = min(seq, live.record.last_seq)
        if seq > live.agent_read:
            live.agent_read = seq
            self._to_visitor(live, protocol.read(seq))

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
