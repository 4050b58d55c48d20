"""How an agent lets go of a chat: close it (and end the wrap-up with a disposition) or
transfer it to another queue."""

from __future__ import annotations

from typing import Any

from contactcenter.chat.core import ChatCore
from contactcenter.chat.errors import ChatError, ConflictError, ForbiddenError
from contactcenter.chat.model import ConversationState
from contactcenter.routing.errors import Conflict, RoutingError


class TransferClose(ChatCore):
    """Closing and transferring an agent's chat."""

    async def close_by_agent(self, agent_id: str, conversation_id: str,
                             disposition: str | None, notes: str | None) -> None:
        """End the chat (the agent goes to wrap-up) and, with a disposition, end that wrap-up
        too. On a chat the visitor already ended, only the wrap-up is done."""
        live = self._live.get(conversation_id)
        is_open = live is not None and live.state is not ConversationState.CLOSED
        if live is not None and is_open and live.record.agent_id == agent_id:
            if live.state is not ConversationState.ACTIVE:
                raise ConflictError(f"the conversation is {live.state.value}, not active")
            live.closing_by = "agent"
            try:
                await self.routing.complete(conversation_id)
            except RoutingError as exc:
                raise ConflictError(str(exc)) from None
        elif not self._in_wrapup(agent_id, conversation_id):  # (a chat I transferred is)
            if is_open:
                raise ForbiddenError("not your conversation")
            raise ConflictError("no chat of yours to close or wrap up with that id")
        if disposition is not None and self._in_wrapup(agent_id, conversation_id):
            try:
                await self.routing.wrapup_done(agent_id, disposition, notes,
                                               interaction_id=conversation_id)
            except Conflict:
                pass  # the queue has no wrap-up time: it ended with the chat
            except (RoutingError, ValueError) as exc:
                raise ChatError(str(exc)) from None

    async def transfer(self, agent_id: str, conversation_id: str, queue: Any) -> None:
        """Send my chat to another queue: it waits there (the visitor is told), the next agent
        gets the whole transcript, I go to wrap-up for it."""
        live = self._mine(agent_id, conversation_id)
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        if not isinstance(queue, str) or queue not in self.routing.config.queues:
            raise ChatError("queue: not a configured queue")
        if queue == live.record.queue:
            raise ConflictError(f"the chat is already in {queue}")
        try:
            await self.routing.transfer(conversation_id, queue)
        except Conflict as exc:
            raise ConflictError(str(exc)) from None
        except RoutingError as exc:
            raise ChatError(str(exc)) from None
        self.counters["transferred"] += 1

    def _in_wrapup(self, agent_id: str, conversation_id: str) -> bool:
        try:
            work = self.routing.agent(agent_id).work
        except RoutingError:
            return False
        return any(w["interaction_id"] == conversation_id and w["state"] == "wrapup"
                   for w in work)
