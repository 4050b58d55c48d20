"""Findings of an outside probe, over real sockets: hostile JSON and numbers get a 400 (not a
500), the origin check does not trust the Host header, and the server tells nothing of itself."""

from __future__ import annotations

import logging

from aiohttp import web

from contactcenter.web.roles import PUBLIC, requires

PASSWORD = "correct horse battery"  # the fixture users' password (see conftest)


async def test_deeply_nested_json_is_400_before_login_without_a_traceback(env, caplog):
    client = env.client()
    bodies = (
        b"[" * 40 + b"]" * 40,  # past our depth limit, well within the parser's
        b'{"username": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",  # past the parser's recursion
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
    )
    with caplog.at_level(logging.ERROR):
        for body in bodies:
            async with client.post(env.url("/api/login"), data=body,
                                   headers={"Content-Type": "application/json"}) as r:
                answer = await r.json()
            assert r.status == 400, answer
            assert answer == {"error": "JSON nested deeper than 32 levels"}
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    # Nesting within the limit is still JSON like any other.
    async with client.post(env.url("/api/login"), json={
            "username": "agent1", "password": PASSWORD, "x": [[[[1]]]]}) as r:
        assert r.status == 200


async def test_deeply_nested_json_on_the_live_socket_is_an_error_message(env):
    client, _csrf = await env.logged_in("agent1")
    async with client.ws_connect(env.url("/api/live")) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "hello"
        await ws.send_str("[" * 30_000 + "]" * 30_000)
        assert await ws.receive_json(timeout=10) == {"type": "error", "error": "not JSON"}
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json(timeout=10))["type"] == "pong"


async def test_huge_numbers_in_paths_and_queries_are_refused_not_500(env):
    client, _csrf = await env.logged_in("admin")
    for path, status in (
            ("/api/users/99999999999999999999", 404),  # no id has 20 digits: no route
            ("/api/users/4294967296", 404),  # ten digits, past the column's range
            ("/api/users/0", 404),
            ("/api/audit?offset=99999999999999999999", 400),
            ("/api/audit?limit=-1", 400),
            ("/api/audit?limit=１０", 400)):  # full-width digits: int() would take them
        async with client.get(env.url(path)) as r:
            answer = await r.json()
        assert r.status == status, (path, answer)
        assert answer["error"]
    async with client.get(env.url(f"/api/users/{env.users['agent1'].id}")) as r:
        assert r.status == 200 and (await r.json())["username"] == "agent1"


async def test_the_origin_check_does_not_trust_a_dns_name_in_host(env, make_env):
    port = env.server.port
    for host in (f"evil.example:{port}", f"panel.example:{port}"):
        client = env.client(origin=f"http://{host}")
        async with client.post(env.url("/api/login"), headers={"Host": host},
                               json={"username": "agent1", "password": PASSWORD}) as r:
            assert r.status == 403, host  # Origin equals Host: proves nothing under rebinding
    # Addressed by IP (the fixture's own origin) or localhost: nothing to rebind, allowed.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        client = env.client(origin=f"http://{host}")
        async with client.post(env.url("/api/login"), headers={"Host": host},
                               json={"username": "agent1", "password": PASSWORD}) as r:
            assert r.status == 200, host
    # A panel reached by a DNS name lists its origin.
    named = await make_env(allowed_origins=(f"http://panel.example:{port}",))
    client = named.client(origin=f"http://panel.example:{port}")
    async with client.post(named.url("/api/login"), headers={"Host": f"panel.example:{port}"},
                           json={"username": "agent1", "password": PASSWORD}) as r:
        assert r.status == 200


async def test_the_server_names_no_versions_and_pages_connect_only_to_themselves(env):
    client = env.client()
    for path in ("/login", "/api/session", "/api/nothing/here", "/static/common.js"):
        async with client.get(env.url(path)) as r:
            assert r.headers["Server"] == "contactcenter", path
    async with client.get(env.url("/login")) as r:
        csp = r.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["connect-src"] == "'self'"


async def test_errors_outside_the_handlers_are_json_too(env):
    client = env.client()
    for method, path, status in (("GET", "/api/no/such/thing", 404),
                                 ("DELETE", "/api/session", 405)):
        async with client.request(method, env.url(path)) as r:
            assert r.status == status and r.content_type == "application/json"
            assert (await r.json())["error"]
    async with client.post(env.url("/api/login"), data=b"x" * (70 * 1024),
                           headers={"Content-Type": "application/json"}) as r:
        assert r.status == 413 and (await r.json()) == {"error": "body too large"}


@requires(PUBLIC)
async def _broken(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


async def test_an_unexpected_exception_is_a_json_500_and_a_logged_traceback(make_env, caplog):
    env = await make_env(setup=lambda app: app.router.add_get("/api/test/broken", _broken))
    with caplog.at_level(logging.ERROR, logger="contactcenter.web.security"):
        async with env.client().get(env.url("/api/test/broken")) as r:
            assert r.status == 500 and await r.json() == {"error": "internal error"}
    assert any(rec.exc_info and "a bug" in str(rec.exc_info[1]) for rec in caplog.records)
