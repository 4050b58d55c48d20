"""`contactcenter users add|list|disable|enable|passwd` through the main-like entry point."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys

from contactcenter.storage.database import Database
from contactcenter.web.auth import verify_password
from contactcenter.web.cli import main
from contactcenter.web.users import UserStore


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


def _users(args: list[str], cwd, env_extra: dict[str, str] | None = None,
           stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "contactcenter", "users", *args],
                          cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)


def test_users_binds_the_same_settings_as_serve(tmp_path):
    # A config outside the checkout, run from another directory: the user must land in the
    # database serve would read (relative to the config file), and the command says which.
    home = tmp_path / "site"
    (home / "config").mkdir(parents=True)
    cfg = home / "config" / "contactcenter.yaml"
    cfg.write_text("database:\n  url: sqlite+aiosqlite:///var/site.sqlite3\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _users(["--config", str(cfg), "add", "ann", "--role", "admin", "--password-stdin"],
                  cwd=elsewhere, stdin="a long password\n")
    assert proc.returncode == 0, proc.stderr
    site_db = home / "var" / "site.sqlite3"
    assert f"database sqlite+aiosqlite:///{site_db}" in proc.stderr
    assert _credentials(f"sqlite+aiosqlite:///{site_db}", "ann")[0].role == "admin"
    assert not (elsewhere / "var").exists()

    # CC_DATABASE__URL (double underscore, as for serve) wins over the file.
    other = tmp_path / "other.sqlite3"
    proc = _users(["--config", str(cfg), "add", "bob", "--role", "agent", "--password-stdin"],
                  cwd=elsewhere, env_extra={"CC_DATABASE__URL": f"sqlite+aiosqlite:///{other}"},
                  stdin="a long password\n")
    assert proc.returncode == 0, proc.stderr
    assert f"database sqlite+aiosqlite:///{other}" in proc.stderr
    assert _credentials(f"sqlite+aiosqlite:///{other}", "bob")[0].role == "agent"
    listed = _users(["--config", str(cfg), "list"], cwd=elsewhere)
    assert "ann" in listed.stdout and "bob" not in listed.stdout

    # The old single-underscore variable is not a setting: it must not redirect the command.
    proc = _users(["--config", str(cfg), "list"], cwd=elsewhere,
                  env_extra={"CC_DATABASE_URL": f"sqlite+aiosqlite:///{other}"})
    assert "ann" in proc.stdout and f"database sqlite+aiosqlite:///{site_db}" in proc.stderr
