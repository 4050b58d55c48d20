"""``contactcenter backup PATH [--include-audio] [--include-attachments]`` and
``contactcenter restore PATH``.

Both read the settings exactly as ``serve`` does (same ``--config``, same default file, same
``CC_*`` variables), so they touch the database, the recordings root and the chat's
attachments folder (``chat.attachments_dir``: the archive's ``chat_attachments`` file set)
``serve`` would use, and print which database and archive they touched, then one line per
table. A backup can run while the server runs (``storage/backup/`` says how it stays
consistent). A refusal or a failure is one line on stderr and exit status 2; nothing is
half-written in either direction.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from contactcenter.chat.attachments import relative_path
from contactcenter.chat.tables import ChatAttachmentRow
from contactcenter.cli import DEFAULT_CONFIG, command_settings
from contactcenter.config.loader import database_url, resolve
from contactcenter.recording.tables import RecordingRow
from contactcenter.storage.backup.archive import BackupError, Manifest
from contactcenter.storage.backup.create import AudioIndex, FileIndex, create_backup
from contactcenter.storage.backup.restore import RestoreReport, restore_backup
from contactcenter.storage.database import Database, shown_url

_FILE = RecordingRow.__mapper__.columns["file"]
RECORDINGS_INDEX = AudioIndex(_FILE.table.name, _FILE.name)
_KEY = ChatAttachmentRow.__mapper__.columns["key"]
CHAT_ATTACHMENTS = "chat_attachments"  # the file set's name in the archive


def chat_attachments(root: Path, include: bool) -> FileIndex:
    """The chat's files: named by ``chat_attachments.key``, under ``chat.attachments_dir``."""
    return FileIndex(CHAT_ATTACHMENTS, _KEY.table.name, _KEY.name, root, include,
                     relative_path)


def add_backup_commands(subparsers: Any) -> None:
    """Register ``backup`` and ``restore`` (each sets ``func`` returning an exit status)."""
    p = subparsers.add_parser(
        "backup", help="write a consistent snapshot of the database (the server may run)")
    p.add_argument("path", help="the archive to write, e.g. cc-2024-05-01.tar.gz (must not exist)")
    p.add_argument("--include-audio", action="store_true",
                   help="put the recordings' audio files in the archive too (otherwise they are "
                        "listed with size and sha256 only)")
    p.add_argument("--include-attachments", action="store_true",
                   help="put the chat attachments' files in the archive too (otherwise they "
                        "are listed with size and sha256 only)")
    p.add_argument("--config", help=f"settings file (default: {DEFAULT_CONFIG} if present)")
    p.set_defaults(func=_backup_command)

    p = subparsers.add_parser("restore", help="restore a backup into an empty database")
    p.add_argument("path", help="the archive written by 'contactcenter backup'")
    p.add_argument("--config", help=f"settings file (default: {DEFAULT_CONFIG} if present)")
    p.set_defaults(func=_restore_command)


def _backup_command(args: argparse.Namespace) -> int:
    settings = command_settings(args.config)
    files = chat_attachments(resolve(settings, settings.chat.attachments_dir),
                             args.include_attachments)
    return asyncio.run(run_backup(database_url(settings), Path(args.path),
                                  resolve(settings, settings.recordings_dir),
                                  args.include_audio, sys.stdout, sys.stderr, files=(files,)))


def _restore_command(args: argparse.Namespace) -> int:
    settings = command_settings(args.config)
    roots = {CHAT_ATTACHMENTS: resolve(settings, settings.chat.attachments_dir)}
    return asyncio.run(run_restore(database_url(settings), Path(args.path),
                                   resolve(settings, settings.recordings_dir),
                                   sys.stdout, sys.stderr, file_roots=roots))


async def run_backup(url: str, archive: Path, recordings_root: Path, include_audio: bool,
                     out: TextIO, err: TextIO, *, files: Sequence[FileIndex] = ()) -> int:
    """Back up ``url``'s database (and recordings, and ``files``) to ``archive``; the exit
    status."""
    print(f"backup of database {shown_url(url)} to {archive}", file=out, flush=True)
    db = Database(url)
    try:
        manifest = await create_backup(db, archive, recordings_root, RECORDINGS_INDEX,
                                       include_audio=include_audio, files=files,
                                       progress=lambda line: print(line, file=out, flush=True))
    except (BackupError, OSError, SQLAlchemyError) as exc:  # one line, no traceback
        print(f"backup failed: {_one_line(exc)}", file=err)
        return 2
    finally:
        await db.close()
    print(f"wrote {archive}: {_totals(manifest)}, schema revision {manifest.schema_revision}",
          file=out)
    return 0


async def run_restore(url: str, archive: Path, recordings_root: Path,
                      out: TextIO, err: TextIO, *,
                      file_roots: Mapping[str, Path] | None = None) -> int:
    """Restore ``archive`` into ``url``'s (empty) database; the exit status."""
    print(f"restore of {archive} into database {shown_url(url)}", file=out, flush=True)
    db = Database(url)
    try:
        report = await restore_backup(db, archive, recordings_root, file_roots=file_roots,
                                      progress=lambda line: print(line, file=out, flush=True))
    except BackupError as exc:
        print(f"restore refused: {exc}", file=err)
        return 2
    except (OSError, SQLAlchemyError) as exc:  # e.g. the database cannot be reached
        print(f"restore failed: {_one_line(exc)}", file=err)
        return 2
    finally:
        await db.close()
    _print_missing(report, recordings_root, out)
    print(f"restored {_totals(report.manifest)} into {shown_url(url)}", file=out)
    return 0


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _totals(manifest: Manifest) -> str:
    rows = sum(manifest.rows().values())
    audio = sum(1 for a in manifest.audio if a.member is not None)
    files = "".join(f", {sum(1 for a in f.files if a.member is not None)} {f.name} files"
                    for f in manifest.file_sets if f.include)
    return f"{rows} rows in {len(manifest.tables)} tables" + (
        f", {audio} audio files" if manifest.include_audio else "") + files


def _print_missing(report: RestoreReport, root: Path, out: TextIO) -> None:
    for name, missing in report.files_missing.items():
        if missing:
            print(f"{len(missing)} {name} files are neither in the archive nor in their folder "
                  f"(copy them there from the old one):", file=out)
            for file in missing:
                print(f"  missing {file}", file=out)
    if not report.audio_missing:
        return
    print(f"{len(report.audio_missing)} recordings' audio is neither in the archive nor under "
          f"{root} (copy them there from the old recordings root):", file=out)
    for name in report.audio_missing:
        print(f"  missing {name}", file=out)
