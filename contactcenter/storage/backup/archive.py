"""The backup archive's format: its members, its manifest and the paths it may name."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "contactcenter-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA_DIR = "data/"
AUDIO_DIR = "audio/"
# Other files the database names by a column (chat attachments): ``files/<set>/<path>``.
FILES_DIR = "files/"
# Alembic's own table: the only one a database may hold besides ours and still be "empty".
VERSION_TABLE = "alembic_version"

_BATCH = 1000
_CHUNK = 1 << 20
_MANIFEST_MAX = 256 << 20
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go ahead, or failed; ``str()`` is one line for people."""


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True, slots=True)
class MemberDigest:
    """Size and sha256 of one archive member."""

    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TableDump:
    """One table in the archive: its member, row count and columns."""

    name: str
    member: str
    rows: int
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AudioFile:
    """A file the recordings index names, relative to the recordings root.

    ``size``/``sha256`` are ``None`` when the file was not there at backup time; ``member`` is
    the archive member holding it, ``None`` when the audio was only referenced.
    """

    file: str
    size: int | None
    sha256: str | None
    member: str | None


@dataclass(frozen=True, slots=True)
class FileSet:
    """Files outside the database that one of its columns names (``name``: chat_attachments),
    kept under ``root``; each as a recording's audio is (``AudioFile``), its member, when
    ``include``, ``files/<name>/<file>``."""

    name: str
    root: str
    include: bool
    files: tuple[AudioFile, ...]

    def member(self, file: str) -> str:
        """The archive member that holds ``file``'s bytes."""
        return f"{FILES_DIR}{self.name}/{file}"


@dataclass(frozen=True, slots=True)
class Manifest:
    """What ``manifest.json`` says about an archive."""

    format_version: int
    created_at: str
    schema_revision: str
    dialect: str
    database: str
    tables: tuple[TableDump, ...]
    members: dict[str, MemberDigest]
    recordings_root: str
    include_audio: bool
    audio: tuple[AudioFile, ...]
    file_sets: tuple[FileSet, ...] = ()

    def rows(self) -> dict[str, int]:
        """Rows per table."""
        return {t.name: t.rows for t in self.tables}

    def to_json(self) -> bytes:
        """The manifest's bytes (UTF-8 JSON, indented, for people reading it too)."""
        doc = {
            "format": FORMAT,
            "format_version": self.format_version,
            "created_at": self.created_at,
            "schema_revision": self.schema_revision,
            "source": {"dialect": self.dialect, "database": self.database},
            "tables": [{"name": t.name, "member": t.member, "rows": t.rows,
                        "columns": list(t.columns)} for t in self.tables],
            "members": {name: {"size": d.size, "sha256": d.sha256}
                        for name, d in self.members.items()},
            "recordings": {
                "root": self.recordings_root,
                "include_audio": self.include_audio,
                "files": [{"file": a.file, "size": a.size, "sha256": a.sha256,
                           "member": a.member} for a in self.audio],
            },
            "file_sets": [{"name": f.name, "root": f.root, "include": f.include,
                           "files": [_file_json(a) for a in f.files]}
                          for f in self.file_sets],
        }
        return json.dumps(doc, indent=1, ensure_ascii=False).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse and check the shape; ``BackupError`` naming what is wrong."""
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"manifest.json is not valid JSON ({exc})") from None
        try:
            if _get(doc, "format", str) != FORMAT:
                raise BackupError("manifest.json is not a contactcenter backup's")
            version = _get(doc, "format_version", int)
            if version != FORMAT_VERSION:
                raise BackupError(f"archive format version {version}; this release reads "
                                  f"version {FORMAT_VERSION}")
            source = _get(doc, "source", dict)
            rec = _get(doc, "recordings", dict)
            return cls(
                format_version=version,
                created_at=_get(doc, "created_at", str),
                schema_revision=_get(doc, "schema_revision", str),
                dialect=_get(source, "dialect", str),
                database=_get(source, "database", str),
                tables=tuple(
                    TableDump(_get(t, "name", str), _get(t, "member", str), _get(t, "rows", int),
                              tuple(_strings(_get(t, "columns", list))))
                    for t in _get(doc, "tables", list)),
                members={str(name): MemberDigest(_get(d, "size", int), _get(d, "sha256", str))
                         for name, d in _get(doc, "members", dict).items()},
                recordings_root=_get(rec, "root", str),
                include_audio=_get(rec, "include_audio", bool),
                audio=tuple(
                    AudioFile(_get(a, "file", str), _get(a, "size", int, optional=True),
                              _get(a, "sha256", str, optional=True),
                              _get(a, "member", str, optional=True))
                    for a in _get(rec, "files", list)),
                # absent from archives made before chat attachments were backed up
                file_sets=tuple(
                    FileSet(_get(f, "name", str), _get(f, "root", str),
                            _get(f, "include", bool),
                            tuple(_file(a) for a in _get(f, "files", list)))
                    for f in (doc.get("file_sets") or ())),
            )
        except (TypeError, AttributeError):
            raise BackupError("manifest.json does not have the expected shape") from None


def _file_json(a: AudioFile) -> dict[str, Any]:
    return {"file": a.file, "size": a.size, "sha256": a.sha256, "member": a.member}


def _file(a: Any) -> AudioFile:
    return AudioFile(_get(a, "file", str), _get(a, "size", int, optional=True),
                     _get(a, "sha256", str, optional=True), _get(a, "member", str, optional=True))


def _get(doc: Any, key: str, kind: type, *, optional: bool = False) -> Any:
    if not isinstance(doc, dict):
        raise BackupError("manifest.json does not have the expected shape")
    value = doc.get(key)
    if value is None and optional:
        return None
    # bool is an int to Python; a count or size must not be true/false.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BackupError(f"manifest.json: {key!r} is missing or not a {kind.__name__}")
    return value


def _strings(values: list[Any]) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise BackupError("manifest.json: a table's columns must be strings")
    return values


# --------------------------------------------------------------------------- paths


def safe_relative(name: str) -> bool:
    """True for a plain relative path (``a/b.wav``): no ``..``, ``.``, empty part, backslash,
    NUL or leading ``/``."""
    if not name or "\x00" in name or "\\" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def under_root(root: Path, relative: str) -> Path:
    """``root / relative`` once symlinks are resolved, refused when it leaves ``root``."""
    if not safe_relative(relative):
        raise BackupError(f"recording path {relative!r} is not a plain relative path")
    real_root = root.resolve()
    path = (real_root / relative).resolve()
    if not path.is_relative_to(real_root):
        raise BackupError(f"recording path {relative!r} leads outside the recordings root "
                          f"{real_root}")
    return path


def hash_file(path: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()
