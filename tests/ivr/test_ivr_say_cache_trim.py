"""The ``say`` node's speech cache is trimmed: files unused past the age limit go, then the least
recently used until the size limit holds; a file handed out moments ago (Asterisk may be opening
it) never goes; a hand-out counts as a use; the settings are checked with their positions."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.tts import EspeakSynthesizer, TtsSettings, cache_key, trim_cache

DAY = 86400.0
KB = 1024


def _file(folder: Path, name: str, size: int, used_ago_s: float) -> Path:
    path = folder / name
    path.write_bytes(b"\0" * size)
    at = time.time() - used_ago_s
    os.utime(path, (at, at))
    return path


def _wav(path: Path, seconds: float = 0.5) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.zeros(int(8000 * seconds), dtype=np.int16), 8000,
                    subtype="PCM_16", format="WAV")


def test_old_files_then_least_recently_used_go_until_the_size_fits(tmp_path):
    _file(tmp_path, "ancient.wav", 10 * KB, 40 * DAY)  # past a 30-day age limit
    _file(tmp_path, "a.wav", 10 * KB, 5 * DAY)
    _file(tmp_path, "b.wav", 10 * KB, 4 * DAY)
    _file(tmp_path, "c.wav", 10 * KB, 3 * DAY)
    _file(tmp_path, "d.wav", 10 * KB, 2 * DAY)
    _file(tmp_path, ".x.123.tmp", 1 * KB, 2 * DAY)  # an interrupted rendering's leftover
    keep = _file(tmp_path, "notes.txt", 50 * KB, 90 * DAY)  # not a rendering: never touched
    report = trim_cache(tmp_path, 25 * KB, 30 * DAY, 600, time.time())
    assert report.removed == ("ancient.wav", "a.wav", "b.wav", ".x.123.tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.wav", "d.wav", "notes.txt"]
    assert report.kept_bytes == 20 * KB and keep.exists()


def test_zero_limits_keep_everything(tmp_path):
    _file(tmp_path, "a.wav", 10 * KB, 400 * DAY)
    assert trim_cache(tmp_path, 0, 0, 600, time.time()).removed == ()
    assert trim_cache(tmp_path / "missing", 1, 1, 600, time.time()).removed == ()


def test_a_file_used_moments_ago_stays_even_over_the_limits(tmp_path):
    _file(tmp_path, "old.wav", 10 * KB, 40 * DAY)
    _file(tmp_path, "playing.wav", 10 * KB, 5.0)  # handed to Asterisk five seconds ago
    report = trim_cache(tmp_path, 1, 30 * DAY, 600, time.time())
    assert report.removed == ("old.wav",)
    assert (tmp_path / "playing.wav").exists()


async def test_the_synthesizer_touches_what_it_hands_out_and_never_trims_it(tmp_path):
    settings = TtsSettings(cache_dir=tmp_path, cache_max_mb=0, cache_max_age_days=30,
                           cache_keep_s=600)
    tts = EspeakSynthesizer(settings)
    # Two cached renderings, both last used 40 days ago (no espeak-ng needed: cache hits).
    hot = tmp_path / f"{cache_key('your balance is 42 dollars', 'en-us', 160)}.wav"
    cold = tmp_path / f"{cache_key('goodbye', 'en-us', 160)}.wav"
    for path in (hot, cold):
        _wav(path)
        at = time.time() - 40 * DAY
        os.utime(path, (at, at))
    played = await tts.render("your balance is 42 dollars", "en-us", 160)
    assert played.cached and played.sound == str(hot.with_suffix(""))
    assert time.time() - hot.stat().st_mtime < 60  # the hand-out is its last use
    # Even if its time on disk says otherwise (another host's clock, a copied folder), the
    # file this server just handed out is playing: it stays.
    at = time.time() - 40 * DAY
    os.utime(hot, (at, at))
    report = await tts.trim()
    assert report.removed == (cold.name,)
    assert hot.exists() and not cold.exists()
    # Once the keep window is over it is an old file like any other.
    tts._handed[hot.stem] -= 601
    assert (await tts.trim()).removed == (hot.name,)
    await tts.close()


def test_cache_limits_are_settings_checked_with_positions():
    s = IvrSettings.from_mapping({"tts": {"cache_max_mb": 50, "cache_max_age_days": 7,
                                          "cache_keep": 120}})
    assert (s.tts.cache_max_mb, s.tts.cache_max_age_days, s.tts.cache_keep_s) == (50, 7, 120.0)
    defaults = IvrSettings.from_mapping({}).tts
    assert (defaults.cache_max_mb, defaults.cache_max_age_days, defaults.cache_keep_s) == (
        500, 30, 600.0)
    with pytest.raises(SourceErrors) as exc:
        IvrSettings.from_mapping({"tts": {"cache_keep": 5, "cache_max_mb": "lots"}})
    text = " ".join(str(e) for e in exc.value.errors)
    assert "'cache_keep' must be between 60 and 86400" in text
    assert "cache_max_mb" in text and "whole number" in text
