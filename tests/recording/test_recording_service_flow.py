"""RecordingService: policy start on connect, pause/resume marked, metadata indexed on hangup.

The AMI side is a scripted PBX port that writes the WAV as MixMonitor would (silence while
muted); the run through contactcenter.sim comes once the simulator has landed.
"""

from __future__ import annotations

import asyncio

import numpy as np
import soundfile

from contactcenter.domain.clock import Clock
from contactcenter.recording.index import RecordingIndex
from contactcenter.recording.metadata import silent_spans
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode, RecordingPolicy
from contactcenter.monitoring.ports import LiveCall
from contactcenter.recording.service import RecordingForbidden, RecordingService
from contactcenter.storage.audit import AuditLog
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.web.roles import Actor


class ScriptedMixMonitor:
    """Collects 0.1 s blocks of tone, or silence while muted; writes the file on hangup."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.blocks: list[np.ndarray] = []
        self.muted = False
        self.file: str | None = None

    async def send_action(self, headers, timeout=5.0):
        h = dict(headers)
        self.sent.append(h)
        if h["Action"] == "MixMonitor":
            self.file = h["File"]
        elif h["Action"] == "MixMonitorMute":
            self.muted = h["State"] == "1"
        return AmiMessage.of(("Response", "Success"))

    def talk(self, blocks: int) -> None:
        t = np.arange(800) / 8000
        for _ in range(blocks):
            self.blocks.append(np.zeros(800) if self.muted else 0.3 * np.sin(2 * np.pi * 440 * t))

    def close(self) -> None:
        soundfile.write(self.file, np.concatenate(self.blocks), 8000, subtype="PCM_16")


async def test_always_policy_records_pauses_and_indexes(database, tmp_path):
    clock = Clock()
    pbx = ScriptedMixMonitor()
    audit = AuditLog(database)
    service = RecordingService(
        RecordingIndex(database), RecordingPaths(tmp_path / "rec"),
        PolicyBook({"sales": RecordingPolicy(RecordingMode.ALWAYS, 30)}), {"pbx1": pbx}, clock,
        audit=audit, close_grace_s=1.0,
    )
    call = LiveCall("INT-7", "a1", "sales", "5551234", "PJSIP/1001-0000001a",
                    "Local/100@cc-inbound-00000024;2", "pbx1", clock.time())
    rec = await service.on_call_connected(call)
    assert rec is not None and pbx.sent[0]["Options"] == "b"
    assert pbx.sent[0]["Channel"] == call.caller_channel
    assert pbx.file.endswith(f"/INT-7-{rec.id}.wav") and rec.file.count("/") == 3
    agent = Actor(1, "ann", "agent", "a1")
    other = Actor(2, "bob", "agent", "a9")
    pbx.talk(10)
    try:
        await service.pause("INT-7", other)
        raise AssertionError("another agent paused the recording")
    except RecordingForbidden:
        pass
    await service.pause("INT-7", agent)
    pbx.talk(10)
    await service.resume("INT-7", agent)
    pbx.talk(10)
    pbx.close()
    service.on_ami_event("pbx1", AmiMessage.of(("Event", "Hangup"), ("Channel", call.caller_channel)))
    await asyncio.wait_for(service.close(), 10)
    done = await service.index.get(rec.id)
    assert done.status == "complete" and abs(done.duration_s - 3.0) < 1e-6
    assert done.sample_rate == 8000 and done.channels == 1 and done.size_bytes > 0
    assert len(done.pauses) == 1 and done.pauses[0].by == "ann" and done.pauses[0].end is not None
    spans = silent_spans(tmp_path / "rec" / done.file)
    assert [(round(a, 1), round(b, 1)) for a, b in spans] == [(1.0, 2.0)]  # audible as silence
    mutes = [h["State"] for h in pbx.sent if h["Action"] == "MixMonitorMute"]
    assert mutes == ["1", "0"]
    assert [e.action for e in reversed(await audit.list())] == ["recording.pause", "recording.resume"]


async def test_missing_file_is_flagged_not_raised(database, tmp_path):
    clock = Clock(speed=20)
    pbx = ScriptedMixMonitor()
    service = RecordingService(
        RecordingIndex(database), RecordingPaths(tmp_path / "rec"),
        PolicyBook({}, RecordingPolicy(RecordingMode.ON_DEMAND)), {"pbx1": pbx}, clock,
    )
    call = LiveCall("INT-8", "a1", "q", None, "PJSIP/1001-0000001b", "PJSIP/trunk-00000002", "pbx1", 0.0)
    assert await service.on_call_connected(call) is None  # on demand: nothing yet
    rec = await service.start("INT-8", Actor(3, "sue", "supervisor"))
    done = await service.on_call_ended("INT-8")
    assert done.id == rec.id and done.status == "missing" and done.error == "file not found"
