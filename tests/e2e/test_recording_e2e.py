"""Recording end to end: simulator caller -> IVR -> sales (always recorded) -> agent phone.

The real server starts MixMonitor inside the call (AGI ``EXEC MixMonitor <file>,b``), the
simulator writes a real WAV, the AMI Hangup closes the index entry; pause/resume go through the
REST API with a real login; purge runs with a fake "now"; downloads are tried with traversal.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta

import yarl
from floor import login, running_floor

from contactcenter.recording.metadata import silent_spans
from contactcenter.recording.retention import purge
from contactcenter.sim import CallerScript, Phone, Press

TALK_S = 30.0  # clock seconds the agent's phone stays on the call


_login = login


async def _until(predicate, timeout: float = 20.0, step: float = 0.02):
    async def loop():
        while True:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(step)
    return await asyncio.wait_for(loop(), timeout)


def _sales_phones(floor, talk_for: float) -> None:
    for agent in floor.server.routing_config.agents.values():
        if "sales" in agent.skills:
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=1.0, talk_for=talk_for))


async def test_connected_call_is_recorded_paused_and_indexed(tmp_path):
    async with running_floor(tmp_path, speed=20) as floor:
        _sales_phones(floor, TALK_S)
        rec_svc = floor.server.recording
        sup = await _login(floor, "sup", "supervisor")
        try:
            call = await floor.sim.place_call(CallerScript(
                caller_id="5551234", exten="200", steps=[Press("1", after=0.5)],
                hangup_after=600))
            live = await _until(lambda: next(iter(rec_svc._live.values()), None))
            iid = live.interaction_id
            await floor.clock.sleep(5)
            async with sup.post(f"{floor.web_url}/api/calls/{iid}/recording/pause") as r:
                assert r.status == 200, await r.text()
                body = await r.json()
            assert body["pauses"] and body["pauses"][0]["end"] is None
            await floor.clock.sleep(6)
            async with sup.post(f"{floor.web_url}/api/calls/{iid}/recording/resume") as r:
                assert r.status == 200, await r.text()
                body = await r.json()
            await asyncio.wait_for(call.ended(), 30)
            rec_id = body["id"]

            async def complete():
                while True:
                    rec = await rec_svc.index.get(rec_id)
                    if rec.status != "recording" and rec.duration_s is not None:
                        return rec
                    await asyncio.sleep(0.05)
            rec = await asyncio.wait_for(complete(), 20)
            assert rec.status == "complete", rec
            assert rec.sample_rate == 8000 and rec.channels == 1
            assert abs(rec.duration_s - TALK_S) < 2.5, rec.duration_s
            assert rec.interaction_id == iid and rec.queue == "sales"
            assert rec.caller_id == "5551234" and rec.agent_id == live.agent_id
            path = rec_svc.paths.resolve(rec.file)
            assert path in [p.resolve() for p in floor.sim.recordings]
            assert rec.size_bytes == path.stat().st_size
            [pause] = rec.pauses
            assert 3.5 < pause.start < 6.5 and 9.5 < pause.end < 12.5
            spans = await asyncio.to_thread(silent_spans, path)
            assert len(spans) == 1, spans
            start, end = spans[0]
            assert abs(start - pause.start) < 0.5 and abs(end - pause.end) < 0.5
            audit = await floor.server.audit.list(action_prefix="recording.")
            assert [a.action for a in reversed(audit)] == ["recording.pause", "recording.resume"]
            assert all(a.actor == "sup" and a.target == iid for a in audit)

            await _download_and_traversal(floor, sup, rec, path, tmp_path)
            await _purge_exactly_past_retention(floor, rec, path)
        finally:
            await sup.close()


async def _download_and_traversal(floor, sup, rec, path, tmp_path) -> None:
    base = f"{floor.web_url}/api/recordings"
    data = path.read_bytes()
    async with sup.get(f"{base}/{rec.id}/audio") as r:
        assert r.status == 200 and await r.read() == data
        assert r.headers["Accept-Ranges"] == "bytes"
    async with sup.get(f"{base}/{rec.id}/audio", headers={"Range": "bytes=44-1043"}) as r:
        assert r.status == 206 and await r.read() == data[44:1044]
        assert r.headers["Content-Range"] == f"bytes 44-1043/{len(data)}"
    async with sup.get(f"{base}/{rec.id}/audio", headers={"Range": "bytes=-100"}) as r:
        assert r.status == 206 and await r.read() == data[-100:]

    # The agent on the call may not fetch it (sales has no agent_access), nor may another agent.
    agent = await _login(floor, "agent-own", "agent", rec.agent_id)
    try:
        async with agent.get(f"{base}/{rec.id}/audio") as r:
            assert r.status == 404
    finally:
        await agent.close()

    secret = tmp_path / "secret.txt"
    secret.write_text("not a recording")
    for raw in (f"/api/recordings/../../{secret}/audio",
                "/api/recordings/..%2F..%2Fsecret.txt/audio",
                "/api/recordings/%2e%2e%2f%2e%2e%2fsecret.txt/audio",
                f"/api/recordings/{rec.id}%2F..%2F..%2Fsecret.txt/audio",
                "/api/recordings/..%252F..%252Fsecret.txt/audio"):
        async with sup.get(yarl.URL(floor.web_url + raw, encoded=True)) as r:
            assert r.status in (403, 404), raw
            assert b"not a recording" not in await r.read()

    # A symlink planted in place of the file, and an index entry pointing outside: 403.
    backup = path.with_suffix(".bak")
    path.rename(backup)
    path.symlink_to(secret)
    try:
        async with sup.get(f"{base}/{rec.id}/audio") as r:
            assert r.status == 403 and b"not a recording" not in await r.read()
    finally:
        path.unlink()
        backup.rename(path)
    # A planted directory symlink: the year directory now leads outside the root.
    root = floor.server.recording.paths.root
    year = root / rec.file.split("/")[0]
    outside = tmp_path / "outside"
    shutil.copytree(year, outside / year.name)
    year.rename(root / "moved-away")
    year.symlink_to(outside / year.name, target_is_directory=True)
    try:
        async with sup.get(f"{base}/{rec.id}/audio") as r:
            assert r.status == 403
    finally:
        year.unlink()
        (root / "moved-away").rename(year)


async def _purge_exactly_past_retention(floor, rec, path) -> None:
    svc = floor.server.recording
    days = svc.policies.for_queue(rec.queue).retention_days
    assert days == 90

    async def run(now, dry_run=False):
        return await purge(svc.index, svc.paths, svc.policies, floor.server.audit, now, dry_run)

    before = await run(rec.started_at + timedelta(days=days) - timedelta(minutes=1))
    assert before.items == [] and path.exists()
    past = rec.started_at + timedelta(days=days, minutes=1)
    dry = await run(past, dry_run=True)
    assert [(i.recording_id, i.outcome) for i in dry.items] == [(rec.id, "would-delete")]
    assert path.exists() and await floor.server.audit.list(action_prefix="recording.purge") == []
    done = await run(past)
    assert [(i.recording_id, i.outcome) for i in done.items] == [(rec.id, "deleted")]
    assert not path.exists()
    assert (await svc.index.get(rec.id)).status == "purged"
    [row] = await floor.server.audit.list(action_prefix="recording.purge")
    assert row.target == rec.id and row.actor == "system:retention" and row.outcome == "ok"
    assert row.detail["file"] == rec.file and row.detail["queue"] == "sales"
    assert (await run(past)).items == []  # nothing left to purge, nothing audited twice
