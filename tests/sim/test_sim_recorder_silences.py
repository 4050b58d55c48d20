"""The simulator's record of where a recording is silent agrees with the audio it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile

from contactcenter.recording.metadata import silent_spans
from contactcenter.sim.recorder import Recording, render, silences


@pytest.mark.parametrize("bridged_only", [False, True])
def test_silences_are_where_the_rendered_audio_is_silent(tmp_path: Path, bridged_only: bool):
    rec = Recording(tmp_path / "r.wav", 0.0, bridged_only=bridged_only)
    # (clock time, bridged, muted): ringing, talk, muted for a card number, talk, on hold.
    rec.marks = [(0.0, False, False), (2.0, True, False), (5.25, True, True),
                 (9.5, True, False), (12.0, False, False), (13.0, True, False)]
    soundfile.write(str(rec.path), render(rec, 15.0), 8000, subtype="PCM_16", format="WAV")
    expected = [(0.0, 2.0), (5.25, 9.5), (12.0, 13.0)]
    if bridged_only:  # option b: unbridged stretches are not in the file at all
        expected = [(3.25, 7.5)]
    assert silences(rec, 15.0) == expected
    found = silent_spans(rec.path)
    assert [(round(a, 2), round(b, 2)) for a, b in found] == expected
