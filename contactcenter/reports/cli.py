"""``contactcenter reports rebuild --from DAY --to DAY``: recompute interval figures from the log.

The settings are read exactly as ``serve`` reads them (same ``--config``, ``CC_*`` variables),
so the rebuild uses the database, the time zone and the thresholds the server uses; the
service-level thresholds come from the routing configuration in force (the files, overridden by
the queues saved in the database). It first folds in what the live aggregation has not yet (as
a running server would), then rebuilds one local day at a time, printing a line per day. A range
reaching before the IVR sessions still kept gets a line saying so (the IVR report of those days
reads the sums the retention kept; nothing re-counts them).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any, TextIO

from contactcenter.cli import DEFAULT_CONFIG
from contactcenter.common.setting_errors import SettingError
from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.config.schema import Settings
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.ivr_retention import not_kept_note, purged_before
from contactcenter.reports.rebuild import DayRebuilt, rebuild
from contactcenter.reports.rules import queue_rules
from contactcenter.reports.service import ReportService
from contactcenter.routing.config_editor import load_merged
from contactcenter.routing.config_merge import RoutingSources
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.storage.database import Database, shown_url
from contactcenter.storage.schema import ensure_schema


def add_report_commands(subparsers: Any) -> None:
    """Register ``reports rebuild`` (sets ``func`` to a callable returning an exit code)."""
    reports = subparsers.add_parser("reports", help="interval reports (docs/reports.md)")
    sub = reports.add_subparsers(dest="reports_command", required=True)
    p = sub.add_parser("rebuild", help="recompute the interval figures of a range of days "
                                       "from the interaction log")
    p.add_argument("--from", dest="first", required=True, type=_day, metavar="YYYY-MM-DD",
                   help="first local day")
    p.add_argument("--to", dest="last", required=True, type=_day, metavar="YYYY-MM-DD",
                   help="last local day (included)")
    p.add_argument("--config", help=f"settings file (default: {DEFAULT_CONFIG} if present)")
    p.set_defaults(func=_rebuild_command)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _rebuild_command(args: argparse.Namespace) -> int:
    from contactcenter.cli import command_settings
    from contactcenter.config.loader import database_url
    from contactcenter.config.routing_files import load_routing_files

    if args.last < args.first:
        print("--to is before --from", file=sys.stderr)
        return 2
    settings = command_settings(args.config)
    try:
        sources = load_routing_files(settings)
        return asyncio.run(run_rebuild(database_url(settings), settings, sources, args.first,
                                       args.last, sys.stdout))
    except (SourceError, SourceErrors) as exc:  # thresholds in doubt: count nothing
        print(f"routing configuration is invalid, nothing rebuilt:\n{exc}", file=sys.stderr)
    except SettingError as exc:
        print(f"{exc}\nnothing rebuilt", file=sys.stderr)
    return 2


async def run_rebuild(url: str, settings: Settings, sources: RoutingSources, first: dt.date,
                      last: dt.date, out: TextIO) -> int:
    """Fold in what is pending, then rebuild ``first``..``last``; one line per day on ``out``."""
    db = Database(url)
    try:
        await ensure_schema(db)
        merged, _stored, _suspended = await load_merged(sources, RoutingConfigStore(db))
        calendar = Calendar(settings.reports.zone(settings.ivr.timezone))
        rules = queue_rules(lambda: merged.config.queues, settings.reports)
        print(f"database {shown_url(url)}, time zone {calendar.zone}", file=out, flush=True)
        note = not_kept_note(calendar, first, await purged_before(db))
        if note is not None:
            print(note, file=out, flush=True)
        live = ReportService(db, lambda: 0.0, calendar, rules)
        await live.load()
        pending = await live.catch_up(credit=False)
        if pending:
            print(f"folded in {pending} log row(s) not aggregated yet", file=out, flush=True)

        def progress(day: DayRebuilt) -> None:
            print(f"{day.day.isoformat()}: {day.rows} log row(s), {day.seconds:.2f} s",
                  file=out, flush=True)

        days = await rebuild(db, calendar, rules, first, last, progress)
        print(f"rebuilt {len(days)} day(s), {sum(d.rows for d in days)} log row(s)", file=out)
        return 0
    finally:
        await db.close()
