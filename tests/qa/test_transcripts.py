"""Transcripts end to end: espeak-ng speaks known sentences, the audio is resampled to 8 kHz and
placed as a recording; the worker (a real child process running pocketsphinx) transcribes it.
These check the pipeline (keywords found, at their times, stored, searchable, the queue's
states), not a score: bench/transcripts.py measures the error rate."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest
from qa_audio import silence, spoken, write_wav

from contactcenter.qa import tables as t
from contactcenter.qa.speech import transcribe
from contactcenter.qa.worker import engine_installed

pytestmark = pytest.mark.skipif(not engine_installed(), reason="pocketsphinx is not installed")

A, B, C = "a" * 32, "b" * 32, "c" * 32
NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def _settled(store, rec_id, timeout=90.0):
    """The transcript once the worker is done with it (the timeout only catches hangs)."""
    async def wait():
        while True:
            found = await store.get(rec_id)
            if found is not None and found.status in (t.DONE, t.FAILED):
                return found
            await asyncio.sleep(0.1)
    return await asyncio.wait_for(wait(), timeout)


async def test_worker_transcribes_a_spoken_recording_after_a_restart(qa_env):
    env = qa_env
    lead = 2.0
    audio = np.concatenate([silence(lead), spoken("i would like to cancel my subscription"),
                            silence(1.0)])
    await env.add_recording(A, audio, queue="sales")
    await env.add_recording(B, audio[:8000], queue="billing")  # billing: transcribe is off
    store = env.qa.transcripts
    # A server stopped in the middle of A's transcription left its row "running".
    await store.enqueue(A, "sales", NOW)
    assert (await store.claim_next(NOW)).status == t.RUNNING

    await env.qa.start()
    done = await _settled(store, A)
    assert done.status == t.DONE, done.error
    assert done.attempts == 2 and done.progress == 1.0 and done.engine.startswith("pocketsphinx")
    heard = [w.text for w in done.words]
    for keyword in ("cancel", "subscription"):
        assert keyword in heard, done.text
    # Word times are the file's: nothing before the speech starts, in order, within the file.
    assert done.words[0].start >= lead - 0.3
    assert all(a.start <= b.start for a, b in zip(done.words, done.words[1:]))
    assert done.words[-1].end <= len(audio) / 8000 + 0.05
    assert abs(done.duration_s - len(audio) / 8000) < 0.01
    # The queue's policy decides: billing's recording was never queued.
    await env.qa.worker.sweep()
    assert await store.get(B) is None

    sup = await env.client("sup")
    async with sup.get(env.url("/api/recordings/search?text=subscription")) as r:
        assert [rec["id"] for rec in (await r.json())["recordings"]] == [A]
    async with sup.get(env.url("/api/transcripts")) as r:
        queue = await r.json()
    assert queue["counts"] == {"pending": 0, "running": 0, "done": 1, "failed": 0, "purged": 0}


async def test_an_unreadable_recording_fails_after_its_attempts_with_the_reason(qa_env):
    env = qa_env
    rec = await env.add_recording(C, silence(1.0), queue="sales")
    (env.root / rec.file).write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    await env.qa.start()
    failed = await _settled(env.qa.transcripts, C)
    assert failed.status == t.FAILED and failed.attempts == 2  # max_attempts in the fixture
    assert "Error" in (failed.error or "")
    sup = await env.client("sup")
    async with sup.get(env.url(f"/api/transcripts/{C}")) as r:
        assert (await r.json())["status"] == "failed"
    # A supervisor queues it again (a fixed file, say): back to pending, attempts reset.
    async with sup.post(env.url(f"/api/transcripts/{C}")) as r:
        assert r.status == 202 and (await r.json())["attempts"] == 0


def test_the_job_reports_progress_block_by_block(tmp_path):
    # 45 s of silence around one word: three 20 s blocks, so three progress lines, and the
    # voice activity detector keeps the silence away from the decoder.
    path = write_wav(tmp_path / "long.wav", np.concatenate([silence(30.0), spoken("hello"),
                                                            silence(14.0)]))
    out = subprocess.run([sys.executable, "-m", "contactcenter.qa.transcribe_job", str(path)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    progress = [m["progress"] for m in lines if "progress" in m]
    assert len(progress) == 3 and progress == sorted(progress) and progress[-1] == 1.0
    assert progress[0] < 0.5
    assert "words" in lines[-1] and all(w[1] >= 29.5 for w in lines[-1]["words"])


def test_a_file_a_whole_number_of_frames_long_is_transcribed(tmp_path):
    # 0.96 s at 8 kHz is 32 of the detector's 30 ms frames once at 16 kHz: nothing is left
    # over for the end of the stream, which pocketsphinx refused with an IndexError.
    path = write_wav(tmp_path / "whole.wav", silence(0.96))
    result = transcribe(path)
    assert result.words == () and result.duration_s == pytest.approx(0.96)
