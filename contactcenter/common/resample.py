"""Audio resampling for telephone audio (8 kHz playback, 16 kHz recognition), with numpy only."""

from __future__ import annotations

import numpy as np


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """``samples`` (1-D) at ``rate_out``, band-limited by truncating or padding the spectrum;
    16-bit integers out."""
    x = np.asarray(samples, dtype=np.float64)
    if rate_in == rate_out or len(x) == 0:
        return np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    n_out = max(1, round(len(x) * rate_out / rate_in))
    spectrum = np.fft.rfft(x)
    keep = n_out // 2 + 1
    out = np.zeros(keep, dtype=np.complex128)
    m = min(keep, len(spectrum))
    out[:m] = spectrum[:m]
    y = np.fft.irfft(out, n_out) * (n_out / len(x))
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)
