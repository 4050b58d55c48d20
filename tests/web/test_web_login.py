"""Login, cookie flags, rotation, logout, rate limiting and session expiry over real sockets."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie

from contactcenter.domain.clock import Clock
from contactcenter.web.auth import verify_password

PASSWORD = "correct horse battery"  # the fixture users' password (see conftest)


async def _session_status(env, cookie_value: str) -> int:
    client = env.client()
    client.cookie_jar.update_cookies({env.settings.cookie_name: cookie_value})
    async with client.get(env.url("/api/session")) as resp:
        return resp.status


async def test_login_ok_sets_strict_httponly_cookie_and_returns_csrf(env):
    client = env.client()
    async with client.post(
        env.url("/api/login"), json={"username": "agent1", "password": PASSWORD}
    ) as resp:
        assert resp.status == 200
        body = await resp.json()
        raw = resp.headers.getall("Set-Cookie")
    assert body["user"] == {
        "id": env.users["agent1"].id,
        "username": "agent1",
        "role": "agent",
        "agent_id": "1001",
    }
    assert len(body["csrf_token"]) >= 40
    morsel = SimpleCookie(raw[0])[env.settings.cookie_name]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # plain HTTP and cookie_secure=None (auto)
    # The token is not stored: only its hash is in the database.
    assert len(morsel.value) >= 40
    async with client.get(env.url("/api/session")) as resp:
        assert resp.status == 200
        session = await resp.json()
    assert session["csrf_token"] == body["csrf_token"]
    assert session["user"]["username"] == "agent1"
    entries = await env.audit.list(action_prefix="auth.login")
    assert [(e.actor, e.outcome) for e in entries] == [("agent1", "ok")]


async def test_secure_flag_when_configured(make_env):
    env = await make_env(cookie_secure=True)
    client = env.client()
    async with client.post(
        env.url("/api/login"), json={"username": "sup", "password": PASSWORD}
    ) as resp:
        assert resp.status == 200
        morsel = SimpleCookie(resp.headers["Set-Cookie"])[env.settings.cookie_name]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True


async def test_bad_password_and_unknown_user_are_refused_alike(env):
    client = env.client()
    for username, password in (("agent1", "wrong password"), ("nobody", PASSWORD)):
        async with client.post(
            env.url("/api/login"), json={"username": username, "password": password}
        ) as resp:
            assert resp.status == 401
            assert await resp.json() == {"error": "wrong username or password"}
            assert "Set-Cookie" not in resp.headers
    entries = await env.audit.list(action_prefix="auth.login")
    assert {(e.actor, e.outcome) for e in entries} == {("agent1", "denied"), ("nobody", "denied")}


async def test_malformed_login_bodies_are_400(env):
    client = env.client()
    for body in (
        b"not json",
        b"[1,2]",
        b'{"username": 5, "password": "x"}',
        b'{"username": "a\\r\\nb", "password": "xxxxxxxx"}',
        b'{"username": "agent1", "password": "\\ud800 lone surrogate"}',
    ):
        async with client.post(
            env.url("/api/login"), data=body, headers={"Content-Type": "application/json"}
        ) as resp:
            assert resp.status == 400, body


async def test_login_rate_limited_per_username_then_429_with_retry_after(env):
    client = env.client()
    for _ in range(5):
        async with client.post(
            env.url("/api/login"), json={"username": "agent1", "password": "bad bad bad"}
        ) as resp:
            assert resp.status == 401
    # Even the right password is refused now, without being checked.
    async with client.post(
        env.url("/api/login"), json={"username": "agent1", "password": PASSWORD}
    ) as resp:
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 300
    outcomes = [e.outcome for e in await env.audit.list(action_prefix="auth.login")]
    assert outcomes.count("denied") == 5 and outcomes.count("rate_limited") == 1


async def test_parallel_logins_cannot_outrun_the_limit(env):
    # 60 at once for one user from one address, the right password last: the limit holds
    # while the password checks are still running, so at most 5 are checked at all.
    async def attempt(password: str) -> int:
        client = env.client()
        async with client.post(
            env.url("/api/login"), json={"username": "agent1", "password": password}
        ) as resp:
            return resp.status

    statuses = await asyncio.gather(*(attempt("bad bad bad") for _ in range(59)),
                                    attempt(PASSWORD))
    assert statuses.count(429) >= 55, statuses
    assert statuses.count(401) + statuses.count(200) <= 5, statuses


async def test_refused_logins_are_audited_once_per_window_not_once_each(env):
    client = env.client()
    for i in range(40):
        async with client.post(
            env.url("/api/login"), json={"username": f"guess{i % 7}", "password": "x" * 9}
        ) as resp:
            assert resp.status == (401 if i < 5 else 429)
    outcomes = [e.outcome for e in await env.audit.list(action_prefix="auth.login")]
    assert outcomes.count("denied") == 5
    assert outcomes.count("rate_limited") == 1


async def test_login_rate_limited_per_address_across_usernames(env):
    client = env.client()
    for i in range(5):
        async with client.post(
            env.url("/api/login"), json={"username": f"guess{i}", "password": "bad bad bad"}
        ) as resp:
            assert resp.status == 401
    async with client.post(
        env.url("/api/login"), json={"username": "sup", "password": PASSWORD}
    ) as resp:
        assert resp.status == 429


async def test_login_rotates_the_session(env):
    client = env.client()
    await env.login(client, "agent1")
    first = env.cookie(client)
    await env.login(client, "agent1")
    second = env.cookie(client)
    assert first != second
    assert await _session_status(env, first) == 401
    assert await _session_status(env, second) == 200


async def test_logout_revokes_the_session_and_clears_the_cookie(env):
    client, csrf = await env.logged_in("sup")
    token = env.cookie(client)
    async with client.post(env.url("/api/logout"), headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 204
        morsel = SimpleCookie(resp.headers["Set-Cookie"])[env.settings.cookie_name]
        assert morsel.value == ""
    assert await _session_status(env, token) == 401
    assert ("sup", "auth.logout") in [(e.actor, e.action) for e in await env.audit.list()]


async def test_garbage_and_forged_cookies_are_not_logged_in(env):
    assert await _session_status(env, "x" * 43) == 401
    assert await _session_status(env, "bad token with spaces") == 401
    assert await _session_status(env, "") == 401


async def test_sessions_expire_when_idle(make_env):
    clock = Clock(speed=200.0)
    env = await make_env(clock=clock, idle_timeout=60.0, max_age=3600.0)
    client, _ = await env.logged_in("agent1")
    token = env.cookie(client)
    assert await _session_status(env, token) == 200
    await clock.sleep(120.0)  # 0.6 real seconds
    assert await _session_status(env, token) == 401


async def test_change_own_password_ends_other_sessions(env):
    other, _ = await env.logged_in("agent1")
    client, csrf = await env.logged_in("agent1")
    async with client.post(
        env.url("/api/session/password"),
        json={"current_password": PASSWORD, "new_password": "a brand new one"},
        headers={"X-CSRF-Token": csrf},
    ) as resp:
        assert resp.status == 200
    async with other.get(env.url("/api/session")) as resp:
        assert resp.status == 401
    async with client.get(env.url("/api/session")) as resp:
        assert resp.status == 200  # the changer got a fresh session
    fresh = env.client()
    await env.login(fresh, "agent1", "a brand new one")


async def test_changing_the_password_is_rate_limited_like_the_login(env):
    client, csrf = await env.logged_in("agent1")
    for _ in range(5):
        async with client.post(
            env.url("/api/session/password"),
            json={"current_password": "not the one", "new_password": "a brand new one"},
            headers={"X-CSRF-Token": csrf},
        ) as resp:
            assert resp.status == 403
    async with client.post(
        env.url("/api/session/password"),
        json={"current_password": PASSWORD, "new_password": "a brand new one"},
        headers={"X-CSRF-Token": csrf},
    ) as resp:
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 300
    # One counter with the login: the wrong guesses above lock the login out too.
    async with env.client().post(
        env.url("/api/login"), json={"username": "agent1", "password": PASSWORD}
    ) as resp:
        assert resp.status == 429
    _user, stored = await env.services.store.credentials("agent1")
    assert verify_password(PASSWORD, stored)  # unchanged


async def test_usernames_are_one_user_and_one_lockout_in_any_case(env):
    admin, csrf = await env.logged_in("admin")
    async with admin.post(env.url("/api/users"), headers={"X-CSRF-Token": csrf}, json={
            "username": "Victim", "role": "agent", "password": PASSWORD}) as r:
        created = await r.json()
    assert r.status == 201 and created["username"] == "victim"
    async with admin.post(env.url("/api/users"), headers={"X-CSRF-Token": csrf}, json={
            "username": "VICTIM", "role": "agent", "password": PASSWORD}) as r:
        assert r.status == 409 and "already exists" in (await r.json())["error"]
    client = env.client()
    async with client.post(env.url("/api/login"),
                           json={"username": "VICTIM", "password": PASSWORD}) as r:
        assert r.status == 200 and (await r.json())["user"]["username"] == "victim"
    # Failures under any spelling count against the one user; a success under another
    # spelling cannot be a different user resetting them.
    env.services.limiter.reset("ip:127.0.0.1")
    for name in ("victim", "Victim", "VICTIM", "vIcTiM", "victim"):
        async with client.post(env.url("/api/login"),
                               json={"username": name, "password": "wrong password"}) as r:
            assert r.status == 401
    env.services.limiter.reset("ip:127.0.0.1")  # only the user's own counter is left
    for name in ("VICTIM", "victim"):
        async with client.post(env.url("/api/login"),
                               json={"username": name, "password": PASSWORD}) as r:
            assert r.status == 429, name
