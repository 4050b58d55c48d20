"""Speaker separation: when MixMonitor keeps the two directions apart (``r()``/``t()`` files
beside the mixed one), both are transcribed and every word and line says who spoke.

espeak-ng speaks two known sentences, one into each direction's file; the worker (a real child
process running pocketsphinx) transcribes them; the lines carry the right speakers in time
order; the search names the speaker; the mixed file is still what plays. The merge and the
line cutting are checked without audio too."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import numpy as np
import pytest
from qa_audio import RATE, spoken, write_wav

from contactcenter.qa import tables as t
from contactcenter.qa.speech import SpeechResult, Word, merge_speakers
from contactcenter.qa.transcripts import lines_of
from contactcenter.qa.worker import engine_installed
from contactcenter.recording.policy import policy_from_mapping
from contactcenter.recording.retention import purge

REC = "5" * 32
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def test_words_of_both_directions_merge_by_time_and_lines_change_with_the_speaker():
    agent = SpeechResult((Word("hello", 0.5, 0.9), Word("there", 1.0, 1.3),
                          Word("anything", 4.0, 4.5)), 6.0)
    caller = SpeechResult((Word("hi", 1.35, 1.6), Word("refund", 1.7, 2.2)), 6.0)
    merged = merge_speakers([("caller", caller), ("agent", agent)], 6.0)
    assert [(w.text, w.speaker) for w in merged.words] == [
        ("hello", "agent"), ("there", "agent"), ("hi", "caller"), ("refund", "caller"),
        ("anything", "agent")]
    # No pause between "there" and "hi", yet a new line: another speaker.
    assert [(line.speaker, line.text) for line in lines_of(merged.words)] == [
        ("agent", "hello there"), ("caller", "hi refund"), ("agent", "anything")]
    # A word keeps its speaker through the table's row; rows without one read as before.
    assert Word.from_row(merged.words[2].as_row()) == merged.words[2]
    assert Word.from_row(["hello", 0.5, 0.9, 1.0]).speaker == ""
    assert Word("hello", 0.5, 0.9).as_row() == ["hello", 0.5, 0.9, 1.0]


def test_a_queue_asks_for_speakers_with_a_true_false_setting():
    assert policy_from_mapping({"mode": "always", "speakers": True}).speakers is True
    assert policy_from_mapping({"mode": "always"}).speakers is False
    with pytest.raises(ValueError, match="speakers must be true or false"):
        policy_from_mapping({"mode": "always", "speakers": "both"})


@pytest.mark.skipif(not engine_installed(), reason="pocketsphinx is not installed")
async def test_each_direction_is_transcribed_and_lines_say_who_spoke(qa_env):
    env = qa_env
    agent_says = spoken("this call may be recorded")
    caller_says = spoken("i would like to cancel my subscription")
    agent_at = 0.5
    caller_at = agent_at + len(agent_says) / RATE + 1.5
    total = int((caller_at + 1.0) * RATE) + len(caller_says)

    def placed(voice: np.ndarray, at: float) -> np.ndarray:
        out = np.zeros(total, dtype=np.int32)
        out[int(at * RATE):int(at * RATE) + len(voice)] = voice
        return out

    agent_side, caller_side = placed(agent_says, agent_at), placed(caller_says, caller_at)
    mixed = np.clip(agent_side + caller_side, -32768, 32767).astype(np.int16)
    rec = await env.add_recording(REC, mixed, queue="sales")
    paths = env.recording.paths
    # What MixMonitor's r() (received from the caller) and t() (sent to the caller) write.
    write_wav(env.root / paths.speaker_file(rec.file, "caller"), caller_side.astype(np.int16))
    write_wav(env.root / paths.speaker_file(rec.file, "agent"), agent_side.astype(np.int16))

    store = env.qa.transcripts
    await store.enqueue(REC, "sales", NOW)
    job = await store.claim_next(NOW)
    await asyncio.wait_for(env.qa.worker.run(job), 120)
    done = await store.get(REC)
    assert done.status == t.DONE, done.error
    assert done.duration_s == pytest.approx(total / RATE, abs=0.01)
    said = {"agent": {w.text for w in done.words if w.speaker == "agent"},
            "caller": {w.text for w in done.words if w.speaker == "caller"}}
    assert {"call", "recorded"} <= said["agent"], done.words
    assert {"cancel", "subscription"} <= said["caller"], done.words
    assert not {"cancel", "subscription"} & said["agent"]
    # Time order: the agent's words are before the caller's; each where its file has it.
    assert all(w.start >= agent_at - 0.3 and w.end <= caller_at for w in done.words
               if w.speaker == "agent")
    assert all(w.start >= caller_at - 0.3 for w in done.words if w.speaker == "caller")
    assert [w.start for w in done.words] == sorted(w.start for w in done.words)

    sup = await env.client("sup")
    async with sup.get(env.url(f"/api/transcripts/{REC}")) as r:
        body = await r.json()
    assert body["speakers"] == ["agent", "caller"]
    assert [line["speaker"] for line in body["lines"]] == ["agent", "caller"]
    assert "subscription" in body["lines"][1]["text"]
    async with sup.get(env.url("/api/recordings/search?text=subscription")) as r:
        [found] = (await r.json())["recordings"]
    assert found["id"] == REC and found["snippet"].startswith("caller: ")
    # The player still plays the mix.
    async with sup.post(env.url(f"/api/recordings/{REC}/play")) as r:
        src = (await r.json())["src"]
    async with sup.get(env.url(src)) as r:
        assert await r.read() == (env.root / rec.file).read_bytes()


async def test_retention_deletes_each_direction_with_the_mixed_file(qa_env):
    env = qa_env
    rec = await env.add_recording(REC, np.zeros(RATE, dtype=np.int16), queue="sales")
    paths = env.recording.paths
    files = [env.root / rec.file, *(env.root / paths.speaker_file(rec.file, who)
                                    for who in ("caller", "agent"))]
    for path in files[1:]:
        write_wav(path, np.zeros(RATE, dtype=np.int16))
    svc = env.recording  # sales keeps its audio 90 days; the call started on 2026-05-01
    report = await purge(svc.index, svc.paths, svc.policies, env.audit,
                         datetime(2026, 7, 31, tzinfo=UTC))
    assert [(i.recording_id, i.outcome) for i in report.items] == [(REC, "deleted")]
    assert [path.exists() for path in files] == [False, False, False]
