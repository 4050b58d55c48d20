"""Admin user management and the audit log over HTTP, plus the OpenAPI document."""

from __future__ import annotations


async def _admin(env):
    client, csrf = await env.logged_in("admin")
    return client, {"X-CSRF-Token": csrf}


async def test_admin_creates_lists_and_views_users(env, password):
    admin, h = await _admin(env)
    async with admin.post(
        env.url("/api/users"),
        json={"username": "carol", "role": "agent", "agent_id": "1003", "password": "s3cret pass"},
        headers=h,
    ) as resp:
        assert resp.status == 201
        carol = await resp.json()
    assert carol == {
        "id": carol["id"],
        "username": "carol",
        "role": "agent",
        "agent_id": "1003",
        "phone": None,
        "disabled": False,
    }
    async with admin.get(env.url("/api/users")) as resp:
        names = [u["username"] for u in (await resp.json())["users"]]
    assert names == sorted(["admin", "sup", "agent1", "agent2", "carol"])
    async with admin.get(env.url(f"/api/users/{carol['id']}")) as resp:
        assert (await resp.json())["username"] == "carol"
    async with admin.get(env.url("/api/users/99999")) as resp:
        assert resp.status == 404
    client = env.client()
    await env.login(client, "carol", "s3cret pass")


async def test_invalid_or_duplicate_users_are_refused_and_audited(env):
    admin, h = await _admin(env)
    bad_bodies = [
        {"username": "agent1", "role": "agent", "password": "long enough"},  # duplicate
        {"username": "eve\r\nX-Injected: 1", "role": "agent", "password": "long enough"},
        {"username": "eve", "role": "root", "password": "long enough"},
        {"username": "eve", "role": "agent", "password": "short"},
        {"username": "eve", "role": "agent", "password": "long enough", "agent_id": "10\x0001"},
        {"role": "agent", "password": "long enough"},
    ]
    for body in bad_bodies:
        async with admin.post(env.url("/api/users"), json=body, headers=h) as resp:
            assert resp.status == (409 if body is bad_bodies[0] else 400), body  # taken: 409
            assert "error" in await resp.json()
    refused = [e for e in await env.audit.list(action_prefix="users.") if e.outcome == "refused"]
    assert len(refused) == len(bad_bodies)
    assert await env.services.store.get_by_username("eve") is None


async def test_patch_changes_role_and_ends_that_users_sessions(env):
    sup, _ = await env.logged_in("sup")
    admin, h = await _admin(env)
    async with admin.patch(
        env.url(f"/api/users/{env.users['sup'].id}"), json={"role": "agent"}, headers=h
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["role"] == "agent"
    async with sup.get(env.url("/api/test/staff")) as resp:
        assert resp.status == 401  # logged out, not quietly kept at the old role
    async with admin.patch(
        env.url(f"/api/users/{env.users['sup'].id}"), json={"is_admin": True}, headers=h
    ) as resp:
        assert resp.status == 400


async def test_disabled_user_cannot_log_in_and_re_enable_works(env, password):
    admin, h = await _admin(env)
    uid = env.users["agent1"].id
    async with admin.patch(env.url(f"/api/users/{uid}"), json={"disabled": True}, headers=h) as r:
        assert r.status == 200
    client = env.client()
    async with client.post(
        env.url("/api/login"), json={"username": "agent1", "password": password}
    ) as resp:
        assert resp.status == 401
    async with admin.patch(env.url(f"/api/users/{uid}"), json={"disabled": False}, headers=h) as r:
        assert r.status == 200
    await env.login(client, "agent1", password)


async def test_the_last_admin_cannot_be_disabled_or_demoted(env):
    admin, h = await _admin(env)
    uid = env.users["admin"].id
    for body in ({"disabled": True}, {"role": "supervisor"}):
        async with admin.patch(env.url(f"/api/users/{uid}"), json=body, headers=h) as resp:
            assert resp.status == 400
            assert "last enabled admin" in (await resp.json())["error"]
    async with admin.get(env.url("/api/session")) as resp:
        assert resp.status == 200


async def test_admin_password_reset_ends_sessions_and_audit_hides_password(env):
    agent, _ = await env.logged_in("agent2")
    admin, h = await _admin(env)
    async with admin.patch(
        env.url(f"/api/users/{env.users['agent2'].id}"),
        json={"password": "reset by admin"},
        headers=h,
    ) as resp:
        assert resp.status == 200
    async with agent.get(env.url("/api/session")) as resp:
        assert resp.status == 401
    async with admin.get(env.url("/api/audit?action=users.&limit=5")) as resp:
        assert resp.status == 200
        entries = (await resp.json())["entries"]
    assert entries[0]["action"] == "users.update"
    assert entries[0]["actor"] == "admin"
    assert entries[0]["target"] == "agent2"
    assert entries[0]["detail"] == {"password": "changed"}
    assert "reset by admin" not in str(entries)


async def test_audit_log_shows_logins_newest_first_and_validates_paging(env):
    admin, _ = await _admin(env)
    async with admin.get(env.url("/api/audit?action=auth.login")) as resp:
        entries = (await resp.json())["entries"]
    assert [(e["actor"], e["outcome"]) for e in entries] == [("admin", "ok")]
    async with admin.get(env.url("/api/audit?limit=lots")) as resp:
        assert resp.status == 400


async def test_openapi_document_is_generated_from_the_route_table(env):
    anon = env.client()
    async with anon.get(env.url("/api/openapi.json")) as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert {
        "/api/login",
        "/api/logout",
        "/api/session",
        "/api/users",
        "/api/users/{user_id}",
        "/api/audit",
        "/api/live",
        "/api/openapi.json",
        "/api/test/staff",
    } <= set(paths)
    login = paths["/api/login"]["post"]
    assert login["x-roles"] == ["public"] and login["security"] == []
    assert login["summary"].startswith("Log in")
    patch = paths["/api/users/{user_id}"]["patch"]
    assert patch["x-roles"] == ["admin"]
    names = {(p["name"], p["in"]) for p in patch["parameters"]}
    assert ("user_id", "path") in names and ("X-CSRF-Token", "header") in names
    assert "403" in patch["responses"]
    assert paths["/api/test/staff"]["get"]["x-roles"] == ["admin", "supervisor"]
    assert "head" not in paths["/api/session"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
