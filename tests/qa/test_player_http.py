"""The recording player's API over real HTTP and real logins: search filters, who sees what,
waveform peaks where the audio is, an audited play through a ticket, audited downloads."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from qa_audio import silence, tone

from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.qa.transcripts import TranscriptStore
from contactcenter.recording.index import PAUSE, Pause

A, B, C, D = "a" * 32, "b" * 32, "c" * 32, "d" * 32


async def _ids(http, url) -> list[str]:
    async with http.get(url) as r:
        assert r.status == 200, await r.text()
        return [rec["id"] for rec in (await r.json())["recordings"]]


async def test_search_filters_and_who_sees_what(qa_env):
    env = qa_env
    may = datetime(2026, 5, 1, 10, tzinfo=UTC)
    june = datetime(2026, 6, 2, 9, tzinfo=UTC)
    await env.add_recording(A, tone(12), queue="sales", agent_id="1001", caller="5551234",
                            started=may)
    await env.add_recording(B, tone(40), queue="support", agent_id="1001", caller="5559999",
                            started=june)
    await env.add_recording(C, tone(5), queue="support", agent_id="1002", caller="4441234",
                            started=june)
    sup = await env.client("sup")
    base = env.url("/api/recordings/search")
    assert await _ids(sup, base) == [B, C, A]  # newest first, then by id
    assert await _ids(sup, f"{base}?queue=support&agent_id=1001") == [B]
    assert sorted(await _ids(sup, f"{base}?caller=1234")) == sorted([A, C])
    assert await _ids(sup, f"{base}?caller=%25") == []  # LIKE's wildcard is a plain character
    assert await _ids(sup, f"{base}?min_s=30") == [B]
    assert await _ids(sup, f"{base}?max_s=6") == [C]
    assert await _ids(sup, f"{base}?from=2026-05-01T00:00:00Z&to=2026-05-02T00:00:00Z") == [A]
    async with sup.get(f"{base}?from=yesterday") as r:
        assert r.status == 400 and "ISO 8601" in (await r.json())["error"]

    # agent1 sees their own calls in queues with agent_access (support), never sales' or
    # another agent's, whatever filter they send.
    agent1 = await env.client("agent1")
    assert await _ids(agent1, base) == [B]
    assert await _ids(agent1, f"{base}?agent_id=1002") == [B]
    async with agent1.get(base) as r:
        [entry] = (await r.json())["recordings"]
    assert entry["playable"] is True and entry["can_download"] is False


async def test_waveform_shows_where_the_audio_is_and_the_paused_span(qa_env):
    env = qa_env
    samples = np.concatenate([tone(4), silence(3), tone(3)])
    await env.add_recording(A, samples, pauses=(Pause(4.0, 7.0, "sup", PAUSE),))
    sup = await env.client("sup")
    async with sup.get(env.url(f"/api/recordings/{A}/waveform?buckets=100")) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
    peaks = body["peaks"]
    assert peaks["buckets"] == 100 and abs(peaks["duration_s"] - 10.0) < 0.01
    high = peaks["high"]
    # 10 s in 100 buckets: 0.1 s each; the tone is ~0.18 of full scale, the pause is zero.
    assert all(h > 0.15 for h in high[:39]) and all(h > 0.15 for h in high[71:])
    assert all(h == 0 for h in high[41:69])
    assert body["recording"]["pauses"] == [{"start": 4.0, "end": 7.0, "by": "sup",
                                            "kind": "pause"}]
    async with sup.get(env.url(f"/api/recordings/{A}/waveform?buckets=5")) as r:
        assert r.status == 400


async def test_play_is_audited_once_and_streams_only_with_its_ticket(qa_env):
    env = qa_env
    await env.add_recording(A, tone(6), queue="support", agent_id="1001")
    data = (env.root / (await env.recording.index.get(A)).file).read_bytes()
    agent1, agent2 = await env.client("agent1"), await env.client("agent2")
    sup = await env.client("sup")

    async with agent1.get(env.url(f"/api/recordings/{A}/stream?ticket=made-up")) as r:
        assert r.status == 403
    async with agent2.post(env.url(f"/api/recordings/{A}/play")) as r:
        assert r.status == 403  # not agent2's call
    async with agent1.post(env.url(f"/api/recordings/{A}/play")) as r:
        assert r.status == 200, await r.text()
        src = (await r.json())["src"]
    assert src.startswith(f"/api/recordings/{A}/stream?ticket=")
    for rng, want in (("bytes=0-", data), ("bytes=44-1043", data[44:1044]),
                      ("bytes=-100", data[-100:])):
        async with agent1.get(env.url(src), headers={"Range": rng}) as r:
            assert r.status == 206 and await r.read() == want
    # The ticket is agent1's: another user holding the URL gets nothing.
    async with sup.get(env.url(src)) as r:
        assert r.status == 403
    plays = await env.audit.list(action_prefix="recording.play")
    assert [(a.actor, a.target) for a in plays] == [("agent1", A)]
    assert plays[0].detail["queue"] == "support"


async def test_download_is_for_the_allowed_roles_and_audited(qa_env):
    env = qa_env
    await env.add_recording(A, tone(3), queue="support", agent_id="1001")
    await env.add_recording(B, None, status="purged")
    sup, agent1 = await env.client("sup"), await env.client("agent1")
    async with sup.get(env.url(f"/api/recordings/{A}/download")) as r:
        assert r.status == 200
        assert r.headers["Content-Disposition"].startswith('attachment; filename="support-')
        assert (await r.read())[:4] == b"RIFF"
    async with agent1.get(env.url(f"/api/recordings/{A}/download")) as r:
        assert r.status == 403  # agents may play their own calls, not keep them
    async with sup.get(env.url(f"/api/recordings/{B}/download")) as r:
        assert r.status == 404 and "purged" in (await r.json())["error"]
    rows = await env.audit.list(action_prefix="recording.download")
    assert [(a.actor, a.target) for a in rows] == [("sup", A)]


async def test_search_by_transcript_text(qa_env):
    env = qa_env
    await env.add_recording(A, tone(3))
    await env.add_recording(B, tone(3))
    store = TranscriptStore(env.qa.transcripts.db)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    await store.enqueue(A, "sales", now)
    await store.claim_next(now)
    said = "hello i would like to cancel my subscription please"
    words = [Word(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(said.split(" "))]
    await store.finish(A, SpeechResult(tuple(words), 3.0), now)
    sup = await env.client("sup")
    async with sup.get(env.url("/api/recordings/search?text=Cancel%20My")) as r:
        body = await r.json()
    assert [rec["id"] for rec in body["recordings"]] == [A]
    assert "cancel my subscription" in body["recordings"][0]["snippet"]
    assert await _ids(sup, env.url("/api/recordings/search?text=refund")) == []
    async with sup.get(env.url(f"/api/transcripts/{A}")) as r:
        t = await r.json()
    assert t["status"] == "done" and t["lines"][0]["text"].startswith("hello i would")
    assert t["words"][5] == ["cancel", 2.5, 2.9, 1.0]
