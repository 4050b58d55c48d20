"""Writing a backup: a consistent snapshot of every table (and the audio) into one archive."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.storage.backup.archive import (
    _BATCH,
    AUDIO_DIR,
    DATA_DIR,
    FORMAT_VERSION,
    MANIFEST,
    AudioFile,
    BackupError,
    FileSet,
    Manifest,
    MemberDigest,
    Progress,
    TableDump,
    hash_file,
    under_root,
)
from contactcenter.storage.backup.values import (
    encode_value,
    schema_tables,
    select_in_order,
    table_columns,
)
from contactcenter.storage.database import Database, shown_url
from contactcenter.storage.schema import (
    current_revision,
    head_revision,
)

# --------------------------------------------------------------------------- backup


@dataclass(frozen=True, slots=True)
class AudioIndex:
    """Where the recordings index names its audio files (paths relative to the root)."""

    table: str
    file_column: str


@dataclass(frozen=True, slots=True)
class FileIndex:
    """Files outside the database that ``table.column`` names (chat attachments): kept under
    ``root`` at ``path_of(value)`` (ValueError: a value naming no file), in the archive with
    ``include``, else listed with their size and sha256 only, as recordings' audio is."""

    name: str
    table: str
    column: str
    root: Path
    include: bool
    path_of: Callable[[str], str]


@dataclass(slots=True)
class _Snapshot:
    dumps: list[TableDump]
    digests: dict[str, MemberDigest]
    files: dict[str, Path]  # member name -> staged file
    audio: list[str]  # paths named by the recordings index, sorted, unique
    named: dict[str, list[str]]  # file index name -> the values its column holds, sorted


async def create_backup(
    db: Database, archive: Path, recordings_root: Path, index: AudioIndex, *,
    include_audio: bool = False, progress: Progress | None = None, now: datetime | None = None,
    files: Sequence[FileIndex] = (),
) -> Manifest:
    """Write a consistent snapshot of ``db`` (and the recordings) to ``archive``.

    The archive is written to a temporary name in the same folder and renamed when complete,
    so ``archive`` is either absent or whole. Refuses an existing ``archive`` and a database
    whose schema revision is not this release's.
    """
    say = progress or (lambda _line: None)
    archive = Path(archive)
    if archive.exists():
        raise BackupError(f"{archive} already exists; give the backup a new name")
    if not archive.parent.is_dir():
        raise BackupError(f"folder {archive.parent} does not exist")
    tables = schema_tables()
    for table in tables:
        table_columns(table)  # refuse an unknown column type before any work
    _check_source(db)  # before reading the revision, which would create a missing file
    revision = await current_revision(db)
    head = head_revision()
    if revision != head:
        raise BackupError(f"database {shown_url(db.url)} is at schema revision {revision or 'none'}"
                          f", this release's is {head}: start the server on it (or upgrade) first")
    created = (now or datetime.now(UTC)).astimezone(UTC)
    work = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", dir=archive.parent))
    try:
        snap = await _snapshot(db, tables, index, files, work, say)
        root = Path(recordings_root)
        partial = archive.with_name(f".{archive.name}.{secrets.token_hex(4)}.partial")

        def finish(audio: list[AudioFile], members: dict[str, MemberDigest],
                   sets: list[FileSet]) -> Manifest:
            return Manifest(FORMAT_VERSION, created.isoformat(), head, db.dialect,
                            shown_url(db.url), tuple(snap.dumps), members, str(root.resolve()),
                            include_audio, tuple(audio), tuple(sets))

        try:
            manifest = await asyncio.to_thread(
                _write_archive, partial, snap, root, include_audio, files, finish, created, say)
            os.replace(partial, archive)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        _fsync_dir(archive.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _check_source(db: Database) -> None:
    if db.dialect != "sqlite":
        return
    source = make_url(db.url).database
    if not source or source == ":memory:" or source.startswith("file:"):
        raise BackupError("only a SQLite database in a file can be backed up")
    if not Path(source).is_file():
        raise BackupError(f"no database file at {source}")


async def _snapshot(db: Database, tables: list[sa.Table], index: AudioIndex,
                    files: Sequence[FileIndex], work: Path, say: Progress) -> _Snapshot:
    if db.dialect == "sqlite":
        source = str(make_url(db.url).database)
        copy = work / "snapshot.sqlite3"
        await asyncio.to_thread(_sqlite_online_copy, Path(source), copy)
        snap_db = Database(f"sqlite+aiosqlite:///{copy}")
        try:
            async with snap_db.engine.connect() as conn, conn.begin():
                return await _dump(conn, tables, index, files, work, say)
        finally:
            await snap_db.close()
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ",
                                            postgresql_readonly=True)
        async with conn.begin():
            return await _dump(conn, tables, index, files, work, say)


def _sqlite_online_copy(source: Path, target: Path) -> None:
    # mode=rw: never create an empty database where the server's should be.
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: in one step, so no write by the server lands half-way
    finally:
        dst.close()
        src.close()


async def _dump(conn: AsyncConnection, tables: list[sa.Table], index: AudioIndex,
                files: Sequence[FileIndex], work: Path, say: Progress) -> _Snapshot:
    snap = _Snapshot([], {}, {}, [], {})
    audio: set[str] = set()
    named: dict[str, set[str]] = {f.name: set() for f in files}
    for n, table in enumerate(tables):
        columns = table_columns(table)
        file_at = next((i for i, (name, _) in enumerate(columns)
                        if table.name == index.table and name == index.file_column), None)
        other_at = [(f.name, i) for f in files for i, (name, _) in enumerate(columns)
                    if table.name == f.table and name == f.column]
        member = f"{DATA_DIR}{table.name}.jsonl"
        staged = work / f"{n:03d}.jsonl"
        out = await asyncio.to_thread(_Staging, staged)
        try:
            result = await conn.stream(select_in_order(table))
            async for part in result.partitions(_BATCH):
                chunk = "".join(
                    json.dumps({name: encode_value(kind, value)
                                for (name, kind), value in zip(columns, row, strict=True)},
                               ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
                    for row in part).encode()
                await asyncio.to_thread(out.write, chunk, len(part))
                if file_at is not None:
                    audio.update(str(row[file_at]) for row in part if row[file_at])
                for set_name, at in other_at:
                    named[set_name].update(str(row[at]) for row in part if row[at])
        finally:
            await asyncio.to_thread(out.close)
        rows = out.rows
        snap.dumps.append(TableDump(table.name, member, rows, tuple(c for c, _ in columns)))
        snap.digests[member] = MemberDigest(out.size, out.sha.hexdigest())
        snap.files[member] = staged
        say(f"table {table.name}: {rows} rows")
    snap.audio = sorted(audio)
    snap.named = {name: sorted(values) for name, values in named.items()}
    return snap


class _Staging:
    """A data member being written to a staging file, hashed and counted as it goes."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "wb")  # noqa: SIM115 (close() is called in a finally)
        self.sha, self.size, self.rows = hashlib.sha256(), 0, 0

    def write(self, chunk: bytes, rows: int) -> None:
        self._fh.write(chunk)
        self.sha.update(chunk)
        self.size += len(chunk)
        self.rows += rows

    def close(self) -> None:
        self._fh.close()


class _HashingReader:
    """Reads at most ``size`` bytes of a file, hashing them (tarfile reads ``size`` exactly)."""

    def __init__(self, fh: IO[bytes], size: int) -> None:
        self._fh, self._left, self.sha = fh, size, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._fh.read(n)
        self._left -= len(data)
        self.sha.update(data)
        return data


def _write_archive(partial: Path, snap: _Snapshot, root: Path, include_audio: bool,
                   files: Sequence[FileIndex],
                   finish: Callable[[list[AudioFile], dict[str, MemberDigest], list[FileSet]],
                                    Manifest],
                   created: datetime, say: Progress) -> Manifest:
    members = dict(snap.digests)
    mtime = created.timestamp()

    def info(name: str, size: int) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime, ti.mode = size, mtime, 0o600
        return ti

    # The database's rows include password hashes: the archive is for its owner only.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for dump in snap.dumps:
                with open(snap.files[dump.member], "rb") as fh:
                    tar.addfile(info(dump.member, members[dump.member].size), fh)
            out = _FileWriter(tar, info, members, say)
            audio, present, missing = out.add(root, snap.audio, include_audio,
                                              lambda rel: AUDIO_DIR + rel)
            say(f"audio: {present} files {'included' if include_audio else 'referenced'}"
                + (f", {missing} named by the index but not under {root}" if missing else ""))
            sets: list[FileSet] = []
            for index in files:
                rels, unnamed = [], 0
                for value in snap.named.get(index.name, ()):
                    try:
                        rels.append(index.path_of(value))
                    except ValueError:
                        unnamed += 1
                fset = FileSet(index.name, str(Path(index.root).resolve()), index.include, ())
                found, present, missing = out.add(Path(index.root), sorted(rels),
                                                  index.include, fset.member)
                sets.append(FileSet(fset.name, fset.root, fset.include, tuple(found)))
                say(f"{index.name}: {present} files "
                    f"{'included' if index.include else 'referenced'}"
                    + (f", {missing} named by the database but not under {index.root}"
                       if missing else "")
                    + (f", {unnamed} values naming no file left out" if unnamed else ""))
            manifest = finish(audio, members, sets)
            body = manifest.to_json()
            tar.addfile(info(MANIFEST, len(body)), io.BytesIO(body))
        raw.flush()
        os.fsync(raw.fileno())
    return manifest


class _FileWriter:
    """Lists (and with ``include`` adds) files under a root: recordings' audio, chat
    attachments."""

    def __init__(self, tar: tarfile.TarFile, info: Callable[[str, int], tarfile.TarInfo],
                 members: dict[str, MemberDigest], say: Progress) -> None:
        self.tar, self.info, self.members, self.say = tar, info, members, say

    def add(self, root: Path, rels: list[str], include: bool,
            member_of: Callable[[str], str]) -> tuple[list[AudioFile], int, int]:
        """The files' entries for the manifest, how many were there and how many were not."""
        out: list[AudioFile] = []
        present = missing = 0
        for rel in rels:
            try:
                path = under_root(root, rel)
            except BackupError as exc:
                self.say(f"{exc}, left out")
                continue
            if not path.is_file():
                out.append(AudioFile(rel, None, None, None))
                missing += 1
                continue
            present += 1
            if not include:
                size, sha = hash_file(path)
                out.append(AudioFile(rel, size, sha, None))
                continue
            with open(path, "rb") as fh:
                # A file still being written (a recording): take what is there now.
                size = os.fstat(fh.fileno()).st_size
                reader = _HashingReader(fh, size)
                member = member_of(rel)
                self.tar.addfile(self.info(member, size), reader)
            self.members[member] = MemberDigest(size, reader.sha.hexdigest())
            out.append(AudioFile(rel, size, self.members[member].sha256, member))
        return out, present, missing


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk (POSIX; no-op elsewhere).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
