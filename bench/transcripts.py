"""Transcript accuracy benchmark: word error rate and keyword spotting on a self-made test set.

Usage: python bench/transcripts.py [--voices en-us+klatt,en-us+f2] [--wpm 140,170]

The test set is made here, every run, from nothing downloaded: espeak-ng speaks each sentence
below in each voice and speed, the audio is resampled to 8 kHz 16-bit mono (a telephone
recording, as MixMonitor writes it) with a second of silence around it, and written as a WAV;
``contactcenter.qa.speech.transcribe`` (the server's own pipeline: resampling to 16 kHz, voice
activity detection, pocketsphinx's US English model) decodes it.

* WER: (substitutions + deletions + insertions) / reference words, over the whole set
  (lower case, punctuation dropped, numbers written as words in the references).
* Keyword spotting: for every sentence and every keyword of ``KEYWORDS``, "spotted" means the
  keyword's words occur consecutively in the transcript; precision and recall are over all
  (sentence, keyword) pairs, so a keyword heard where it was not said is a false positive.
* Real-time factor: decoding seconds per audio second (one core).

A synthetic voice on a general model is a hard case: the figures are a baseline to improve
against, not a promise. Results go to bench/results/transcripts.md.
"""

from __future__ import annotations

import argparse
import io
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contactcenter.common.resample import resample
from contactcenter.qa.phrases import words_of
from contactcenter.qa.speech import transcribe

SENTENCES = [
    "thank you for calling how can i help you today",
    "this call may be recorded for quality and training purposes",
    "i would like to cancel my subscription",
    "can i have your account number please",
    "your balance is four hundred dollars",
    "i was charged twice on my last invoice",
    "let me transfer you to the billing department",
    "is there anything else i can help you with",
    "my internet connection keeps dropping every evening",
    "i want to speak to a supervisor",
    "please hold while i check that for you",
    "the refund will arrive within five business days",
    "could you confirm your date of birth",
    "i would like to upgrade to the premium plan",
    "we are sorry for the inconvenience",
    "thank you for your patience have a nice day",
]
KEYWORDS = [
    "recorded", "cancel", "subscription", "account number", "balance", "invoice", "billing",
    "supervisor", "refund", "upgrade", "premium", "sorry", "transfer", "help", "patience",
    "date of birth",
]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (ref[i - 1] != hyp[j - 1]))
            prev, row[j] = row[j], cur
    return row[len(hyp)]


def contains(words: list[str], phrase: str) -> bool:
    """True when ``phrase``'s words occur consecutively in ``words``."""
    want = phrase.split()
    return any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1))


def speak(espeak: str, text: str, voice: str, wpm: int) -> np.ndarray:
    """``text`` spoken, at 8 kHz, with a second of silence on each side."""
    wav = subprocess.run([espeak, "-v", voice, "-s", str(wpm), "--stdout", text],
                         capture_output=True, check=True).stdout
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    pad = np.zeros(8000, dtype=np.int16)
    return np.concatenate([pad, resample(samples, rate, 8000), pad])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="en-us+klatt,en-us+f2")
    parser.add_argument("--wpm", default="140,170")
    args = parser.parse_args()
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng is missing: apt-get install -y espeak-ng", file=sys.stderr)
        return 2
    rows, errors, ref_words, audio_s, decode_s = [], 0, 0, 0.0, 0.0
    tp = fp = fn = 0
    per_voice: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for voice in args.voices.split(","):
            for wpm in (int(w) for w in args.wpm.split(",")):
                v_err = v_ref = 0
                for n, text in enumerate(SENTENCES):
                    path = Path(tmp) / f"{n}.wav"
                    samples = speak(espeak, text, voice, wpm)
                    soundfile.write(str(path), samples, 8000, subtype="PCM_16")
                    started = time.process_time()
                    result = transcribe(path)
                    decode_s += time.process_time() - started
                    audio_s += len(samples) / 8000
                    ref, hyp = words_of(text), words_of(result.text)
                    dist = edit_distance(ref, hyp)
                    errors, ref_words = errors + dist, ref_words + len(ref)
                    v_err, v_ref = v_err + dist, v_ref + len(ref)
                    for keyword in KEYWORDS:
                        said, heard = contains(ref, keyword), contains(hyp, keyword)
                        tp += said and heard
                        fp += heard and not said
                        fn += said and not heard
                    rows.append((f"{voice} {wpm}", text, result.text, dist / len(ref)))
                per_voice[f"{voice} at {wpm} wpm"] = (v_err, v_ref)
    wer = errors / ref_words
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    lines = [
        "# Transcripts: word error rate and keyword spotting",
        "",
        (f"`python bench/transcripts.py --voices {args.voices} --wpm {args.wpm}` on "
         f"{platform.python_version()}, {platform.machine()}; {len(rows)} utterances, "
         f"{ref_words} reference words, {audio_s:.0f} s of 8 kHz audio."),
        "",
        "| measure | value |",
        "|---|---|",
        f"| WER (all) | **{wer:.1%}** |",
        *[f"| WER, {name} | {e / r:.1%} |" for name, (e, r) in per_voice.items()],
        f"| keyword precision | **{precision:.1%}** ({tp} of {tp + fp} spotted) |",
        f"| keyword recall | **{recall:.1%}** ({tp} of {tp + fn} said) |",
        f"| real-time factor (decode CPU s / audio s) | {decode_s / audio_s:.2f} |",
        "",
        "| voice | said | heard | WER |",
        "|---|---|---|---|",
        *[f"| {v} | {ref} | {hyp} | {w:.0%} |" for v, ref, hyp, w in rows],
        "",
    ]
    report = "\n".join(lines)
    out = ROOT / "bench/results/transcripts.md"
    out.write_text(report)
    print("\n".join(lines[:14]))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
