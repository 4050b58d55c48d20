"""A transcript's own retention (``transcript_retention_days``, per queue, shorter than the
audio's): the worker's sweep erases a transcript older than it (text, words, keyword hits and
scans) while the recording and its file stay; one audit row each; the row says why; it is not
queued again. Runs on SQLite and, with CC_TEST_POSTGRES_URL, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from qa_audio import tone

from contactcenter.qa import tables as t
from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.recording.policy import (
    PolicyBook,
    RecordingMode,
    RecordingPolicy,
    policy_from_mapping,
)

OLD, NEW, KEPT = "1" * 32, "2" * 32, "3" * 32
POLICIES = PolicyBook({
    "sales": RecordingPolicy(RecordingMode.ALWAYS, 90, transcribe=True,
                             transcript_retention_days=30),
    "billing": RecordingPolicy(RecordingMode.ALWAYS, 365, transcribe=True),
})
WORDS = (Word("i", 0.5, 0.6), Word("want", 0.6, 0.8), Word("a", 0.8, 0.9),
         Word("refund", 0.9, 1.3))


async def test_a_transcript_past_its_retention_is_erased_and_the_audio_stays(qa_env):
    env = qa_env
    env.recording.policies = POLICIES  # what the worker reads at every sweep
    store, worker = env.qa.transcripts, env.qa.worker
    now = datetime.now(UTC)  # the worker's clock is the real one
    calls = ((OLD, "sales", 40), (NEW, "sales", 10), (KEPT, "billing", 40))
    for rec_id, queue, days_ago in calls:
        await env.add_recording(rec_id, tone(2), queue=queue,
                                started=now - timedelta(days=days_ago))
        await store.enqueue(rec_id, queue, now)
        await store.claim_next(now)
        await store.finish(rec_id, SpeechResult(WORDS, 2.0), now)
    await env.qa.keywords.save("churn", ["refund"], 0.8, "sup", now)
    await env.qa.keywords.scan()
    assert {h.recording_id for h in await _hits(env)} == {OLD, NEW, KEPT}

    assert await worker.expire() == 1
    gone = await store.get(OLD)
    assert (gone.status, gone.words, gone.text) == (t.PURGED, (), "")
    assert gone.error == "transcript retention: 30 days"
    # The search index forgot it at once, hits and scans included (not only at the next scan).
    assert set(await store.search("refund")) == {NEW, KEPT}
    assert {h.recording_id for h in await _hits(env)} == {NEW, KEPT}
    async with env.qa.keywords.db.session() as s:
        scans = (await s.execute(sa.select(t.KeywordScanRow.recording_id))).scalars().all()
    assert OLD not in scans
    # The recording and its audio stay: only the transcript had a shorter life.
    rec = await env.recording.index.get(OLD)
    assert rec.status == "complete" and (env.root / rec.file).is_file()
    for rec_id in (NEW, KEPT):
        assert (await store.get(rec_id)).status == t.DONE

    [row] = await env.audit.list(action_prefix="qa.transcript.purge")
    assert (row.actor, row.target, row.outcome) == ("system:retention", OLD, "ok")
    assert row.detail["queue"] == "sales" and row.detail["transcript_retention_days"] == 30
    assert row.detail["words"] == len(WORDS)

    # A whole sweep later: nothing more erased, nothing queued again, no second audit row.
    assert await worker.sweep() == 0
    assert (await store.get(OLD)).status == t.PURGED
    assert len(await env.audit.list(action_prefix="qa.transcript.purge")) == 1
    sup = await env.client("sup")
    async with sup.post(env.url(f"/api/transcripts/{OLD}")) as r:
        assert r.status == 409 and "transcript retention" in (await r.json())["error"]
    async with sup.get(env.url(f"/api/transcripts/{OLD}")) as r:
        body = await r.json()
    assert body["status"] == "purged" and body["words"] == [] and body["lines"] == []


async def _hits(env):
    async with env.qa.keywords.db.session() as s:
        return (await s.execute(sa.select(t.KeywordHitRow))).scalars().all()


def test_transcript_retention_is_whole_days_no_longer_than_the_audio():
    policy = policy_from_mapping({"mode": "always", "retention_days": 90,
                                  "transcript_retention_days": 30})
    assert (policy.retention_days, policy.transcript_retention_days) == (90, 30)
    assert policy_from_mapping({"mode": "always"}).transcript_retention_days is None
    forever = policy_from_mapping({"mode": "always", "transcript_retention_days": 400})
    assert forever.transcript_retention_days == 400  # the audio is kept forever
    with pytest.raises(ValueError, match=r"transcript_retention_days \(120\) is longer than "
                                         r"retention_days \(90\)"):
        policy_from_mapping({"mode": "always", "retention_days": 90,
                             "transcript_retention_days": 120})
    with pytest.raises(ValueError, match="transcript_retention_days must be a whole number"):
        policy_from_mapping({"mode": "always", "transcript_retention_days": "30"})
    with pytest.raises(ValueError, match="transcript_retention_days must be >= 0"):
        policy_from_mapping({"mode": "always", "transcript_retention_days": -1})
