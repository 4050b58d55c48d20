"""Spoken dynamic prompts: text -> an 8 kHz mono WAV that Asterisk plays, cached on disk.

Design note: a ``say`` node with ``text`` asks a ``Synthesizer`` for a sound. The espeak-ng one
keys each rendering by a hash of (text, voice, rate): ``<cache_dir>/<key>.wav``, so the second
call with the same words plays the file made for the first, and a restart keeps the cache.
espeak-ng runs as a child process (never in the event loop), reads the text on stdin (no text
is ever taken as an option) and writes a 22 kHz WAV on stdout; it is resampled to 8 kHz
16-bit mono, the format Asterisk's ``wav`` reads, in a worker thread, written to a temporary
name and renamed into place, so Asterisk never sees half a file and two servers sharing the
folder cannot collide. Two calls asking for the same new text at once share one rendering (a
lock per key). Any failure (engine missing, unknown voice, timeout, empty audio) is a
``SpeechFailed``: the runner then plays the node's fallback prompt (never dead air).

The cache is trimmed (``trim_cache``) after a new rendering, at most once per
``TRIM_EVERY_S``: files unused for ``cache_max_age_days`` go, then the least recently used
until the folder holds at most ``cache_max_mb``. A file's modification time is its last use:
every hand-out touches it, so the rule holds across restarts and for several servers sharing
the folder. A file handed out less than ``cache_keep_s`` ago is never removed, whatever the
limits say: Asterisk may be opening it right now (STREAM FILE reads it after we answer). In
this process the hand-out and the removal also take one lock, so a file cannot be handed out
between the check and the unlink.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import soundfile

from contactcenter.common.resample import resample

RATE = 8000  # what Asterisk's ``wav`` format holds: 8 kHz signed linear
TRIM_EVERY_S = 60.0  # real seconds between two trims of the cache (each lists the folder)


@dataclass(frozen=True, slots=True)
class TtsSettings:
    """The ``ivr.tts`` section: the engine, where renderings are kept, the defaults of nodes."""

    engine: str = "espeak-ng"  # a command name on PATH or a path
    cache_dir: Path = Path("/var/spool/asterisk/contactcenter/tts")
    voice: str = "en-us"
    rate: int = 160  # words a minute
    timeout_s: float = 10.0  # real seconds one rendering may take
    fallback_prompt: tuple[str, ...] = field(default_factory=tuple)
    max_chars: int = 600  # longer texts are cut at a word
    cache_max_mb: int = 500  # the cache's size limit (0: no limit)
    cache_max_age_days: int = 30  # a rendering unused this long is removed (0: kept)
    cache_keep_s: float = 600.0  # a file handed out this recently is never removed


class SpeechFailed(Exception):
    """The text could not be turned into audio."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendering ready to play: ``sound`` is what STREAM FILE takes (no extension)."""

    sound: str
    cached: bool
    seconds: float


class Synthesizer(Protocol):
    """What the runner needs: text, voice and rate in, a playable sound out."""

    async def render(self, text: str, voice: str, rate: int) -> Rendered:
        """The sound for ``text``; raises ``SpeechFailed``."""
        ...


def cache_key(text: str, voice: str, rate: int) -> str:
    """The file name (without extension) of a rendering: 32 hex digits of a sha256."""
    blob = json.dumps([text, voice, int(rate)], ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def write_telephone_wav(wav: bytes, path: Path) -> float:
    """Decode espeak-ng's WAV, write it as 8 kHz mono 16-bit at ``path`` atomically; seconds."""
    try:
        samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise SpeechFailed(f"the engine's audio is unreadable: {exc}") from None
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    if len(mono) == 0:
        raise SpeechFailed("the engine produced no audio")
    out = resample(mono, int(rate), RATE)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            soundfile.write(fh, out, RATE, subtype="PCM_16", format="WAV")
        os.chmod(tmp, 0o644)  # Asterisk runs as another user
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(out) / RATE


@dataclass(frozen=True, slots=True)
class TrimReport:
    """What one trim removed, and what the cache holds after it."""

    removed: tuple[str, ...]  # file names
    kept_bytes: int


def trim_cache(folder: Path, max_bytes: int, max_age_s: float, keep_s: float, now: float,
               in_use: Callable[[str], bool] = lambda _name: False,
               guard: threading.Lock | None = None) -> TrimReport:
    """Remove renderings unused for ``max_age_s`` (0: none), then the least recently used
    until at most ``max_bytes`` remain (0: no limit); never one used less than ``keep_s``
    before ``now`` (wall seconds) nor one ``in_use`` says is playing. Left-over temporary files
    of an interrupted rendering go too. Blocking: run it in a thread."""
    files: list[tuple[float, int, Path]] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return TrimReport((), 0)
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if entry.is_file(follow_symlinks=False) and (
                entry.name.endswith(".wav") or entry.name.endswith(".tmp")):
            files.append((st.st_mtime, st.st_size, Path(entry.path)))
    files.sort()  # least recently used first
    total = sum(size for _m, size, _p in files)
    removed: list[str] = []
    for mtime, size, path in files:
        stale = path.name.endswith(".tmp") or (max_age_s > 0 and now - mtime > max_age_s)
        if not stale and not (max_bytes > 0 and total > max_bytes):
            continue
        with guard if guard is not None else contextlib.nullcontext():
            try:  # its time again, under the lock: a hand-out since the listing keeps it
                recent = now - path.stat().st_mtime < keep_s
            except OSError:
                continue
            if recent or in_use(path.stem):
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        total -= size
        removed.append(path.name)
    return TrimReport(tuple(removed), total)


class EspeakSynthesizer:
    """espeak-ng in a child process, renderings cached in ``settings.cache_dir``."""

    def __init__(self, settings: TtsSettings) -> None:
        self.settings = settings
        self.renders = 0  # renderings made (not found in the cache), for tests and metrics
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # Hand-outs and the trim's unlinks exclude each other (the trim runs in a thread).
        self._guard = threading.Lock()
        self._handed: dict[str, float] = {}  # key -> wall time it was last handed out
        self._trimmed_at: float | None = None  # monotonic time of the last trim started
        self._trim: asyncio.Task[TrimReport] | None = None

    def path_for(self, text: str, voice: str, rate: int) -> Path:
        """Where the rendering of (text, voice, rate) is kept."""
        return Path(self.settings.cache_dir) / f"{cache_key(text, voice, rate)}.wav"

    async def render(self, text: str, voice: str, rate: int) -> Rendered:
        """The cached rendering, or a new one; raises ``SpeechFailed``."""
        path = self.path_for(text, voice, rate)
        key = path.stem
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self._hand_out(key, path):
                    return Rendered(str(path.with_suffix("")), True, _seconds(path))
                seconds = await self._synthesize(text, voice, rate, path)
                self.renders += 1
                self._hand_out(key, path)
                self._maybe_trim()
                return Rendered(str(path.with_suffix("")), False, seconds)
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def _hand_out(self, key: str, path: Path) -> bool:
        """Mark ``path`` used now (its mtime, and in memory); False when it is not there."""
        with self._guard:
            try:
                os.utime(path)
            except OSError:  # missing (never made, or trimmed): render it
                return False
            now = time.time()
            self._handed[key] = now
            if len(self._handed) > 4096:  # only the recent ones matter
                horizon = now - self.settings.cache_keep_s
                self._handed = {k: t for k, t in self._handed.items() if t >= horizon}
            return True

    def _in_use(self, key: str) -> bool:
        # Called by the trim under ``_guard``.
        handed = self._handed.get(key)
        return handed is not None and time.time() - handed < self.settings.cache_keep_s

    def _maybe_trim(self) -> None:
        now = time.monotonic()
        if self._trim is not None and not self._trim.done():
            return
        if self._trimmed_at is not None and now - self._trimmed_at < TRIM_EVERY_S:
            return
        self._trimmed_at = now
        self._trim = asyncio.get_running_loop().create_task(self.trim(), name="tts-cache-trim")

    async def trim(self) -> TrimReport:
        """Trim the cache now to the settings' limits (``trim_cache``), in a worker thread."""
        st = self.settings
        return await asyncio.to_thread(
            trim_cache, Path(st.cache_dir), int(st.cache_max_mb * 1024 * 1024),
            st.cache_max_age_days * 86400.0, st.cache_keep_s, time.time(), self._in_use,
            self._guard)

    async def close(self) -> None:
        """Wait for a trim in progress (its thread cannot be stopped halfway anyway)."""
        if self._trim is not None:
            with contextlib.suppress(Exception):
                await self._trim

    async def _synthesize(self, text: str, voice: str, rate: int, path: Path) -> float:
        exe = shutil.which(self.settings.engine)
        if exe is None:
            raise SpeechFailed(f"{self.settings.engine} is not installed")
        proc = await asyncio.create_subprocess_exec(
            exe, "-v", voice, "-s", str(int(rate)), "--stdin", "--stdout",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                wav, err = await proc.communicate(text.encode("utf-8"))
        except TimeoutError:
            raise SpeechFailed(f"took longer than {self.settings.timeout_s:g} s") from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if proc.returncode != 0 or len(wav) <= 44:
            reason = err.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
            raise SpeechFailed(f"{self.settings.engine}: {reason[:200]}")
        return await asyncio.to_thread(write_telephone_wav, wav, path)


def _seconds(path: Path) -> float:
    try:
        return float(soundfile.info(str(path)).duration)
    except (RuntimeError, soundfile.LibsndfileError):
        return 0.0


def installed_voices(engine: str = "espeak-ng") -> set[str] | None:
    """The voices ``engine`` knows (``--voices``: languages, names, files; lower case); None
    when it is missing. For ``flows check``, outside the event loop."""
    exe = shutil.which(engine)
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--voices"], capture_output=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names: set[str] = set()
    for line in out.decode("utf-8", "replace").splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5:
            names.update(v.lower() for v in (cols[1], cols[3], cols[4], cols[4].rsplit("/", 1)[-1]))
            names.update(v.lstrip("(").lower() for v in cols[5:] if v.startswith("("))
    return names


def voice_installed(voice: str, known: set[str]) -> bool:
    """True when ``voice`` (``en-us`` or ``en-us+klatt``: a variant is not checked) is known."""
    return voice.split("+", 1)[0].lower() in known
