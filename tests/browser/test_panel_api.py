"""The panel's routes on the real server (no browser): roles on every route, agents refused
above their station, CSRF and Origin enforced, cross-origin websockets refused."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import openapi_spec_validator
from panel_floor import PASSWORD, panel_floor

from contactcenter.web.openapi import build_openapi
from contactcenter.web.roles import AGENT, PUBLIC, check_route_roles, iter_routes, route_roles

_PARAM = re.compile(r"\{([^{}:]+)\}")


def _url(doc: dict, path: str) -> str:  # type: ignore[type-arg]
    """``path`` with each parameter set to a value its declared pattern accepts (the pattern
    the router matches with), so the request reaches the role check."""
    params = {p["name"]: p["schema"].get("pattern")
              for op in doc["paths"][path].values() for p in op.get("parameters", ())
              if p["in"] == "path"}

    def sample(match: re.Match[str]) -> str:
        pattern = params[match.group(1)]
        for value in ("1", "a1", "0" * 32, "en"):
            if pattern is None or re.search(pattern, value):
                return value
        raise AssertionError(f"no sample value for {pattern}")

    return _PARAM.sub(sample, path)


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
        doc = build_openapi(app)
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
                url = floor.url + _url(doc, path)
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


# A YAML alias bomb (each line nine times the one before; the probe's had nine lines and froze
# the server for 27 s): six lines, so that a server without the fix stalls for seconds, not
# minutes, and still fails this test.
_BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]"
       for i in range(5)]) + "\n"


async def test_health_keeps_answering_while_an_alias_bomb_is_posted(tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        await floor.add_user("root", "admin")
        admin, csrf = await _client(floor, "root")
        h = {"X-CSRF-Token": csrf}
        try:
            async def post(path: str, body: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
                async with admin.post(f"{floor.url}{path}", headers=h, json=body) as r:
                    return r.status, await r.json()

            bombs = asyncio.gather(
                post("/api/panel/flows/demo/validate", {"text": _BOMB}),
                post("/api/admin/queues/sales/validate", {"yaml": _BOMB}),
                post("/api/admin/queues", {"name": "boom", "yaml": _BOMB}))
            health = []
            async with aiohttp.ClientSession() as anon:
                while not bombs.done() or not health:
                    async with anon.get(f"{floor.url}/api/health") as r:
                        health.append((r.status, await r.json()))
            (s1, flow), (s2, queue), (s3, created) = await bombs
            assert (s1, s2, s3) == (200, 200, 422)
            for answer in (flow, queue, created):
                assert "aliases" in answer["errors"][0]["message"], answer
            assert all(status == 200 and body["ami"][0]["state"] == "connected"
                       for status, body in health), health[-1]
        finally:
            await admin.close()


async def test_every_api_error_is_one_json_shape(tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        await floor.add_user("alice", "agent", "1001")
        agent, csrf = await _client(floor, "alice")
        h = {"X-CSRF-Token": csrf}
        try:
            for method, path, body, status in (
                    ("POST", "/api/agents/1002/pause", {"reason": "x"}, 403),  # agent control
                    ("POST", "/api/agents/1001/pause", {}, 400),
                    ("POST", "/api/monitoring/sessions", {"interaction_id": "1.1"}, 403),
                    ("POST", "/api/monitoring/sessions", {"interaction_id": None}, 400),
                    ("GET", f"/api/recordings/{'0' * 32}", None, 404),
                    ("GET", "/api/recordings?offset=99999999999999999999", None, 400),
                    ("POST", "/api/calls/1.1/recording/stop", None, 403),
                    ("POST", "/api/panel/hangup", {"interaction_id": None}, 400),
                    ("POST", "/api/panel/hold", {"interaction_id": "1.1\r"}, 400),
                    ("GET", "/api/no/such/route", None, 404),
                    ("PUT", "/api/session", None, 405)):
                async with agent.request(method, f"{floor.url}{path}", headers=h,
                                         json=body) as r:
                    assert r.status == status, (path, r.status, await r.text())
                    assert r.content_type == "application/json", (path, await r.text())
                    answer = await r.json()
                assert isinstance(answer["error"], str) and answer["error"], (path, answer)
            # The CR is refused for what it is, not as "not a string".
            async with agent.post(f"{floor.url}/api/panel/hold", headers=h,
                                  json={"interaction_id": "1.1\r"}) as r:
                assert "CR" in (await r.json())["error"]
        finally:
            await agent.close()


def _wrong(schema: dict) -> object:  # type: ignore[type-arg]
    """A value of another type than ``schema`` declares."""
    kinds = schema.get("type", "string")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return {"string": 12345, "integer": "x", "number": "x", "boolean": "x", "array": "x",
            "object": "x"}[kinds[0]] if "null" not in kinds else ["x"]


async def test_the_openapi_document_declares_what_the_server_answers(tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        await floor.add_user("root", "admin")
        admin, csrf = await _client(floor, "root")
        try:
            async with admin.get(f"{floor.url}/api/openapi.json") as r:
                doc = await r.json()
            openapi_spec_validator.validate(doc)
            paths = doc["paths"]
            login = paths["/api/login"]["post"]
            assert login["requestBody"]["content"]["application/json"]["schema"]["required"] \
                == ["username", "password"]
            assert {"400", "401", "413", "429"} <= set(login["responses"])
            assert set(paths["/api/logout"]["post"]["responses"]) >= {"204"}
            assert "200" not in paths["/api/logout"]["post"]["responses"]
            [uid] = [p for p in paths["/api/users/{user_id}"]["get"]["parameters"]
                     if p["name"] == "user_id"]
            assert uid["schema"]["pattern"] == "^[0-9]{1,10}$"
            revert = paths["/api/admin/queues/{name}"]["delete"]
            assert [p["required"] for p in revert["parameters"] if p["name"] == "version"] \
                == [True]
            transfer = paths["/api/panel/transfer"]["post"]["requestBody"]
            assert len(transfer["content"]["application/json"]["schema"]["oneOf"]) == 2
            for path in ("/api/monitoring/sessions", "/api/agents/{id}/pause",
                         "/api/agents/{id}/wrapup", "/api/panel/flows/{name}/validate",
                         "/api/users"):
                assert paths[path]["post"]["requestBody"]["required"] is True, path
            for path, ops in paths.items():
                for method, op in ops.items():
                    for status, answer in op["responses"].items():
                        if status[0] in "45" and not path.startswith("/api/"):
                            # a page answers its errors as text or as a page
                            assert "application/json" not in answer.get("content", {}), path
                        elif status[0] in "45":
                            schema = answer["content"]["application/json"]["schema"]
                            assert schema == {"$ref": "#/components/schemas/Error"} or \
                                "error" in schema["required"], (method, path, status)

            # Bodies that break each declaration get an answer the document lists, never a 500.
            tried = 0
            for path, ops in paths.items():
                for method, op in ops.items():
                    body = op.get("requestBody")
                    if body is None or "application/json" not in body["content"]:
                        continue  # none, or a page's form
                    schema = body["content"]["application/json"]["schema"]
                    props = schema.get("properties", {})
                    url = floor.url + _url(doc, path)
                    for sent in ({}, {k: _wrong(v) for k, v in props.items()}):
                        async with admin.request(method.upper(), url, json=sent,
                                                 headers={"X-CSRF-Token": csrf}) as r:
                            assert str(r.status) in op["responses"], (method, path, sent,
                                                                     r.status, await r.text())
                            assert r.status < 500
                            if r.status >= 400:
                                assert (await r.json())["error"]
                        tried += 1
            assert tried >= 30
        finally:
            await admin.close()
