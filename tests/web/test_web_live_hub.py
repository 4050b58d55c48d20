"""GET /api/live: cookie checked before upgrade, Origin checked, topics authorised, revocation."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import WSMsgType

from contactcenter.domain.clock import Clock
from contactcenter.web.live import Deferred, RawJson

TIMEOUT = 10.0  # only catches hangs


async def _connect(env, client, origin="own"):
    headers = {}
    if origin is not None:
        headers["Origin"] = env.origin if origin == "own" else origin
    ws = await client.ws_connect(env.url("/api/live"), headers=headers)
    hello = await ws.receive_json(timeout=TIMEOUT)
    assert hello["type"] == "hello"
    return ws, hello


async def _close_code(ws) -> int:
    """Read until the server's close frame; returns the close code it carried."""
    while True:
        msg = await ws.receive(timeout=TIMEOUT)
        if msg.type == WSMsgType.CLOSE:
            return int(msg.data)
        assert msg.type in (WSMsgType.TEXT,), msg


async def _subscribe(ws, *topics):
    await ws.send_json({"type": "subscribe", "topics": list(topics)})
    while True:
        msg = await ws.receive_json(timeout=TIMEOUT)
        if msg["type"] == "subscribed":
            return msg


async def test_same_origin_socket_with_session_says_hello(env):
    client, _ = await env.logged_in("agent1")
    ws, hello = await _connect(env, client)
    assert hello["user"] == {
        "id": env.users["agent1"].id,
        "username": "agent1",
        "role": "agent",
        "agent_id": "1001",
    }
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=TIMEOUT)) == {"type": "pong"}
    await ws.close()


async def test_cross_origin_socket_with_valid_cookie_is_refused(env, password):
    client, _ = await env.logged_in("sup")
    for origin in ("https://evil.example", "null", env.origin.replace("127.0.0.1", "localhost")):
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await client.ws_connect(env.url("/api/live"), headers={"Origin": origin})
        assert info.value.status == 403, origin
    # No Origin at all is refused too (require_ws_origin defaults to on).
    bare = env.client(origin=None)
    await env.login(bare, "sup", password)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await bare.ws_connect(env.url("/api/live"))
    assert info.value.status == 403
    assert env.services.live.client_count == 0


async def test_socket_without_session_is_refused_before_upgrade(env):
    anon = env.client()
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await anon.ws_connect(env.url("/api/live"), headers={"Origin": env.origin})
    assert info.value.status == 401


async def test_topics_are_authorised_by_role_and_own_agent_id(env):
    agent, _ = await env.logged_in("agent1")
    sup, _ = await env.logged_in("sup")
    ws_agent, _ = await _connect(env, agent)
    ws_sup, _ = await _connect(env, sup)
    got = await _subscribe(ws_agent, "agent.1001", "agent.1002", "wallboard", "no-such", 7)
    assert got["topics"] == ["agent.1001"]
    assert got["refused"] == ["agent.1002", "wallboard", "no-such", "7"]
    got = await _subscribe(ws_sup, "wallboard", "agent.1001", "queue.sales", "admin.flows")
    assert got["topics"] == ["wallboard", "agent.1001", "queue.sales"]
    assert got["refused"] == ["admin.flows"]

    hub = env.services.live
    assert hub.publish("wallboard", {"waiting": 3}) == 1
    assert hub.publish("agent.1001", {"offer": "call-1"}) == 2
    assert hub.publish("agent.1002", {"offer": "nobody"}) == 0
    event = await ws_sup.receive_json(timeout=TIMEOUT)
    assert (event["topic"], event["data"]) == ("wallboard", {"waiting": 3})
    event = await ws_sup.receive_json(timeout=TIMEOUT)
    assert (event["topic"], event["data"]) == ("agent.1001", {"offer": "call-1"})
    event = await ws_agent.receive_json(timeout=TIMEOUT)
    assert (event["topic"], event["data"]) == ("agent.1001", {"offer": "call-1"})

    await ws_sup.send_json({"type": "unsubscribe", "topics": ["wallboard"]})
    assert (await ws_sup.receive_json(timeout=TIMEOUT))["topics"] == ["wallboard"]
    assert hub.subscriber_count("wallboard") == 0
    await ws_agent.close()
    await ws_sup.close()


async def test_bad_client_messages_get_errors_not_crashes(env):
    client, _ = await env.logged_in("sup")
    ws, _ = await _connect(env, client)
    for text in ("not json", "[]", '{"type": "launch"}', '{"type": "subscribe", "topics": 3}'):
        await ws.send_str(text)
        assert (await ws.receive_json(timeout=TIMEOUT))["type"] == "error"
    got = await _subscribe(ws, "wallboard")
    assert got["topics"] == ["wallboard"]
    await ws.close()


async def test_logout_closes_that_sessions_sockets_only(env):
    client, csrf = await env.logged_in("agent1")
    other, _ = await env.logged_in("agent1")
    ws, _ = await _connect(env, client)
    ws_other, _ = await _connect(env, other)
    async with client.post(env.url("/api/logout"), headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 204
    assert await _close_code(ws) == 4001
    await ws_other.send_json({"type": "ping"})
    assert (await ws_other.receive_json(timeout=TIMEOUT)) == {"type": "pong"}
    await ws_other.close()


async def test_disabling_a_user_closes_their_sockets_at_once(env):
    agent, _ = await env.logged_in("agent2")
    ws, _ = await _connect(env, agent)
    admin, csrf = await env.logged_in("admin")
    async with admin.patch(
        env.url(f"/api/users/{env.users['agent2'].id}"),
        json={"disabled": True},
        headers={"X-CSRF-Token": csrf},
    ) as resp:
        assert resp.status == 200
    assert await _close_code(ws) == 4001
    async with agent.get(env.url("/api/session")) as resp:
        assert resp.status == 401


async def test_periodic_recheck_closes_sockets_of_sessions_revoked_elsewhere(make_env):
    clock = Clock(speed=100.0)
    env = await make_env(clock=clock)
    env.services.live.recheck_interval = 5.0  # 0.05 real seconds
    client, _ = await env.logged_in("sup")
    ws, _ = await _connect(env, client)
    # Another process (e.g. `contactcenter users disable`) deletes the rows directly.
    await env.services.store.update_user(env.users["sup"].id, clock.time(), disabled=True)
    assert await _close_code(ws) == 4001


async def test_slow_consumer_is_closed_and_never_holds_up_the_others(env):
    hub = env.services.live
    hub.queue_size = 4
    slow_client, _ = await env.logged_in("sup")
    fast_client, _ = await env.logged_in("sup")
    slow, _ = await _connect(env, slow_client)
    fast, _ = await _connect(env, fast_client)
    await _subscribe(slow, "wallboard")
    await _subscribe(fast, "wallboard")
    # Nobody reads `slow`: once the kernel buffers are full its transport pauses, the next frames
    # wait in its backlog (4), and the one after closes it. `fast` reads every frame meanwhile.
    pad = "x" * 60_000
    got = []
    for i in range(2000):
        assert hub.publish("wallboard", {"i": i, "pad": pad}) >= 1
        event = await fast.receive_json(timeout=TIMEOUT)
        got.append(event["data"]["i"])
        if hub.subscriber_count("wallboard") == 1:
            break
    assert hub.subscriber_count("wallboard") == 1, "the slow client was never closed"
    assert got == list(range(len(got)))
    assert await _close_code(slow) == 1013
    hub.publish("wallboard", {"i": "after"})
    assert (await fast.receive_json(timeout=TIMEOUT))["data"] == {"i": "after"}
    await fast.close()


async def test_events_keep_their_order_and_text_frames(env):
    client, _ = await env.logged_in("sup")
    ws, _ = await _connect(env, client)
    await _subscribe(ws, "wallboard")
    hub = env.services.live
    for i in range(20):
        hub.publish("wallboard", {"i": i})
    seqs = []
    for i in range(20):
        msg = await ws.receive(timeout=TIMEOUT)
        assert msg.type == WSMsgType.TEXT
        event = msg.json()
        assert (event["type"], event["topic"], event["data"]) == ("event", "wallboard", {"i": i})
        seqs.append(event["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == 20
    await ws.close()


async def test_raw_json_is_sent_as_the_same_document(env):
    client, _ = await env.logged_in("sup")
    ws, _ = await _connect(env, client)
    await _subscribe(ws, "wallboard")
    assert env.services.live.publish("wallboard", RawJson('{"waiting":3,"names":["a\\"b"]}')) == 1
    event = await ws.receive_json(timeout=TIMEOUT)
    assert event["data"] == {"waiting": 3, "names": ['a"b']}
    await ws.close()


async def test_deferred_data_is_built_only_when_someone_listens(env):
    hub = env.services.live
    built: list[int] = []

    def build() -> dict[str, int]:
        built.append(1)
        return {"n": len(built)}

    assert hub.publish("wallboard", Deferred(build)) == 0
    assert built == []  # nobody subscribed: nothing was built
    client, _ = await env.logged_in("sup")
    ws, _ = await _connect(env, client)
    await _subscribe(ws, "wallboard")
    assert hub.publish("wallboard", Deferred(lambda: None)) == 0  # "nothing to send after all"
    assert hub.publish("wallboard", Deferred(build)) == 1
    event = await ws.receive_json(timeout=TIMEOUT)
    assert (event["topic"], event["data"]) == ("wallboard", {"n": 1})
    assert built == [1]
    await ws.close()
