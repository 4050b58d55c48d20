"""A user's phone (the dial string monitoring rings) over the users API and the users CLI."""

from __future__ import annotations

import io

from contactcenter.web.cli import main


async def test_admin_sets_checks_and_clears_a_supervisors_phone(env):
    admin, csrf = await env.logged_in("admin")
    h = {"X-CSRF-Token": csrf}
    async with admin.post(env.url("/api/users"), headers=h, json={
            "username": "sue", "role": "supervisor", "password": "long enough",
            "phone": "Local/2001@contactcenter-agents"}) as r:
        assert r.status == 201, await r.text()
        sue = await r.json()
    assert sue["phone"] == "Local/2001@contactcenter-agents" and sue["agent_id"] is None

    for bad in ("PJSIP/2001\r\nAction: Command", "PJSIP/2001,60", "PJSIP/2001&PJSIP/2002",
                "PJSIP/2001 x", "PJSIP/20\x0001", 2001):
        async with admin.patch(env.url(f"/api/users/{sue['id']}"), headers=h,
                               json={"phone": bad}) as r:
            assert r.status == 400, bad
            assert "phone" in (await r.json())["error"]
        async with admin.post(env.url("/api/users"), headers=h, json={
                "username": "tom", "role": "supervisor", "password": "long enough",
                "phone": bad}) as r:
            assert r.status == 400, bad
    async with admin.get(env.url(f"/api/users/{sue['id']}")) as r:
        assert (await r.json())["phone"] == "Local/2001@contactcenter-agents"
    assert await env.services.store.get_by_username("tom") is None

    # A new phone grants no rights: the supervisor stays logged in.
    sup, _ = await env.logged_in("sup")
    async with admin.patch(env.url(f"/api/users/{env.users['sup'].id}"), headers=h,
                           json={"phone": "PJSIP/2002"}) as r:
        assert r.status == 200 and (await r.json())["phone"] == "PJSIP/2002"
    async with sup.get(env.url("/api/test/staff")) as r:
        assert r.status == 200
    async with admin.patch(env.url(f"/api/users/{env.users['sup'].id}"), headers=h,
                           json={"phone": None}) as r:
        assert (await r.json())["phone"] is None
    updates = [e for e in await env.audit.list(action_prefix="users.update") if e.outcome == "ok"]
    assert [e.detail for e in updates][:2] == [{"phone": None}, {"phone": "PJSIP/2002"}]


def test_cli_add_and_edit_phone(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    assert main(["--database-url", url, "users", "add", "sue", "--role", "supervisor",
                 "--phone", "PJSIP/2001", "--password-stdin"],
                stdin=io.StringIO("long enough pw\n"), stdout=io.StringIO()) == 0
    assert main(["--database-url", url, "users", "edit", "sue", "--phone",
                 "Local/2001@contactcenter-agents"], stdout=io.StringIO()) == 0
    out = io.StringIO()
    assert main(["--database-url", url, "users", "list"], stdout=out) == 0
    assert out.getvalue().split("\t")[1:] == [
        "sue", "supervisor", "-", "enabled", "Local/2001@contactcenter-agents\n"]
    assert main(["--database-url", url, "users", "edit", "sue", "--phone", "PJSIP/1,2"],
                stdout=io.StringIO()) == 1
    assert "phone" in capsys.readouterr().err
    assert main(["--database-url", url, "users", "edit", "sue"], stdout=io.StringIO()) == 1
    assert main(["--database-url", url, "users", "edit", "sue", "--phone", ""],
                stdout=io.StringIO()) == 0
    out = io.StringIO()
    main(["--database-url", url, "users", "list"], stdout=out)
    assert out.getvalue().rstrip("\n").split("\t")[-1] == "-"
