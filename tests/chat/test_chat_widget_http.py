"""The widget's HTTP side on the real server: allowed origins for the scripts, the config, the
start and the socket; the pre-chat form's rules; the per-address limit; the place in line and
the expected wait as the line moves; capacity per agent for chats."""

from __future__ import annotations

import gzip

import aiohttp
from chat_floor import SITE, chat_floor

from contactcenter.chat.routes import WIDGET_DIR

EVIL = "http://evil.example"


async def test_only_allowed_origins_get_the_scripts_the_config_the_start_and_the_socket(tmp_path):
    async with chat_floor(tmp_path) as floor:
        async with aiohttp.ClientSession() as http:
            url = floor.url
            # The loader: a <script> tag sends a Referer (no Origin).
            async with http.get(f"{url}/chat/widget.js", headers={"Referer": SITE + "/shop"}) as r:
                assert r.status == 200 and "javascript" in r.headers["Content-Type"]
                assert "ContactCenterChat" in await r.text()
            async with http.get(f"{url}/chat/widget.js", headers={"Referer": EVIL + "/"}) as r:
                assert r.status == 403
            # The rest is a CORS load (crossorigin=anonymous): Origin decides.
            app = f"{url}/chat/widget-app.js?channel=site"
            async with http.get(app, headers={"Origin": SITE}) as r:
                assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == SITE
            for headers in ({"Origin": EVIL}, {}, {"Origin": "null"}):
                async with http.get(app, headers=headers) as r:
                    assert r.status == 403, headers
                    assert "Access-Control-Allow-Origin" not in r.headers
            config = f"{url}/api/chat/widget/site/config"
            async with http.get(config, headers={"Origin": SITE}) as r:
                assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == SITE
                body = await r.json()
                assert [f["name"] for f in body["prechat"]] == ["name", "email", "topic"]
                assert "pattern" not in body["prechat"][1]  # the server judges answers
                assert body["strings"]["title"] == "Chat with us"
            async with http.get(config, headers={"Origin": EVIL}) as r:
                assert r.status == 403
            start = f"{url}/api/chat/widget/site/conversations"
            async with http.options(start, headers={
                    "Origin": SITE, "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type"}) as r:
                assert r.status == 204
                assert r.headers["Access-Control-Allow-Origin"] == SITE
                assert "POST" in r.headers["Access-Control-Allow-Methods"]
            async with http.options(start, headers={"Origin": EVIL}) as r:
                assert r.status == 403
            answers = {"answers": {"name": "Eve", "email": "eve@example.com"}}
            async with http.post(start, json=answers, headers={"Origin": EVIL}) as r:
                assert r.status == 403
            async with http.post(start, json=answers) as r:  # no Origin: not a browser on a site
                assert r.status == 403
            async with http.ws_connect(f"{url}/api/chat/widget/site/ws",
                                       headers={"Origin": SITE}) as ws:
                assert not ws.closed
            for headers in ({"Origin": EVIL}, {}):
                try:
                    async with http.ws_connect(f"{url}/api/chat/widget/site/ws", headers=headers):
                        raise AssertionError("upgraded")
                except aiohttp.WSServerHandshakeError as exc:
                    assert exc.status == 403
        assert await floor.chat.store.open_conversations() == []


async def test_the_start_needs_no_session_and_a_session_gives_it_nothing(tmp_path):
    # A logged-in agent's browser on the site: its cookie does not make the start a panel call.
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1", login=False)
        async with alice.http.post(f"{floor.url}/api/chat/widget/site/conversations",
                                   json={"answers": {"name": "A", "email": "a@example.com"}},
                                   headers={"Origin": SITE}) as r:
            assert r.status == 201
        # ...and the panel's routes still want the CSRF token from a cross-site page.
        async with alice.http.post(f"{floor.url}/api/chat/conversations/x/accept", json={},
                                   headers={"Origin": SITE}) as r:
            assert r.status == 403


async def test_pre_chat_rules_refuse_with_reasons_and_store_nothing(tmp_path):
    async with chat_floor(tmp_path) as floor:
        v = floor.visitor()
        status, body = await v.start({"name": "Vera", "email": "not-an-email"})
        assert status == 422
        assert body["errors"] == {"email": "Please enter a valid email"}
        status, body = await v.start({"email": "vera@example.com", "topic": "gossip",
                                      "shoe_size": "42"})
        assert status == 422
        assert set(body["errors"]) == {"name", "topic", "shoe_size"}
        status, body = await v.start({"name": "Ve\nra", "email": "vera@example.com"})
        assert status == 422 and "control" in body["errors"]["name"]
        status, body = await v.start({"name": "Vera", "email": "vera@example.com"},
                                     attributes={"Bad Key": "x"})
        assert status == 422 and "attributes" in body["errors"]
        assert await floor.chat.store.open_conversations() == []
        assert floor.server.routing.snapshot().queues["web"].waiting == 0


async def test_new_conversations_are_limited_per_address(tmp_path):
    async with chat_floor(tmp_path, new_conversations_per_ip=2) as floor:
        v = floor.visitor()
        assert (await v.start())[0] == 201
        assert (await v.start())[0] == 201
        status, body = await v.start()
        assert status == 429 and "try again" in body["error"]
        assert len(await floor.chat.store.open_conversations()) == 2


async def test_position_and_expected_wait_follow_the_line(tmp_path):
    async with chat_floor(tmp_path) as floor:
        first, second, third = floor.visitor(), floor.visitor(), floor.visitor()
        for v in (first, second, third):
            assert (await v.start())[0] == 201
        # Nobody is logged in: places are known, waits are not (no staffed capacity).
        await third.connect()
        pos = await third.frame(lambda f: f["type"] == "position")
        assert pos == {"type": "position", "position": 3, "ewt_s": None}
        # Bob logs in (2 chats) and takes the first two: the third is now first in line.
        bob = await floor.agent("bob", "a2")
        pos = await third.frame(lambda f: f["type"] == "position" and f["position"] == 1)
        # EWT = position x AHT / staffed chat slots = 1 x 120 s / 2.
        assert pos["ewt_s"] == 60
        fourth = floor.visitor()
        await fourth.start()
        await fourth.connect()
        assert (await fourth.frame(lambda f: f["type"] == "position")) == {
            "type": "position", "position": 2, "ewt_s": 120}
        # Alice logs in too (1 chat): she takes the third, and the fourth moves up with a wait
        # of 1 x 120 / 3.
        await floor.agent("alice", "a1")
        moved = await fourth.frame(lambda f: f["type"] == "position" and f["position"] == 1)
        assert moved["ewt_s"] == 40
        await third.frame(lambda f: f["type"] == "state" and f["state"] == "offered")
        assert bob.agent_id == "a2"


async def test_an_agent_at_chat_capacity_gets_no_more_while_one_with_room_does(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")  # chat capacity 1
        visitors = [floor.visitor() for _ in range(3)]
        await visitors[0].start()
        work = floor.server.routing.agent("a1").work
        assert [w["interaction_id"] for w in work] == [visitors[0].conversation_id]
        await alice.post(f"/api/chat/conversations/{visitors[0].conversation_id}/accept", {})
        await visitors[1].start()
        assert len(floor.server.routing.agent("a1").work) == 1  # full: the second waits
        assert floor.server.routing.position(visitors[1].conversation_id) is not None
        await floor.agent("bob", "a2")  # chat capacity 2: takes the waiting one
        await visitors[2].start()
        bob_work = {w["interaction_id"] for w in floor.server.routing.agent("a2").work}
        assert bob_work == {visitors[1].conversation_id, visitors[2].conversation_id}
        assert len(floor.server.routing.agent("a1").work) == 1


async def test_the_wallboard_counts_chats_waiting_and_active_per_queue(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")  # one chat at a time
        sup = await floor.agent("sup", "a2", login=False, role="supervisor")
        first, second = floor.visitor(), floor.visitor()
        await first.start()
        await alice.post(f"/api/chat/conversations/{first.conversation_id}/accept", {})
        await second.start()
        board = await sup.get("/api/panel/wallboard")
        assert board["channels"] == {"web": {"chat": {"waiting": 1, "active": 1}}}
        await second.connect()
        await second.ws.send_json({"type": "close"})
        await second.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        board = await sup.get("/api/panel/wallboard")
        assert board["channels"] == {"web": {"chat": {"waiting": 0, "active": 1}}}


async def test_signed_visitor_ids_are_checked_and_bring_the_customer_s_history(tmp_path):
    from chat_floor import site_channel

    from contactcenter.chat.model import sign_visitor

    secret = "s3cret-for-the-site-42"
    async with chat_floor(tmp_path, channels=[site_channel(identity_secret=secret)]) as floor:
        v = floor.visitor()
        status, body = await v.start(visitor_id="crm-42", visitor_signature="ab" * 32)
        assert status == 403 and "verified" in body["error"]
        status, _ = await v.start(visitor_id="crm-42")  # a claim without proof
        assert status == 403
        assert await floor.chat.store.open_conversations() == []
        # On a signing channel every id needs its signature; anonymous visitors need none.
        status, _ = await v.start(visitor_id="anon-1")
        assert status == 403
        status, _ = await v.start()
        assert status == 201
        anonymous = v.conversation_id

        first = floor.visitor()
        await first.start(visitor_id="crm-42", visitor_signature=sign_visitor(secret, "crm-42"))
        await first.connect()
        await first.ws.send_json({"type": "close"})
        await first.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        second = floor.visitor()  # the same customer, another device
        status, _ = await second.start(visitor_id="crm-42",
                                       visitor_signature=sign_visitor(secret, "crm-42").upper())
        assert status == 201
        alice = await floor.agent("alice", "a1")  # takes the anonymous one first (line order)
        await alice.post(f"/api/chat/conversations/{anonymous}/accept", {})
        await alice.post(f"/api/chat/conversations/{anonymous}/close",
                         {"disposition": "resolved"})
        (item,) = (await alice.get("/api/chat/conversations"))["conversations"]
        assert item["conversation"]["id"] == second.conversation_id
        assert item["conversation"]["verified"] is True
        assert [e["id"] for e in item["earlier"]] == [first.conversation_id]


def test_the_loader_is_small():
    loader = (WIDGET_DIR / "loader.js").read_bytes()
    assert len(gzip.compress(loader, 9)) <= 10 * 1024
    # and it fetches nothing from anyone but the server it came from
    text = loader.decode()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text.replace("https://cc.example.com", "")
