"""Supervisor monitoring: listen / whisper / barge on a live call, switch mode, stop; all audited.

Design note: the service keeps the connected calls it hears about from the queue engine and
one ``MonitorSession`` per supervisor. Each session drives one ``SpyLeg`` (sans-IO) at a time;
switching mode replaces the leg (hang up, originate again with the new options) so the mode is
always the one the server chose and audited, never one toggled by DTMF on the phone. Stop sends
the leg's hangups, waits up to ``stop_timeout_s`` (clock seconds) for ChanSpyStop/Hangup and
then sends the second round and ends the session regardless (see spy_leg.py). The dial string
comes from ``dial_string_for(actor)`` (the user's own phone, else their agent's dial string;
it may be a coroutine function), never from the request. Audit rows:
``monitor.start`` / ``monitor.switch`` / ``monitor.stop`` with outcome ok / refused / failed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from contactcenter.domain.clock import Clock
from contactcenter.monitoring import ports
from contactcenter.monitoring.chanspy import SpyMode, check_exact_channel
from contactcenter.monitoring.spy_leg import SpyLeg
from contactcenter.storage.audit import AuditLog
from contactcenter.telephony.ami.protocol import check_value

log = logging.getLogger(__name__)

_MONITOR_ROLES = frozenset({"supervisor", "admin"})


class MonitorError(Exception):
    """A monitoring request that cannot be done; ``status`` is the HTTP status to use."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class MonitorForbidden(MonitorError):
    """The actor may not monitor (agents never may)."""

    def __init__(self, message: str = "only supervisors and admins may monitor calls") -> None:
        super().__init__(message, 403)


@dataclass
class MonitorSession:
    """A supervisor's monitoring of one call (it survives mode switches)."""

    session_id: str
    actor: str
    actor_key: str
    interaction_id: str
    pbx: str
    leg: SpyLeg
    ended: asyncio.Event

    def as_json(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "session_id": self.session_id,
            "supervisor": self.actor,
            "interaction_id": self.interaction_id,
            "mode": self.leg.mode.value,
            "state": self.leg.state.value,
            "target": self.leg.target,
            "spyer": self.leg.spyer,
            "end_reason": self.leg.end_reason,
        }


@dataclass(frozen=True, slots=True)
class StopResult:
    """How a stop went: ``confirmed`` False means Asterisk did not acknowledge in time."""

    session_id: str
    confirmed: bool
    reason: str


class MonitorService:
    """Starts, switches and stops supervisor spy legs on live calls."""

    def __init__(
        self,
        ami: Mapping[str, ports.AmiPort] | Callable[[str], ports.AmiPort],
        audit: AuditLog,
        clock: Clock,
        dial_string_for: Callable[[Any], str | None | Awaitable[str | None]],
        stop_timeout_s: float = 3.0,
    ) -> None:
        self._ami = ami
        self._audit = audit
        self._clock = clock
        self._dial_string_for = dial_string_for
        self._stop_timeout_s = stop_timeout_s
        self._calls: dict[str, ports.LiveCall] = {}
        self._by_agent_channel: dict[tuple[str, str], set[str]] = {}  # (pbx, channel) -> ids
        self._sessions: dict[str, MonitorSession] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _port(self, pbx: str) -> ports.AmiPort:
        return self._ami(pbx) if callable(self._ami) else self._ami[pbx]

    @staticmethod
    def _key(actor: Any) -> str:
        return f"{getattr(actor, 'user_id', '')}:{ports.actor_name(actor)}"

    # ------------------------------------------------------------ live calls
    def on_call_connected(self, call: ports.LiveCall) -> None:
        """The queue engine connected a call to an agent: it can be monitored."""
        self._forget_call(call.interaction_id)
        self._calls[call.interaction_id] = call
        self._by_agent_channel.setdefault((call.pbx, call.agent_channel), set()).add(
            call.interaction_id)

    def _forget_call(self, interaction_id: str) -> None:
        call = self._calls.pop(interaction_id, None)
        if call is not None:
            key = (call.pbx, call.agent_channel)
            ids = self._by_agent_channel.get(key)
            if ids is not None:
                ids.discard(interaction_id)
                if not ids:
                    del self._by_agent_channel[key]

    async def on_call_ended(self, interaction_id: str) -> None:
        """The call is over: forget it and stop any spy still on it."""
        self._forget_call(interaction_id)
        for session in list(self._sessions.values()):
            if session.interaction_id == interaction_id:
                await self._stop_session(session, "system", reason="call ended")

    def live_calls(self) -> list[ports.LiveCall]:
        """Calls that can be monitored now, oldest first."""
        return sorted(self._calls.values(), key=lambda c: c.started_at)

    def sessions(self) -> list[MonitorSession]:
        """Monitoring sessions in progress."""
        return list(self._sessions.values())

    def session(self, session_id: str) -> MonitorSession | None:
        """One session in progress, or None."""
        return self._sessions.get(session_id)

    # ---------------------------------------------------------------- actions
    async def _refuse(self, actor: Any, action: str, target: str, exc: MonitorError) -> NoReturn:
        await self._audit.record(ports.actor_name(actor), action, target, "refused", {"reason": str(exc)})
        raise exc

    async def start(self, actor: Any, interaction_id: str, mode: SpyMode | str) -> MonitorSession:
        """Originate a spy leg to the supervisor onto the call's exact agent channel."""
        if getattr(actor, "role", None) not in _MONITOR_ROLES:
            await self._refuse(actor, "monitor.start", interaction_id, MonitorForbidden())
        try:
            mode = SpyMode(mode)
        except ValueError:
            await self._refuse(actor, "monitor.start", interaction_id, MonitorError("unknown mode", 400))
        call = self._calls.get(interaction_id)
        if call is None:
            await self._refuse(actor, "monitor.start", interaction_id, MonitorError("no such live call", 404))
        assert call is not None
        key = self._key(actor)
        if any(s.actor_key == key for s in self._sessions.values()):
            await self._refuse(actor, "monitor.start", interaction_id,
                               MonitorError("already monitoring a call: switch or stop it first"))
        dial = self._dial_string_for(actor)
        if inspect.isawaitable(dial):
            dial = await dial
        try:
            check_value(dial or "", "dial string")
            check_exact_channel(call.agent_channel)
            if not dial:
                raise MonitorError("no dial string configured for this supervisor", 409)
        except (ValueError, MonitorError) as exc:
            err = exc if isinstance(exc, MonitorError) else MonitorError(str(exc), 409)
            await self._refuse(actor, "monitor.start", interaction_id, err)
        assert dial is not None
        session = MonitorSession(
            session_id=uuid.uuid4().hex, actor=ports.actor_name(actor), actor_key=key,
            interaction_id=interaction_id, pbx=call.pbx,
            leg=self._new_leg(dial, call.agent_channel, mode), ended=asyncio.Event(),
        )
        self._sessions[session.session_id] = session
        try:
            await self._launch(session)
        except Exception as exc:
            self._sessions.pop(session.session_id, None)
            await self._audit.record(session.actor, "monitor.start", interaction_id, "failed",
                                     {"mode": mode.value, "error": str(exc)[:200]})
            raise MonitorError(f"originate failed: {exc}", 502) from exc
        await self._audit.record(session.actor, "monitor.start", interaction_id, "ok", {
            "session": session.session_id, "mode": mode.value, "channel": call.agent_channel,
            "agent_id": call.agent_id, "dial_string": dial,
        })
        return session

    def _new_leg(self, dial: str, target: str, mode: SpyMode) -> SpyLeg:
        return SpyLeg(leg_id=f"ccspy-{uuid.uuid4().hex[:16]}", dial_string=dial, target=target, mode=mode)

    async def _launch(self, session: MonitorSession) -> None:
        leg = session.leg
        for headers in leg.start():
            response = await self._port(session.pbx).send_action(headers)
            get = getattr(response, "get", None)
            leg.note_action_id(get("ActionID") if callable(get) else None)

    async def switch(self, actor: Any, session_id: str, mode: SpyMode | str) -> MonitorSession:
        """Change listen / whisper / barge: the old leg is stopped and a new one placed."""
        session = await self._own_session(actor, session_id, "monitor.switch")
        try:
            mode = SpyMode(mode)
        except ValueError:
            await self._refuse(actor, "monitor.switch", session.interaction_id, MonitorError("unknown mode", 400))
        old = session.leg
        if mode == old.mode and old.live:
            return session
        call = self._calls.get(session.interaction_id)
        if call is None:
            await self._stop_session(session, session.actor, reason="call ended")
            await self._refuse(actor, "monitor.switch", session.interaction_id, MonitorError("call has ended", 404))
        assert call is not None
        await self._end_leg(session)
        session.leg = self._new_leg(old.dial_string, call.agent_channel, mode)
        session.ended = asyncio.Event()
        try:
            await self._launch(session)
        except Exception as exc:
            self._sessions.pop(session.session_id, None)
            await self._audit.record(session.actor, "monitor.switch", session.interaction_id, "failed",
                                     {"session": session_id, "mode": mode.value, "error": str(exc)[:200]})
            raise MonitorError(f"originate failed: {exc}", 502) from exc
        await self._audit.record(session.actor, "monitor.switch", session.interaction_id, "ok", {
            "session": session_id, "from": old.mode.value, "to": mode.value,
        })
        return session

    async def stop(self, actor: Any, session_id: str) -> StopResult:
        """Stop monitoring; always ends (see the module note)."""
        session = await self._own_session(actor, session_id, "monitor.stop")
        return await self._stop_session(session, ports.actor_name(actor), reason="requested")

    async def _own_session(self, actor: Any, session_id: str, action: str) -> MonitorSession:
        if getattr(actor, "role", None) not in _MONITOR_ROLES:
            await self._refuse(actor, action, session_id, MonitorForbidden())
        session = self._sessions.get(session_id)
        if session is None:
            await self._refuse(actor, action, session_id, MonitorError("no such session", 404))
        assert session is not None
        if session.actor_key != self._key(actor) and getattr(actor, "role", None) != "admin":
            await self._refuse(actor, action, session_id, MonitorForbidden("not your session"))
        return session

    async def _end_leg(self, session: MonitorSession) -> tuple[bool, str]:
        leg = session.leg
        port = self._port(session.pbx)
        for headers in leg.stop():
            await self._send_quietly(port, headers)
        if leg.live:
            try:
                async with asyncio.timeout(self._clock.real(self._stop_timeout_s)):
                    await session.ended.wait()
            except TimeoutError:
                for headers in leg.deadline():
                    await self._send_quietly(port, headers)
        return leg.confirmed, leg.end_reason or "stopped"

    async def _stop_session(self, session: MonitorSession, actor: str, reason: str) -> StopResult:
        if self._sessions.get(session.session_id) is not session:
            return StopResult(session.session_id, True, "already-ended")
        confirmed, end_reason = await self._end_leg(session)
        self._sessions.pop(session.session_id, None)
        await self._audit.record(actor, "monitor.stop", session.interaction_id,
                                 "ok" if confirmed else "unconfirmed", {
                                     "session": session.session_id, "mode": session.leg.mode.value,
                                     "reason": reason, "end": end_reason, "spyer": session.leg.spyer,
                                 })
        return StopResult(session.session_id, confirmed, end_reason)

    @staticmethod
    async def _send_quietly(port: ports.AmiPort, headers: ports.Headers) -> None:
        try:
            await port.send_action(headers)
        except Exception as exc:  # noqa: BLE001 - "No such channel": the leg is gone, the goal
            log.debug("monitor hangup %s: %s", headers, exc)

    # ------------------------------------------------------------------ events
    # The only AMI events on_ami_event looks at (the link delivers nothing else).
    AMI_EVENTS = frozenset({"Hangup", "OriginateResponse", "ChanSpyStart", "ChanSpyStop"})

    def on_ami_event(self, pbx: str, msg: Any) -> None:
        """Feed AMI events: spy legs track their state; a gone agent channel ends its call."""
        event = msg.event
        if event == "Hangup" and self._calls:
            # Indexed by channel: a Hangup costs the same with 5 or 5,000 calls connected.
            for iid in list(self._by_agent_channel.get((pbx, msg.get("Channel") or ""), ())):
                self._forget_call(iid)
        if event not in ("OriginateResponse", "ChanSpyStart", "ChanSpyStop", "Hangup"):
            return
        for session in list(self._sessions.values()):
            if session.pbx != pbx:
                continue
            leg = session.leg
            was_live = leg.live
            actions = leg.on_event(msg)
            for headers in actions:
                self._spawn(self._send_quietly(self._port(pbx), headers))
            if was_live and not leg.live:
                session.ended.set()
                if leg.end_reason in ("spy-ended", "hangup", "originate-failed"):
                    self._sessions.pop(session.session_id, None)
                    self._spawn(self._audit.record("system", "monitor.stop", session.interaction_id, "ok", {
                        "session": session.session_id, "mode": leg.mode.value, "reason": leg.end_reason,
                    }))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every session and wait for background work (call at shutdown)."""
        for session in list(self._sessions.values()):
            await self._stop_session(session, "system", reason="shutdown")
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
