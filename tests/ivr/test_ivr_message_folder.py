"""Over real sockets through the PBX simulator: a voice message into a folder the PBX does not
have fails as on Asterisk (``RECORD FILE`` answers ``-1 (writefile)``), is logged with the
file's path and the PBX's answer, and the caller still reaches the fallback queue."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from contactcenter.domain.clock import Clock
from contactcenter.ivr.handler import make_ivr_handler
from contactcenter.ivr.lookups import LookupRouter
from contactcenter.ivr.ports import CollectingEvents, QueueOutcome, QueueRequest
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.settings import IvrSettings
from contactcenter.sim import CallerScript, Press, SimConfig, Simulator
from contactcenter.telephony.agi.server import FastAgiServer

FLOW = """
entry: vm
fallback: {prompt: an-error-has-occured, queue: operator}
nodes:
  vm: {type: message, purpose: voicemail, max_seconds: 20, next: bye}
  bye: {type: hangup, prompt: vm-goodbye}
"""


class ConnectingQueue:
    """A QueuePort that connects every call and remembers where callers were sent."""

    def __init__(self) -> None:
        self.requests: list[QueueRequest] = []

    async def run(self, call, request: QueueRequest) -> QueueOutcome:  # type: ignore[no-untyped-def]
        self.requests.append(request)
        return QueueOutcome("connected")


async def leave_a_message(tmp_path: Path, messages_dir: Path):  # type: ignore[no-untyped-def]
    """One caller through simulator -> FastAGI -> flow, pressing # to end the message."""
    clock = Clock(speed=20.0)
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "vm.yaml").write_text(FLOW)
    settings = IvrSettings(flows_dir=flows, messages_dir=str(messages_dir))
    registry = FlowRegistry(settings)
    assert registry.poll() == ["vm"]
    queue, events = ConnectingQueue(), CollectingEvents()
    server = FastAgiServer(host="127.0.0.1", port=0, allowed_networks=["127.0.0.0/8"], clock=clock)
    server.route("ivr", make_ivr_handler(registry, queue=queue, lookups=LookupRouter({}),
                                         events=events, clock=clock, settings=settings))
    await server.start()
    # The PBX's disk is the recordings folder it shares with the server.
    sim = Simulator(SimConfig(agi_url=f"agi://127.0.0.1:{server.port}/ivr?flow=vm", clock=clock,
                              recordings_dir=tmp_path / "pbx"))
    await sim.start()
    try:
        call = await sim.place_call(CallerScript(exten="100", caller_id="5551234",
                                                 hangup_after=600.0,
                                                 steps=[Press("#", after=2.0)]))
        await asyncio.wait_for(call.ended(), 30)  # only catches hangs
    finally:
        await sim.stop()
        await server.stop(grace=1.0)
    (result,) = events.results
    return call, result, queue, events


async def test_missing_messages_folder_is_logged_and_the_caller_reaches_the_fallback(
        tmp_path, caplog):
    (tmp_path / "pbx").mkdir()
    missing = tmp_path / "pbx" / "messages"
    caplog.set_level(logging.WARNING, logger="contactcenter.ivr")
    call, result, queue, events = await leave_a_message(tmp_path, missing)

    record = next(c for c in call.agi_commands if c.startswith("RECORD FILE"))
    assert record.startswith(f"RECORD FILE {missing}/")
    assert result.outcome == "fallback:queue:connected"  # not dead air
    assert [r.queue for r in queue.requests] == ["operator"]
    assert events.messages == []
    warnings = [r for r in caplog.records
                if r.levelno == logging.WARNING and r.name == "contactcenter.ivr"]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    text = warnings[0].getMessage()
    assert f"{missing}/{result.call_id}-vm.wav" in text  # the file it could not write
    assert "result=-1 (writefile)" in text  # what the PBX answered
    assert "node=vm" in text


async def test_the_same_message_is_recorded_once_the_folder_exists(tmp_path, caplog):
    folder = tmp_path / "pbx" / "messages"
    folder.mkdir(parents=True)
    caplog.set_level(logging.WARNING, logger="contactcenter.ivr")
    call, result, queue, events = await leave_a_message(tmp_path, folder)

    assert any(c.startswith(f"RECORD FILE {folder}/") for c in call.agi_commands)
    assert result.outcome == "hangup"
    assert queue.requests == []
    (message,) = events.messages
    assert message.filename == f"{folder}/{result.call_id}-vm"
    assert message.ended_by == "digit"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
