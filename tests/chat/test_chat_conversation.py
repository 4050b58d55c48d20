"""A chat end to end over real sockets (no browser): the visitor starts it over HTTP and talks on
its websocket, the queue engine offers it to an agent, who accepts, writes and closes it from the
panel's API; the visitor resumes after a cut and after a server restart with nothing lost or
repeated."""

from __future__ import annotations

import asyncio

from chat_floor import chat_floor

from contactcenter.domain.interaction import InteractionState


async def test_visitor_and_agent_talk_and_the_agent_closes_with_a_disposition(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        await alice.listen()
        v = floor.visitor()
        status, body = await v.start({"name": "Vera", "email": "vera@example.com"},
                                     page="https://shop.example/cart", attributes={"plan": "gold"})
        assert status == 201, body
        cid = v.conversation_id
        # Alice was free: the chat is offered to her at once, with the pre-chat answers.
        offer = await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
        conv = offer["conversation"]
        assert conv["id"] == cid and conv["state"] == "offered" and conv["agent_id"] == "a1"
        assert [(a["label"], a["value"]) for a in conv["answers"]] == [
            ("Your name", "Vera"), ("Email", "vera@example.com")]
        assert conv["attributes"] == {"plan": "gold"} and conv["page"].endswith("/cart")
        assert floor.server.routing.state_of(cid) is InteractionState.OFFERED

        welcome = await v.connect()
        assert welcome["state"] == "offered" and welcome["last_seq"] == 0
        await v.say("hello, anyone there?", client_id="c1")
        ack = await v.frame(lambda f: f["type"] == "ack")
        assert ack == {"type": "ack", "client_id": "c1", "seq": 1}

        await alice.post(f"/api/chat/conversations/{cid}/accept", {})
        joined = await v.frame(lambda f: f["type"] == "message" and f["from"] == "system")
        assert joined["text"] == "Alice joined the chat." and joined["seq"] == 2
        state = [f for f in v.frames if f["type"] == "state"][-1]
        assert state == {"type": "state", "state": "active", "agent": "Alice"}
        assert floor.server.routing.state_of(cid) is InteractionState.CONNECTED

        # Typing both ways.
        await v.ws.send_json({"type": "typing", "typing": True})
        typing = await alice.next_event(lambda e: e["type"] == "chat-typing")
        assert typing == {"type": "chat-typing", "conversation_id": cid, "typing": True}
        await alice.post(f"/api/chat/conversations/{cid}/typing", {"typing": True})
        assert (await v.frame(lambda f: f["type"] == "typing")) == {
            "type": "typing", "typing": True, "name": "Alice"}

        sent = await alice.post(f"/api/chat/conversations/{cid}/messages",
                                {"text": "Hi Vera, <b>how</b> can I help?"})
        assert sent["message"]["seq"] == 3
        got = await v.frame(lambda f: f["type"] == "message" and f["from"] == "agent")
        assert got["text"] == "Hi Vera, <b>how</b> can I help?" and got["name"] == "Alice"
        await v.say("my order is late")
        heard = await alice.next_event(lambda e: e["type"] == "chat-message"
                                       and e["message"]["from"] == "visitor"
                                       and e["message"]["seq"] == 4)
        assert heard["message"]["text"] == "my order is late"

        # The panel's list has the chat with its whole transcript, in order.
        mine = await alice.get("/api/chat/conversations")
        (item,) = mine["conversations"]
        assert item["work_state"] == "busy"
        assert [m["seq"] for m in item["messages"]] == [1, 2, 3, 4]

        # Close with a disposition: the chat ends for the visitor, the wrap-up is done at once.
        await alice.post(f"/api/chat/conversations/{cid}/close",
                         {"disposition": "resolved", "notes": "sent a\nvoucher"})
        end = await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        assert end["agent"] == "Alice"
        assert [m["text"] for m in v.messages()][-1] == "The chat has ended."
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(interaction_id=cid)
        done = [r for r in rows if r["kind"] == "wrapup-done"]
        assert len(done) == 1 and done[0]["disposition"] == "resolved"
        assert done[0]["notes"] == "sent a voucher"
        assert floor.server.routing.agent("a1").state == "available"
        audit = await floor.server.audit.list(action_prefix="chat.")
        assert {(a.action, a.outcome) for a in audit} == {("chat.accept", "ok"),
                                                                 ("chat.close", "ok")}
        record = await floor.chat.record(cid)
        assert record.state.value == "closed" and record.closed_by == "agent"
        await alice.close()


async def test_reconnect_resumes_after_the_last_seen_number_and_a_resend_lands_once(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        v = floor.visitor()
        await v.start()
        cid = v.conversation_id
        await v.connect()
        await alice.post(f"/api/chat/conversations/{cid}/accept", {})
        await v.frame(lambda f: f["type"] == "message" and f["seq"] == 1)  # "Alice joined"
        await v.ws.close()  # the network goes away
        for text in ("one", "two", "three"):
            await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": text})
        welcome = await v.connect(after=1)
        assert welcome["last_seq"] == 4
        await v.frame(lambda f: f["type"] == "message" and f["seq"] == 4)
        assert [(m["seq"], m["text"]) for m in v.messages()] == [
            (2, "one"), (3, "two"), (4, "three")]

        # A message sent just before a cut, whose ack was lost, is sent again on the new socket.
        await v.say("are you there?", client_id="x-1")
        await v.frame(lambda f: f["type"] == "ack" and f["client_id"] == "x-1")
        await v.ws.close()
        await v.connect(after=5)
        await v.say("are you there?", client_id="x-1")
        ack = await v.frame(lambda f: f["type"] == "ack")
        assert ack["seq"] == 5
        transcript = await floor.chat.transcript(cid)
        assert [m.text for m in transcript].count("are you there?") == 1
        assert not [f for f in v.frames if f["type"] == "message"]  # nothing new to show

        # A wrong token is refused and told not to retry.
        v.token = "nope"
        await v.ws.close()
        v.ws = await v.http.ws_connect(f"{v.base}/ws")
        await v.ws.send_json({"type": "hello", "conversation_id": cid, "token": "nope", "after": 0})
        msg = await v.ws.receive()
        assert msg.type.name in ("CLOSE", "CLOSED") and v.ws.close_code == 4003


async def test_a_server_restart_mid_chat_loses_and_repeats_nothing(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        v = floor.visitor()
        await v.start()
        cid = v.conversation_id
        await v.connect()
        await alice.post(f"/api/chat/conversations/{cid}/accept", {})
        await v.say("before the restart", client_id="b1")
        await v.frame(lambda f: f["type"] == "ack")
        await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": "noted"})
        await v.frame(lambda f: f["type"] == "message" and f["text"] == "noted")
        last = max(m["seq"] for m in v.messages())

        await floor.restart()
        # The server closed the socket going down; the visitor comes back with what it saw.
        welcome = await v.connect(after=last)
        assert welcome["state"] == "active" and welcome["agent"] == "Alice"
        assert welcome["last_seq"] == last
        assert floor.server.routing.state_of(cid) is InteractionState.CONNECTED
        alice2 = await floor.agent("alice2", "a1", login=False)
        await alice2.post(f"/api/chat/conversations/{cid}/messages", {"text": "still here"})
        got = await v.frame(lambda f: f["type"] == "message")
        assert (got["seq"], got["text"]) == (last + 1, "still here")
        await v.say("before the restart", client_id="b1")  # a resend from before: not new
        await v.frame(lambda f: f["type"] == "ack")
        await v.say("after it", client_id="b2")
        ack = await v.frame(lambda f: f["type"] == "ack" and f["client_id"] == "b2")
        assert ack["seq"] == last + 2
        seqs = [m.seq for m in await floor.chat.transcript(cid)]
        assert seqs == list(range(1, last + 3))


async def test_an_unaccepted_offer_rings_out_and_goes_to_the_next_agent(tmp_path):
    # ring_timeout_s 30 on a clock 30x faster than real time: about a second of waiting.
    async with chat_floor(tmp_path, speed=30.0, ring_s=30) as floor:
        alice = await floor.agent("alice", "a1")
        v = floor.visitor()
        await v.start()
        cid = v.conversation_id
        await v.connect()
        assert floor.server.routing.agent("a1").work[0]["interaction_id"] == cid
        bob = await floor.agent("bob", "a2")  # free after Alice was offered it
        await bob.listen()
        offer = await bob.next_event(lambda e: e["type"] == "chat" and e["offer"])
        assert offer["conversation"]["id"] == cid
        a1 = floor.server.routing.agent("a1")
        assert a1.state == "paused" and a1.pause_reason == "no answer"
        await floor.server.routing.flush()
        kinds = [r["kind"] for r in await floor.server.routing.log.events(interaction_id=cid)]
        assert kinds.count("offer") == 2 and "ring-no-answer" in kinds
        await bob.post(f"/api/chat/conversations/{cid}/accept", {})
        await v.active()
        # Alice's accept now comes too late: the offer is Bob's.
        status = await alice.post(f"/api/chat/conversations/{cid}/accept", {}, expect=403)
        assert "not your" in status["error"]


async def test_auto_accept_connects_the_agent_without_a_click(tmp_path):
    from chat_floor import site_channel

    async with chat_floor(tmp_path, channels=[site_channel(auto_accept=True)]) as floor:
        await floor.agent("alice", "a1")
        v = floor.visitor()
        await v.start()
        await v.connect()
        await v.active()  # connected before or after the socket came up
        await v.frame(lambda f: f["type"] == "message" and f["text"] == "Alice joined the chat.")
        assert floor.server.routing.state_of(v.conversation_id) is InteractionState.CONNECTED


async def test_the_visitor_ending_a_waiting_chat_abandons_it(tmp_path):
    async with chat_floor(tmp_path) as floor:
        v = floor.visitor()
        await v.start()
        await v.connect()
        await v.ws.send_json({"type": "close"})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        assert floor.server.routing.state_of(v.conversation_id) is None
        record = await floor.chat.record(v.conversation_id)
        assert record.closed_by == "visitor"
        await floor.server.routing.flush()
        kinds = [r["kind"] for r in await floor.server.routing.log.events(
            interaction_id=v.conversation_id)]
        assert kinds == ["enter", "abandon"]
        # Coming back to an ended chat shows its transcript, then the server closes the socket.
        welcome = await v.connect()
        assert welcome["state"] == "closed"
        await v.frame(lambda f: f["type"] == "message" and f["text"] == "The chat has ended.")
        msg = await v.ws.receive()
        assert msg.type.name in ("CLOSE", "CLOSED")


async def test_the_visitor_ending_a_live_chat_leaves_the_agent_in_wrap_up(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        await alice.listen()
        v = floor.visitor()
        await v.start()
        cid = v.conversation_id
        await v.connect()
        await alice.post(f"/api/chat/conversations/{cid}/accept", {})
        await v.active()
        await v.ws.send_json({"type": "close"})
        ended = await alice.next_event(lambda e: e["type"] == "chat"
                                       and e["conversation"]["state"] == "closed")
        assert ended["conversation"]["closed_by"] == "visitor"
        (item,) = (await alice.get("/api/chat/conversations"))["conversations"]
        assert item["work_state"] == "wrapup"  # the card stays, for the disposition
        # Writing to it is over; the card's button now only ends the wrap-up.
        await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": "hello?"},
                         expect=404)
        await alice.post(f"/api/chat/conversations/{cid}/close", {"disposition": "no-reply"})
        assert (await alice.get("/api/chat/conversations"))["conversations"] == []
        await floor.server.routing.flush()
        rows = await floor.server.routing.log.events(interaction_id=cid)
        assert [r["disposition"] for r in rows if r["kind"] == "wrapup-done"] == ["no-reply"]
        # A second close finds nothing to close.
        await alice.post(f"/api/chat/conversations/{cid}/close", {"disposition": "x"},
                         expect=409)


async def test_pre_chat_answers_pick_the_queue(tmp_path):
    async with chat_floor(tmp_path) as floor:
        v = floor.visitor()
        status, _ = await v.start({"name": "Bo", "email": "bo@example.com", "topic": "billing"})
        assert status == 201
        assert floor.server.routing.queue_of(v.conversation_id) == "billing"
        data = floor.server.routing.screen_pop(v.conversation_id)
        assert data is not None and data["topic"] == "billing" and data["chat_channel"] == "site"


async def test_message_limits_are_enforced_on_the_socket(tmp_path):
    from chat_floor import site_channel

    channel = site_channel(max_message_chars=20)
    async with chat_floor(tmp_path, channels=[channel], messages_per_minute=3) as floor:
        v = floor.visitor()
        await v.start()
        await v.connect()
        await v.say("x" * 21)
        err = await v.frame(lambda f: f["type"] == "error")
        assert err["code"] == "invalid" and "20" in err["error"]
        await v.say("bad\x00byte")
        assert (await v.frame(lambda f: f["type"] == "error"))["code"] == "invalid"
        for i in range(3):
            await v.say(f"m{i}")
            await v.frame(lambda f: f["type"] == "ack")
        await v.say("one too many")
        assert (await v.frame(lambda f: f["type"] == "error"))["code"] == "rate-limited"
        assert len(await floor.chat.transcript(v.conversation_id)) == 3
        # A frame past the socket's size limit ends the socket.
        await v.ws.send_str('{"type":"message","text":"' + "y" * 20_000 + '"}')
        msg = await v.ws.receive()
        assert msg.type.name in ("CLOSE", "CLOSED", "ERROR")
        await asyncio.sleep(0)
        assert v.ws.closed


async def test_an_unknown_channel_has_no_form_no_start_and_no_socket(tmp_path):
    import aiohttp

    async with chat_floor(tmp_path) as floor:
        v = floor.visitor(channel="nope")
        status, _ = await v.start()
        assert status == 404
        async with v.http.get(f"{v.base}/config") as r:
            assert r.status == 404
        try:
            async with v.http.ws_connect(f"{v.base}/ws"):
                raise AssertionError("upgraded")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 404
        assert await floor.chat.store.open_conversations() == []
