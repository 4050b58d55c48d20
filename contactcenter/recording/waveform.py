"""A recording's waveform for the player: per-bucket peaks, read block by block with soundfile.

Design note: the browser draws the waveform on a canvas from these few hundred numbers, so it
never has to download and decode the whole file before showing where the talk and the silent
stretches are. A file is read in blocks (a one-hour call is 28.8 M samples at 8 kHz, read as
one float array it would be 115 MB), and each block folds into the buckets it covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

BLOCK_FRAMES = 8000 * 30
MIN_BUCKETS, MAX_BUCKETS = 10, 4000


@dataclass(frozen=True, slots=True)
class Peaks:
    """Lowest and highest sample of each equal slice of the file, in [-1, 1]."""

    duration_s: float
    sample_rate: int
    low: tuple[float, ...]
    high: tuple[float, ...]

    def as_json(self) -> dict[str, object]:
        """``{duration_s, sample_rate, buckets, low, high}`` (values rounded to 1/1000)."""
        return {"duration_s": round(self.duration_s, 3), "sample_rate": self.sample_rate,
                "buckets": len(self.low), "low": list(self.low), "high": list(self.high)}


def peaks(path: Path, buckets: int) -> Peaks:
    """The peaks of ``path`` in ``buckets`` slices (blocking: call it in a thread).

    Every channel counts (the loudest sample of any channel). Raises ``soundfile``'s errors
    (``LibsndfileError``, ``RuntimeError``) or ``OSError`` when the file cannot be read.
    """
    buckets = max(MIN_BUCKETS, min(MAX_BUCKETS, int(buckets)))
    info = soundfile.info(str(path))
    frames, rate = int(info.frames), int(info.samplerate)
    low = np.zeros(buckets, dtype=np.float32)
    high = np.zeros(buckets, dtype=np.float32)
    if frames > 0:
        # Bucket i covers frames [edges[i], edges[i + 1]).
        edges = np.linspace(0, frames, buckets + 1).astype(np.int64)
        at = 0
        for block in soundfile.blocks(str(path), blocksize=BLOCK_FRAMES, dtype="float32",
                                      always_2d=True):
            n = len(block)
            mono_hi = block.max(axis=1)
            mono_lo = block.min(axis=1)
            first = int(np.searchsorted(edges, at, side="right")) - 1
            last = int(np.searchsorted(edges, at + n - 1, side="right")) - 1
            for i in range(max(first, 0), min(last, buckets - 1) + 1):
                a = max(int(edges[i]), at) - at
                b = min(int(edges[i + 1]), at + n) - at
                if b > a:
                    high[i] = max(high[i], float(mono_hi[a:b].max()))
                    low[i] = min(low[i], float(mono_lo[a:b].min()))
            at += n
    return Peaks(
        duration_s=frames / rate if rate else 0.0,
        sample_rate=rate,
        low=tuple(round(float(v), 3) for v in low),
        high=tuple(round(float(v), 3) for v in high),
    )
