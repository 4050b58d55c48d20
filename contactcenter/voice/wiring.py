"""The voice channel wired for one server: what it hears on AMI, serves on FastAGI and routes.

Design note: the composition root builds this in two steps because the rest of the server
sits between them. ``VoiceChannel(...)`` subscribes the channel's AMI listeners (the channel
watch, calls nobody holds after a restart, the dialplan check) before the AMI links start, so
the first resync already reaches them. ``serve(...)`` runs once AMI is up and recording,
monitoring and the flows exist: it builds the queue glue, the callbacks and the FastAGI routes
(``ivr`` and ``callback``). ``app.py`` keeps only the order; what the voice channel is made of
is here, next to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.ivr.handler import make_ivr_handler
from contactcenter.ivr.ports import LookupPort, SessionObserver
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.settings import IvrSettings
from contactcenter.monitoring.service import MonitorService
from contactcenter.recording.service import RecordingService
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.agi.api import CallControl
from contactcenter.telephony.agi.server import FastAgiServer
from contactcenter.telephony.ami.link import AmiPool
from contactcenter.voice.answer_stamp import AnswerStampReader
from contactcenter.voice.callback_call import CallbackCalls
from contactcenter.voice.callback_dialer import CallbackDialer
from contactcenter.voice.channel_watch import ChannelWatch, ParkedLeg
from contactcenter.voice.connected_call import HOLD_CONTEXT, HOLD_EXTEN, AmiAgentLegs
from contactcenter.voice.dial_end import DialEndReader
from contactcenter.voice.dialplan_check import DialplanCheck
from contactcenter.voice.hooks import CallSideHooks, IvrActivity
from contactcenter.voice.queue import VoiceQueue
from contactcenter.voice.routes import CallControls
from contactcenter.voice.unattended_calls import UnattendedCalls, spawner
from contactcenter.web.auth import AUTH_KEY


@dataclass(slots=True)
class _ControlServices:
    """What the call controls act through (``voice.routes.CallServices``)."""

    routing: RoutingService
    voice: VoiceQueue
    callbacks: CallbackCalls
    recording: RecordingService
    monitor: MonitorService
    pool: AmiPool
    audit: Any


class VoiceChannel:
    """Calls: the queue glue over the caller's AGI session, callbacks, and their controls."""

    def __init__(self, routing: RoutingService, clock: Clock, pool: AmiPool,
                 tasks: list[asyncio.Task[None]]) -> None:
        self.routing, self.clock, self.pool = routing, clock, pool
        self.watch = ChannelWatch()
        self.unattended = UnattendedCalls(
            routing, self.watch, pool.model_of, spawner(tasks),
            answered_at=AnswerStampReader(lambda pbx, headers: pool.for_pbx(pbx).send_list_action(
                headers), clock).answered_at)
        self.dialplan_check = DialplanCheck(pool.link_of, spawner(tasks))
        for link in pool:
            for listener in (self.watch.on_event, self.unattended.on_telephony_event,
                             self.dialplan_check.on_telephony_event):
                link.subscribe(listener)
        self.ivr_activity = IvrActivity(routing=routing)  # also registers callbacks
        self.callback_dialer: CallbackDialer | None = None

    def serve(self, agi: FastAgiServer, *, flows: FlowRegistry, lookups: LookupPort,
              recording: RecordingService, monitor: MonitorService,
              settings: IvrSettings, sessions: SessionObserver | None = None) -> None:
        """Build the queue glue and the callbacks and route FastAGI's ``ivr`` and ``callback``
        scripts to them (each IVR session's end told to ``sessions``); call once AMI is up."""
        routing, clock, pool = self.routing, self.clock, self.pool
        self.recording, self.monitor = recording, monitor
        self.hooks = CallSideHooks(recording, monitor, routing, pool.pbx_of)
        self.queue = VoiceQueue(
            routing, clock, self.watch, self.hooks, pool.pbx_of,
            legs=AmiAgentLegs(lambda pbx, headers: pool.for_pbx(pbx).send_action(headers)),
            transfer_dial=settings.transfer_dial_string, parked=self.parked_legs,
            talk_ended=self.unattended.talk_ended,
            dial_end=DialEndReader(lambda pbx, headers: pool.for_pbx(pbx).send_list_action(
                headers), clock).ended_at)
        handler = make_ivr_handler(flows, queue=self.queue, lookups=lookups,
                                   events=self.ivr_activity, clock=clock, settings=settings,
                                   sessions=sessions)

        async def resume_or_run(session: CallControl) -> Any:
            # A caller whose channel still has an open interaction goes straight back to it.
            resumed = await self.queue.resume(session)
            return await handler(session) if resumed is None else resumed

        agi.route("ivr", resume_or_run)
        # Callbacks: the agent leg is originated first; its AGI dials the customer.
        dialer = self.callback_dialer = CallbackDialer(routing, pool.for_pbx)
        for link in pool:
            link.subscribe(dialer.on_telephony_event)
        dialer.start()
        if pool.all_resynced():
            # AMI resynced before the dialer existed: find callbacks the restart orphaned.
            dialer.reconcile(pool.live_channels())
        self.callbacks = CallbackCalls(dialer, routing, self.watch, clock, self.hooks,
                                       pool.pbx_of, legs=self.queue.legs)
        agi.route("callback", self.callbacks.handle)

    def agi_listening(self) -> None:
        """The FastAGI server accepts sessions (the end of the server's start)."""
        if self.callback_dialer is not None:
            self.callback_dialer.agi_listening()

    def resynced(self, live: list[str]) -> None:
        """Every PBX told us what is live: connected callbacks a restart orphaned are settled."""
        if self.callback_dialer is not None:
            self.callback_dialer.reconcile(live)

    def add_routes(self, app: web.Application, audit: Any) -> None:
        """The call controls, and screen pops to each agent's live topic."""
        app.add_routes(CallControls(_ControlServices(
            self.routing, self.queue, self.callbacks, self.recording, self.monitor, self.pool,
            audit)).routes())
        self.hooks.publish = app[AUTH_KEY].live.publish

    def parked_legs(self) -> list[ParkedLeg]:
        """Channels every PBX's call model shows in ``[contactcenter-hold] agent``."""
        return [ParkedLeg(link.name, ch.uniqueid, ch.name, ch.linkedid) for link in self.pool
                for ch in link.model.channels.values()
                if ch.context == HOLD_CONTEXT and ch.exten == HOLD_EXTEN]

    async def close(self) -> None:
        """Stop dialling callbacks."""
        if self.callback_dialer is not None:
            await self.callback_dialer.close()
