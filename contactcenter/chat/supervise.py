"""Colleagues and supervisors in a chat: transfer to a named colleague, invite one in, and the
chat forms of a supervisor's listen / whisper / barge (watch, private note, join).

Design note.
* **Watch** is read-only: the transcript so far (private notes included) and then every
  message on the live hub's topic ``chat.<conversation id>``, which only staff may subscribe
  to (``wiring.py``). Nothing is sent to the visitor or the agent.
* **A private note** (whisper) is a message of the conversation with sender ``note``: numbered
  and stored like any other, sent to the chat's agents (the one who has it and colleagues
  invited in) and the watchers, never to a visitor socket, live or from the backlog.
* **Join** (barge): a system message "<name> joined the chat." that the visitor sees; from then
  on the supervisor's messages go to the visitor under the supervisor's name (sender
  ``agent`` without an agent id: the agent's card tells them from its own).
* **Invite** adds a colleague (a logged-in agent) as a second participant: their panel gets a
  card with the whole transcript, both write to the visitor, who sees each one's name; the
  colleague leaves when done. It takes none of the colleague's capacity in the queue engine.
* **Transfer to a colleague** is the engine's ``transfer_to_agent``: offered to that agent only
  (refused unless they have a free chat slot), whose card shows the whole conversation; not
  accepted, it waits in its queue for anyone, as any unanswered offer.
* Guests and who joined live in memory (``LiveConversation``): a restart forgets them (the
  messages they wrote stay in the transcript).
"""

from __future__ import annotations

from typing import Any

from contactcenter.chat.core import agent_json
from contactcenter.chat.errors import ChatError, ConflictError, ForbiddenError, NotFoundError
from contactcenter.chat.live import LiveConversation
from contactcenter.chat.model import ConversationState, Message, Sender, check_message_text
from contactcenter.chat.service import ChatService
from contactcenter.domain.agent import AgentState
from contactcenter.routing.errors import Conflict, RoutingError


class ChatSupervision:
    """Watch, note, join, invite and transfer to a colleague, over one ``ChatService``."""

    def __init__(self, service: ChatService) -> None:
        self.service = service

    # ----------------------------------------------------------------- supervisors
    def live_chats(self) -> list[dict[str, Any]]:
        """Every open conversation, for the supervisors' list."""
        svc = self.service
        return [{"conversation": live.record.as_json(),
                 "agent_name": svc._agent_name(live.record.agent_id),
                 "guests": sorted(live.guests), "joined": sorted(live.joined)}
                for live in svc.open_conversations()
                if live.state is not ConversationState.CLOSED]

    def _open(self, conversation_id: str) -> LiveConversation:
        live = self.service.live_of(conversation_id)
        if live is None or live.state is ConversationState.CLOSED:
            raise NotFoundError("no open conversation with that id")
        return live

    def _text(self, live: LiveConversation, text: Any) -> str:
        channel = self.service.channel(live.record.channel)
        try:
            return check_message_text(text, channel.max_message_chars if channel else 2000)
        except ValueError as exc:
            raise ChatError(str(exc)) from None

    async def watch(self, conversation_id: str) -> dict[str, Any]:
        """The transcript so far, notes included; the live rest comes on ``chat.<id>``."""
        live = self._open(conversation_id)
        messages = await self.service.transcript(live.id)
        return {"conversation": live.record.as_json(),
                "agent_name": self.service._agent_name(live.record.agent_id),
                "guests": sorted(live.guests), "joined": sorted(live.joined),
                "topic": f"chat.{live.id}", "messages": [agent_json(m) for m in messages]}

    async def note(self, conversation_id: str, author: str, text: Any) -> Message:
        """A private note to the chat's agents: stored flagged ``note``, never to the visitor."""
        live = self._open(conversation_id)
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}: no agent to note to")
        return await self.service.append(live, Sender.NOTE, self._text(live, text), name=author)

    async def join(self, conversation_id: str, user: str, name: str) -> bool:
        """Barge in: the visitor is told "<name> joined the chat."; False if already in."""
        live = self._open(conversation_id)
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        if user in live.joined:
            return False
        live.joined.add(user)
        await self._joined(live, name)
        return True

    async def supervisor_says(self, conversation_id: str, user: str, name: str,
                              text: Any) -> Message:
        """A joined supervisor's message, sent to the visitor under their name."""
        live = self._open(conversation_id)
        if user not in live.joined:
            raise ConflictError("join the chat first")
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        return await self.service.append(live, Sender.AGENT, self._text(live, text), name=name)

    # ----------------------------------------------------------------- colleagues
    def colleagues(self, agent_id: str) -> list[dict[str, str]]:
        """Agents logged in with chat capacity, other than ``agent_id``: whom to invite or
        transfer to (the engine still refuses a transfer to one with no free slot)."""
        return [{"id": a.id, "name": self.service._agent_name(a.id) or a.id, "state": a.shown.value}
                for a in self.service.routing.engine.agents.values()  # read-only look
                if a.id != agent_id and a.presence is not AgentState.LOGGED_OUT
                and a.config.capacity.get("chat", 0) > 0]

    def _colleague(self, live: LiveConversation, agent_id: str, colleague: Any) -> str:
        if not isinstance(colleague, str) or not any(
                c["id"] == colleague for c in self.colleagues(agent_id)):
            raise ChatError("agent: not a colleague logged in for chat")
        if colleague in live.guests:
            raise ConflictError(f"{colleague} is already in the chat")
        return colleague

    def _active_mine(self, agent_id: str, conversation_id: str) -> LiveConversation:
        live = self._open(conversation_id)
        if live.record.agent_id != agent_id:
            raise ForbiddenError("not your conversation")
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        return live

    async def invite(self, agent_id: str, conversation_id: str, colleague: Any) -> None:
        """Bring a colleague into my chat: their card shows it all, the visitor their name."""
        live = self._active_mine(agent_id, conversation_id)
        who = self._colleague(live, agent_id, colleague)
        live.guests.add(who)
        self.service._to_agent(who, live, work_state="guest")
        await self._joined(live, self.service._agent_name(who) or who)

    async def leave(self, agent_id: str, conversation_id: str) -> None:
        """An invited colleague leaves the chat (the visitor is told)."""
        live = self.service.live_of(conversation_id)
        if live is None or agent_id not in live.guests:
            raise NotFoundError("you are not a guest of that chat")
        live.guests.discard(agent_id)
        self.service.publish(f"agent.{agent_id}", {"type": "chat-gone",
                                                   "conversation_id": live.id})
        if live.state is not ConversationState.CLOSED:
            name = self.service._agent_name(agent_id) or agent_id
            await self.service.append(live, Sender.SYSTEM, f"{name} left the chat.", name="")

    async def transfer_to(self, agent_id: str, conversation_id: str, colleague: Any) -> None:
        """Send my chat to one named colleague (offered to them only); I go to wrap-up."""
        live = self._active_mine(agent_id, conversation_id)
        if not isinstance(colleague, str) or not colleague:
            raise ChatError("agent: an agent id")
        try:
            await self.service.routing.transfer_to_agent(live.id, colleague)
        except Conflict as exc:
            raise ConflictError(str(exc)) from None
        except RoutingError as exc:
            raise ChatError(str(exc)) from None
        self.service.counters["transferred"] += 1

    async def _joined(self, live: LiveConversation, name: str) -> None:
        channel = self.service.channel(live.record.channel)
        texts = channel.texts() if channel is not None else {}
        await self.service.append(live, Sender.SYSTEM, texts.get(
            "joined", "{name} joined the chat.").replace("{name}", name), name="")
