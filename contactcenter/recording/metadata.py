"""Audio facts of a closed recording, read with soundfile; problems are values, never crashes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile


@dataclass(frozen=True, slots=True)
class AudioMetadata:
    """Duration, format and size of a readable recording."""

    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class MetadataProblem:
    """Why a recording could not be read: ``missing`` or ``corrupt``, with a short reason."""

    status: str
    reason: str
    size_bytes: int | None = None


def read_metadata(path: Path) -> AudioMetadata | MetadataProblem:
    """Read ``path``'s header with soundfile (blocking: call it in a thread)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return MetadataProblem("missing", "file not found")
    except OSError as exc:
        return MetadataProblem("missing", f"cannot stat: {exc.strerror or exc}")
    if not path.is_file():
        return MetadataProblem("corrupt", "not a regular file", size)
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError, OSError, ValueError) as exc:
        return MetadataProblem("corrupt", f"unreadable audio: {str(exc)[:200]}", size)
    if info.samplerate <= 0 or info.channels <= 0 or info.frames < 0:
        return MetadataProblem("corrupt", "nonsensical header", size)
    return AudioMetadata(
        duration_s=info.frames / info.samplerate,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        size_bytes=size,
    )


def silent_spans(
    path: Path, min_length_s: float = 0.5, threshold: float = 1e-4
) -> list[tuple[float, float]]:
    """Spans (start, end) in seconds where the audio is digital silence (blocking)."""
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    quiet = np.max(np.abs(data), axis=1) <= threshold
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [
        (s / rate, e / rate) for s, e in zip(starts, ends) if (e - s) / rate >= min_length_s
    ]
