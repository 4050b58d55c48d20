"""Offline speech to text with pocketsphinx: a recording in, words with their times out.

Design note: pocketsphinx 5 ships its US English model inside the wheel, so nothing is
downloaded at run time. That model is trained on 16 kHz audio; telephone recordings are 8 kHz.
Decoding them as 8 kHz with that model (fewer mel filters, a lower top frequency) made it far
worse on our test set than upsampling the audio to 16 kHz and letting the filters above 4 kHz
see nothing, so every recording is resampled to 16 kHz (band-limited, by FFT, block by block).
A voice activity detector (pocketsphinx's ``Endpointer``) cuts the audio into utterances, so
silence (a paused or stopped stretch) costs nothing and word times stay those of the file; an
utterance longer than ``MAX_UTTERANCE_S`` is closed and a new one opened, which bounds memory on
a call that never pauses.

When the recording keeps the two directions apart (MixMonitor's ``r()``/``t()`` files), each is
transcribed on its own and the words, tagged with who said them, are merged by their start
times (``transcribe_speakers``): the files are laid out like the mixed one, so their times are
the mixed file's times, and the player keeps playing the mix.

This module is CPU-bound and blocking: the server runs it in a process of its own
(``transcribe_job``), never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from contactcenter.common.resample import resample

DECODER_RATE = 16_000
FRAMES_PER_S = 100  # pocketsphinx's default frame rate: seg() frames are 10 ms
BLOCK_S = 20.0
MAX_UTTERANCE_S = 30.0
ENGINE = "pocketsphinx-5/en-us"
_FILLERS = frozenset({"<s>", "</s>", "<sil>", "[noise]", "<unk>"})


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word, its start and end in seconds from the start of the file, and who
    said it when the directions were recorded apart (``caller``, ``agent``; else empty)."""

    text: str
    start: float
    end: float
    confidence: float = 1.0
    speaker: str = ""

    def as_row(self) -> list[Any]:
        """``[text, start, end, confidence]`` (and the speaker when known): how the
        transcripts table keeps a word."""
        row: list[Any] = [self.text, round(self.start, 2), round(self.end, 2),
                          round(self.confidence, 3)]
        return [*row, self.speaker] if self.speaker else row

    @classmethod
    def from_row(cls, row: list[Any]) -> Word:
        """The inverse of ``as_row``."""
        speaker = str(row[4]) if len(row) > 4 and row[4] else ""
        return cls(str(row[0]), float(row[1]), float(row[2]), float(row[3]), speaker)


@dataclass(frozen=True, slots=True)
class SpeechResult:
    """What a transcription found."""

    words: tuple[Word, ...]
    duration_s: float
    engine: str = ENGINE

    @property
    def text(self) -> str:
        """The words joined by spaces."""
        return " ".join(w.text for w in self.words)


def _blocks(path: Path) -> Iterator[tuple[np.ndarray, int, int]]:
    """(16 kHz mono int16 block, frames of the file read so far, the file's total frames)."""
    info = soundfile.info(str(path))
    rate, total = int(info.samplerate), int(info.frames)
    done = 0
    for block in soundfile.blocks(str(path), blocksize=int(BLOCK_S * rate), dtype="int16",
                                  always_2d=True):
        mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
        done += len(block)
        yield resample(mono, rate, DECODER_RATE), done, total


def duration_of(path: Path) -> float:
    """The length of ``path`` in seconds (header only)."""
    info = soundfile.info(str(path))
    return info.frames / info.samplerate if info.samplerate else 0.0


class _Utterances:
    """Speech frames gathered into utterances, each decoded whole when the VAD ends it (whole,
    so the model's cepstral mean comes from the utterance itself: decoding frame by frame
    started every utterance from a stale mean and missed its first words)."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.logmath = decoder.get_logmath()
        self.words: list[Word] = []
        self.start: float | None = None  # file time of the open utterance's first sample
        self.frames: list[bytes] = []
        self.samples = 0

    def feed(self, frame: bytes, speech_start: float) -> None:
        if self.start is None:
            self.start, self.frames, self.samples = speech_start, [], 0
        self.frames.append(frame)
        self.samples += len(frame) // 2
        if self.samples >= MAX_UTTERANCE_S * DECODER_RATE:
            at = self.start + self.samples / DECODER_RATE
            self.close()
            self.start, self.frames, self.samples = at, [], 0

    def close(self) -> None:
        if self.start is None:
            return
        self.decoder.start_utt()
        self.decoder.process_raw(b"".join(self.frames), False, True)
        self.decoder.end_utt()
        for seg in self.decoder.seg():
            text = seg.word.split("(", 1)[0].lower()
            if text in _FILLERS or text.startswith(("++", "[")):
                continue
            self.words.append(Word(
                text, self.start + seg.start_frame / FRAMES_PER_S,
                self.start + (seg.end_frame + 1) / FRAMES_PER_S,
                min(1.0, float(self.logmath.exp(seg.prob)))))
        self.start, self.frames = None, []


def transcribe(path: Path, progress: Callable[[float], None] | None = None) -> SpeechResult:
    """The words spoken in ``path`` (any format soundfile reads, any rate, mono or not).

    ``progress`` is called with the fraction of the file read, after each block. Raises
    soundfile's errors or ``OSError`` when the file cannot be read, ``ImportError`` when
    pocketsphinx is not installed.
    """
    from pocketsphinx import Decoder, Endpointer  # the server imports this module without it

    utterances = _Utterances(Decoder(loglevel="FATAL"))
    endpointer = Endpointer(sample_rate=DECODER_RATE)
    size = endpointer.frame_bytes
    pending = b""
    total = 0
    for audio, done, total in _blocks(path):
        pending += audio.tobytes()
        usable = len(pending) - len(pending) % size
        for at in range(0, usable, size):
            speech = endpointer.process(pending[at:at + size])
            if speech is not None:
                utterances.feed(speech, endpointer.speech_start)
            if not endpointer.in_speech:  # the last frame of an utterance comes out of speech
                utterances.close()
        pending = pending[usable:]
        if progress is not None and total:
            progress(min(1.0, done / total))
    # end_stream needs a (short) frame: an empty one is an IndexError when the file's length
    # is a whole number of frames, and would leave the speech the VAD holds back undecoded.
    speech = endpointer.end_stream(pending or b"\x00\x00")
    if speech is not None:
        utterances.feed(speech, endpointer.speech_start)
    utterances.close()
    return SpeechResult(tuple(utterances.words), duration_of(path))


def merge_speakers(parts: list[tuple[str, SpeechResult]], duration_s: float) -> SpeechResult:
    """The words of each speaker's transcript, tagged with the speaker, in time order (a word
    that starts at the same time as another: the earlier end first, then the speaker's order)."""
    tagged = [(w.start, w.end, n, Word(w.text, w.start, w.end, w.confidence, speaker))
              for n, (speaker, result) in enumerate(parts) for w in result.words]
    tagged.sort(key=lambda item: item[:3])
    engine = parts[0][1].engine if parts else ENGINE
    return SpeechResult(tuple(item[3] for item in tagged), duration_s, engine)


def transcribe_speakers(mixed: Path, speakers: list[tuple[str, Path]],
                        progress: Callable[[float], None] | None = None) -> SpeechResult:
    """Transcribe each direction's file (``[(speaker, path)]``) and merge them by time; the
    duration is the mixed file's. ``progress`` goes from 0 to 1 over all the files."""
    parts: list[tuple[str, SpeechResult]] = []
    for n, (speaker, path) in enumerate(speakers):
        def part(fraction: float, n: int = n) -> None:
            if progress is not None:
                progress((n + fraction) / len(speakers))
        parts.append((speaker, transcribe(path, part)))
    return merge_speakers(parts, duration_of(mixed))
