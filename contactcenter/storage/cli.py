"""``contactcenter db upgrade|current|history``: the database's schema from the command line.

Each command reads the settings exactly as ``serve`` does (same ``--config``, same default file,
same ``CC_*`` variables), so it touches the database ``serve`` would open, and prints that
database's URL (password hidden) first. ``db upgrade`` is what to run after installing a release
whose server says the database is behind (docs/storage.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import make_url

from contactcenter.cli import DEFAULT_CONFIG, command_settings
from contactcenter.common.setting_errors import SettingError
from contactcenter.config.loader import database_url
from contactcenter.storage.database import Database, shown_url
from contactcenter.storage.schema import SchemaState, revisions, schema_state, upgrade


def add_db_commands(subparsers: Any) -> None:
    """Register ``db upgrade``, ``db current`` and ``db history`` (each sets ``func``)."""
    db = subparsers.add_parser("db", help="the database's schema: upgrade, current, history")
    sub = db.add_subparsers(dest="db_command", required=True)
    for name, text, func in (
        ("upgrade", "apply the pending migrations (run before 'serve' after an upgrade)",
         _upgrade_command),
        ("current", "show the database's revision and this release's newest", _current_command),
        ("history", "list this release's revisions, marking the database's", _history_command),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help=f"settings file (default: {DEFAULT_CONFIG} if present)")
        p.set_defaults(func=func)


def _url(args: argparse.Namespace) -> str:
    return database_url(command_settings(args.config))


def _run(command: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(command)
    except SettingError as exc:  # a database newer than this release: one line, exit 2
        print(exc, file=sys.stderr)
        return 2


def _upgrade_command(args: argparse.Namespace) -> int:
    return _run(run_upgrade(_url(args), sys.stdout))


def _current_command(args: argparse.Namespace) -> int:
    return _run(run_current(_url(args), sys.stdout))


def _history_command(args: argparse.Namespace) -> int:
    return _run(run_history(_url(args), sys.stdout))


async def run_upgrade(url: str, out: TextIO) -> int:
    """Apply every pending revision to ``url``'s database, one line per revision."""
    print(f"database {shown_url(url)}", file=out, flush=True)
    applied: list[str] = []

    def progress(line: str) -> None:
        applied.append(line)
        print(line, file=out, flush=True)

    db = Database(url)
    try:
        try:
            await upgrade(db, progress=progress)
        except RuntimeError as exc:  # a revision that refuses the data it found says why
            print(f"upgrade stopped, the database is as it was: {exc}", file=sys.stderr)
            return 1
        state = await schema_state(db)
    finally:
        await db.close()
    print(("now " if applied else "nothing to apply: already ") + state.describe(), file=out)
    return 0


async def run_current(url: str, out: TextIO) -> int:
    """Print where ``url``'s database stands against this release."""
    state = await _state(url)
    print(f"database {shown_url(url)}: " + (state.describe() if state else _missing()), file=out)
    return 0


async def run_history(url: str, out: TextIO) -> int:
    """Print this release's revisions, oldest first, marking the database's and the newest."""
    state = await _state(url)
    print(f"database {shown_url(url)}: " + (state.describe() if state else _missing()), file=out)
    all_revisions = revisions()
    for rev in all_revisions:
        marks = [m for m, on in (("head", rev is all_revisions[-1]),
                                 ("current", state is not None and rev.id == state.current)) if on]
        print(f"{rev.id}  {rev.doc}" + (f"  ({', '.join(marks)})" if marks else ""), file=out)
    return 0


async def _state(url: str) -> SchemaState | None:
    """The database's state; None for a SQLite file not created yet (reading would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        return None
    db = Database(url)
    try:
        return await schema_state(db)
    finally:
        await db.close()


def _missing() -> str:
    return "no such file yet ('db upgrade' or 'serve' creates it at the newest revision)"
