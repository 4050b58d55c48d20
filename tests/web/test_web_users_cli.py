"""`contactcenter users add|list|disable|enable|passwd` through the main-like entry point."""

from __future__ import annotations

import asyncio
import io

from contactcenter.storage.database import Database
from contactcenter.storage.users import UserStore
from contactcenter.users_cli import main
from contactcenter.web.auth import verify_password


def _credentials(url: str, username: str):
    async def read():
        db = Database(url)
        try:
            return await UserStore(db).credentials(username)
        finally:
            await db.close()

    return asyncio.run(read())


def test_users_add_first_admin_with_password_stdin(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    out = io.StringIO()
    code = main(
        ["--database-url", url, "users", "add", "root", "--role", "admin", "--password-stdin"],
        stdin=io.StringIO("first admin pw\n"),
        stdout=out,
    )
    assert code == 0
    assert "created admin root" in out.getvalue()
    user, stored = _credentials(url, "root")
    assert user.role == "admin" and not user.disabled
    assert stored.startswith("scrypt$") and "first admin pw" not in stored
    assert verify_password("first admin pw", stored)

    code = main(
        [
            "--database-url",
            url,
            "users",
            "add",
            "a1",
            "--role",
            "agent",
            "--agent-id",
            "1001",
            "--password-stdin",
        ],
        stdin=io.StringIO("agent password\n"),
        stdout=io.StringIO(),
    )
    assert code == 0
    out = io.StringIO()
    assert main(["--database-url", url, "users", "list"], stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert [line.split("\t")[1:] for line in lines] == [
        ["a1", "agent", "1001", "enabled", "-"],
        ["root", "admin", "-", "enabled", "-"],
    ]

    assert main(["--database-url", url, "users", "disable", "a1"], stdout=io.StringIO()) == 0
    assert _credentials(url, "a1")[0].disabled
    assert main(["--database-url", url, "users", "enable", "a1"], stdout=io.StringIO()) == 0
    assert not _credentials(url, "a1")[0].disabled
    assert (
        main(
            ["--database-url", url, "users", "passwd", "a1", "--password-stdin"],
            stdin=io.StringIO("another password\n"),
            stdout=io.StringIO(),
        )
        == 0
    )
    assert verify_password("another password", _credentials(url, "a1")[1])


def test_users_add_refuses_duplicates_short_passwords_and_bad_names(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    args = ["--database-url", url, "users", "add", "root", "--role", "admin", "--password-stdin"]
    assert main(args, stdin=io.StringIO("good password\n"), stdout=io.StringIO()) == 0
    assert main(args, stdin=io.StringIO("good password\n"), stdout=io.StringIO()) == 1
    assert "already exists" in capsys.readouterr().err
    short = ["--database-url", url, "users", "add", "bob", "--role", "agent", "--password-stdin"]
    assert main(short, stdin=io.StringIO("short\n"), stdout=io.StringIO()) == 1
    bad = [
        "--database-url",
        url,
        "users",
        "add",
        "bad name!",
        "--role",
        "agent",
        "--password-stdin",
    ]
    assert main(bad, stdin=io.StringIO("good password\n"), stdout=io.StringIO()) == 1
    assert main(["--database-url", url, "users", "disable", "ghost"], stdout=io.StringIO()) == 1
