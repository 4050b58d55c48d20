"""``contactcenter users ...``: create, list, edit, disable and re-enable web users from the shell.

This is how the first admin is made (``contactcenter users add alice --role admin``). The
password is read from the terminal twice, or once from standard input with
``--password-stdin`` (for scripts), and never appears on the command line. Changes are
written to the audit log with the operating-system user as the actor.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TextIO

from contactcenter.common.setting_errors import SettingError
from contactcenter.config.loader import database_url
from contactcenter.domain.clock import Clock
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database, shown_url
from contactcenter.storage.schema import ensure_schema
from contactcenter.web.auth import hash_password
from contactcenter.web.sessions import SessionManager
from contactcenter.web.users import ROLES, UserError, UserStore
from contactcenter.web.users_api import check_new_password

_PHONE_HELP = "dial string monitoring rings, e.g. Local/2001@contactcenter-agents"


def add_user_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``users add|list|edit|disable|enable|passwd``; each sets ``args.func(args) -> int``."""
    users = subparsers.add_parser("users", help="manage web panel users")
    users.add_argument("--config", default=None,
                       help="settings file, as for serve (default: config/contactcenter.yaml "
                            "if present); its database, with CC_DATABASE__URL over it")
    # SUPPRESS so a --database-url given to the parent parser is not overwritten by None.
    users.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        help="this database instead of the settings' one",
    )
    commands = users.add_subparsers(dest="users_command", required=True)

    add = commands.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--agent-id", default=None, help="routing agent id (for agents)")
    add.add_argument("--phone", default=None, help=_PHONE_HELP)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=run_users_command)

    edit = commands.add_parser("edit", help="change a user's phone or agent id")
    edit.add_argument("username")
    edit.add_argument("--phone", default=None, help=_PHONE_HELP + ' ("" removes it)')
    edit.add_argument("--agent-id", default=None, help='routing agent id ("" removes it)')
    edit.set_defaults(func=run_users_command)

    lst = commands.add_parser("list", help="list users")
    lst.set_defaults(func=run_users_command)

    for name, text in (
        ("disable", "disable a user (ends their sessions)"),
        ("enable", "re-enable"),
    ):
        p = commands.add_parser(name, help=text)
        p.add_argument("username")
        p.set_defaults(func=run_users_command)

    pw = commands.add_parser("passwd", help="set a user's password (ends their sessions)")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    pw.set_defaults(func=run_users_command)
    return users


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        line = stdin.readline()
        password = line.removesuffix("\n")
        return password.removesuffix("\r")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UserError("the passwords differ")
    return first


def _database_url(args: argparse.Namespace) -> str:
    # The same settings as serve (--config, CC_* with the double underscore), so a user is never
    # created in a database the server does not read.
    explicit = getattr(args, "database_url", None)
    if explicit:
        return str(explicit)
    from contactcenter.cli import command_settings

    return database_url(command_settings(getattr(args, "config", None)))


def run_users_command(
    args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run a parsed ``users`` command outside any event loop; returns the exit status."""
    return asyncio.run(users_command(args, stdin, stdout))


async def users_command(
    args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run a parsed ``users`` command inside a running loop; returns the exit status."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    try:
        password = None
        if args.users_command in ("add", "passwd"):
            password = check_new_password(_read_password(args, stdin))
        return await _run(args, password, stdout)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SettingError as exc:
        print(exc, file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, password: str | None, out: TextIO) -> int:
    url = _database_url(args)
    print(f"users: database {shown_url(url)}", file=sys.stderr)
    db = Database(url)
    try:
        await ensure_schema(db)  # never behind or ahead of what serve would accept
        clock = Clock()
        store = UserStore(db)
        audit = AuditLog(db)
        actor = f"cli:{getpass.getuser()}"
        command = args.users_command
        if command == "list":
            for u in await store.list_users():
                state = "disabled" if u.disabled else "enabled"
                print(f"{u.id}\t{u.username}\t{u.role}\t{u.agent_id or '-'}\t{state}"
                  f"\t{u.phone or '-'}", file=out)
            return 0
        if command == "add":
            assert password is not None
            hashed = await asyncio.to_thread(hash_password, password)
            created = await store.create_user(
                args.username, hashed, args.role, args.agent_id, clock.time(), phone=args.phone
            )
            await audit.record(
                actor,
                "users.create",
                target=created.username,
                detail={"role": created.role, "agent_id": created.agent_id,
                        "phone": created.phone},
            )
            print(f"created {created.role} {created.username} (id {created.id})", file=out)
            return 0
        user = await store.get_by_username(args.username)
        if user is None:
            raise UserError(f"no user {args.username!r}")
        sessions = SessionManager(store, clock)
        if command == "edit":
            return await _edit(args, store, sessions, audit, actor, user.id, clock, out)
        if command == "passwd":
            assert password is not None
            hashed = await asyncio.to_thread(hash_password, password)
            await store.update_user(user.id, clock.time(), password_hash=hashed)
            await sessions.end_user(user.id)
            await audit.record(
                actor, "users.update", target=user.username, detail={"password": "changed"}
            )
            print(f"password of {user.username} changed", file=out)
            return 0
        disabled = command == "disable"
        await store.update_user(user.id, clock.time(), disabled=disabled)
        if disabled:
            await sessions.end_user(user.id)
        await audit.record(
            actor, "users.update", target=user.username, detail={"disabled": disabled}
        )
        print(f"{user.username} {'disabled' if disabled else 'enabled'}", file=out)
        return 0
    finally:
        await db.close()


async def _edit(args: argparse.Namespace, store: UserStore, sessions: SessionManager,
                audit: AuditLog, actor: str, user_id: int, clock: Clock, out: TextIO) -> int:
    changes = {name: (value or None) for name, value in (("phone", args.phone),
                                                          ("agent_id", args.agent_id))
               if value is not None}
    if not changes:
        raise UserError("nothing to change: give --phone and/or --agent-id")
    user = await store.update_user(user_id, clock.time(), **changes)
    if "agent_id" in changes:  # a new agent link changes rights; a phone does not
        await sessions.end_user(user.id)
    await audit.record(actor, "users.update", target=user.username, detail=changes)
    print(f"{user.username}: " + ", ".join(f"{k}={v or '-'}" for k, v in changes.items()), file=out)
    return 0


def main(
    argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Stand-alone entry (``python -m contactcenter.web.cli users add ...``), used by tests."""
    parser = argparse.ArgumentParser(prog="contactcenter")
    parser.add_argument("--database-url", default=None)
    add_user_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args, stdin=stdin, stdout=stdout))


if __name__ == "__main__":
    raise SystemExit(main())
