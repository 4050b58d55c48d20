"""Messages left, as the supervisors' page reads them over HTTP and the live hub: filters by
queue, state and date, one message whole, the ticket each became, marked handled (audited),
every change on the staff topic ``chat-left``; agents see their queues' only."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_floor import AgentClient, T, Visitor, chat_floor, site_channel

from contactcenter.chat.settings import ChatHours

NEVER_OPEN = {"mon-sun": "closed"}


async def leave(visitor: Visitor, message: str, **answers: str) -> dict[str, Any]:
    body = {"answers": {"name": "Olga", "email": "olga@example.com", **answers},
            "message": message}
    async with visitor.http.post(f"{visitor.base}/messages", json=body) as r:
        assert r.status == 201, await r.text()
        return await r.json()


async def staff_topic(client: AgentClient) -> tuple[Any, asyncio.Queue[dict[str, Any]]]:
    """A live socket on ``chat-left``; its events land in the queue."""
    ws = await client.http.ws_connect(f"{client.floor.url}/api/live")
    await ws.send_json({"type": "subscribe", "topics": ["chat-left"]})
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def read() -> None:
        async for msg in ws:
            data = msg.json()
            if data.get("type") == "event" and data.get("topic") == "chat-left":
                events.put_nowait(data["data"]["message"])
            elif data.get("type") in ("subscribed", "error"):
                events.put_nowait(data)

    task = asyncio.create_task(read())
    async with asyncio.timeout(T):
        first = await events.get()
    return (ws, task, first), events


async def next_about(events: asyncio.Queue[dict[str, Any]], message_id: str,
                     pred: Any = lambda m: True) -> dict[str, Any]:
    async with asyncio.timeout(T):
        while True:
            m = await events.get()
            if m.get("id") == message_id and pred(m):
                return m


async def test_supervisors_filter_read_and_handle_messages_left_live(tmp_path):
    channel = site_channel(hours=ChatHours(weekly=NEVER_OPEN))
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        bob = await floor.agent("bob", "a2")  # queue web only
        boss = await floor.agent("boss", None, login=False, role="supervisor")
        (ws, reader, first), events = await staff_topic(boss)
        try:
            assert first["type"] == "subscribed" and first["topics"] == ["chat-left"]
            visitor = floor.visitor()
            web_msg = await leave(visitor, "About my order")
            live = await next_about(events, web_msg["id"], lambda m: m["ticket_id"])
            assert live["queue"] == "web" and live["done_at"] is None
            billing_msg = await leave(visitor, "About my invoice", topic="billing")

            one = (await boss.get(f"/api/chat/offline-messages/{billing_msg['id']}"))["message"]
            assert one["text"] == "About my invoice" and isinstance(one["ticket_id"], int)
            assert one["ticket_id"] != live["ticket_id"]
            async with bob.http.get(
                    f"{floor.url}/api/chat/offline-messages/{billing_msg['id']}") as r:
                assert r.status == 404  # not Bob's queue

            async def ids(query: str) -> list[str]:
                body = await boss.get(f"/api/chat/offline-messages?{query}")
                assert set(body["queues"]) == {"web", "billing"}
                return [m["id"] for m in body["messages"]]

            assert await ids("state=open") == [billing_msg["id"], web_msg["id"]]
            assert await ids("state=open&queue=billing") == [billing_msg["id"]]
            assert await ids("state=done") == []
            await boss.post(f"/api/chat/offline-messages/{web_msg['id']}/done", {})
            handled = await next_about(events, web_msg["id"], lambda m: m["done_at"])
            assert handled["done_by"] == "boss"
            await boss.post(f"/api/chat/offline-messages/{web_msg['id']}/done", {}, expect=409)
            assert await ids("state=done") == [web_msg["id"]]
            assert await ids("state=open") == [billing_msg["id"]]
            assert await ids("state=all") == [billing_msg["id"], web_msg["id"]]
            assert await ids("done=1") == [billing_msg["id"], web_msg["id"]]  # the old query
            left_at = one["created_at"]
            assert await ids(f"state=all&since={left_at + 3600}") == []
            assert await ids(f"state=all&until={left_at - 3600}") == []
            assert billing_msg["id"] in await ids(f"state=all&since={left_at - 1}"
                                                  f"&until={left_at + 1}")
            async with boss.http.get(
                    f"{floor.url}/api/chat/offline-messages?state=nope") as r:
                assert r.status == 400
            async with boss.http.get(f"{floor.url}/api/chat/offline-messages?since=x") as r:
                assert r.status == 400
            entries = await floor.server.audit.list(action_prefix="chat.message.done")
            assert [(e.actor, e.target, e.outcome) for e in entries] == [
                ("boss", web_msg["id"], "refused"), ("boss", web_msg["id"], "ok")]
        finally:
            reader.cancel()
            await ws.close()


async def test_agents_may_not_follow_the_supervisors_topic(tmp_path):
    async with chat_floor(tmp_path) as floor:
        bob = await floor.agent("bob", "a2")
        ws = await bob.http.ws_connect(f"{floor.url}/api/live")
        await ws.send_json({"type": "subscribe", "topics": ["chat-left"]})
        async with asyncio.timeout(T):
            while (reply := await ws.receive_json())["type"] != "subscribed":
                pass
        await ws.close()
        assert reply["topics"] == [] and reply["refused"] == ["chat-left"]
