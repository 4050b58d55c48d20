"""Every route declares roles; agents get 403 above their station; CSRF and Origin are enforced."""

from __future__ import annotations

import re

from aiohttp import web

from contactcenter.web.roles import AGENT, PUBLIC, check_route_roles, iter_routes, route_roles

_PARAM = re.compile(r"\{[^{}]+\}")


def _concrete(path: str) -> str:
    return _PARAM.sub("1", path)


async def test_every_route_declares_roles(env):
    assert check_route_roles(env.app) == []
    walked = list(iter_routes(env.app))
    assert len(walked) >= 10
    for owner, _method, _path, route in walked:
        assert route_roles(owner, route)


async def test_route_walk_finds_undeclared_routes_in_sub_apps():
    async def naked(request):
        return web.Response(text="no roles here")

    app = web.Application()
    sub = web.Application()
    sub.router.add_get("/thing", naked)
    app.add_subapp("/sub", sub)
    problems = check_route_roles(app)
    assert sorted(p.split(" (")[0] for p in problems) == ["GET /sub/thing", "HEAD /sub/thing"]


async def test_agent_gets_403_on_every_supervisor_and_admin_route(env):
    agent, csrf = await env.logged_in("agent1")
    checked = 0
    for owner, method, path, route in iter_routes(env.app):
        roles = route_roles(owner, route)
        if method == "HEAD" or PUBLIC in roles or AGENT in roles:
            continue
        async with agent.request(
            method, env.url(_concrete(path)), headers={"X-CSRF-Token": csrf}, json={}
        ) as resp:
            assert resp.status == 403, (method, path, resp.status)
        checked += 1
    assert checked >= 5  # users, audit, test staff/admin routes


async def test_supervisor_gets_403_on_admin_routes_and_200_on_staff_routes(env):
    sup, csrf = await env.logged_in("sup")
    async with sup.get(env.url("/api/users")) as resp:
        assert resp.status == 403
    async with sup.get(env.url("/api/audit")) as resp:
        assert resp.status == 403
    async with sup.post(env.url("/api/test/admin"), headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 403
    async with sup.get(env.url("/api/test/staff")) as resp:
        assert resp.status == 200
        assert await resp.json() == {"who": "sup"}


async def test_not_logged_in_gets_401_and_public_routes_stay_open(env):
    anon = env.client()
    for path in ("/api/users", "/api/audit", "/api/test/staff", "/api/session"):
        async with anon.get(env.url(path)) as resp:
            assert resp.status == 401, path
    async with anon.get(env.url("/api/openapi.json")) as resp:
        assert resp.status == 200


async def test_route_without_roles_is_refused_fail_closed(make_env, password):
    async def forgotten(request):
        return web.Response(text="secret")

    env = await make_env(setup=lambda app: app.router.add_get("/api/forgotten", forgotten))
    problems = check_route_roles(env.app)
    assert sorted(p.split(" (")[0] for p in problems) == [
        "GET /api/forgotten",
        "HEAD /api/forgotten",
    ]
    client = env.client()
    async with client.get(env.url("/api/forgotten")) as resp:
        assert resp.status == 401
    await env.login(client, "admin", password)
    async with client.get(env.url("/api/forgotten")) as resp:
        assert resp.status == 403
        assert "secret" not in await resp.text()


async def test_state_changing_request_without_csrf_token_is_refused(env):
    agent, csrf = await env.logged_in("agent1")
    async with agent.post(env.url("/api/test/any")) as resp:
        assert resp.status == 403
        assert "CSRF" in (await resp.json())["error"]
    async with agent.post(env.url("/api/test/any"), headers={"X-CSRF-Token": "x" * 43}) as resp:
        assert resp.status == 403
    # Another user's token does not fit this session.
    _, other_csrf = await env.logged_in("agent2")
    async with agent.post(env.url("/api/test/any"), headers={"X-CSRF-Token": other_csrf}) as resp:
        assert resp.status == 403
    async with agent.post(env.url("/api/test/any"), headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 200
    admin, _admin_csrf = await env.logged_in("admin")
    async with admin.patch(
        env.url(f"/api/users/{env.users['agent2'].id}"), json={"disabled": True}
    ) as resp:
        assert resp.status == 403
    async with admin.post(env.url("/api/logout")) as resp:
        assert resp.status == 403
    async with admin.get(env.url("/api/session")) as resp:
        assert resp.status == 200  # the CSRF-less logout did not log anyone out


async def test_cross_origin_post_is_refused_even_with_cookie_and_token(env, password):
    agent, csrf = await env.logged_in("agent1")
    for origin in ("https://evil.example", "null", env.origin.replace("127.0.0.1", "localhost")):
        async with agent.post(
            env.url("/api/test/any"), headers={"X-CSRF-Token": csrf, "Origin": origin}
        ) as resp:
            assert resp.status == 403, origin
    # A client that sends no Origin is judged by its Referer...
    bare = env.client(origin=None)
    bare_csrf = await env.login(bare, "agent2", password)
    async with bare.post(
        env.url("/api/test/any"),
        headers={"X-CSRF-Token": bare_csrf, "Referer": "https://evil.example/page"},
    ) as resp:
        assert resp.status == 403
    # ...and with neither (a script, not a browser) the CSRF token alone decides.
    async with bare.post(env.url("/api/test/any"), headers={"X-CSRF-Token": bare_csrf}) as resp:
        assert resp.status == 200
    async with bare.post(env.url("/api/test/any")) as resp:
        assert resp.status == 403


async def test_login_checks_origin_instead_of_csrf(env):
    evil = env.client(origin="https://evil.example")
    async with evil.post(
        env.url("/api/login"), json={"username": "agent1", "password": "correct horse battery"}
    ) as resp:
        assert resp.status == 403
        assert "Set-Cookie" not in resp.headers


async def test_configured_extra_origin_is_allowed(make_env):
    env = await make_env(allowed_origins=("https://panel.example.com",))
    client = env.client(origin="https://panel.example.com")
    csrf = await env.login(client, "agent1")
    async with client.post(env.url("/api/test/any"), headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 200


async def test_protective_headers_on_api_answers(env):
    anon = env.client()
    async with anon.get(env.url("/api/users")) as resp:
        assert resp.status == 401
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Cache-Control"] == "no-store"


async def test_openapi_paths_of_sub_apps_are_prefixed_once():
    from aiohttp.test_utils import TestServer

    from contactcenter.web.openapi import OpenApiHandler, build_openapi
    from contactcenter.web.roles import requires
    from contactcenter.web.security import WebSecuritySettings

    @requires("admin")
    async def thing(request):
        """Read one thing.

        Longer words about the thing.
        """
        return web.json_response({})

    app = web.Application()
    sub = web.Application()
    sub.router.add_get(r"/things/{thing_id:\d+}", thing)
    sub.add_routes(OpenApiHandler(WebSecuritySettings()).routes())
    app.add_subapp("/v1", sub)
    doc = build_openapi(app)
    op = doc["paths"]["/v1/things/{thing_id}"]["get"]
    assert (op["summary"], op["description"]) == (
        "Read one thing.",
        "Longer words about the thing.",
    )
    assert op["parameters"][0]["name"] == "thing_id"
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        import aiohttp

        async with aiohttp.ClientSession() as client, \
                client.get(server.make_url("/v1/api/openapi.json")) as resp:
            served = await resp.json()
        assert set(served["paths"]) == {"/v1/things/{thing_id}", "/v1/api/openapi.json"}
    finally:
        await server.close()
