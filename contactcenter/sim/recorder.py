"""MixMonitor as the simulator does it: a real 8 kHz mono PCM_16 WAV whose length is the call's.

Design note: while a recording runs we only note (clock time, bridged?, muted?) changes. The
file is rendered once, when the recording stops or the channel hangs up: a soft two-tone
"conversation" while bridged and not muted, digital silence while muted (MixMonitorMute keeps
the clock running). Unbridged time is silence too, except with option ``b`` (bridged only):
app_mixmonitor.c then drops those frames, so the file holds the bridged stretches only and
its length is the bridged time, as with real Asterisk.

Options ``r(file)`` and ``t(file)`` also write each direction to a file of its own, as
app_mixmonitor does: ``r`` the audio received from the recorded channel (its own phone's
voice), ``t`` the audio transmitted to it (everyone else in the bridge). They are laid out like
the mixed file (same length, same muted and unbridged stretches); without voices each holds its
half of the two-tone dialogue.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import soundfile

from contactcenter.domain.clock import Clock

from .voices import with_voices

log = logging.getLogger(__name__)
RATE = 8000
MAX_SECONDS = 4 * 3600  # a forgotten recording must not fill the disk
KEEP_FINISHED = 256  # recordings whose marks stay readable after they stop (tests read them)


@dataclass
class Recording:
    """One running MixMonitor on one channel."""

    path: Path
    started: float
    marks: list[tuple[float, bool, bool]] = field(default_factory=list)  # (time, bridged, muted)
    muted: bool = False
    bridged: bool = False
    bridged_only: bool = False  # option ``b``
    # (clock time, 8 kHz WAV, received?): received is the recorded channel's own voice
    voices: list[tuple[float, Path, bool]] = field(default_factory=list)
    rx_path: Path | None = None  # option ``r(file)``: what the channel says
    tx_path: Path | None = None  # option ``t(file)``: what the channel hears

    def note(self, now: float) -> None:
        """Record the current bridged/muted state from ``now`` on."""
        state = (self.bridged, self.muted)
        if not self.marks or self.marks[-1][1:] != state:
            self.marks.append((now, *state))


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


def _layout(rec: Recording, ended: float) -> list[tuple[int, bool]]:
    """(samples, audible) of each stretch of the file, in file order."""
    spans: list[tuple[int, bool]] = []
    for (t0, bridged, muted), (t1, *_rest) in pairwise(rec.marks + [(ended, False, False)]):
        if rec.bridged_only and not bridged:
            continue  # option b: frames outside a bridge never reach the file
        n = round(max(0.0, t1 - t0) * RATE)
        spans.append((n, bridged and not muted))
    return spans


def silences(rec: Recording, ended: float) -> list[tuple[float, float]]:
    """Where the file of ``rec`` is silent, in seconds from its start: laid out from the clock
    times at which this "Asterisk" muted, unmuted and bridged, not measured in the audio."""
    out: list[tuple[float, float]] = []
    at = 0
    for n, audible in _layout(rec, ended):
        if not audible and n:
            if out and out[-1][1] == at / RATE:
                out[-1] = (out[-1][0], (at + n) / RATE)
            else:
                out.append((at / RATE, (at + n) / RATE))
        at += n
    return out


def render(rec: Recording, ended: float, part: int | None = None) -> np.ndarray:
    """The samples of ``rec`` from its start to ``ended`` (clock seconds); ``part`` 0 or 1:
    only one side of the dialogue (the received or the transmitted direction)."""
    spans = _layout(rec, ended)
    total = min(sum(n for n, _ in spans), MAX_SECONDS * RATE)
    out = np.zeros(total, dtype=np.int16)
    a = 0
    for n, audible in spans:
        b = min(total, a + n)
        if audible and b > a:
            t = np.arange(a, b) / RATE
            # two voices alternating every 3 s, so the file sounds (and looks) like a dialogue
            side = (t // 3) % 2
            freq = np.where(side == 0, 440.0, 660.0)
            wave = 3000 * np.sin(2 * np.pi * freq * t)
            if part is not None:
                wave = np.where(side == part, wave, 0.0)
            out[a:b] = wave.astype(np.int16)
        a = b
    return out


def _argument(options: str, letter: str) -> str | None:
    """The ``(argument)`` of option ``letter`` (``r(/x/a.wav)`` -> ``/x/a.wav``), or None."""
    depth, start = 0, -1
    for i, c in enumerate(options):
        if c == "(":
            if depth == 0 and i > 0 and options[i - 1] == letter:
                start = i + 1
            depth += 1
        elif c == ")" and depth > 0:
            depth -= 1
            if depth == 0 and start >= 0:
                return options[start:i]
    return None


def _flags(options: str) -> str:
    """Option letters without their ``(arguments)``, e.g. ``bW(2)`` -> ``bW``."""
    out, depth = [], 0
    for c in options:
        depth += c == "("
        if depth == 0:
            out.append(c)
        depth -= c == ")" and depth > 0
    return "".join(out)


class Recorder:
    """Running recordings by channel name; writes the WAV when one ends."""

    def __init__(self, clock: Clock, recordings_dir: Path | None) -> None:
        self._clock = clock
        self._dir = recordings_dir
        self.active: dict[str, Recording] = {}
        self.written: list[Path] = []
        self.finished: OrderedDict[Path, tuple[Recording, float]] = OrderedDict()

    def silences(self, path: Path) -> list[tuple[float, float]]:
        """Where the finished file at ``path`` is silent (``silences``); for tests."""
        rec, ended = self.finished[Path(path).resolve()]
        return silences(rec, ended)

    def start(self, channel: str, filename: str, bridged: bool, options: str = "") -> Path:
        """Start recording ``channel`` into ``filename`` (MixMonitor ``options``); returns the path."""
        path = resolve_path(filename, self._dir)
        flags = _flags(options)
        rx, tx = (_argument(options, x) if x in flags else None for x in "rt")
        rec = Recording(path=path, started=self._clock.time(), bridged=bridged,
                        bridged_only="b" in flags,
                        rx_path=resolve_path(rx, self._dir) if rx else None,
                        tx_path=resolve_path(tx, self._dir) if tx else None)
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

    def heard(self, channels: list[tuple[str, str | None]]) -> None:
        """Channels ``(name, speech file)`` now share a bridge: each recording among them
        hears the others' speech, and its own channel's, from now on (once per speaker;
        ``voices.py``)."""
        for name, _own in channels:
            rec = self.active.get(name)
            if rec is None or len(channels) < 2:  # alone in a bridge: nobody to talk to
                continue
            for other, speech in channels:
                received = other == name
                if speech and all(
                        (p, r) != (Path(speech), received) for _t, p, r in rec.voices):
                    rec.voices.append((self._clock.time(), Path(speech), received))

    def stop(self, channel: str) -> Path | None:
        """Stop and write the recording of ``channel``; None when there was none."""
        rec = self.active.pop(channel, None)
        if rec is None:
            return None
        ended = self._clock.time()
        files = [(rec.path, with_voices(rec, ended, render(rec, ended)))]
        for part, path in enumerate((rec.rx_path, rec.tx_path)):
            if path is not None:
                voices = [v for v in rec.voices if v[2] == (part == 0)]
                base = render(rec, ended, part)
                files.append((path, with_voices(rec, ended, base, voices, bool(rec.voices))))
        self.finished[rec.path.resolve()] = (rec, ended)
        while len(self.finished) > KEEP_FINISHED:
            self.finished.popitem(last=False)
        for path, samples in files:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(str(path), samples, RATE, subtype="PCM_16", format="WAV")
                self.written.append(path)
            except OSError:
                log.exception("could not write recording %s", path)
        return rec.path
