"""Glue the composition root installs around calls: recording, monitoring, screen pops, IVR log.

``CallSideHooks`` is the voice queue's ``CallHooks``: before the agent is dialled it starts the
queue's recording inside the call; once connected it tells recording and monitoring about the
live call and pushes the screen pop to the agent's live topic; when it ends it closes both.
``IvrActivity`` is the IVR's event sink: it counts fallbacks (flow runtime errors) for metrics
and keeps recent results and voice messages for the API; a voice message (``purpose:
voicemail``) goes on to the ``message_left`` port, which the composition root points at the
tickets (a channel never imports another one).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

from contactcenter.ivr.ports import IvrResult, Step, VoiceMessage
from contactcenter.monitoring.ports import LiveCall
from contactcenter.monitoring.service import MonitorService
from contactcenter.recording.service import CallFacts, RecordingService
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.agi.api import CallControl
from contactcenter.voice.callback_request import request_callback
from contactcenter.voice.queue import ConnectedCall
from contactcenter.web.live import Deferred

log = logging.getLogger(__name__)

Publish = Callable[[str, Any], int]
_POP_FIELDS = tuple(f.name for f in fields(ConnectedCall))


def _screen_pop(call: ConnectedCall) -> dict[str, Any]:
    # Read-only use (JSON), so no deep copy as dataclasses.asdict would make.
    return {"type": "screen-pop", **{name: getattr(call, name) for name in _POP_FIELDS}}


class CallSideHooks:
    """Recording, monitoring and the screen pop around one queued call."""

    def __init__(self, recording: RecordingService, monitor: MonitorService,
                 routing: RoutingService, pbx_of: Callable[[str], str],
                 publish: Publish | None = None) -> None:
        self.recording, self.monitor, self.routing = recording, monitor, routing
        self.pbx_of, self.publish = pbx_of, publish

    def acts_before_dial(self, interaction_id: str, queue: str) -> bool:
        """Whether ``before_dial`` starts a recording (a round trip on the call)."""
        return self.recording.starts_in_call(interaction_id, queue)

    async def before_dial(self, call: CallControl, interaction_id: str, queue: str) -> None:
        """Start the queue's recording in the call (``b``: only once bridged; muted if on demand)."""
        try:
            await self.recording.start_in_call(call, interaction_id, queue, call.env.callerid,
                                               self.pbx_of(call.env.uniqueid))
        except Exception:  # a recording problem must never keep a caller from an agent
            log.exception("call=%s: could not start recording", interaction_id)

    async def connected(self, call: ConnectedCall) -> None:
        """Tell recording and monitoring; pop the agent's screen."""
        live = LiveCall(call.interaction_id, call.agent_id, call.queue, call.caller_id,
                        call.agent_channel, call.caller_channel, call.pbx, call.started_at)
        self.monitor.on_call_connected(live)
        try:
            await self.recording.on_call_connected(live)
        except Exception:
            log.exception("call=%s: recording hook failed", call.interaction_id)
        if self.publish is not None:
            # Built only if the agent's panel listens (web/live.py ``Deferred``).
            self.publish(f"agent.{call.agent_id}", Deferred(lambda: _screen_pop(call)))

    async def ended(self, interaction_id: str) -> None:
        """End monitoring of the call.

        The recording is not closed here: MixMonitor finishes its file only when the caller's
        channel hangs up, after the IVR is done with it; the AMI Hangup of that channel closes
        the entry (``RecordingService.on_ami_event``), then reads the finished file.
        """
        try:
            await self.monitor.on_call_ended(interaction_id)
        except Exception:
            log.exception("call=%s: monitoring end hook failed", interaction_id)


class IvrActivity:
    """The IVR's event sink for the running server."""

    def __init__(self, keep: int = 200, routing: RoutingService | None = None) -> None:
        self.results: deque[IvrResult] = deque(maxlen=keep)
        self.messages: deque[VoiceMessage] = deque(maxlen=keep)
        self.fallbacks = 0
        self.calls = 0
        self.routing = routing  # registers the callbacks asked for by ``purpose: callback``
        # Told of every other message (app.py: tickets/from_voice.py files it as a ticket).
        self.message_left: Callable[[VoiceMessage], Awaitable[object]] | None = None

    async def step(self, call_id: str, step: Step) -> None:
        """Steps travel with the queue request; nothing more to do per step here."""

    async def voice_message(self, message: VoiceMessage) -> str | None:
        """Keep the message for the API and tell ``message_left`` (a ticket); a callback
        message registers the callback instead, with the recorded name in its screen pop."""
        self.messages.append(message)
        log.info("call=%s: voice message %s (%s) recorded to %s", message.call_id,
                 message.node, message.purpose, message.filename)
        if message.purpose != "callback" and self.message_left is not None:
            try:
                await self.message_left(message)
            except Exception:  # the caller goes on whatever became of the ticket
                log.exception("call=%s: voice message not filed as a ticket", message.call_id)
            return None
        if message.purpose != "callback" or self.routing is None:
            return None
        name_file = {"callback_name_file": f"{message.filename}.{message.format}"}
        done = await request_callback(self.routing, message.call_id, message.caller_id,
                                      name_file)
        return done.detail

    async def finished(self, result: IvrResult) -> None:
        """Count the call and any fallback (a flow that failed at run time)."""
        self.calls += 1
        if result.outcome.startswith("fallback") or result.error:
            self.fallbacks += 1
        self.results.append(result)


def routing_call_facts(routing: RoutingService) -> Callable[[str], CallFacts | None]:
    """``CallFacts`` from the routing engine's open interactions (restored at start-up)."""
    def facts(interaction_id: str) -> CallFacts | None:
        rec = routing.engine.live.get(interaction_id)
        return None if rec is None else CallFacts(rec.agent_id, rec.connected_at)
    return facts
