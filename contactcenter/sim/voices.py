"""What a simulated phone says, mixed into the MixMonitor files that hear it.

Design note: a ``Phone(speech=...)`` plays an 8 kHz mono WAV into its calls from the moment
its channel first shares a bridge with a recorded channel. The recorder keeps only the clock
time that happened; the file is laid out when it is written, as the rest of the recording is:
the voice lands at the file offset of that clock time, is cut where the recording was muted
(as MixMonitorMute drops those frames), and is absent from stretches option ``b`` leaves out.
A recording that hears a voice holds it over a faint noise floor instead of the two-tone
"dialogue", which would drown the words for a speech recogniser; muted stretches stay digital
silence, as always.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile

if TYPE_CHECKING:
    from .recorder import Recording

RATE = 8000
NOISE_FLOOR = 40  # peak of the faint noise under a voice (of 32767): never digital silence


def _voice(path: Path) -> np.ndarray:
    samples, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    if rate != RATE:
        raise ValueError(f"{path}: a phone's speech must be 8 kHz, not {rate} Hz")
    return np.asarray(samples[:, 0], dtype=np.int32)


def with_voices(rec: Recording, ended: float, samples: np.ndarray,
                voices: list[tuple[float, Path, bool]] | None = None,
                speech: bool = False) -> np.ndarray:
    """``samples`` (``render``'s file) with ``voices`` (default: every voice ``rec`` heard)
    laid in; ``speech``: lay the noise floor even without a voice (one direction's file of a
    call where someone else spoke)."""
    voices = rec.voices if voices is None else voices
    if not voices and not speech:
        return samples
    out = samples.astype(np.int32)
    stretches = []  # (clock start, clock end, file offset, samples, audible)
    at = 0
    for (t0, bridged, muted), (t1, *_rest) in pairwise(rec.marks + [(ended, False, False)]):
        if rec.bridged_only and not bridged:
            continue
        n = round(max(0.0, t1 - t0) * RATE)
        stretches.append((t0, t1, at, n, bridged and not muted))
        at += n
    noise = np.random.default_rng(0)
    for _t0, _t1, a, n, audible in stretches:
        if audible and a < len(out):
            b = min(len(out), a + n)
            out[a:b] = noise.integers(-NOISE_FLOOR, NOISE_FLOOR + 1, b - a)
    for start, path, _received in voices:
        voice = _voice(path)
        for t0, t1, a, n, audible in stretches:
            lo, hi = max(t0, start), min(t1, start + len(voice) / RATE)
            if not audible or hi <= lo:
                continue
            fa, va = a + round((lo - t0) * RATE), round((lo - start) * RATE)
            k = min(round((hi - lo) * RATE), n - (fa - a), len(out) - fa, len(voice) - va)
            if k > 0:
                out[fa:fa + k] += voice[va:va + k]
    return np.clip(out, -32768, 32767).astype(np.int16)
