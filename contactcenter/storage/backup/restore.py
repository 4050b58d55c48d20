"""Restoring an archive into an empty database, all or nothing."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.storage.backup.archive import (
    _BATCH,
    _CHUNK,
    VERSION_TABLE,
    AudioFile,
    BackupError,
    Manifest,
    MemberDigest,
    Progress,
    hash_file,
    under_root,
)
from contactcenter.storage.backup.values import (
    decode_value,
    schema_tables,
    table_columns,
    wire_table,
)
from contactcenter.storage.backup.verify import (
    VerifiedArchive,
    archive_members,
    one_line,
    verify_archive,
)
from contactcenter.storage.database import Database, shown_url
from contactcenter.storage.schema import (
    SchemaMismatch,
    current_revision,
    ensure_schema,
    head_revision,
    modelled,
)

# --------------------------------------------------------------------------- restore


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore did."""

    manifest: Manifest
    rows: dict[str, int]
    audio_written: tuple[str, ...]
    audio_already_there: tuple[str, ...]
    # Files that had content at backup time, are not in the archive and not under the root.
    audio_missing: tuple[str, ...]
    # The same for each other file set (chat_attachments): written, and missing.
    files_written: dict[str, tuple[str, ...]] = field(default_factory=dict)
    files_missing: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Planned:
    path: Path
    digest: MemberDigest  # as verified: the second pass must read the same bytes


@dataclass(frozen=True, slots=True)
class _Staged:
    temp: Path
    final: Path


async def restore_backup(db: Database, archive: Path, recordings_root: Path, *,
                         progress: Progress | None = None,
                         file_roots: Mapping[str, Path] | None = None) -> RestoreReport:
    """Restore ``archive`` into the empty database ``db`` and audio under ``recordings_root``;
    each other file set (chat_attachments) under its root in ``file_roots``.

    Refuses (``BackupError``, nothing changed) a damaged archive, another schema revision, a
    database that is not empty, audio or files that would land outside their root or over
    another file, files of a set the archive holds with no root given for them.
    """
    say = progress or (lambda _line: None)
    archive, root = Path(archive), Path(recordings_root)
    with tempfile.TemporaryDirectory(prefix="cc-restore-") as tmp:
        verified = await asyncio.to_thread(verify_archive, archive, Path(tmp))
        m = verified.manifest
        say(f"archive {archive}: verified ({sum(m.rows().values())} rows in {len(m.tables)} "
            f"tables, from {m.dialect} at {m.created_at})")
        head = head_revision()
        if m.schema_revision != head:
            raise BackupError(f"{archive} holds schema revision {m.schema_revision}, this "
                              f"release's is {head}: restore it with the release that made it")
        tables = _matching_tables(m)
        await _require_empty(db, head)
        plan, already = await asyncio.to_thread(_plan_audio, m, root)
        roots = _file_roots(m, file_roots or {})
        set_plans: dict[str, dict[str, _Planned]] = {}
        set_already: dict[str, list[str]] = {}
        for fset in m.file_sets:
            if fset.name in roots:
                set_plans[fset.name], set_already[fset.name] = await asyncio.to_thread(
                    _plan_files, fset.files, roots[fset.name])
        every = dict(plan)
        for more in set_plans.values():
            every.update(more)
        staged = await asyncio.to_thread(_stage_audio, archive, every)
        try:
            try:
                await ensure_schema(db)
            except SchemaMismatch as exc:  # tables of an older release, no rows
                raise BackupError(str(exc)) from None
            rows = await _insert_all(db, tables, verified, say)
        except BaseException:
            await asyncio.to_thread(_discard, staged)
            raise
    done = set(await asyncio.to_thread(_put_in_place, staged))
    audio_dests = {p.path for p in plan.values()}
    written = [p for p in done if p in audio_dests]
    say(f"audio: {len(written)} files written under {root}"
        + (f", {len(already)} already there" if already else ""))
    missing = tuple(a.file for a in m.audio if a.size is not None and a.member is None
                    and not _has_file(root, a))
    files_written: dict[str, tuple[str, ...]] = {}
    files_missing: dict[str, tuple[str, ...]] = {}
    for fset in m.file_sets:
        set_root = roots.get(fset.name)
        dests = {p.path for p in set_plans.get(fset.name, {}).values()}
        files_written[fset.name] = tuple(sorted(str(p) for p in done if p in dests))
        files_missing[fset.name] = tuple(
            a.file for a in fset.files if a.size is not None and a.member is None
            and (set_root is None or not _has_file(set_root, a)))
        if set_root is not None:
            there = set_already.get(fset.name, [])
            say(f"{fset.name}: {len(files_written[fset.name])} files written under {set_root}"
                + (f", {len(there)} already there" if there else ""))
    return RestoreReport(m, rows, tuple(str(p) for p in sorted(written)), tuple(already),
                         missing, files_written, files_missing)


def _file_roots(m: Manifest, given: Mapping[str, Path]) -> dict[str, Path]:
    """The root of each file set; refused when the archive holds a set's files and no root
    was given for it."""
    for fset in m.file_sets:
        if fset.name not in given and any(a.member is not None for a in fset.files):
            raise BackupError(f"the archive holds {fset.name} files, and no folder to restore "
                              f"them to was given")
    return {name: Path(root) for name, root in given.items()}


def _matching_tables(m: Manifest) -> list[sa.Table]:
    tables = schema_tables()
    by_name = {t.name: t for t in m.tables}
    if set(by_name) != {t.name for t in tables}:
        extra = sorted(set(by_name) ^ {t.name for t in tables})
        raise BackupError(f"the archive's tables differ from this release's ({', '.join(extra)})")
    for table in tables:
        if list(by_name[table.name].columns) != [c.name for c in table.columns]:
            raise BackupError(f"table {table.name}: the archive's columns differ from this "
                              f"release's")
    return tables


async def _require_empty(db: Database, head: str) -> None:
    where = shown_url(db.url)
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        ours = {t.name: t for t in schema_tables()}
        foreign = sorted(n for n in names if n not in ours and n != VERSION_TABLE
                         and modelled(n))  # a full-text index of ours is no stranger
        if foreign:
            raise BackupError(f"database {where} is not empty (it has table {foreign[0]}): "
                              f"restore only into an empty database")
        for name in sorted(n for n in names if n in ours):
            if await conn.scalar(sa.select(sa.literal(1)).select_from(ours[name]).limit(1)):
                raise BackupError(f"database {where} is not empty (table {name} has rows): "
                                  f"restore only into an empty database")
    revision = await current_revision(db)
    if revision not in (None, head):
        raise BackupError(f"database {where} is at schema revision {revision}, this release's "
                          f"is {head}: restore into a new database")


def _has_file(root: Path, a: AudioFile) -> bool:
    try:
        path = under_root(root, a.file)
    except BackupError:
        return False
    return path.is_file() and path.stat().st_size == a.size


def _plan_audio(m: Manifest, root: Path) -> tuple[dict[str, _Planned], list[str]]:
    """member -> destination for the audio to write; files already there with that content."""
    return _plan_files(m.audio, root)


def _plan_files(files: Sequence[AudioFile], root: Path) -> tuple[dict[str, _Planned], list[str]]:
    """member -> destination for the files to write; those already there with that content."""
    plan: dict[str, _Planned] = {}
    already: list[str] = []
    for a in files:
        if a.member is None:
            continue
        dest = under_root(root, a.file)
        if dest.exists() or dest.is_symlink():
            if dest.is_file() and hash_file(dest) == (a.size, a.sha256):
                already.append(a.file)
                continue
            raise BackupError(f"{dest} exists with other content: move it away first")
        # verify_archive held the member's digest to these
        assert a.size is not None and a.sha256 is not None
        plan[a.member] = _Planned(dest, MemberDigest(a.size, a.sha256))
    return plan, already


def _stage_audio(archive: Path, plan: dict[str, _Planned]) -> list[_Staged]:
    """Write the planned audio to temporary names beside their destinations."""
    staged: list[_Staged] = []
    if not plan:
        return staged
    token = secrets.token_hex(4)
    try:
        with archive_members(archive) as members:
            for ti, fh in members:
                dest = plan.get(ti.name)
                if dest is None or fh is None:
                    continue
                dest.path.parent.mkdir(parents=True, exist_ok=True)
                temp = dest.path.with_name(f".{dest.path.name}.{token}.restoring")
                staged.append(_Staged(temp, dest.path))
                sha, size = hashlib.sha256(), 0
                with open(temp, "xb") as out:
                    while chunk := fh.read(_CHUNK):
                        sha.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                if MemberDigest(size, sha.hexdigest()) != dest.digest:
                    raise BackupError(f"{archive} changed while it was being restored")
        if len(staged) != len(plan):
            raise BackupError(f"{archive} changed while it was being restored")
    except BaseException:
        _discard(staged)
        raise
    return staged


def _discard(staged: Sequence[_Staged]) -> None:
    for s in staged:
        with contextlib.suppress(FileNotFoundError):
            s.temp.unlink()


def _put_in_place(staged: Sequence[_Staged]) -> list[Path]:
    done: list[Path] = []
    for n, s in enumerate(staged):
        try:
            os.replace(s.temp, s.final)
        except OSError as exc:
            _discard(staged[n:])
            raise BackupError(f"the database is restored, but {s.final} could not be written "
                              f"({one_line(exc)}); {len(staged) - n} audio files are not in "
                              f"place") from None
        done.append(s.final)
    return done


async def _insert_all(db: Database, tables: list[sa.Table], verified: VerifiedArchive,
                      say: Progress) -> dict[str, int]:
    rows: dict[str, int] = {}
    try:
        async with db.engine.begin() as conn:
            for table in tables:
                if await conn.scalar(sa.select(sa.literal(1)).select_from(table).limit(1)):
                    raise BackupError(f"table {table.name} got rows while restoring; nothing "
                                      f"restored")
                insert = sa.insert(wire_table(table))
                count = 0
                for batch in _read_rows(verified.data[table.name], table):
                    await conn.execute(insert, batch)
                    count += len(batch)
                rows[table.name] = count
                say(f"table {table.name}: {count} rows")
            if conn.dialect.name == "postgresql":
                await _reset_sequences(conn, tables)
    except sa.exc.SQLAlchemyError as exc:
        raise BackupError(f"restore failed and was rolled back, no row was written: "
                          f"{one_line(getattr(exc, 'orig', None) or exc)}") from None
    return rows


def _read_rows(path: Path, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    columns = table_columns(table)
    names = {name for name, _ in columns}
    batch: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                doc = json.loads(line)
                if not isinstance(doc, dict) or set(doc) != names:
                    raise ValueError("not a row of this table's columns")
                batch.append({name: decode_value(kind, doc[name]) for name, kind in columns})
            except ValueError as exc:
                raise BackupError(f"table {table.name}, row {n}: {one_line(exc)}") from None
            if len(batch) >= _BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


async def _reset_sequences(conn: AsyncConnection, tables: list[sa.Table]) -> None:
    # Rows went in with their ids: move each serial's sequence past them, or the next insert
    # by the server would collide with a restored row.
    quote_id = conn.dialect.identifier_preparer.quote
    for table in tables:
        col = table.autoincrement_column
        if col is None:
            continue
        await conn.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence(:t, :c), "
            f"COALESCE(MAX({quote_id(col.name)}), 0) + 1, false) FROM {quote_id(table.name)}"),
            {"t": quote_id(table.name), "c": col.name})
