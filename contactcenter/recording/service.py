"""Recording service: start per queue policy, pause/resume for card payments, index on close.

Design note
-----------
* Start: on the queue engine's "connected" event, a queue whose policy is ``always`` gets an
  AMI ``MixMonitor`` on the caller's channel with option ``b`` (both sides, only while bridged),
  file ``root/YYYY/MM/DD/<interaction>-<id>.wav``. Deployments whose AMI user lacks the
  ``system`` class start it inside the call instead (``start_in_call``: AGI ``EXEC MixMonitor``
  before Dial, same file and options). ``on_demand`` queues start on ``start()``.
* Pause/resume: ``MixMonitorMute`` (Direction both) keeps the clock running and writes silence,
  so the file stays aligned with the call; each pause is stored as offsets from the bridge.
* Close: a ``Hangup`` of the recorded channel, ``MixMonitorStop`` or ``on_call_ended`` ends the
  entry; the file is read with soundfile in a thread once Asterisk has closed it (retried for
  a short grace period). A missing or corrupt file sets the status, it never raises.
* Permissions: an agent may only act on a call they are on; supervisors and admins on any.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from contactcenter.domain.clock import Clock
from contactcenter.monitoring import ports
from contactcenter.recording.index import Pause, Recording, RecordingIndex
from contactcenter.recording.metadata import AudioMetadata, MetadataProblem, read_metadata
from contactcenter.recording.paths import RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode
from contactcenter.storage import recordings as t
from contactcenter.storage.audit import AuditLog
from contactcenter.telephony.agi.api import CallControl

log = logging.getLogger(__name__)

STAFF_ROLES = frozenset({"supervisor", "admin"})


class RecordingError(Exception):
    """A recording request that cannot be done (no such call, policy says never, not recording)."""


class RecordingForbidden(RecordingError):
    """The actor may not do this to this call."""


@dataclass
class _Active:
    rec_id: str
    call: ports.LiveCall | None
    interaction_id: str
    channel: str
    pbx: str
    t0: float | None  # clock.monotonic() when the bridge began; None until connected
    paused_at: float | None = None
    pauses: list[Pause] = field(default_factory=list)


class RecordingService:
    """Starts, pauses and closes recordings; keeps the index true."""

    def __init__(
        self,
        index: RecordingIndex,
        paths: RecordingPaths,
        policies: PolicyBook,
        ami: Mapping[str, ports.AmiPort] | Callable[[str], ports.AmiPort],
        clock: Clock,
        audit: AuditLog | None = None,
        close_grace_s: float = 2.0,
        start_via_ami: bool = True,
    ) -> None:
        self.index = index
        self.paths = paths
        self.policies = policies
        self._ami = ami
        self._clock = clock
        self._audit = audit
        self._close_grace_s = close_grace_s
        self._start_via_ami = start_via_ami
        self._live: dict[str, ports.LiveCall] = {}
        self._active: dict[str, _Active] = {}  # interaction id -> active recording
        self._tasks: set[asyncio.Task[Any]] = set()

    # ----------------------------------------------------------------- helpers
    def _port(self, pbx: str) -> ports.AmiPort:
        return self._ami(pbx) if callable(self._ami) else self._ami[pbx]

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), UTC)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _audit_row(self, actor: Any, action: str, target: str, outcome: str = "ok", **detail: Any) -> None:
        if self._audit is not None:
            await self._audit.record(ports.actor_name(actor), action, target, outcome, detail or None)

    def _check_actor(self, actor: Any, call: ports.LiveCall | None) -> None:
        if actor.role in STAFF_ROLES:
            return
        if actor.role == "agent" and call is not None and actor.agent_id == call.agent_id:
            return
        raise RecordingForbidden("only the call's agent, a supervisor or an admin may do this")

    def live_call(self, interaction_id: str) -> ports.LiveCall | None:
        """The connected call for ``interaction_id`` if it is still up."""
        return self._live.get(interaction_id)

    def active_recording_id(self, interaction_id: str) -> str | None:
        """Id of the recording running on this interaction, if any."""
        active = self._active.get(interaction_id)
        return active.rec_id if active else None

    async def _new_entry(
        self, interaction_id: str, queue: str, caller_id: str | None, pbx: str, channel: str,
        agent_id: str | None,
    ) -> tuple[Recording, str]:
        rec_id = uuid.uuid4().hex
        started = self._now()
        rel = self.paths.relative_for(interaction_id, rec_id, started)
        try:
            self.paths.ensure_dir(rel)
        except OSError:
            log.warning("cannot create %s under the recordings root (Asterisk must)", rel)
        rec = Recording(
            id=rec_id, interaction_id=interaction_id, agent_id=agent_id, queue=queue,
            caller_id=caller_id, pbx=pbx, channel=channel, started_at=started, ended_at=None,
            file=rel, status=t.STATUS_RECORDING,
        )
        return rec, self.paths.asterisk_path(rel)

    # ------------------------------------------------------------- lifecycle
    async def on_call_connected(self, call: ports.LiveCall) -> Recording | None:
        """A call reached an agent: start recording if the queue's policy is ``always``."""
        self._live[call.interaction_id] = call
        active = self._active.get(call.interaction_id)
        if active is not None:  # started in the call (AGI) before the bridge
            active.call, active.t0 = call, self._clock.monotonic()
            return await self.index.update(active.rec_id, agent_id=call.agent_id)
        if self.policies.for_queue(call.queue).mode is RecordingMode.ALWAYS and self._start_via_ami:
            return await self._start(call, actor=None)
        return None

    async def start_in_call(
        self, call: CallControl, interaction_id: str, queue: str, caller_id: str | None, pbx: str
    ) -> Recording | None:
        """For AGI-driven setups: ``EXEC MixMonitor <file>,b`` before Dial when policy is always."""
        if self.policies.for_queue(queue).mode is not RecordingMode.ALWAYS:
            return None
        if interaction_id in self._active:
            return None
        rec, target = await self._new_entry(interaction_id, queue, caller_id, pbx, call.env.channel, None)
        await call.exec("MixMonitor", f"{target},b")
        await self.index.add(rec)
        self._active[interaction_id] = _Active(rec.id, None, interaction_id, call.env.channel, pbx, None)
        return rec

    async def start(self, interaction_id: str, actor: Any) -> Recording:
        """Start recording a connected call now (``on_demand`` queues, or a restart after stop)."""
        call = self._live.get(interaction_id)
        self._check_actor(actor, call)
        if call is None:
            raise RecordingError("no connected call with this interaction id")
        if self.policies.for_queue(call.queue).mode is RecordingMode.NEVER:
            await self._audit_row(actor, "recording.start", interaction_id, "refused", reason="policy never")
            raise RecordingError("this queue is never recorded")
        if interaction_id in self._active:
            raise RecordingError("already recording")
        return await self._start(call, actor)

    async def _start(self, call: ports.LiveCall, actor: Any | None) -> Recording:
        rec, target = await self._new_entry(
            call.interaction_id, call.queue, call.caller_id, call.pbx, call.caller_channel, call.agent_id
        )
        self._active[call.interaction_id] = _Active(
            rec.id, call, call.interaction_id, call.caller_channel, call.pbx, self._clock.monotonic()
        )
        try:
            await self._port(call.pbx).send_action(ports.mixmonitor(call.caller_channel, target, "b"))
        except Exception as exc:  # the call goes on; the index says why there is no file
            self._active.pop(call.interaction_id, None)
            await self.index.add(
                replace(rec, status=t.STATUS_FAILED, error=f"MixMonitor refused: {str(exc)[:180]}")
            )
            raise RecordingError(f"MixMonitor failed: {exc}") from exc
        await self.index.add(rec)
        if actor is not None:
            await self._audit_row(actor, "recording.start", call.interaction_id, recording=rec.id)
        return rec

    async def pause(self, interaction_id: str, actor: Any) -> Recording:
        """Mute the recording (silence is written) and mark the pause in the index."""
        return await self._mute(interaction_id, actor, True)

    async def resume(self, interaction_id: str, actor: Any) -> Recording:
        """Unmute the recording and close the open pause."""
        return await self._mute(interaction_id, actor, False)

    async def _mute(self, interaction_id: str, actor: Any, muted: bool) -> Recording:
        active = self._active.get(interaction_id)
        self._check_actor(actor, active.call if active else self._live.get(interaction_id))
        if active is None:
            raise RecordingError("not recording")
        if muted == (active.paused_at is not None):
            raise RecordingError("already paused" if muted else "not paused")
        await self._port(active.pbx).send_action(ports.mixmonitor_mute(active.channel, muted))
        now = self._clock.monotonic()
        offset = round(max(0.0, now - (active.t0 if active.t0 is not None else now)), 3)
        if muted:
            active.paused_at = now
            active.pauses.append(Pause(offset, None, ports.actor_name(actor)))
        else:
            active.paused_at = None
            last = active.pauses[-1]
            active.pauses[-1] = Pause(last.start, offset, last.by)
        await self.index.set_pauses(active.rec_id, active.pauses)
        await self._audit_row(actor, "recording.pause" if muted else "recording.resume", interaction_id, recording=active.rec_id)
        rec = await self.index.get(active.rec_id)
        assert rec is not None
        return rec

    async def stop(self, interaction_id: str, actor: Any) -> Recording:
        """Stop recording before the call ends (``StopMixMonitor``) and index the file."""
        active = self._active.get(interaction_id)
        self._check_actor(actor, active.call if active else self._live.get(interaction_id))
        if active is None:
            raise RecordingError("not recording")
        await self._port(active.pbx).send_action(ports.stop_mixmonitor(active.channel))
        await self._audit_row(actor, "recording.stop", interaction_id, recording=active.rec_id)
        rec = await self._finish(interaction_id)
        assert rec is not None
        return rec

    async def on_call_ended(self, interaction_id: str) -> Recording | None:
        """The call is over: close and index its recording."""
        self._live.pop(interaction_id, None)
        return await self._finish(interaction_id)

    def on_ami_event(self, pbx: str, msg: Any) -> None:
        """Hangup of a recorded channel or MixMonitorStop closes the entry."""
        if msg.event not in ("Hangup", "MixMonitorStop"):
            return
        channel = msg.get("Channel")
        for active in list(self._active.values()):
            if active.pbx == pbx and active.channel == channel:
                if msg.event == "Hangup":
                    self._live.pop(active.interaction_id, None)
                self._spawn(self._finish(active.interaction_id))

    async def _finish(self, interaction_id: str) -> Recording | None:
        active = self._active.pop(interaction_id, None)
        if active is None:
            return None
        now = self._clock.monotonic()
        if active.paused_at is not None and active.pauses:
            last = active.pauses[-1]
            end = round(max(0.0, now - (active.t0 or now)), 3)
            active.pauses[-1] = Pause(last.start, end, last.by)
            await self.index.set_pauses(active.rec_id, active.pauses)
        await self.index.update(active.rec_id, ended_at=self._now())
        return await self.refresh_metadata(active.rec_id, wait=True)

    async def refresh_metadata(self, recording_id: str, wait: bool = False) -> Recording | None:
        """Read the file's metadata (soundfile, in a thread) and store it or the problem."""
        rec = await self.index.get(recording_id)
        if rec is None:
            return None
        path = self.paths.local_path(rec.file)
        deadline = self._clock.monotonic() + (self._close_grace_s if wait else 0.0)
        while True:
            try:
                real = self.paths.resolve(rec.file)
                result = await asyncio.to_thread(read_metadata, real)
            except (ValueError, RuntimeError, OSError):  # escapes the root, or a symlink loop
                result = MetadataProblem("corrupt", f"path escapes the recordings root: {path}")
            if isinstance(result, AudioMetadata) or self._clock.monotonic() >= deadline:
                break
            await self._clock.sleep(0.1)  # Asterisk may not have closed the file yet
        if isinstance(result, AudioMetadata):
            return await self.index.update(
                recording_id, status=t.STATUS_COMPLETE, error=None, duration_s=round(result.duration_s, 3),
                sample_rate=result.sample_rate, channels=result.channels, size_bytes=result.size_bytes,
            )
        log.warning("recording %s: %s (%s)", recording_id, result.status, result.reason)
        return await self.index.update(
            recording_id, status=result.status, error=result.reason, size_bytes=result.size_bytes
        )

    async def close(self) -> None:
        """Wait for background indexing to finish (call at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
