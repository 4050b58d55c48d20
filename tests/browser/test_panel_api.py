"""The panel's routes on the real server (no browser): roles on every route, agents refused
above their station, CSRF and Origin enforced, cross-origin websockets refused."""

from __future__ import annotations

import re

import aiohttp
from panel_floor import PASSWORD, panel_floor

from contactcenter.web.roles import AGENT, PUBLIC, check_route_roles, iter_routes, route_roles

_PARAM = re.compile(r"\{[^{}:]+(:[^{}]+)?\}")


async def _client(floor, username: str) -> tuple[aiohttp.ClientSession, str]:  # type: ignore[no-untyped-def]
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 headers={"Origin": floor.url})
    async with http.post(f"{floor.url}/api/login",
                         json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200
        return http, (await r.json())["csrf_token"]


async def test_panel_routes_declare_roles_and_refuse_agents_and_csrfless_posts(tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        app = floor.server.web_app
        assert check_route_roles(app) == []
        paths = {path for _o, _m, path, _r in iter_routes(app)}
        assert {"/agent", "/wallboard", "/admin", "/api/panel/wallboard",
                "/api/panel/flows/{name}"} <= paths
        await floor.add_user("alice", "agent", "1001")
        await floor.add_user("sup", "supervisor")
        agent, csrf = await _client(floor, "alice")
        sup, sup_csrf = await _client(floor, "sup")
        try:
            checked = 0
            for owner, method, path, route in iter_routes(app):
                roles = route_roles(owner, route)
                if method == "HEAD" or PUBLIC in roles or AGENT in roles:
                    continue
                url = floor.url + _PARAM.sub("1", path)
                async with agent.request(method, url, headers={"X-CSRF-Token": csrf},
                                         json={}) as r:
                    assert r.status == 403, (method, path, r.status)
                checked += 1
            assert checked >= 10
            # Supervisors see the wallboard but not the flows admin.
            async with sup.get(f"{floor.url}/api/panel/wallboard") as r:
                assert r.status == 200 and {q["name"] for q in (await r.json())["queues"]} >= {
                    "sales", "support"}
            async with sup.put(f"{floor.url}/api/panel/flows/demo",
                               headers={"X-CSRF-Token": sup_csrf}, json={"text": ""}) as r:
                assert r.status == 403
            # No CSRF token: refused before the handler; a wrong Origin: refused too.
            async with agent.post(f"{floor.url}/api/panel/hangup", json={}) as r:
                assert r.status == 403 and "CSRF" in (await r.json())["error"]
            async with agent.post(f"{floor.url}/api/panel/hangup", json={},
                                  headers={"X-CSRF-Token": csrf,
                                           "Origin": "http://evil.example"}) as r:
                assert r.status == 403
            # With the token: the handler answers (no call to hang up).
            async with agent.post(f"{floor.url}/api/panel/hangup", json={},
                                  headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 409
            async with agent.get(f"{floor.url}/api/panel/me") as r:
                me = await r.json()
                assert me["agent"]["id"] == "1001" and me["figures"]["answered"] == 0
            # A cross-origin websocket with a valid cookie is refused.
            try:
                async with agent.ws_connect(f"{floor.url}/api/live",
                                            headers={"Origin": "http://evil.example"}):
                    raise AssertionError("cross-origin websocket accepted")
            except aiohttp.WSServerHandshakeError as exc:
                assert exc.status == 403
            async with agent.ws_connect(f"{floor.url}/api/live") as ws:
                assert (await ws.receive_json(timeout=10))["type"] == "hello"
                await ws.send_json({"type": "subscribe", "topics": ["wallboard", "agent.1001"]})
                reply = await ws.receive_json(timeout=10)
                assert reply["topics"] == ["agent.1001"] and reply["refused"] == ["wallboard"]
                await floor.server.routing.agent_login("1001")
                event = await ws.receive_json(timeout=10)
                assert event["topic"] == "agent.1001" and event["data"]["agent"]["state"] in (
                    "available", "paused")
            # Pages and static files are public; their data is not.
            async with aiohttp.ClientSession() as anon:
                async with anon.get(f"{floor.url}/agent") as r:
                    assert r.status == 200 and "agent.js" in await r.text()
                async with anon.get(f"{floor.url}/static/common.js") as r:
                    assert r.status == 200
                async with anon.get(f"{floor.url}/api/panel/me") as r:
                    assert r.status == 401
        finally:
            await agent.close()
            await sup.close()
