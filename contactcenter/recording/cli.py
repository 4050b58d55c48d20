"""``contactcenter recordings purge [--dry-run]``: apply retention from the command line.

Retention comes from each queue's ``recording:`` block
(``{mode: always|never|on_demand, retention_days: N, ...}``, ``policy.py``) in the routing
configuration in force, as the server runs it: the queues and agents files, overridden by the
queues admins saved in the database (``routing/config_merge.py``), checked the same way: a
configuration the server would refuse purges nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contactcenter.common.setting_errors import SettingError
from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.recording.index import RecordingIndex
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook
from contactcenter.recording.queue_policies import recording_policies
from contactcenter.recording.retention import PurgeReport, purge
from contactcenter.routing.config_editor import load_merged
from contactcenter.routing.config_merge import RoutingSources
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database, shown_url
from contactcenter.storage.schema import ensure_schema


async def policies_in_force(db_url: str, sources: RoutingSources) -> PolicyBook:
    """The recording policies the server would run with: the files, overridden by the queues
    saved in the database. Raises ``SourceErrors`` when that configuration is invalid."""
    db = Database(db_url)
    try:
        await ensure_schema(db)
        merged, _stored, _suspended = await load_merged(sources, RoutingConfigStore(db))
    finally:
        await db.close()
    return recording_policies(merged)


async def run_purge(
    db_url: str, recordings_dir: Path, policies: PolicyBook, dry_run: bool,
    now: datetime | None = None,
) -> PurgeReport:
    """Open the database, purge (or list) and close."""
    db = Database(db_url)
    try:
        await ensure_schema(db)
        return await purge(
            RecordingIndex(db), RecordingPaths(recordings_dir), policies, AuditLog(db),
            now or datetime.now(UTC), dry_run=dry_run,
        )
    finally:
        await db.close()


def _purge_command(args: argparse.Namespace) -> int:
    from contactcenter.cli import command_settings
    from contactcenter.config.loader import database_url, resolve
    from contactcenter.config.routing_files import load_routing_files

    settings = command_settings(getattr(args, "config", None))
    db_url = database_url(settings)
    print(f"recordings: database {shown_url(db_url)}", file=sys.stderr)
    try:
        policies = asyncio.run(policies_in_force(db_url, load_routing_files(settings)))
        report = asyncio.run(run_purge(
            db_url, resolve(settings, settings.recordings_dir), policies, args.dry_run
        ))
    except (SourceError, SourceErrors) as exc:  # purge nothing on a configuration in doubt
        print(f"routing configuration is invalid, nothing purged:\n{exc}", file=sys.stderr)
        return 2
    except SettingError as exc:  # a file missing, a database behind: what to change or run
        print(f"{exc}\nnothing purged", file=sys.stderr)
        return 2
    for item in report.items:
        print(f"{item.outcome:16} {item.recording_id} {item.queue} {item.started_at:%Y-%m-%d} {item.file}")
    verb = "would purge" if report.dry_run else "purged"
    print(f"{verb} {len(report.items) if report.dry_run else report.deleted} recording(s)")
    return 1 if any(i.outcome == "refused" for i in report.items) else 0


def add_recording_commands(subparsers: Any) -> None:
    """Register ``recordings purge [--dry-run]`` (sets ``func`` to a callable returning an exit code)."""
    rec = subparsers.add_parser("recordings", help="call recordings")
    sub = rec.add_subparsers(dest="recordings_command", required=True)
    p = sub.add_parser("purge", help="delete recordings past their queue's retention (audited)")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    p.add_argument("--config", default=None, help="settings file (config/contactcenter.yaml)")
    p.set_defaults(func=_purge_command)
