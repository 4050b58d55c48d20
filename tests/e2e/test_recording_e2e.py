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
from floor import login, overlaps, running_floor, silences_match

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


def _sales_phones(floor, talk_for: float, skill: str = "sales") -> None:
    for agent in floor.server.routing_config.agents.values():
        if skill in agent.skills:
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=1.0, talk_for=talk_for))


async def _closed(rec_svc, rec_id: str):
    while True:
        rec = await rec_svc.index.get(rec_id)
        if rec.status != "recording" and rec.duration_s is not None:
            return rec
        await asyncio.sleep(0.05)


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
            rec = await asyncio.wait_for(_closed(rec_svc, body["id"]), 20)
            assert rec.status == "complete", rec
            assert rec.sample_rate == 8000 and rec.channels == 1
            assert abs(rec.duration_s - TALK_S) < 2.5, rec.duration_s
            assert rec.interaction_id == iid and rec.queue == "sales"
            assert rec.caller_id == "5551234" and rec.agent_id == live.agent_id
            path = rec_svc.paths.resolve(rec.file)
            assert path in [p.resolve() for p in floor.sim.recordings]
            assert rec.size_bytes == path.stat().st_size
            [pause] = rec.pauses
            # 6 clock seconds passed between the pause's answer and the resume's request.
            assert 0 < pause.start and pause.end - pause.start > 5.9, pause
            spans = await asyncio.to_thread(silent_spans, path)
            assert len(spans) == 1, spans
            assert silences_match(spans, floor.sim, path), (spans, floor.sim.silences(path))
            assert overlaps(spans[0], pause.start, pause.end), (spans, pause)
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

    # The agent on the call may not fetch it: sales has no agent_access.
    agent = await _login(floor, "agent-own", "agent", rec.agent_id)
    try:
        async with agent.get(f"{base}/{rec.id}/audio") as r:
            assert r.status == 403
        async with agent.get(f"{base}?interaction_id={rec.interaction_id}") as r:
            assert (await r.json())["recordings"] == []
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


SUPPORT = [Press("2", after=0.5), Press("12345#", after=0.5)]  # support: on_demand, agent_access
SUPPORT_TALK_S = 120.0  # 6 s of real time at 20x: room for every request on a busy machine


async def test_on_demand_starts_muted_in_the_call_and_only_its_agent_may_hear_it(tmp_path):
    """Support is on_demand: MixMonitor runs from before Dial, muted over AMI (``call`` class),
    until the agent starts it; stop and start again mute and unmute the same file. The agent
    then plays their own recording (downloading it is 403: qa.download_roles); another agent
    gets 403."""
    async with running_floor(tmp_path, speed=20) as floor:
        _sales_phones(floor, SUPPORT_TALK_S, skill="support")
        rec_svc = floor.server.recording
        sup = await _login(floor, "sup", "supervisor")
        own = other = None
        try:
            call = await floor.sim.place_call(CallerScript(
                caller_id="5557777", exten="200", steps=SUPPORT, hangup_after=600))
            live = await _until(lambda: next(iter(rec_svc._live.values()), None))
            iid = live.interaction_id
            assert live.queue == "support"
            [row] = await rec_svc.index.for_interaction(iid)
            assert [(p.kind, p.end) for p in row.pauses] == [("not_started", None)]
            assert floor.sim.requests("MixMonitorMute")[0]["State"] == "1"
            other_id = next(a.id for a in floor.server.routing_config.agents.values()
                            if "support" in a.skills and a.id != live.agent_id)
            own = await _login(floor, "own", "agent", live.agent_id)
            other = await _login(floor, "other", "agent", other_id)
            url = f"{floor.web_url}/api/calls/{iid}/recording"

            await floor.clock.sleep(4)
            async with other.post(f"{url}/start") as r:
                assert r.status == 403  # not their call
            for http, op in ((own, "start"), (own, "pause"), (own, "resume"), (sup, "stop"),
                             (own, "start")):
                async with http.post(f"{url}/{op}") as r:
                    assert r.status == 200, (op, await r.text())
                async with http.post(f"{url}/{op}") as r:
                    assert r.status == 409  # already started / paused / resumed / stopped
                await floor.clock.sleep(4)
            await asyncio.wait_for(call.ended(), 60)
            rec = await asyncio.wait_for(_closed(rec_svc, row.id), 20)

            assert rec.status == "complete", rec
            assert abs(rec.duration_s - SUPPORT_TALK_S) < 2.5, rec.duration_s
            assert [(p.kind, p.by) for p in rec.pauses] == [
                ("not_started", ""), ("pause", "own"), ("stopped", "sup")]
            path = rec_svc.paths.resolve(rec.file)
            spans = await asyncio.to_thread(silent_spans, path)
            assert len(spans) == 3, spans
            assert silences_match(spans, floor.sim, path), (spans, floor.sim.silences(path))
            for span, gap in zip(spans, rec.pauses, strict=True):
                assert overlaps(span, gap.start, gap.end), (spans, rec.pauses)
            recorded = rec.recorded()
            assert len(recorded) == 3 and abs(recorded[-1][1] - rec.duration_s) < 1e-6
            # Never an AMI action our AMI user lacks the class for: MixMonitor ran in the call.
            assert floor.sim.requests("MixMonitor") == [] and floor.sim.requests("Command") == []
            assert [m["State"] for m in floor.sim.requests("MixMonitorMute")] == [
                "1", "0", "1", "0", "1", "0"]
            audit = await floor.server.audit.list(action_prefix="recording.")
            assert [(a.actor, a.action) for a in reversed(audit)] == [
                ("own", "recording.start"), ("own", "recording.pause"), ("own", "recording.resume"),
                ("sup", "recording.stop"), ("own", "recording.start")]

            base = f"{floor.web_url}/api/recordings"
            async with own.get(f"{base}/{rec.id}/audio") as r:
                # qa.download_roles (supervisors, admins): the agent may play, not keep
                assert r.status == 403 and "error" in await r.json()
            async with own.post(f"{base}/{rec.id}/play") as r:
                assert r.status == 200
                src = (await r.json())["src"]
            async with own.get(f"{floor.web_url}{src}") as r:
                assert r.status == 200 and await r.read() == path.read_bytes()
            async with own.get(base) as r:
                assert [x["id"] for x in (await r.json())["recordings"]] == [rec.id]
            async with other.get(f"{base}/{rec.id}/audio") as r:
                assert r.status == 403
            async with other.get(f"{base}/{rec.id}") as r:
                assert r.status == 403
            async with other.get(base) as r:
                assert (await r.json())["recordings"] == []
        finally:
            for http in (sup, own, other):
                if http is not None:
                    await http.close()
