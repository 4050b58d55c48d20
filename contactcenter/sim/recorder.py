"""MixMonitor as the simulator does it: a real 8 kHz mono PCM_16 WAV whose length is the call's.

Design note: while a recording runs we only note (clock time, audible?) changes: audible when
the channel is bridged and not muted. The file is rendered once, when the recording stops or
the channel hangs up: a soft two-tone "conversation" while audible, digital silence otherwise.
"""

from __future__ import annotations

import logging
from itertools import pairwise
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from contactcenter.domain.clock import Clock

log = logging.getLogger(__name__)
RATE = 8000
MAX_SECONDS = 4 * 3600  # a forgotten recording must not fill the disk


@dataclass
class Recording:
    """One running MixMonitor on one channel."""

    path: Path
    started: float
    marks: list[tuple[float, bool]] = field(default_factory=list)  # (clock time, audible)
    muted: bool = False
    bridged: bool = False

    def note(self, now: float) -> None:
        """Record the current audibility from ``now`` on."""
        audible = self.bridged and not self.muted
        if not self.marks or self.marks[-1][1] != audible:
            self.marks.append((now, audible))


def resolve_path(name: str, recordings_dir: Path | None) -> Path:
    """Where a MixMonitor file name lands: under ``recordings_dir`` (the shared recordings root).

    An absolute path already inside that directory is taken as is (the server and this
    "Asterisk" share the folder); any other absolute path is re-rooted under it.
    """
    base = recordings_dir or Path(".")
    path = Path(name)
    if ".." in path.parts:
        raise ValueError(f"recording path escapes the recordings directory: {name!r}")
    if path.is_absolute() and recordings_dir is not None:
        try:
            return recordings_dir / path.relative_to(recordings_dir.resolve())
        except ValueError:
            pass
    rel = Path(name.lstrip("/")) if path.is_absolute() else path
    if ".." in rel.parts:
        raise ValueError(f"recording path escapes the recordings directory: {name!r}")
    return base / rel


def render(rec: Recording, ended: float) -> np.ndarray:
    """The samples of ``rec`` from its start to ``ended`` (clock seconds)."""
    total = int(min(max(0.0, ended - rec.started), MAX_SECONDS) * RATE)
    out = np.zeros(total, dtype=np.int16)
    marks = rec.marks + [(ended, False)]
    for (t0, audible), (t1, _) in pairwise(marks):
        if not audible:
            continue
        a, b = int((t0 - rec.started) * RATE), int((t1 - rec.started) * RATE)
        a, b = max(0, a), min(total, b)
        if b <= a:
            continue
        t = np.arange(a, b) / RATE
        # two voices alternating every 3 s, so the file sounds (and looks) like a dialogue
        freq = np.where((t // 3) % 2 == 0, 440.0, 660.0)
        out[a:b] = (3000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return out


class Recorder:
    """Running recordings by channel name; writes the WAV when one ends."""

    def __init__(self, clock: Clock, recordings_dir: Path | None) -> None:
        self._clock = clock
        self._dir = recordings_dir
        self.active: dict[str, Recording] = {}
        self.written: list[Path] = []

    def start(self, channel: str, filename: str, bridged: bool) -> Path:
        """Start recording ``channel`` into ``filename``; returns the resolved path."""
        path = resolve_path(filename, self._dir)
        rec = Recording(path=path, started=self._clock.time(), bridged=bridged)
        rec.note(rec.started)
        self.stop(channel)  # a second MixMonitor replaces the first in this simulator
        self.active[channel] = rec
        return path

    def set_bridged(self, channel: str, bridged: bool) -> None:
        """The channel entered or left a bridge."""
        rec = self.active.get(channel)
        if rec is not None:
            rec.bridged = bridged
            rec.note(self._clock.time())

    def mute(self, channel: str, muted: bool) -> bool:
        """MixMonitorMute; False when nothing records on ``channel``."""
        rec = self.active.get(channel)
        if rec is None:
            return False
        rec.muted = muted
        rec.note(self._clock.time())
        return True

    def stop(self, channel: str) -> Path | None:
        """Stop and write the recording of ``channel``; None when there was none."""
        rec = self.active.pop(channel, None)
        if rec is None:
            return None
        samples = render(rec, self._clock.time())
        try:
            rec.path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(str(rec.path), samples, RATE, subtype="PCM_16", format="WAV")
            self.written.append(rec.path)
        except OSError:
            log.exception("could not write recording %s", rec.path)
        return rec.path
