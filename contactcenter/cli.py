"""The ``contactcenter`` command: serve, demo, doctor, flows, users, recordings."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from contactcenter.common.setting_errors import SettingError
from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.config.loader import load_settings
from contactcenter.config.schema import Settings

DEFAULT_CONFIG = "config/contactcenter.yaml"


def command_settings(path: str | None) -> Settings:
    """The settings every command binds, exactly as ``serve`` does: the file given with
    ``--config``, else ``config/contactcenter.yaml`` when present, with ``CC_*`` variables over
    it; or exit 2 with every ``file:line`` error on stderr."""
    if path is None and Path(DEFAULT_CONFIG).exists():
        path = DEFAULT_CONFIG
    try:
        return load_settings(path)
    except SourceErrors as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
    except SourceError as exc:
        print(exc, file=sys.stderr)
    raise SystemExit(2)


def _run(coro) -> int:
    """Run the server's main coroutine on uvloop when it is installed; exit 2, with no
    traceback, when it cannot start as configured (a port taken, a file missing or invalid)."""
    try:
        try:
            import uvloop

            return uvloop.run(coro)
        except ImportError:
            return asyncio.run(coro)
    except (SettingError, SourceError) as exc:
        print(exc, file=sys.stderr)
    except SourceErrors as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
    return 2


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server until SIGTERM/SIGINT."""
    from contactcenter.app import run_server

    settings = command_settings(args.config)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return _run(run_server(settings))


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the server with the built-in PBX simulator placing calls."""
    from contactcenter.app import run_demo

    settings = command_settings(args.config)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return _run(run_demo(settings, calls_per_minute=args.calls_per_minute, duration=args.duration))


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check an Asterisk configuration directory against our settings."""
    from contactcenter.doctor.report import run_doctor

    settings = command_settings(args.config)
    return run_doctor(Path(args.asterisk_dir), settings, args.allow or [], sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="contactcenter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the contact center server")
    p.add_argument("--config", help=f"settings file (default: {DEFAULT_CONFIG} if present)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="run the server with the built-in PBX simulator placing calls")
    p.add_argument("--config", help=f"settings file (default: {DEFAULT_CONFIG} if present)")
    p.add_argument("--calls-per-minute", type=float, default=None)
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("doctor", help="check an Asterisk configuration against ours")
    p.add_argument("--asterisk-dir", required=True, help="e.g. /etc/asterisk")
    p.add_argument("--config", help=f"settings file (default: {DEFAULT_CONFIG} if present)")
    p.add_argument("--allow", action="append", metavar="NETWORK",
                   help="a network the AMI user's permit may name besides loopback")
    p.set_defaults(func=cmd_doctor)

    _add_context_commands(sub)
    return parser


def _add_context_commands(sub: argparse._SubParsersAction) -> None:
    """Subcommands owned by bounded contexts (flows, users, recordings)."""
    from contactcenter.ivr.cli import add_flow_commands

    add_flow_commands(sub)
    for module, func in (("contactcenter.web.cli", "add_user_commands"),
                         ("contactcenter.storage.cli", "add_db_commands"),
                         ("contactcenter.storage.backup_cli", "add_backup_commands"),
                         ("contactcenter.recording.cli", "add_recording_commands"),
                         ("contactcenter.chat.cli", "add_chat_commands"),
                         ("contactcenter.reports.cli", "add_report_commands")):
        try:
            mod = __import__(module, fromlist=[func])
        except ImportError:
            continue
        getattr(mod, func)(sub)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m contactcenter``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
