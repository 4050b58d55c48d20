"""Colleagues and supervisors in a chat, over real sockets: a supervisor watches (live topic
``chat.<id>``), writes a private note only the agent sees (never the visitor's socket, live or
from the backlog), joins and talks to the visitor; an agent transfers to a named colleague (the
transcript follows) or invites one in. Everything audited."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from chat_floor import PASSWORD, AgentClient, ChatFloor, T, chat_floor


async def supervisor(floor: ChatFloor, username: str = "sue") -> AgentClient:
    """A logged-in supervisor (no agent of their own)."""
    await floor.add_user(username, None, role="supervisor")
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 headers={"Origin": floor.url})
    floor.clients.append(http)
    async with http.post(f"{floor.url}/api/login",
                         json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        csrf = (await r.json())["csrf_token"]
    return AgentClient(floor, http, csrf, "")


async def subscribe(client: AgentClient, topic: str) -> tuple[Any, asyncio.Queue[Any]]:
    """A live socket of ``client`` on ``topic``; its events land in the queue returned."""
    ws = await client.http.ws_connect(f"{client.floor.url}/api/live")
    await ws.send_json({"type": "subscribe", "topics": [topic]})
    while True:
        reply = await ws.receive_json(timeout=T)
        if reply["type"] == "subscribed":
            break
    events: asyncio.Queue[Any] = asyncio.Queue()

    async def read() -> None:
        async for msg in ws:
            data = json.loads(msg.data)
            if data.get("type") == "event":
                events.put_nowait(data["data"])

    task = asyncio.create_task(read())
    ws.reader_task = task
    return (ws, reply), events


async def next_of(events: asyncio.Queue[Any], pred: Any) -> Any:
    async with asyncio.timeout(T):
        while True:
            event = await events.get()
            if pred(event):
                return event


async def active_chat(floor: ChatFloor) -> tuple[AgentClient, Any, str]:
    """Alice (a1, the only agent logged in) has accepted Vera's chat."""
    alice = await floor.agent("alice", "a1")
    await alice.listen()
    v = floor.visitor()
    await v.start()
    cid = v.conversation_id
    await v.connect()
    await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
    await alice.post(f"/api/chat/conversations/{cid}/accept", {})
    await v.frame(lambda f: f["type"] == "message" and f["text"] == "Alice joined the chat.")
    return alice, v, cid


def _stop(sub: Any) -> None:
    sub[0].reader_task.cancel()


async def test_a_private_note_reaches_the_agent_and_watchers_never_the_visitor(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice, v, cid = await active_chat(floor)
        sue = await supervisor(floor)
        path = f"/api/chat/conversations/{cid}"
        listed = await sue.get("/api/chat/live")
        assert [(c["conversation"]["id"], c["agent_name"]) for c in listed["conversations"]] == [
            (cid, "Alice")]
        watched = await sue.post(f"{path}/watch", {})
        assert watched["topic"] == f"chat.{cid}"
        assert [m["text"] for m in watched["messages"]] == ["Alice joined the chat."]
        sub, seen = await subscribe(sue, watched["topic"])
        assert sub[1]["topics"] == [f"chat.{cid}"]
        await v.say("Where is my parcel?")
        said = await next_of(seen, lambda e: e["type"] == "chat-message")
        assert (said["message"]["from"], said["message"]["text"]) == (
            "visitor", "Where is my parcel?")

        note = await sue.post(f"{path}/note", {"text": "Offer the refund"}, expect=201)
        assert note["message"]["from"] == "note"
        got = await alice.next_event(lambda e: e["type"] == "chat-message"
                                     and e["message"]["from"] == "note")
        assert (got["message"]["text"], got["message"]["name"]) == ("Offer the refund", "sue")
        await next_of(seen, lambda e: e["type"] == "chat-message"
                      and e["message"]["from"] == "note")
        # The agent's next message reaches the visitor; the note, numbered before it, did not.
        await alice.post(f"{path}/messages", {"text": "We will refund you"}, expect=201)
        reply = await v.frame(lambda f: f["type"] == "message" and f["from"] == "agent")
        assert reply["seq"] == note["message"]["seq"] + 1
        assert all("refund" not in json.dumps(f) or f is reply for f in v.frames)
        # Nor from the backlog after a reconnect.
        await v.ws.close()
        await v.connect(after=0)
        await v.frame(lambda f: f["type"] == "message" and f["seq"] == reply["seq"])
        assert [m["from"] for m in v.messages()] == ["system", "visitor", "agent"]
        # Stored flagged, in the transcript staff and the agent read.
        stored = await alice.get(f"{path}/messages")
        assert [m["from"] for m in stored["messages"]] == [
            "system", "visitor", "note", "agent"]

        # An agent may not watch or write notes; a watch of no chat is refused.
        await alice.post(f"{path}/note", {"text": "x"}, expect=403)
        await alice.post(f"{path}/watch", {}, expect=403)
        await sue.post("/api/chat/conversations/nope/watch", {}, expect=404)
        refused = await alice.http.ws_connect(f"{floor.url}/api/live")
        await refused.send_json({"type": "subscribe", "topics": [f"chat.{cid}"]})
        while (answer := await refused.receive_json(timeout=T))["type"] != "subscribed":
            pass
        assert answer["refused"] == [f"chat.{cid}"]
        await refused.close()
        _stop(sub)
        audit = await floor.server.audit.list(action_prefix="chat.")
        assert [(a.action, a.outcome, a.actor) for a in reversed(audit)
                if a.action in ("chat.watch", "chat.note")] == [
            ("chat.watch", "ok", "sue"), ("chat.note", "ok", "sue"),
            ("chat.watch", "refused", "sue")]


async def test_a_supervisor_joins_and_the_visitor_sees_them(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice, v, cid = await active_chat(floor)
        sue = await supervisor(floor)
        path = f"/api/chat/conversations/{cid}"
        early = await sue.post(f"{path}/supervisor-messages", {"text": "hi"}, expect=409)
        assert early["error"] == "join the chat first"
        joined = await sue.post(f"{path}/join", {})
        assert joined["joined_now"] is True
        assert (await sue.post(f"{path}/join", {}))["joined_now"] is False
        await v.frame(lambda f: f["type"] == "message" and f["text"] == "sue joined the chat.")
        await sue.post(f"{path}/supervisor-messages", {"text": "I am the supervisor"},
                       expect=201)
        got = await v.frame(lambda f: f["type"] == "message" and f["from"] == "agent")
        assert (got["name"], got["text"]) == ("sue", "I am the supervisor")
        card = await alice.next_event(lambda e: e["type"] == "chat-message"
                                      and e["message"]["text"] == "I am the supervisor")
        assert card["message"]["agent_id"] is None  # not the agent's own
        audit = await floor.server.audit.list(action_prefix="chat.join")
        assert [(a.outcome, a.target) for a in audit] == [("ok", cid), ("ok", cid)]


async def test_transfer_to_a_named_colleague_keeps_the_transcript(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice, v, cid = await active_chat(floor)
        path = f"/api/chat/conversations/{cid}"
        await v.say("Can Bob help?")
        await alice.post(f"{path}/messages", {"text": "Asking him"}, expect=201)
        bob = await floor.agent("bob", "a2")
        await bob.listen()
        mine = await alice.get("/api/chat/conversations")
        assert [c["id"] for c in mine["colleagues"]] == ["a2"]
        self_refused = await alice.post(f"{path}/transfer", {"agent": "a1"}, expect=409)
        assert "already has" in self_refused["error"]
        await alice.post(f"{path}/transfer", {"agent": "zz"}, expect=400)
        await bob.post("/api/agents/a2/pause", {"reason": "coffee"})
        await alice.post(f"{path}/transfer", {"agent": "a2"}, expect=409)
        await bob.post("/api/agents/a2/unpause", {})

        await alice.post(f"{path}/transfer", {"agent": "a2"})
        offer = await bob.next_event(lambda e: e["type"] == "chat" and e["offer"])
        assert offer["conversation"]["id"] == cid
        (item,) = await floor.chat.agent_conversations("a2")
        assert [(m["from"], m["text"]) for m in item["messages"]][:3] == [
            ("system", "Alice joined the chat."), ("visitor", "Can Bob help?"),
            ("agent", "Asking him")]
        await bob.post(f"{path}/accept", {})
        await v.frame(lambda f: f["type"] == "message" and f["text"] == "Bob joined the chat.")
        assert floor.server.routing.agent("a1").state == "wrapup"
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(interaction_id=cid)
        (moved,) = [r for r in rows if r["kind"] == "transfer"]
        assert moved["to_agent"] == "a2"
        audit = await floor.server.audit.list(action_prefix="chat.transfer")
        assert [(a.outcome, a.detail.get("agent")) for a in reversed(audit)] == [
            ("refused", "a1"), ("refused", "zz"), ("refused", "a2"), ("ok", "a2")]


async def test_invite_a_colleague_both_talk_and_the_visitor_sees_the_names(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice, v, cid = await active_chat(floor)
        path = f"/api/chat/conversations/{cid}"
        bob = await floor.agent("bob", "a2")
        await bob.listen()
        await bob.post(f"{path}/messages", {"text": "not mine"}, expect=403)
        await alice.post(f"{path}/invite", {"agent": "a2"})
        card = await bob.next_event(lambda e: e["type"] == "chat"
                                    and e.get("work_state") == "guest")
        assert card["conversation"]["agent_id"] == "a1"
        await v.frame(lambda f: f["type"] == "message" and f["text"] == "Bob joined the chat.")
        await alice.post(f"{path}/invite", {"agent": "a2"}, expect=409)
        (item,) = await floor.chat.agent_conversations("a2")
        assert item["work_state"] == "guest"
        await bob.post(f"{path}/messages", {"text": "Bob here"}, expect=201)
        got = await v.frame(lambda f: f["type"] == "message" and f["from"] == "agent")
        assert (got["name"], got["text"]) == ("Bob", "Bob here")
        heard = await alice.next_event(lambda e: e["type"] == "chat-message"
                                       and e["message"]["text"] == "Bob here")
        assert heard["message"]["agent_id"] == "a2"
        await v.say("Thanks both")
        await bob.next_event(lambda e: e["type"] == "chat-message"
                             and e["message"]["text"] == "Thanks both")
        await bob.post(f"{path}/leave", {})
        await v.frame(lambda f: f["type"] == "message" and f["text"] == "Bob left the chat.")
        await bob.post(f"{path}/messages", {"text": "gone"}, expect=403)
        assert await floor.chat.agent_conversations("a2") == []
        audit = await floor.server.audit.list(action_prefix="chat.")
        assert [(a.action, a.outcome) for a in reversed(audit)
                if a.action in ("chat.invite", "chat.leave")] == [
            ("chat.invite", "ok"), ("chat.invite", "refused"), ("chat.leave", "ok")]
