""""Leave a message" from the line, over real sockets, and messages left becoming tickets: a
visitor still waiting after ``leave_message_after_s`` is offered it (a ``leave_message``
frame), leaves one with the chat so far, and the waiting chat ends abandoned by choice; a
chat whose wait hits the queue's ``max_wait_s`` is offered it too; a message left outside the
hours is a ticket as well. (Both databases for the ticket's store:
tests/tickets/test_chat_tickets_store.py.)"""

from __future__ import annotations

import asyncio

from chat_floor import T, chat_floor, site_channel

from contactcenter.chat.model import ConversationState
from contactcenter.chat.settings import ChatHours

SPEED = 60.0  # one clock minute is one real second


async def closed(floor, conversation_id: str):
    """The conversation once it is closed (waits for it: only catches hangs)."""
    async with asyncio.timeout(T):
        while True:
            record = await floor.chat.record(conversation_id)
            if record.state is ConversationState.CLOSED:
                return record
            await asyncio.sleep(0.05)


async def leave(visitor, body: dict) -> tuple[int, dict]:
    async with visitor.http.post(f"{visitor.base}/messages", json=body) as r:
        return r.status, await r.json()


async def tickets(floor) -> list[dict]:
    """Every ticket as a supervisor's API shows it, with its thread."""
    sue = await floor.agent("sue", None, login=False, role="supervisor")
    listed = (await sue.get("/api/tickets?view=all"))["tickets"]
    return [await sue.get(f"/api/tickets/{t['id']}") for t in listed]


async def test_a_waiting_visitor_is_offered_a_message_and_it_becomes_a_ticket(tmp_path):
    channel = site_channel(leave_message_after_s=60)
    async with chat_floor(tmp_path, speed=SPEED, channels=[channel]) as floor:
        v = floor.visitor()  # nobody logged in: the chat waits
        status, _ = await v.start({"name": "Vera", "email": "vera@example.com"})
        assert status == 201
        cid = v.conversation_id
        await v.connect()
        await v.say("Is my order shipped?", client_id="m1")
        await v.frame(lambda f: f["type"] == "ack")
        await v.frame(lambda f: f["type"] == "leave_message")
        assert (await floor.chat.record(cid)).state is ConversationState.WAITING
        await v.ws.close()  # a reload: the offer is made again
        await v.connect()
        await v.frame(lambda f: f["type"] == "leave_message")

        # Someone else's token may not turn the chat into a message.
        status, _ = await leave(v, {"conversation_id": cid, "token": "x" * 43,
                                    "message": "hello"})
        assert status == 403
        status, body = await leave(v, {"conversation_id": cid, "token": v.token,
                                       "message": "Please email me the tracking number"})
        assert status == 201, body
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        record = await closed(floor, cid)
        assert record.closed_by == "message"
        await floor.server.routing.flush()
        kinds = [r["kind"] for r in await floor.server.routing.log.events(interaction_id=cid)]
        assert "abandon" in kinds
        # Once answered, the chat is no message again.
        status, _ = await leave(v, {"conversation_id": cid, "token": v.token, "message": "again"})
        assert status == 409

        listed = await floor.chat.offline.listing(None, include_done=True)
        first = next(m for m in listed if m.id == body["id"])
        assert first.reason == "waited" and first.visitor_name == "Vera"
        assert first.text.startswith("Please email me the tracking number\n\nThe chat so far:")
        assert "Is my order shipped?" in first.text

        found = [t for t in await tickets(floor) if t["ticket"]["origin"] == "chat"]
        ticket = next(t for t in found
                      if "tracking number" in t["articles"][0]["body_text"])
        assert ticket["ticket"]["requester"]["email"] == "vera@example.com"
        assert ticket["ticket"]["requester"]["name"] == "Vera"
        assert "Is my order shipped?" in ticket["articles"][0]["body_text"]


async def test_a_message_left_outside_hours_becomes_a_ticket(tmp_path):
    channel = site_channel(hours=ChatHours(weekly={"mon-sun": "closed"}))
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        v = floor.visitor()
        status, body = await leave(v, {"answers": {"name": "Olga", "email": "olga@example.com"},
                                       "message": "Call me tomorrow"})
        assert status == 201, body
        [ticket] = await tickets(floor)
        assert ticket["ticket"]["origin"] == "chat"
        assert ticket["ticket"]["subject"] == "Chat message from Olga"
        assert ticket["ticket"]["requester"]["email"] == "olga@example.com"
        assert ticket["articles"][0]["body_text"] == "Call me tomorrow"


async def test_a_chat_past_the_queue_s_max_wait_is_offered_a_message(tmp_path):
    channel = site_channel(leave_message_after_s=3600)
    async with chat_floor(tmp_path, speed=SPEED, channels=[channel]) as floor:
        queues = tmp_path / "queues.yaml"
        queues.write_text(queues.read_text().replace("  billing:", "    max_wait_s: 60\n"
                                                     "  billing:"))
        await floor.restart()
        v = floor.visitor()
        await v.start()
        await v.connect()
        await v.frame(lambda f: f["type"] == "leave_message")
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        assert [m["text"] for m in v.messages() if m["from"] == "system"] == [
            "Nobody can take your chat right now. Please try again later."]
        status, body = await leave(v, {"conversation_id": v.conversation_id, "token": v.token,
                                       "message": "I gave up waiting"})
        assert status == 201, body
        [ticket] = await tickets(floor)
        assert ticket["articles"][0]["body_text"].startswith("I gave up waiting")
