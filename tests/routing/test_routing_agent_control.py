"""Agent-control REST handlers over aiohttp's real test server (127.0.0.1, ephemeral port)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from routing_helpers import agent, make_config

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.routing.routes import add_routes
from contactcenter.routing.service import RoutingService
from contactcenter.web.roles import Actor

CONFIG = make_config([QueueConfig("q", wrapup_s=600), QueueConfig("o")],
                     [agent("a1", queues=("q",)), agent("a2", queues=("q", "o"))])


ADMIN = {"id": 1, "roles": {"admin"}, "agent_id": None}


async def client_for(service, user=ADMIN):
    app = web.Application()
    if user is not None:
        @web.middleware
        async def fake_auth(request, handler):  # stands in for web/security.py's middleware
            role = next(iter(user["roles"]))
            request["actor"] = Actor(user["id"], f"user{user['id']}", role, user["agent_id"])
            return await handler(request)
        app.middlewares.append(fake_auth)
    add_routes(app, service)
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    return client


async def test_login_pause_wrapup_logout_cycle():
    svc = RoutingService(CONFIG, Clock(), None)
    await svc.start()
    client = await client_for(svc)
    try:
        r = await client.post("/api/agents/a1/login", json={"queues": ["q"]})
        assert r.status == 200 and (await r.json())["state"] == "available"
        r = await client.post("/api/agents/a1/pause", json={"reason": "break"})
        body = await r.json()
        assert (body["state"], body["pause_reason"]) == ("paused", "break")
        r = await client.post("/api/agents/a1/unpause")
        assert (await r.json())["state"] == "available"
        iid = await svc.enqueue(Interaction("voice", "q"))
        offer = svc.agent("a1").work[0]["offer_id"]
        await svc.offer_answered(offer)
        r = await client.post("/api/agents/a1/logout")
        assert r.status == 409  # busy
        await svc.complete(iid)
        r = await client.post("/api/agents/a1/wrapup", json={"disposition": "sold", "notes": "x"})
        assert (await r.json())["state"] == "available"
        r = await client.post("/api/agents/a1/logout")
        assert (await r.json())["state"] == "logged_out"
        queues = await (await client.get("/api/queues")).json()
        assert [q["name"] for q in queues] == ["q", "o"] and queues[0]["answered"] == 1
        agents = await (await client.get("/api/agents")).json()
        assert {a["id"] for a in agents} == {"a1", "a2"}
    finally:
        await client.close()
        await svc.stop()


async def test_errors_and_permissions():
    svc = RoutingService(CONFIG, Clock(), None)
    await svc.start()
    client = await client_for(svc, user={"id": "u1", "roles": {"agent"}, "agent_id": "a1"})
    try:
        assert (await client.post("/api/agents/a1/login")).status == 200
        assert (await client.post("/api/agents/a2/login")).status == 403  # not themselves
        assert (await client.get("/api/agents")).status == 403  # supervisors only
        assert (await client.post("/api/agents/nobody/login")).status == 403
        r = await client.post("/api/agents/a1/pause", json={"reason": "x\r\nAction: Hangup"})
        assert r.status == 400
        assert (await client.post("/api/agents/a1/pause", data=b"nope")).status == 400
        assert (await client.post("/api/agents/a1/wrapup", json={"disposition": "d"})).status == 409
        assert (await client.post("/api/agents/a1/login", json={"queues": ["zz"]})).status == 404
    finally:
        await client.close()
        await svc.stop()


def test_every_route_declares_roles():
    app = web.Application()
    add_routes(app, RoutingService(CONFIG, Clock(), None))
    routes = [r for r in app.router.routes() if r.method != "HEAD"]
    assert len(routes) == 8
    for route in routes:
        assert route.handler.roles, route


async def test_an_agent_sees_the_figures_of_their_own_queues_only():
    config = make_config([QueueConfig("q"), QueueConfig("o"), QueueConfig("secret")],
                         [agent("a1", queues=("q",)), agent("a2", queues=("q", "o"))])
    svc = RoutingService(config, Clock(), None)
    await svc.start()
    client = await client_for(svc, user={"id": 2, "roles": {"agent"}, "agent_id": "a1"})
    staff = await client_for(svc, user={"id": 3, "roles": {"supervisor"}, "agent_id": None})
    unlinked = await client_for(svc, user={"id": 4, "roles": {"agent"}, "agent_id": None})
    try:
        names = [q["name"] for q in await (await client.get("/api/queues")).json()]
        assert names == ["q"]  # configured, though logged out
        assert (await client.post("/api/agents/a1/login", json={"queues": ["o"]})).status == 200
        names = [q["name"] for q in await (await client.get("/api/queues")).json()]
        assert sorted(names) == ["o", "q"]  # and the one joined now
        names = [q["name"] for q in await (await staff.get("/api/queues")).json()]
        assert sorted(names) == ["o", "q", "secret"]
        assert await (await unlinked.get("/api/queues")).json() == []
    finally:
        for c in (client, staff, unlinked):
            await c.close()
        await svc.stop()


async def test_values_are_typed_strictly_and_refusals_are_json():
    svc = RoutingService(CONFIG, Clock(), None)
    await svc.start()
    client = await client_for(svc, user={"id": "u1", "roles": {"agent"}, "agent_id": "a1"})
    try:
        assert (await client.post("/api/agents/a1/login")).status == 200
        for path, body, status, says in (
                ("/api/agents/a1/pause", {"reason": None}, 400, "reason must be a string"),
                ("/api/agents/a1/pause", {}, 400, "reason is required"),
                ("/api/agents/a1/pause", {"reason": "x" * 201}, 400, "longer than"),
                ("/api/agents/a1/wrapup", {"disposition": "d", "interaction_id": None}, 400,
                 "interaction_id must be a string"),
                ("/api/agents/a1/wrapup", {"disposition": "d", "notes": "a\x00b"}, 400, "NUL"),
                ("/api/agents/a1/wrapup", {"disposition": "d", "notes": "n" * 2001}, 400,
                 "longer than 2000"),
                ("/api/agents/a2/pause", {"reason": "x"}, 403, "only act on themselves")):
            r = await client.post(path, json=body)
            assert r.status == status, (body, await r.text())
            assert says in (await r.json())["error"], body
        iid = await svc.enqueue(Interaction("voice", "q"))
        await svc.offer_answered(svc.agent("a1").work[0]["offer_id"])
        await svc.complete(iid)
        r = await client.post("/api/agents/a1/wrapup",
                              json={"disposition": "sold", "notes": "n" * 2000})
        assert r.status == 200, await r.text()
    finally:
        await client.close()
        await svc.stop()
