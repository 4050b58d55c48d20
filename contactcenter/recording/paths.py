"""Where recordings live: ``root/YYYY/MM/DD/<interaction>-<id>.wav``, and the only way back in.

Design note: Asterisk writes the file on ITS host, so the server needs the same directory
mounted (NFS, a shared volume, or the same machine). ``root`` is the path as this server sees
it; ``asterisk_root`` is the same directory as Asterisk sees it (defaults to ``root``). The
index stores paths relative to the root. ``resolve`` is the single gate for reading a file:
it resolves symlinks and ``..`` first, then requires the result to be inside the resolved
root, so a planted symlink or a crafted relative path cannot escape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CALLER, AGENT = "caller", "agent"
SPEAKERS = (CALLER, AGENT)  # MixMonitor's r() and t() files, in that order


class UnsafePathError(ValueError):
    """A name or path would leave the recordings root or break MixMonitor's argument syntax."""


def safe_name(value: str, what: str = "id") -> str:
    """Return ``value`` if it is usable in a file name (letters, digits, ``._-``), else raise."""
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value) or ".." in value:
        raise UnsafePathError(f"{what} {value!r} is not a safe file name part")
    return value


@dataclass(frozen=True)
class RecordingPaths:
    """The recordings root, as the server and as Asterisk see it."""

    root: Path
    asterisk_root: str | None = None
    extension: str = "wav"

    def relative_for(self, interaction_id: str, recording_id: str, at: datetime) -> str:
        """Relative path of a new recording, dated by ``at`` (UTC)."""
        day = at.astimezone(UTC)
        name = f"{safe_name(interaction_id, 'interaction id')}-{safe_name(recording_id)}"
        return f"{day:%Y/%m/%d}/{name}.{self.extension}"

    def speaker_file(self, relative: str, speaker: str) -> str:
        """The file of one direction of ``relative``: ``<name>-caller.wav`` (what MixMonitor's
        ``r()`` writes: the audio received from the caller's channel) or ``<name>-agent.wav``
        (``t()``: what is sent to the caller, the agent's side)."""
        if speaker not in SPEAKERS:
            raise UnsafePathError(f"unknown speaker {speaker!r}")
        rel = PurePosixPath(relative)
        return str(rel.with_name(f"{rel.stem}-{speaker}{rel.suffix}"))

    def asterisk_path(self, relative: str) -> str:
        """Absolute path to hand to MixMonitor (the Asterisk host's view of the root)."""
        base = self.asterisk_root if self.asterisk_root else str(self.root.resolve())
        rel = PurePosixPath(relative)
        if rel.is_absolute() or ".." in rel.parts:
            raise UnsafePathError(f"relative path {relative!r} is not inside the root")
        return f"{base.rstrip('/')}/{rel}"

    def local_path(self, relative: str) -> Path:
        """Where this server finds ``relative`` (not checked; use ``resolve`` before reading)."""
        return self.root / relative

    def ensure_dir(self, relative: str) -> None:
        """Create the day directory (useful when Asterisk shares this host and our umask)."""
        (self.root / relative).parent.mkdir(parents=True, exist_ok=True)

    def resolve(self, relative: str) -> Path:
        """The real file for ``relative``; UnsafePathError if it resolves outside the root."""
        if not relative or "\x00" in relative:
            raise UnsafePathError("empty or NUL path")
        root = self.root.resolve()
        target = (root / relative).resolve()
        if target == root or not target.is_relative_to(root):
            raise UnsafePathError(f"{relative!r} resolves outside the recordings root")
        return target
