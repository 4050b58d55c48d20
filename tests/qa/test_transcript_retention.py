"""A transcript lives as long as its recording: retention's purge erases its words too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from qa_audio import tone

from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.recording.policy import policy_from_mapping
from contactcenter.recording.retention import purge

A, B = "a" * 32, "b" * 32
NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def test_purging_a_recording_erases_its_transcript(qa_env):
    env = qa_env
    store = env.qa.transcripts
    for rec_id, queue in ((A, "sales"), (B, "billing")):
        await env.add_recording(rec_id, tone(2), queue=queue)
        await store.enqueue(rec_id, queue, NOW)
        await store.claim_next(NOW)
        await store.finish(rec_id, SpeechResult((Word("refund", 0.5, 0.9),), 2.0), NOW)
    assert set(await store.search("refund")) == {A, B}
    # 91 days on, sales' 90-day retention purges A (billing keeps B for a year).
    svc = env.recording
    report = await purge(svc.index, svc.paths, svc.policies, env.audit,
                         datetime(2026, 7, 31, tzinfo=UTC))
    assert [(i.recording_id, i.outcome) for i in report.items] == [(A, "deleted")]
    await env.qa.worker.sweep()
    erased = await store.get(A)
    assert erased.status == "purged" and erased.words == () and erased.text == ""
    assert set(await store.search("refund")) == {B}
    assert (await store.get(B)).status == "done"
    sup = await env.client("sup")
    async with sup.post(env.url(f"/api/transcripts/{A}")) as r:
        assert r.status == 409  # nothing left to transcribe


def test_a_queue_turns_transcripts_on_with_a_true_false_setting():
    assert policy_from_mapping({"mode": "always", "transcribe": True}).transcribe is True
    assert policy_from_mapping({"mode": "always"}).transcribe is False
    with pytest.raises(ValueError, match="transcribe must be true or false"):
        policy_from_mapping({"mode": "always", "transcribe": "yes"})
