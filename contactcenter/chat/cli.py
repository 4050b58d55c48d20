"""``contactcenter chat purge [--dry-run]``: the chat's retention from the command line;
``contactcenter chat erase (--visitor ID | --email ADDRESS | --chat ID) [--dry-run]``: one
visitor's data erased on request (``visitor_erase.py``).

The same purge as the server's periodic pass (``retention.py``), with ``chat.retention_days``
from the settings, the purged chats' attachments (``chat.attachments_dir``) included; audited
as ``chat.purge`` by actor ``cli``. The erasure is the admin route's, audited ``chat.erase``
by ``cli``; it sees the server's chats through the database only (their states, the queue
engine's rows, the agents' wrap-ups), so a chat not ended there is refused (exit status 3).
The tickets the visitor's messages left became are erased too, through the same port the
server uses (``app.offline_ticket_erasure``: the composition root builds it, chat never
imports tickets), audited ``tickets.erase`` by ``cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from contactcenter.chat.attachments import AttachmentFiles, forget_files
from contactcenter.chat.retention import PurgeReport, purge
from contactcenter.chat.visitor_erase import (
    ChatInProgress,
    EraseTickets,
    ErasureReport,
    ErasureRequest,
    check_request,
    erase_visitor,
)
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


async def run_erase(db_url: str, request: ErasureRequest, dry_run: bool,
                    attachments_root: Path, now: float | None = None,
                    tickets: Callable[[Database, AuditLog], EraseTickets] | None = None
                    ) -> ErasureReport:
    """Open the database, erase (or count) one visitor's chat data and close; ``tickets``
    makes the port to the tickets their messages left became."""
    db = Database(db_url)
    try:
        await ensure_schema(db)
        audit = AuditLog(db)
        return await erase_visitor(db, AttachmentFiles(attachments_root), request,
                                   time.time() if now is None else now, audit, "cli",
                                   dry_run=dry_run,
                                   erase_tickets=tickets(db, audit) if tickets else None)
    finally:
        await db.close()


def _erase_command(args: argparse.Namespace) -> int:
    from contactcenter.app import offline_ticket_erasure
    from contactcenter.cli import command_settings
    from contactcenter.config.loader import database_url, resolve

    by, value = next((k, v) for k, v in (("visitor", args.visitor), ("email", args.email),
                                         ("chat", args.chat)) if v is not None)
    try:
        request = check_request(by, value)
    except ValueError as exc:
        print(f"{exc}\nnothing erased", file=sys.stderr)
        return 2
    settings = command_settings(getattr(args, "config", None))
    db_url = database_url(settings)
    print(f"chat: database {shown_url(db_url)}", file=sys.stderr)
    try:
        report = asyncio.run(run_erase(
            db_url, request, args.dry_run, resolve(settings, settings.chat.attachments_dir),
            tickets=lambda db, audit: offline_ticket_erasure(settings, db, audit).erase))
    except ChatInProgress as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except SettingError as exc:
        print(f"{exc}\nnothing erased", file=sys.stderr)
        return 2
    if report.nothing_to_do:
        print(f"nothing to erase ({len(report.conversations)} chat(s) found, already erased)"
              if report.conversations else "nothing to erase: no chat or message left found")
        return 0
    verb = "would erase" if report.dry_run else "erased"
    c = report.counts()
    print(f"{verb}: {c['conversations']} chat(s) ({c['messages']} message(s), {c['notes']} "
          f"private note(s), {c['attachments']} file(s), {c['files']} on disk), "
          f"{c['messages_left']} message(s) left; anonymized {c['anonymized']} chat record(s), "
          f"{c['interactions']} interaction(s), {c['events']} event(s)")
    done = report.ticket_erasure
    if done is not None and not done.nothing_to_do:
        shown = done.as_json()
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in done.counts().items() if n)
        print(f"{verb} in tickets " + ", ".join(f"#{t}" for t in shown["tickets"])
              + f": {counts}" + (" (no ticket #" + ", #".join(map(str, shown["missing"]))
                                 + " found)" if shown["missing"] else ""))
    elif report.tickets:
        print("tickets made from the messages left, nothing of the visitor left in them: "
              + ", ".join(f"#{t}" for t in report.tickets))
    return 0


def add_chat_commands(subparsers: Any) -> None:
    """Register ``chat purge [--dry-run]`` and ``chat erase``."""
    chat = subparsers.add_parser("chat", help="web chat")
    sub = chat.add_subparsers(dest="chat_command", required=True)
    p = sub.add_parser("purge", help="purge chats older than chat.retention_days")
    p.add_argument("--config", help="settings file")
    p.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    p.set_defaults(func=_purge_command)
    e = sub.add_parser("erase", help="erase one visitor's chat data (a data-subject request)")
    who = e.add_mutually_exclusive_group(required=True)
    who.add_argument("--visitor", help="the visitor id (the site's verified one)")
    who.add_argument("--email", help="an address given in the pre-chat form")
    who.add_argument("--chat", help="one conversation id")
    e.add_argument("--config", help="settings file")
    e.add_argument("--dry-run", action="store_true", help="count, change nothing")
    e.set_defaults(func=_erase_command)
