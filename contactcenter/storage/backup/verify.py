"""Reading an archive back and checking all of it before anything is restored."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from contactcenter.storage.backup.archive import (
    _CHUNK,
    _MANIFEST_MAX,
    AUDIO_DIR,
    DATA_DIR,
    FILES_DIR,
    MANIFEST,
    BackupError,
    Manifest,
    MemberDigest,
    safe_relative,
)

# --------------------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True)
class VerifiedArchive:
    """An archive whose every member matched its manifest; its data extracted to ``data``."""

    path: Path
    manifest: Manifest
    data: dict[str, Path]  # table name -> verified rows (JSON lines)


def verify_archive(path: Path, workdir: Path) -> VerifiedArchive:
    """Read the whole archive: manifest present and well-formed, every member's size and
    sha256 as listed, nothing unlisted, row counts as listed, audio paths plain and relative.
    The table data is extracted into ``workdir``. ``BackupError`` with one line otherwise."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no archive at {path}")
    try:
        return _verify(path, workdir)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{path} is not a complete backup archive (truncated or damaged: "
                          f"{one_line(exc)})") from None


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def archive_members(path: Path) -> Iterator[Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]]:
    with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
        with tarfile.open(fileobj=gz, mode="r|") as tar:
            yield ((ti, tar.extractfile(ti) if ti.isreg() else None) for ti in tar)
        # tarfile stops at its end marker; reading on to the end makes gzip check its CRC
        # and length, so a damaged byte anywhere in the stream is noticed.
        while gz.read(_CHUNK):
            pass


def _verify(path: Path, workdir: Path) -> VerifiedArchive:
    seen: dict[str, MemberDigest] = {}
    lines: dict[str, int] = {}
    extracted: dict[str, Path] = {}
    manifest_raw: bytes | None = None
    with archive_members(path) as members:
        for ti, fh in members:
            name = ti.name
            if name in seen or (name == MANIFEST and manifest_raw is not None):
                raise BackupError(f"{path}: member {name} appears twice")
            if not ti.isreg() or fh is None:
                raise BackupError(f"{path}: member {name} is not a regular file")
            if name == MANIFEST:
                if ti.size > _MANIFEST_MAX:
                    raise BackupError(f"{path}: manifest.json is implausibly large")
                manifest_raw = fh.read()
                continue
            if name.startswith(DATA_DIR) and name.endswith(".jsonl") and \
                    safe_relative(name[len(DATA_DIR):]):
                out = workdir / f"{len(extracted):03d}.jsonl"
                seen[name], lines[name] = _copy_counting(fh, out)
                extracted[name] = out
            elif (name.startswith(AUDIO_DIR) and safe_relative(name[len(AUDIO_DIR):])) or (
                    name.startswith(FILES_DIR) and safe_relative(name[len(FILES_DIR):])):
                seen[name], _ = _copy_counting(fh, None)
            else:
                raise BackupError(f"{path}: unexpected member {name!r}")
    if manifest_raw is None:
        raise BackupError(f"{path} has no manifest.json (truncated, or not a backup)")
    m = Manifest.from_json(manifest_raw)
    unlisted = sorted(seen.keys() - m.members.keys())
    if unlisted:
        raise BackupError(f"{path}: member {unlisted[0]} is not in the manifest")
    for name, listed in sorted(m.members.items()):
        got = seen.get(name)
        if got is None:
            raise BackupError(f"{path}: member {name} listed in the manifest is missing")
        if got.size != listed.size:
            raise BackupError(f"{path}: member {name} has {got.size} bytes, the manifest "
                              f"says {listed.size}")
        if got.sha256 != listed.sha256:
            raise BackupError(f"{path}: member {name} does not match its sha256 in the manifest")
    data: dict[str, Path] = {}
    for t in m.tables:
        if t.name in data or t.member not in extracted:
            raise BackupError(f"{path}: table {t.name} has no data member of its own")
        if lines[t.member] != t.rows:
            raise BackupError(f"{path}: table {t.name} has {lines[t.member]} rows, the "
                              f"manifest says {t.rows}")
        data[t.name] = extracted[t.member]
    if set(extracted) != {t.member for t in m.tables}:
        raise BackupError(f"{path}: a data member belongs to no table of the manifest")
    audio_members = {n for n in seen if n.startswith(AUDIO_DIR)}
    named = set()
    for a in m.audio:
        if not safe_relative(a.file):
            raise BackupError(f"{path}: recording path {a.file!r} is not a plain relative path")
        if a.member is not None:
            digest = m.members.get(a.member)
            if a.member != AUDIO_DIR + a.file or digest is None or \
                    (digest.size, digest.sha256) != (a.size, a.sha256):
                raise BackupError(f"{path}: recording {a.file} does not match its member")
            named.add(a.member)
    if audio_members != named or (audio_members and not m.include_audio):
        raise BackupError(f"{path}: the audio members do not match the recordings listed")
    _verify_file_sets(path, m, {n for n in seen if n.startswith(FILES_DIR)})
    return VerifiedArchive(path, m, data)


def _verify_file_sets(path: Path, m: Manifest, members: set[str]) -> None:
    """Each set's files as recordings' audio: plain relative paths, each member its file's."""
    named: set[str] = set()
    names = [f.name for f in m.file_sets]
    if len(set(names)) != len(names):
        raise BackupError(f"{path}: a file set appears twice in the manifest")
    for fset in m.file_sets:
        if not fset.name or not safe_relative(fset.name) or "/" in fset.name:
            raise BackupError(f"{path}: file set name {fset.name!r} is not a plain name")
        for a in fset.files:
            if not safe_relative(a.file):
                raise BackupError(f"{path}: {fset.name} path {a.file!r} is not a plain "
                                  f"relative path")
            if a.member is None:
                continue
            digest = m.members.get(a.member)
            if not fset.include or a.member != fset.member(a.file) or digest is None or \
                    (digest.size, digest.sha256) != (a.size, a.sha256):
                raise BackupError(f"{path}: {fset.name} file {a.file} does not match its member")
            named.add(a.member)
    if members != named:
        raise BackupError(f"{path}: the file members do not match the files listed")


def _copy_counting(fh: IO[bytes], out: Path | None) -> tuple[MemberDigest, int]:
    sha, size, newlines, last = hashlib.sha256(), 0, 0, b"\n"
    with open(out, "wb") if out is not None else contextlib.nullcontext() as dst:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
            if dst is not None:
                dst.write(chunk)
    # A data member ends each row with a newline; a last line without one is still a row.
    return MemberDigest(size, sha.hexdigest()), newlines + (0 if last == b"\n" else 1)
