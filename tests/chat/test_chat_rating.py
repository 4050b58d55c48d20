"""The rating at the end of a chat over real sockets (chat/rating.py): a chat with an agent
that ends, by the agent or the visitor, while the visitor is connected gets a ``rating`` frame
just before the end and its offer is stored; the visitor's first answer (1..5, a comment)
stands and a second changes nothing; only the chat's visitor may answer, once it ended; the
agent sees it live and on the chat; a chat that ended with nobody there, one no agent took and
a channel with ``rating: false`` offer nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chat_floor import ChatFloor, Visitor, chat_floor, site_channel

from contactcenter.chat.tables import ChatRatingRow


async def rate(v: Visitor, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with v.http.post(f"{v.base}/rating", json=body) as r:
        return r.status, await r.json()


async def talking(floor: ChatFloor, alice: Any) -> Visitor:
    """A visitor connected and an accepted chat."""
    v = floor.visitor()
    status, _ = await v.start()
    assert status == 201
    await v.connect()
    await alice.post(f"/api/chat/conversations/{v.conversation_id}/accept", {})
    await v.active()
    return v


async def stored(floor: ChatFloor, cid: str) -> ChatRatingRow | None:
    async with floor.server.db.session() as s:
        return await s.get(ChatRatingRow, cid)


async def test_the_agent_ends_the_visitor_rates_once(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        bob = await floor.agent("bob", "a2")
        sue = await floor.agent("sue", None, login=False, role="supervisor")
        await alice.listen()
        v = await talking(floor, alice)
        cid = v.conversation_id
        answer = {"conversation_id": cid, "token": v.token, "rating": 4, "comment": " Nice. "}
        assert (await rate(v, answer))[0] == 409  # not ended yet

        await alice.post(f"/api/chat/conversations/{cid}/close", {})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        kinds = [f["type"] for f in v.frames]
        assert "rating" in kinds and kinds.index("rating") < len(kinds) - 1  # before the end

        # Only its visitor, with a score 1..5.
        assert (await rate(v, {**answer, "token": "x" * 43}))[0] == 403
        assert (await rate(floor.visitor(), {**answer, "conversation_id": "nope"}))[0] == 403
        assert (await rate(floor.visitor(origin="https://evil.example"), answer))[0] == 403
        for wrong in (0, 6, "5", 4.5, True, None):
            status, body = await rate(v, {**answer, "rating": wrong})
            assert status == 422 and "rating" in body["errors"], wrong
        status, body = await rate(v, {**answer, "comment": "x" * 2001})
        assert status == 422 and "comment" in body["errors"]

        status, body = await rate(v, answer)
        assert status == 201 and body == {"rating": 4, "comment": "Nice."}
        event = await alice.next_event(lambda e: e["type"] == "chat-rating")
        assert (event["conversation_id"], event["rating"], event["comment"]) == (cid, 4, "Nice.")
        # A second answer changes nothing and is told the one that stands.
        status, body = await rate(v, {**answer, "rating": 1, "comment": "changed"})
        assert status == 200 and body == {"rating": 4, "comment": "Nice.", "already": True}
        row = await stored(floor, cid)  # the offer, stored at the end, and its answer
        assert row is not None and (row.rating, row.comment) == (4, "Nice.")
        assert (row.agent_id, row.queue, row.channel) == ("a1", "web", "site")
        assert row.answered_at is not None and row.answered_at >= row.offered_at

        # The chat's agent and staff see it; another agent does not.
        shown = await alice.get(f"/api/chat/conversations/{cid}/rating")
        assert (shown["rating"]["rating"], shown["rating"]["comment"]) == (4, "Nice.")
        assert (await sue.get(f"/api/chat/conversations/{cid}/rating"))["rating"]["rating"] == 4
        async with bob.http.get(f"{floor.url}/api/chat/conversations/{cid}/rating") as r:
            assert r.status == 403


async def test_the_visitor_ends_and_is_offered_too(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        v = await talking(floor, alice)
        await v.ws.send_json({"type": "close"})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        assert any(f["type"] == "rating" for f in v.frames)  # first: the widget shuts at the end
        status, body = await rate(v, {"conversation_id": v.conversation_id, "token": v.token,
                                      "rating": 2})
        assert status == 201 and body == {"rating": 2, "comment": ""}


async def test_nothing_is_offered_to_nobody_or_without_an_agent_or_when_off(tmp_path):
    channels = [site_channel(),
                replace(site_channel(), name="quiet", rating=False, auto_accept=True)]
    async with chat_floor(tmp_path, channels=channels) as floor:
        alice = await floor.agent("alice", "a1")
        await floor.agent("bob", "a2")  # takes the last chat while alice wraps up
        await alice.listen()
        # The visitor's socket is gone when the agent ends the chat: no offer.
        gone = await talking(floor, alice)
        await gone.ws.close()
        await alice.post(f"/api/chat/conversations/{gone.conversation_id}/close", {})
        # The agent hears of the end after the offer was (not) made.
        await alice.next_event(lambda e: e["type"] == "chat"
                               and e["conversation"]["id"] == gone.conversation_id
                               and e["conversation"]["state"] == "closed")
        assert await stored(floor, gone.conversation_id) is None
        status, _ = await rate(gone, {"conversation_id": gone.conversation_id,
                                      "token": gone.token, "rating": 5})
        assert status == 409  # none was offered
        # Ended while waiting (abandoned): no agent, no offer.
        waiting = floor.visitor()
        await waiting.start()
        await waiting.connect()
        await waiting.ws.send_json({"type": "close"})
        await waiting.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        assert not any(f["type"] == "rating" for f in waiting.frames)
        assert await stored(floor, waiting.conversation_id) is None
        # A channel with rating off (its chats are taken at once).
        quiet = floor.visitor(channel="quiet")
        await quiet.start()
        await quiet.connect()
        await quiet.active()
        await quiet.ws.send_json({"type": "close"})
        await quiet.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        assert not any(f["type"] == "rating" for f in quiet.frames)
        assert await stored(floor, quiet.conversation_id) is None
