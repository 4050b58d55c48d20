"""Recording service: start per queue policy, pause/resume for card payments, index on close.

Design note
-----------
* One file per call, started inside the call: before the agent is dialled the AGI session runs
  ``EXEC MixMonitor <file>,b`` (both sides, only while bridged) for ``always`` and ``on_demand``
  queues alike, file ``root/YYYY/MM/DD/<interaction>-<id>.wav``; a ``speakers`` queue adds
  ``r(<name>-caller.wav)t(<name>-agent.wav)``, each direction apart (the index keeps the
  mix; the transcripts read the two, retention and discard delete them). AMI's ``MixMonitor`` action
  needs the ``system`` write class, which our AMI user does not have; everything after the
  start uses ``MixMonitorMute`` (``call`` class) instead.
* ``on_demand``: muted over AMI as soon as ``EXEC MixMonitor`` returns, still before Dial, so
  not one frame of the conversation is heard before someone asks (app_mixmonitor has no
  "start muted" option). ``start()`` unmutes, ``stop()`` mutes again; both queue modes share
  them. The file keeps running through every muted stretch (silence), so it stays aligned
  with the call and one file holds every span that was recorded.
* The index tells the silent stretches apart (``index.Pause.kind``): ``not_started`` (an
  on-demand recording nobody started yet), ``pause`` (pause/resume, e.g. a card number) and
  ``stopped``; offsets are seconds from the bridge. An on-demand recording never started is
  deleted at the end and its row marked ``discarded``.
* Close: a ``Hangup`` of the recorded channel, ``MixMonitorStop`` or ``on_call_ended`` ends the
  entry; the file is read with soundfile in a thread once Asterisk has closed it (retried for
  a short grace period). A missing or corrupt file sets the status, it never raises.
* Permissions: an agent may only act on a call they are on; supervisors and admins on any.
* Restart: ``_active`` lives in memory, while Asterisk keeps every MixMonitor running. At
  start-up ``adopt_unclosed`` takes every row still ``recording`` back (pauses, mute state and
  agent as the index last knew them; the routing's restored record gives the connect time);
  ``reconcile``, at every AMI resync, closes from the file on disk the ones whose channel is
  gone. Those still live are closed by their Hangup as usual (docs/recording.md, "Restart").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from contactcenter.domain.clock import Clock
from contactcenter.domain.routing_events import Connected
from contactcenter.monitoring import ports
from contactcenter.recording import tables as t
from contactcenter.recording.index import (
    NOT_STARTED,
    PAUSE,
    STATUS_DISCARDED,
    STOPPED,
    Pause,
    Recording,
    RecordingIndex,
)
from contactcenter.recording.metadata import AudioMetadata, MetadataProblem, read_metadata
from contactcenter.recording.paths import SPEAKERS, RecordingPaths
from contactcenter.recording.policy import PolicyBook, RecordingMode
from contactcenter.storage.audit import AuditLog
from contactcenter.telephony.agi.api import CallControl

log = logging.getLogger(__name__)

STAFF_ROLES = frozenset({"supervisor", "admin"})


class RecordingError(Exception):
    """A recording request that cannot be done (no such call, policy says never, not recording)."""


class RecordingForbidden(RecordingError):
    """The actor may not do this to this call."""


@dataclass(frozen=True, slots=True)
class LiveChannel:
    """A channel an AMI resync found up on a PBX."""

    pbx: str
    uniqueid: str
    name: str


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What routing knows of an interaction: its agent, and when it was connected (clock time;
    None while not connected)."""

    agent_id: str | None
    connected_at: float | None


@dataclass
class _Active:
    rec_id: str
    call: ports.LiveCall | None
    interaction_id: str
    channel: str
    pbx: str
    t0: float | None  # clock.monotonic() when the bridge began; None until connected
    spans: list[Pause] = field(default_factory=list)  # silent stretches, the last maybe open
    ever_on: bool = True  # some audio was let through (False: on demand, never started)
    queue: str = ""
    agent_id: str | None = None
    reached: bool = False  # an agent was connected (known even with no LiveCall)
    adopted: bool = False  # taken over from the index at start-up (no session started it)

    def open_kind(self) -> str | None:
        """Kind of the silent stretch going on now; None while audio is recorded."""
        return self.spans[-1].kind if self.spans and self.spans[-1].end is None else None


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
        call_facts: Callable[[str], CallFacts | None] | None = None,
    ) -> None:
        self.index = index
        self.paths = paths
        self.policies = policies
        self._ami = ami
        self._clock = clock
        self._audit = audit
        self._close_grace_s = close_grace_s
        self._call_facts = call_facts
        self._live: dict[str, ports.LiveCall] = {}
        self._active: dict[str, _Active] = {}  # interaction id -> active recording
        self._by_channel: dict[tuple[str, str], set[str]] = {}  # (pbx, channel) -> ids
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

    def _check_actor(self, actor: Any, agent_id: str | None) -> None:
        """``agent_id``: the agent on the call, if any."""
        if actor.role in STAFF_ROLES:
            return
        if actor.role == "agent" and agent_id is not None and actor.agent_id == agent_id:
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
    def starts_in_call(self, interaction_id: str, queue: str) -> bool:
        """Whether ``start_in_call`` would start a recording on this call now."""
        # (a re-offer to another agent keeps the recording it has)
        return (self.policies.for_queue(queue).mode is not RecordingMode.NEVER
                and interaction_id not in self._active)

    async def start_in_call(
        self, call: CallControl, interaction_id: str, queue: str, caller_id: str | None, pbx: str
    ) -> Recording | None:
        """Before Dial: ``EXEC MixMonitor <file>,b``; muted at once for ``on_demand`` queues."""
        if not self.starts_in_call(interaction_id, queue):
            return None
        policy = self.policies.for_queue(queue)
        mode = policy.mode
        channel = call.env.channel
        rec, target = await self._new_entry(interaction_id, queue, caller_id, pbx, channel, None)
        options = "b"
        if policy.speakers:  # each direction in a file of its own as well: who spoke is known
            rx, tx = (self.paths.asterisk_path(self.paths.speaker_file(rec.file, who))
                      for who in SPEAKERS)
            options = f"br({rx})t({tx})"
        code = await call.exec("MixMonitor", f"{target},{options}")
        if code != 0:
            await self.index.add(replace(rec, status=t.STATUS_FAILED,
                                         error=f"EXEC MixMonitor returned {code}"))
            log.warning("call=%s: MixMonitor did not start (%s)", interaction_id, code)
            return None
        spans: list[Pause] = []
        if mode is RecordingMode.ON_DEMAND:
            try:
                await self._port(pbx).send_action(ports.mixmonitor_mute(channel, True))
            except Exception as exc:  # noqa: BLE001 - any failure: the call must go unrecorded
                # Never record what nobody asked to record: take the monitor off the call.
                with contextlib.suppress(Exception):
                    await call.exec("StopMixMonitor")
                await self.index.add(replace(rec, status=t.STATUS_FAILED,
                                             error=f"could not start muted: {str(exc)[:160]}"))
                log.warning("call=%s: on-demand recording not armed: %s", interaction_id, exc)
                return None
            spans.append(Pause(0.0, None, "", NOT_STARTED))
        rec = await self.index.add(replace(rec, pauses=tuple(spans)))
        self._track(_Active(rec.id, None, interaction_id, channel, pbx, None, spans,
                            ever_on=mode is RecordingMode.ALWAYS, queue=queue))
        return rec

    def _track(self, active: _Active) -> None:
        self._active[active.interaction_id] = active
        self._by_channel.setdefault((active.pbx, active.channel), set()).add(active.interaction_id)

    def _untrack(self, interaction_id: str) -> _Active | None:
        active = self._active.pop(interaction_id, None)
        if active is None:
            return None
        ids = self._by_channel.get((active.pbx, active.channel))
        if ids is not None:
            ids.discard(interaction_id)
            if not ids:
                del self._by_channel[(active.pbx, active.channel)]
        return active

    # ---------------------------------------------------------------- restart
    async def adopt_unclosed(self) -> list[Recording]:
        """At start-up, before AMI: take back every entry still ``recording``.

        Asterisk keeps a MixMonitor running across our restart, so until an AMI resync says
        otherwise each one is treated as running: its Hangup closes it as usual, and a session
        coming back to the call (CC_RESUME) does not start a second MixMonitor on it.
        """
        rows = await self.index.still_recording()
        for rec in rows:
            if rec.interaction_id in self._active:
                continue
            spans = list(rec.pauses)
            # Every mute change was stored right after the PBX took it, so the last stretch
            # still open is the mute state MixMonitor is in now.
            never_on = bool(spans) and spans[0].kind == NOT_STARTED and spans[0].end is None
            active = _Active(rec.id, None, rec.interaction_id, rec.channel, rec.pbx, None, spans,
                             ever_on=not never_on, queue=rec.queue, agent_id=rec.agent_id,
                             reached=rec.agent_id is not None, adopted=True)
            self._learn(active)
            self._track(active)
        if rows:
            log.info("recordings: %d still open from before the start, adopted", len(rows))
        return rows

    def _learn(self, active: _Active) -> None:
        """Agent and bridge time of an adopted recording from routing, when it knows them."""
        facts = self._call_facts(active.interaction_id) if self._call_facts else None
        if facts is None or facts.connected_at is None or active.call is not None:
            return
        self._connected(active, facts.agent_id, facts.connected_at)

    def _connected(self, active: _Active, agent_id: str | None, at: float) -> None:
        """An adopted recording's call is (or was) connected at clock time ``at``."""
        active.reached = True
        if active.t0 is None:  # offsets count from the bridge, on the monotonic clock
            active.t0 = self._clock.monotonic() - max(0.0, self._clock.time() - at)
        if agent_id is not None and agent_id != active.agent_id:
            active.agent_id = agent_id
            self._spawn(self.index.update(active.rec_id, agent_id=agent_id))

    def on_routing_event(self, event: Any) -> None:
        """Routing subscriber: the answer of a call no session holds (an agent answered while
        the server restarted) gives an adopted recording its agent and bridge time."""
        if event.__class__ is not Connected:
            return
        active = self._active.get(event.interaction_id)
        if active is not None and active.adopted and active.call is None:
            self._connected(active, event.agent_id, event.at)

    def reconcile(self, live: Iterable[LiveChannel]) -> None:
        """After an AMI resync of every PBX: recordings whose channel is gone (hung up while
        the server or AMI was away, so no Hangup will come) are closed from their file.

        Synchronous on purpose: ``live`` is the model at this instant, and a recording that
        starts after it must not be taken for gone.
        """
        up = {(c.pbx, c.name) for c in live}
        for iid, active in list(self._active.items()):
            if (active.pbx, active.channel) in up:
                if active.adopted:
                    self._learn(active)
                continue
            self._live.pop(iid, None)
            self._untrack(iid)
            log.info("call=%s: recording %s: channel %s gone at the AMI resync; closing it "
                     "from the file", iid, active.rec_id, active.channel)
            self._spawn(self._close_gone(active))

    async def _close_gone(self, active: _Active) -> Recording | None:
        rec = await self.index.get(active.rec_id)
        if rec is None:
            return None
        ago = await self._written_ago(rec.file)
        if ago is not None and ago < self._close_grace_s:  # hung up just now: let it close
            await self._clock.sleep(self._close_grace_s - ago)
            ago = await self._written_ago(rec.file)
        # MixMonitor writes until the channel hangs up and closes the file then: its mtime is
        # when the call ended. "Now" would add the whole time the server was away.
        ended = datetime.fromtimestamp(self._clock.time() - (ago or 0.0), UTC)
        changes: dict[str, Any] = {"ended_at": ended}
        if active.agent_id is not None and rec.agent_id is None:
            changes["agent_id"] = active.agent_id
        await self.index.update(rec.id, **changes)
        done = await self.refresh_metadata(rec.id)
        if done is None:
            return None
        await self._end_open_span(active, done)
        why = "the call ended while the server was away"
        if done.status == t.STATUS_MISSING:
            return await self.index.update(rec.id, status=t.STATUS_FAILED,
                                           error=f"{why}; recording file not found")
        if done.size_bytes == 0:
            return await self.index.update(rec.id, status=t.STATUS_FAILED,
                                           error=f"{why}; recording file is empty (0 bytes)")
        if done.status != t.STATUS_COMPLETE:
            return done  # corrupt: flagged as on the normal path
        if not done.duration_s and active.reached:
            return await self.index.update(rec.id, status=t.STATUS_FAILED,
                                           error=f"{why}; recording file holds no audio")
        # ``b`` writes only while bridged, so audio in the file means an agent was connected
        # even if nobody here saw it.
        return await self._discard_if_silent(active, done, reached=active.reached
                                             or bool(done.duration_s))

    async def _written_ago(self, relative: str) -> float | None:
        """Clock seconds since the file was last written; None when it cannot be read."""
        try:
            stat = await asyncio.to_thread(self.paths.resolve(relative).stat)
        except (OSError, ValueError, RuntimeError):
            return None
        # mtime is real time; the index is on the server's clock (faster in the simulator)
        return max(0.0, time.time() - stat.st_mtime) * self._clock.speed

    async def _end_open_span(self, active: _Active, rec: Recording) -> None:
        """With no bridge time (adopted), a stretch still open lasted to the file's end: the
        mute is the PBX's and nobody could lift it, so that is exact, not a guess."""
        if active.open_kind() is None or rec.duration_s is None:
            return
        self._close_span(active, rec.duration_s)
        await self.index.set_pauses(active.rec_id, active.spans)

    async def on_call_connected(self, call: ports.LiveCall) -> Recording | None:
        """A call reached an agent: offsets of its recording count from now."""
        self._live[call.interaction_id] = call
        active = self._active.get(call.interaction_id)
        if active is None:
            return None
        active.call = call
        active.reached, active.agent_id = True, call.agent_id
        if active.t0 is None:
            active.t0 = self._clock.monotonic()
        return await self.index.update(active.rec_id, agent_id=call.agent_id)

    def _offset(self, active: _Active) -> float:
        now = self._clock.monotonic()
        return round(max(0.0, now - (active.t0 if active.t0 is not None else now)), 3)

    def _close_span(self, active: _Active, at: float) -> None:
        last = active.spans[-1]
        active.spans[-1] = replace(last, end=max(at, last.start))

    async def _controlled(self, interaction_id: str, actor: Any) -> _Active:
        """The active recording of a call the actor may control, or RecordingError."""
        active = self._active.get(interaction_id)
        call = self._live.get(interaction_id)
        self._check_actor(actor, _agent_on(active, call))
        if active is None:
            raise RecordingError("not recording")
        return active

    async def _set(self, active: _Active, muted: bool, close: str | None, open_kind: str | None,
                   actor: Any, action: str) -> Recording:
        """Mute or unmute on the PBX, then close/open silent stretches and audit."""
        if active.adopted and active.reached and active.t0 is None:
            # Offsets count from the bridge; an index with made-up offsets would put the
            # silence of a card number where the audio is.
            raise RecordingError("this call was connected before the server restarted and "
                                 "its connect time is unknown: the recording cannot be changed")
        if muted != (active.open_kind() is not None):
            await self._port(active.pbx).send_action(ports.mixmonitor_mute(active.channel, muted))
        at = self._offset(active)
        if close is not None and active.open_kind() == close:
            self._close_span(active, at)
        if open_kind is not None:
            active.spans.append(Pause(at, None, ports.actor_name(actor), open_kind))
        if not muted:
            active.ever_on = True
        await self.index.set_pauses(active.rec_id, active.spans)
        await self._audit_row(actor, action, active.interaction_id, recording=active.rec_id)
        rec = await self.index.get(active.rec_id)
        assert rec is not None
        return rec

    async def start(self, interaction_id: str, actor: Any) -> Recording:
        """Start (unmute) the call's recording: ``on_demand`` queues, or again after a stop."""
        call = self._live.get(interaction_id)
        active = self._active.get(interaction_id)
        self._check_actor(actor, _agent_on(active, call))
        if call is None and (active is None or not active.reached):
            raise RecordingError("no connected call with this interaction id")
        queue = call.queue if call is not None else active.queue if active is not None else ""
        if self.policies.for_queue(queue).mode is RecordingMode.NEVER:
            await self._audit_row(actor, "recording.start", interaction_id, "refused", reason="policy never")
            raise RecordingError("this queue is never recorded")
        if active is None:
            raise RecordingError("this call has no recording to start (MixMonitor starts in the "
                                 "call before the agent is dialled)")
        kind = active.open_kind()
        if kind in (None, PAUSE):
            raise RecordingError("already recording" if kind is None else "already recording (paused)")
        return await self._set(active, False, kind, None, actor, "recording.start")

    async def pause(self, interaction_id: str, actor: Any) -> Recording:
        """Mute the recording (silence is written) and mark the pause in the index."""
        active = await self._controlled(interaction_id, actor)
        kind = active.open_kind()
        if kind is not None:
            raise RecordingError("already paused" if kind == PAUSE else "not recording")
        return await self._set(active, True, None, PAUSE, actor, "recording.pause")

    async def resume(self, interaction_id: str, actor: Any) -> Recording:
        """Unmute the recording and close the open pause."""
        active = await self._controlled(interaction_id, actor)
        if active.open_kind() != PAUSE:
            raise RecordingError("not paused")
        return await self._set(active, False, PAUSE, None, actor, "recording.resume")

    async def stop(self, interaction_id: str, actor: Any) -> Recording:
        """Stop recording (mute until the call ends or someone starts it again)."""
        active = await self._controlled(interaction_id, actor)
        kind = active.open_kind()
        if kind in (NOT_STARTED, STOPPED):
            raise RecordingError("not recording")
        return await self._set(active, True, PAUSE, STOPPED, actor, "recording.stop")

    async def stop_for_transfer(self, interaction_id: str, actor: Any) -> Recording | None:
        """The agent sent the call out (transfer to a number): mute the rest of the file, marked
        ``stopped`` by that agent; None when nothing was being recorded."""
        active = self._active.get(interaction_id)
        if active is None or active.open_kind() in (NOT_STARTED, STOPPED):
            return None  # the caller's MixMonitor records nothing more of this call anyway
        return await self._set(active, True, PAUSE, STOPPED, actor, "recording.stop")

    async def on_call_ended(self, interaction_id: str) -> Recording | None:
        """The call is over: close and index its recording."""
        self._live.pop(interaction_id, None)
        return await self._finish(interaction_id)

    # The only AMI events on_ami_event looks at (the link delivers nothing else).
    AMI_EVENTS = frozenset({"Hangup", "MixMonitorStop"})

    def on_ami_event(self, pbx: str, msg: Any) -> None:
        """Hangup of a recorded channel or MixMonitorStop closes the entry."""
        if msg.event not in self.AMI_EVENTS:
            return
        # Indexed by channel: a Hangup costs the same with 5 or 5,000 recordings running.
        for iid in list(self._by_channel.get((pbx, msg.get("Channel") or ""), ())):
            if msg.event == "Hangup":
                self._live.pop(iid, None)
            self._spawn(self._finish(iid))

    async def _finish(self, interaction_id: str) -> Recording | None:
        active = self._untrack(interaction_id)
        if active is None:
            return None
        if active.open_kind() is not None and (active.t0 is not None or not active.adopted):
            self._close_span(active, self._offset(active))
            await self.index.set_pauses(active.rec_id, active.spans)
        changes: dict[str, Any] = {"ended_at": self._now()}
        if active.adopted and active.agent_id is not None:
            changes["agent_id"] = active.agent_id
        await self.index.update(active.rec_id, **changes)
        rec = await self.refresh_metadata(active.rec_id, wait=True)
        if rec is None or rec.status != t.STATUS_COMPLETE:
            return rec  # a missing or corrupt file stays flagged as such
        await self._end_open_span(active, rec)
        # Adopted: nobody here watched the call before the restart. ``b`` writes only while
        # bridged, so audio in the file says an agent was connected.
        reached = active.reached or (active.adopted and bool(rec.duration_s))
        return await self._discard_if_silent(active, rec, reached)

    async def _discard_if_silent(self, active: _Active, rec: Recording, reached: bool) -> Recording | None:
        # MixMonitor's ``b`` records only while bridged: a call that never reached an agent
        # (abandoned while ringing, a callback whose customer did not answer) or an on-demand
        # recording never started left silence from end to end. Keep no file, say why.
        if not reached:
            reason = "the call never reached an agent; file deleted"
        elif not active.ever_on:
            reason = "on-demand recording never started; file deleted"
        else:
            return rec
        for rel in (rec.file, *(self.paths.speaker_file(rec.file, who) for who in SPEAKERS)):
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                await asyncio.to_thread(self.paths.resolve(rel).unlink, True)
        return await self.index.update(rec.id, status=STATUS_DISCARDED, size_bytes=None,
                                       error=reason)

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


def _agent_on(active: _Active | None, call: ports.LiveCall | None) -> str | None:
    """The agent on the call: its session's, else the one an adopted recording learnt."""
    if active is not None and active.call is not None:
        return active.call.agent_id
    if call is not None:
        return call.agent_id
    return active.agent_id if active is not None else None
