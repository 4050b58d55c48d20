"""``contactcenter chat purge [--dry-run]``: the chat's retention from the command line.

The same purge as the server's periodic pass (``retention.py``), with ``chat.retention_days``
from the settings, the purged chats' attachments (``chat.attachments_dir``) included; audited
as ``chat.purge`` by actor ``cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from contactcenter.chat.attachments import AttachmentFiles, forget_files
from contactcenter.chat.retention import PurgeReport, purge
from contactcenter.common.setting_errors import SettingError
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database, shown_url
from contactcenter.storage.schema import ensure_schema


async def run_purge(db_url: str, days: int, dry_run: bool, attachments_root: Path,
                    now: float | None = None) -> PurgeReport:
    """Open the database, purge (or count) and close; the purged chats' files go too."""
    db = Database(db_url)
    try:
        await ensure_schema(db)
        return await purge(db, days, time.time() if now is None else now, AuditLog(db), "cli",
                           dry_run=dry_run,
                           before_delete=partial(forget_files, db,
                                                 AttachmentFiles(attachments_root)))
    finally:
        await db.close()


def _purge_command(args: argparse.Namespace) -> int:
    from contactcenter.cli import command_settings
    from contactcenter.config.loader import database_url, resolve

    settings = command_settings(getattr(args, "config", None))
    days = settings.chat.retention_days
    if days <= 0:
        print("chat.retention_days is 0: chats are kept, nothing purged", file=sys.stderr)
        return 0
    db_url = database_url(settings)
    print(f"chat: database {shown_url(db_url)}", file=sys.stderr)
    try:
        report = asyncio.run(run_purge(db_url, days, args.dry_run,
                                       resolve(settings, settings.chat.attachments_dir)))
    except SettingError as exc:
        print(f"{exc}\nnothing purged", file=sys.stderr)
        return 2
    verb = "would purge" if report.dry_run else "purged"
    print(f"{verb} {report.conversations} closed chat(s) and {report.messages_left} handled "
          f"message(s) left older than {days} days")
    return 0


def add_chat_commands(subparsers: Any) -> None:
    """Register ``chat purge [--dry-run]``."""
    chat = subparsers.add_parser("chat", help="web chat")
    sub = chat.add_subparsers(dest="chat_command", required=True)
    p = sub.add_parser("purge", help="purge chats older than chat.retention_days")
    p.add_argument("--config", help="settings file")
    p.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    p.set_defaults(func=_purge_command)
