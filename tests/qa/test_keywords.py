"""Keyword lists over real HTTP and a real database: supervisors keep named lists, every
finished transcript gets its hits per list with their times, searchable; a new version of a
list is scanned again, and hits go when their transcript goes (purge, transcribed again)."""

from __future__ import annotations

from datetime import UTC, datetime

from qa_audio import tone

from contactcenter.qa.phrases import find_all
from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.recording.retention import purge

A, B, C = "a" * 32, "b" * 32, "c" * 32
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def _words(text: str, start: float = 1.0, step: float = 0.5) -> tuple[Word, ...]:
    return tuple(Word(w, start + i * step, start + i * step + 0.3)
                 for i, w in enumerate(text.split()))


def test_find_all_finds_every_occurrence_once_even_with_a_misheard_word():
    words = _words("i want to cancel my subscription today yes cancel the subscription now "
                   "cancel")
    hits = find_all(words, "cancel my subscription")
    assert [(h.start, h.heard) for h in hits] == [(2.5, "cancel my subscription")]
    loose = find_all(words, "cancel my subscription", min_match=0.6)
    assert [(h.start, h.heard) for h in loose] == [
        (2.5, "cancel my subscription"), (5.0, "cancel the subscription")]
    assert [h.start for h in find_all(words, "cancel")] == [2.5, 5.0, 7.0]
    assert find_all(words, "refund") == [] and find_all(words, "!!") == []


async def _transcript(env, rec_id, text, *, agent="1001", queue="sales",
                      started=datetime(2026, 5, 1, 10, tzinfo=UTC)):
    await env.add_recording(rec_id, tone(2), queue=queue, agent_id=agent, started=started)
    store = env.qa.transcripts
    await store.enqueue(rec_id, queue, NOW)
    await store.claim_next(NOW)
    await store.finish(rec_id, SpeechResult(_words(text), 20.0), NOW)


async def _hits(http, env, query):
    async with http.get(env.url(f"/api/qa/keywords/hits?{query}")) as r:
        assert r.status == 200, await r.text()
        return [(rec["recording_id"], [(h["phrase"], h["start"]) for h in rec["hits"]])
                for rec in (await r.json())["recordings"]]


async def test_lists_are_kept_scanned_and_searched(qa_env):
    env = qa_env
    await _transcript(env, A, "hello i want to cancel my subscription because a competitor "
                              "is cheaper", started=datetime(2026, 5, 1, 10, tzinfo=UTC))
    await _transcript(env, B, "thanks for calling this call may be recorded how can i help",
                      agent="1002", started=datetime(2026, 5, 2, 10, tzinfo=UTC))
    await _transcript(env, C, "i will cancel my subscription and go to a competitor",
                      agent="1002", queue="support", started=datetime(2026, 5, 3, 10, tzinfo=UTC))
    sup = await env.client("sup")
    async with sup.put(env.url("/api/qa/keywords/churn"), json={
            "phrases": ["Cancel my  subscription", "competitor", "cancel my subscription"]}) as r:
        assert r.status == 200, await r.text()
        churn = await r.json()
    assert churn["phrases"] == ["cancel my subscription", "competitor"]
    assert (churn["version"], churn["updated_by"]) == (1, "sup")

    # The save scanned the transcripts: newest first, each hit with its time.
    assert await _hits(sup, env, "list=churn") == [
        (C, [("cancel my subscription", 2.0), ("competitor", 5.5)]),
        (A, [("cancel my subscription", 3.0), ("competitor", 5.5)])]
    assert await _hits(sup, env, "list=churn&agent_id=1001") == [
        (A, [("cancel my subscription", 3.0), ("competitor", 5.5)])]
    assert await _hits(sup, env, "list=churn&queue=support&phrase=Competitor") == [
        (C, [("competitor", 5.5)])]
    assert await _hits(sup, env, "list=churn&from=2026-05-02T00:00:00Z") == [
        (C, [("cancel my subscription", 2.0), ("competitor", 5.5)])]
    async with sup.get(env.url(f"/api/transcripts/{A}")) as r:
        assert [h["list"] for h in (await r.json())["keyword_hits"]] == ["churn", "churn"]

    # A new version is scanned again: its new phrase is found, the dropped one is gone.
    async with sup.put(env.url("/api/qa/keywords/churn"),
                       json={"phrases": ["competitor", "may be recorded"]}) as r:
        assert (await r.json())["version"] == 2
    assert await _hits(sup, env, "list=churn") == [
        (C, [("competitor", 5.5)]), (B, [("may be recorded", 3.5)]), (A, [("competitor", 5.5)])]

    # A transcript queued again loses its hits at the next sweep; a purged one too.
    await env.qa.transcripts.enqueue(C, "support", NOW)
    svc = env.recording
    await purge(svc.index, svc.paths, svc.policies, env.audit, datetime(2026, 7, 31, tzinfo=UTC))
    await env.qa.worker.sweep()
    assert await _hits(sup, env, "list=churn") == [(B, [("may be recorded", 3.5)])]

    saves = [e for e in await env.audit.list(action_prefix="qa.keywords.")]
    assert [(e.action, e.actor, e.target, e.detail["version"]) for e in reversed(saves)] == [
        ("qa.keywords.save", "sup", "churn", 1), ("qa.keywords.save", "sup", "churn", 2)]
    async with sup.delete(env.url("/api/qa/keywords/churn")) as r:
        assert r.status == 204
    async with sup.get(env.url("/api/qa/keywords")) as r:
        assert (await r.json())["lists"] == []
    async with sup.delete(env.url("/api/qa/keywords/churn")) as r:
        assert r.status == 404
    assert await _hits(sup, env, "list=churn") == []


async def test_bad_lists_are_refused_with_every_problem_and_agents_keep_out(qa_env):
    env = qa_env
    sup = await env.client("sup")
    async with sup.put(env.url("/api/qa/keywords/churn"),
                       json={"phrases": ["ok", "?!", ""], "min_match": 0.2}) as r:
        assert r.status == 400
        problems = (await r.json())["problems"]
    assert problems == ["body.phrases[1] must hold words (letters or digits)",
                        "body.phrases[2] must hold words (letters or digits)",
                        "body.min_match must be at least 0.5"]
    async with sup.put(env.url("/api/qa/keywords/churn"), json={"phrases": []}) as r:
        assert r.status == 400
    async with sup.get(env.url("/api/qa/keywords/hits?list=No%20Such")) as r:
        assert r.status == 400
    agent = await env.client("agent1")
    async with agent.get(env.url("/api/qa/keywords")) as r:
        assert r.status == 403
    async with agent.put(env.url("/api/qa/keywords/churn"), json={"phrases": ["x"]}) as r:
        assert r.status == 403
    async with agent.get(env.url("/api/qa/keywords/hits?list=churn")) as r:
        assert r.status == 403
