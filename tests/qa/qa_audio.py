"""Audio the tests make themselves: tones, digital silence, and speech (espeak-ng speaks a
text, resampled to telephone quality).

Tests that use it skip when espeak-ng is missing (README's test command must pass without it;
CI installs it: .ci/run). The voice is fixed (espeak-ng's ``en-us+klatt`` at 140 words a
minute, the one pocketsphinx's model understood best on our test set) so results repeat.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from contactcenter.common.resample import resample

VOICE, WPM = "en-us+klatt", 140
RATE = 8000


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """An 8 kHz mono 16-bit WAV of ``samples``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples.astype(np.int16), RATE, subtype="PCM_16", format="WAV")
    return path


def tone(seconds: float, level: int = 6000) -> np.ndarray:
    """A 440 Hz tone (something audible that is not speech)."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    """Digital silence, as a muted MixMonitor writes it."""
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def espeak_or_skip() -> str:
    """The espeak-ng binary, or skip the test."""
    found = shutil.which("espeak-ng")
    if found is None:
        pytest.skip("espeak-ng is missing (apt-get install -y espeak-ng)")
    return found


def spoken(text: str, rate: int = 8000, voice: str = VOICE, wpm: int = WPM) -> np.ndarray:
    """``text`` as espeak-ng says it, resampled to ``rate`` (16-bit mono)."""
    wav = subprocess.run([espeak_or_skip(), "-v", voice, "-s", str(wpm), "--stdout", text],
                         capture_output=True, check=True).stdout
    samples, source_rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    return resample(samples, source_rate, rate)
