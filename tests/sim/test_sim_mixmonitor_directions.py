"""MixMonitor's ``r(file)`` and ``t(file)`` in the simulator, as app_mixmonitor writes them: the
received direction (the recorded channel's own voice) and the transmitted one (what it hears)
each in a file of its own, laid out like the mixed file (same length, same muted stretches),
while the mixed file holds both voices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from contactcenter.domain.clock import Clock
from contactcenter.sim.recorder import Recorder, _argument

RATE = 8000


@dataclass
class _Clock(Clock):
    """A clock the test moves by hand."""

    now: float = 1000.0

    def time(self) -> float:
        return self.now


def _tone(path: Path, hz: float, seconds: float, lead_s: float = 0.0) -> str:
    t = np.arange(int(seconds * RATE)) / RATE
    body = (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    samples = np.concatenate([np.zeros(int(lead_s * RATE), dtype=np.int16), body])
    soundfile.write(str(path), samples, RATE, subtype="PCM_16", format="WAV")
    return str(path)


def _level(samples: np.ndarray, hz: float, start_s: float, end_s: float) -> float:
    """How much of ``hz`` is in ``samples`` between the two times (a one-bin DFT)."""
    part = samples[int(start_s * RATE):int(end_s * RATE)].astype(float)
    t = np.arange(len(part)) / RATE
    return float(abs(np.dot(part, np.exp(-2j * np.pi * hz * t))) / max(1, len(part)))


def test_option_arguments_are_read_with_their_parentheses():
    options = "br(/rec/a-caller.wav)t(/rec/a-agent.wav)"
    assert _argument(options, "r") == "/rec/a-caller.wav"
    assert _argument(options, "t") == "/rec/a-agent.wav"
    assert _argument("bW(2)", "r") is None


def test_each_direction_has_its_file_and_the_mix_has_both(tmp_path):
    clock = _Clock()
    recorder = Recorder(clock, tmp_path)
    caller = _tone(tmp_path / "caller-voice.wav", 700.0, 1.0)  # says it at once
    agent = _tone(tmp_path / "agent-voice.wav", 1900.0, 1.0, lead_s=2.0)  # two seconds later
    ch = "Local/200@cc-inbound-00000001;2"
    mixed = recorder.start(ch, "2026/05/01/x.wav", bridged=False,
                           options="br(2026/05/01/x-caller.wav)t(2026/05/01/x-agent.wav)")
    clock.now += 1.0  # ringing: option b keeps it out of every file
    recorder.set_bridged(ch, True)
    recorder.heard([(ch, caller), ("PJSIP/1001-00000002", agent)])
    clock.now += 4.0
    recorder.mute(ch, True)  # a pause silences every direction
    clock.now += 1.0
    recorder.mute(ch, False)
    clock.now += 1.0
    recorder.stop(ch)

    files = {name: soundfile.read(str(tmp_path / "2026/05/01" / name), dtype="int16")
             for name in ("x.wav", "x-caller.wav", "x-agent.wav")}
    assert mixed == tmp_path / "2026/05/01/x.wav"
    assert {name: (rate, len(s)) for name, (s, rate) in files.items()} == {
        name: (RATE, 6 * RATE) for name in files}
    rx, tx, mix = (files[n][0] for n in ("x-caller.wav", "x-agent.wav", "x.wav"))
    # The caller's voice (0..1 s) is received, the agent's (2..3 s) transmitted.
    assert _level(rx, 700, 0.1, 0.9) > 1000 and _level(rx, 1900, 2.1, 2.9) < 50
    assert _level(tx, 1900, 2.1, 2.9) > 1000 and _level(tx, 700, 0.1, 0.9) < 50
    assert _level(mix, 700, 0.1, 0.9) > 1000 and _level(mix, 1900, 2.1, 2.9) > 1000
    for samples in (rx, tx, mix):
        assert not samples[4 * RATE:5 * RATE].any()  # muted: digital silence everywhere
        assert samples[5 * RATE:].any()  # after it the noise floor again, not silence
