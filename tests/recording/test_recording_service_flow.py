"""RecordingService: MixMonitor started in the call, muted at once on demand, spans in the index.

The PBX side is scripted: it answers the AGI ``EXEC`` of the call and the AMI actions, and
writes the WAV as MixMonitor would (0.1 s blocks of tone, silence while muted). The run through
the simulator and the real server is tests/e2e/test_recording_e2e.py.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from contactcenter.domain.clock import Clock
from contactcenter.monitoring.ports import LiveCall
from contactcenter.recording.index import Pause, RecordingIndex, recorded_spans
from contactcenter.recording.metadata import silent_spans
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode, RecordingPolicy
from contactcenter.recording.service import RecordingError, RecordingForbidden, RecordingService
from contactcenter.storage.audit import AuditLog
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.web.roles import Actor

CALLER = "Local/100@cc-inbound-00000024;2"
ANN = Actor(1, "ann", "agent", "a1")
BOB = Actor(2, "bob", "agent", "a9")
SUE = Actor(3, "sue", "supervisor")


class ScriptedPbx:
    """Plays Asterisk for one call: AGI EXEC MixMonitor/StopMixMonitor, AMI MixMonitorMute."""

    def __init__(self, mute_fails: bool = False) -> None:
        self.env = SimpleNamespace(channel=CALLER, callerid="5551234", uniqueid="1.24")
        self.log: list[str] = []  # AGI and AMI requests, in order
        self.blocks: list[np.ndarray] = []
        self.muted = False
        self.file: str | None = None
        self.mute_fails = mute_fails

    async def exec(self, application: str, data: str = "") -> int:
        self.log.append(f"EXEC {application} {data}".strip())
        if application == "MixMonitor":
            self.file = data.split(",")[0]
        elif application == "StopMixMonitor":
            self.file = None
        return 0

    async def send_action(self, headers, timeout=5.0):
        h = dict(headers)
        self.log.append(f"{h['Action']} {h.get('State', '')}".strip())
        if h["Action"] == "MixMonitorMute":
            assert h["Channel"] == CALLER and h["Direction"] == "both"
            if self.mute_fails:
                raise RuntimeError("Cannot set mute flag")
            self.muted = h["State"] == "1"
        return AmiMessage.of(("Response", "Success"))

    def talk(self, blocks: int) -> None:
        t = np.arange(800) / 8000
        for _ in range(blocks):
            self.blocks.append(np.zeros(800) if self.muted else 0.3 * np.sin(2 * np.pi * 440 * t))

    def hang_up(self, service: RecordingService) -> None:
        soundfile.write(self.file, np.concatenate(self.blocks), 8000, subtype="PCM_16")
        service.on_ami_event("pbx1", AmiMessage.of(("Event", "Hangup"), ("Channel", CALLER)))


def _service(database, tmp_path, mode: RecordingMode, pbx: ScriptedPbx, audit=None):
    return RecordingService(
        RecordingIndex(database), RecordingPaths(tmp_path / "rec"),
        PolicyBook({"q": RecordingPolicy(mode, 30, agent_access=True)}), {"pbx1": pbx}, Clock(),
        audit=audit, close_grace_s=1.0,
    )


def _live(pbx: ScriptedPbx) -> LiveCall:
    return LiveCall("INT-7", "a1", "q", "5551234", "PJSIP/1001-0000001a", CALLER, "pbx1", 0.0)


async def test_always_starts_in_the_call_and_records_pauses(database, tmp_path):
    pbx = ScriptedPbx()
    audit = AuditLog(database)
    service = _service(database, tmp_path, RecordingMode.ALWAYS, pbx, audit)
    rec = await service.start_in_call(pbx, "INT-7", "q", "5551234", "pbx1")
    assert rec is not None and rec.pauses == ()
    assert pbx.log == [f"EXEC MixMonitor {pbx.file},b"]  # no AMI MixMonitor, no mute
    assert pbx.file.endswith(f"/INT-7-{rec.id}.wav") and rec.file.count("/") == 3
    assert await service.start_in_call(pbx, "INT-7", "q", "5551234", "pbx1") is None  # re-offer
    await service.on_call_connected(_live(pbx))
    pbx.talk(10)
    with pytest.raises(RecordingForbidden):
        await service.pause("INT-7", BOB)
    with pytest.raises(RecordingError, match="already recording"):
        await service.start("INT-7", ANN)
    await service.pause("INT-7", ANN)
    pbx.talk(10)
    await service.resume("INT-7", ANN)
    pbx.talk(10)
    pbx.hang_up(service)
    await asyncio.wait_for(service.close(), 10)
    done = await service.index.get(rec.id)
    assert done.status == "complete" and abs(done.duration_s - 3.0) < 1e-6
    assert done.sample_rate == 8000 and done.channels == 1 and done.size_bytes > 0
    [pause] = done.pauses
    assert (pause.kind, pause.by) == ("pause", "ann") and pause.end is not None
    assert [(round(a, 1), round(b, 1)) for a, b in silent_spans(tmp_path / "rec" / done.file)] == [
        (1.0, 2.0)]
    assert pbx.log[1:] == ["MixMonitorMute 1", "MixMonitorMute 0"]
    assert [e.action for e in reversed(await audit.list())] == ["recording.pause", "recording.resume"]


async def test_on_demand_is_muted_before_dial_then_started_stopped_and_started_again(
        database, tmp_path):
    pbx = ScriptedPbx()
    audit = AuditLog(database)
    service = _service(database, tmp_path, RecordingMode.ON_DEMAND, pbx, audit)
    rec = await service.start_in_call(pbx, "INT-7", "q", "5551234", "pbx1")
    # Same file and row as "always", muted the moment MixMonitor is on the channel.
    assert pbx.log == [f"EXEC MixMonitor {pbx.file},b", "MixMonitorMute 1"] and pbx.muted
    assert [(p.kind, p.start, p.end) for p in rec.pauses] == [("not_started", 0.0, None)]
    await service.on_call_connected(_live(pbx))
    pbx.talk(10)  # not started: silence
    with pytest.raises(RecordingError, match="not recording"):
        await service.pause("INT-7", ANN)
    with pytest.raises(RecordingError, match="not recording"):
        await service.stop("INT-7", ANN)
    with pytest.raises(RecordingForbidden):
        await service.start("INT-7", BOB)
    started = await service.start("INT-7", ANN)
    assert started.as_json()["off"][0]["kind"] == "not_started"
    assert started.as_json()["off"][0]["end"] is not None and started.as_json()["pauses"] == []
    pbx.talk(10)
    await service.pause("INT-7", ANN)
    pbx.talk(5)
    with pytest.raises(RecordingError, match="already recording"):
        await service.start("INT-7", SUE)
    await service.resume("INT-7", ANN)
    pbx.talk(5)
    await service.stop("INT-7", SUE)
    pbx.talk(10)
    with pytest.raises(RecordingError, match="not paused"):
        await service.resume("INT-7", SUE)
    await service.start("INT-7", SUE)
    pbx.talk(5)
    pbx.hang_up(service)
    await asyncio.wait_for(service.close(), 10)

    done = await service.index.get(rec.id)
    assert done.status == "complete" and abs(done.duration_s - 4.5) < 1e-6
    assert [(p.kind, p.by) for p in done.pauses] == [
        ("not_started", ""), ("pause", "ann"), ("stopped", "sue")]
    assert all(p.end is not None and p.end >= p.start for p in done.pauses)
    starts = [p.start for p in done.pauses]
    assert starts == sorted(starts)
    spans = silent_spans(tmp_path / "rec" / done.file)
    assert [(round(a, 1), round(b, 1)) for a, b in spans] == [(0.0, 1.0), (2.0, 2.5), (3.0, 4.0)]
    assert [h for h in pbx.log if h.startswith("MixMonitorMute")] == [
        "MixMonitorMute 1", "MixMonitorMute 0", "MixMonitorMute 1", "MixMonitorMute 0",
        "MixMonitorMute 1", "MixMonitorMute 0"]
    assert not any(h.startswith(("MixMonitor ", "StopMixMonitor")) for h in pbx.log)
    assert [e.action for e in reversed(await audit.list())] == [
        "recording.start", "recording.pause", "recording.resume", "recording.stop",
        "recording.start"]
    body = done.as_json()
    assert [p["kind"] for p in body["off"]] == ["not_started", "stopped"]
    assert len(body["pauses"]) == 1 and body["recorded_s"] is not None


async def test_on_demand_never_started_keeps_no_file(database, tmp_path):
    pbx = ScriptedPbx()
    service = _service(database, tmp_path, RecordingMode.ON_DEMAND, pbx)
    rec = await service.start_in_call(pbx, "INT-7", "q", "5551234", "pbx1")
    await service.on_call_connected(_live(pbx))
    pbx.talk(20)
    pbx.hang_up(service)
    await asyncio.wait_for(service.close(), 10)
    done = await service.index.get(rec.id)
    assert done.status == "discarded" and done.size_bytes is None
    assert not (tmp_path / "rec" / done.file).exists()
    assert [p.kind for p in done.pauses] == ["not_started"] and done.pauses[0].end is not None


async def test_a_call_that_never_reached_an_agent_keeps_no_file(database, tmp_path):
    # Recording starts before the Dial; the caller hangs up while the agent's phone rings (or a
    # callback's customer never answers): MixMonitor's b option wrote only silence.
    pbx = ScriptedPbx()
    service = _service(database, tmp_path, RecordingMode.ALWAYS, pbx)
    rec = await service.start_in_call(pbx, "INT-9", "q", "5551234", "pbx1")
    pbx.blocks.append(np.zeros(8000))
    pbx.hang_up(service)
    await asyncio.wait_for(service.close(), 10)
    done = await service.index.get(rec.id)
    assert done.status == "discarded" and done.size_bytes is None
    assert done.error == "the call never reached an agent; file deleted"
    assert not (tmp_path / "rec" / done.file).exists()


async def test_on_demand_that_cannot_be_muted_is_taken_off_the_call(database, tmp_path):
    pbx = ScriptedPbx(mute_fails=True)
    service = _service(database, tmp_path, RecordingMode.ON_DEMAND, pbx)
    assert await service.start_in_call(pbx, "INT-7", "q", "5551234", "pbx1") is None
    assert pbx.log[1:] == ["MixMonitorMute 1", "EXEC StopMixMonitor"]
    [row] = await service.index.for_interaction("INT-7")
    assert row.status == "failed" and "could not start muted" in row.error
    await service.on_call_connected(_live(pbx))
    with pytest.raises(RecordingError, match="no recording to start"):
        await service.start("INT-7", ANN)


async def test_never_queues_get_no_monitor_and_refuse_start(database, tmp_path):
    pbx = ScriptedPbx()
    service = _service(database, tmp_path, RecordingMode.NEVER, pbx)
    assert await service.start_in_call(pbx, "INT-7", "q", None, "pbx1") is None
    assert pbx.log == []
    await service.on_call_connected(_live(pbx))
    with pytest.raises(RecordingError, match="never recorded"):
        await service.start("INT-7", SUE)


def test_recorded_spans_are_the_complement_of_the_silent_ones():
    silent = (Pause(0.0, 1.0, "", "not_started"), Pause(2.0, 2.5, "ann"),
              Pause(3.0, None, "sue", "stopped"))
    assert recorded_spans(silent, 4.5) == [(1.0, 2.0), (2.5, 3.0)]
    assert recorded_spans((), 3.0) == [(0.0, 3.0)]
    assert recorded_spans((Pause(0.0, 9.0, "", "not_started"),), 3.0) == []


async def test_missing_file_is_flagged_not_raised(database, tmp_path):
    pbx = ScriptedPbx()
    service = _service(database, tmp_path, RecordingMode.ALWAYS, pbx)
    rec = await service.start_in_call(pbx, "INT-8", "q", None, "pbx1")
    done = await service.on_call_ended("INT-8")  # Asterisk never wrote the file
    assert done.id == rec.id and done.status == "missing" and done.error == "file not found"
