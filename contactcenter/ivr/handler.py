"""The FastAGI handler for script ``ivr``: pick the flow, run it, never leave dead air.

The lead registers ``make_ivr_handler(...)`` on the FastAGI server under ``ivr``. The handler
takes a registry snapshot at the start of the call (so a reload mid-call changes nothing for
it), chooses the flow from the AGI request or the dialled number, and runs it. An unknown flow
name is a configuration error: it is logged with the call id and the caller gets the global
fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from contactcenter.common.yamlfile import Mark
from contactcenter.ivr.model import Fallback, Flow
from contactcenter.ivr.ports import (
    IvrEvents,
    IvrResult,
    LookupPort,
    QueuePort,
    SessionObserver,
)
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.runner import FlowRunner, WallClock
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.tts import EspeakSynthesizer, Synthesizer
from contactcenter.telephony.agi.api import CallControl

log = logging.getLogger("contactcenter.ivr")

IvrHandler = Callable[[CallControl], Awaitable[IvrResult]]


def _missing_flow(name: str, fallback: Fallback) -> Flow:
    """An empty stand-in: running it fails at once, which routes the caller to the fallback."""
    return Flow(name=name, path="<missing>", entry="", nodes={}, language=None, timezone=None,
                fallback=fallback, variables=(), digest="0" * 64, mark=Mark("<missing>", 1, 1))


def make_ivr_handler(registry: FlowRegistry, *, queue: QueuePort, lookups: LookupPort,
                     events: IvrEvents, clock: WallClock, settings: IvrSettings,
                     tts: Synthesizer | None = None,
                     sessions: SessionObserver | None = None) -> IvrHandler:
    """Build the ``async handler(session)`` that runs the chosen flow on one call; every
    finished session is handed to ``sessions`` (the reports' recorder) when given."""
    # One synthesizer for every call: two calls asking for the same new text share a rendering.
    speech = tts if tts is not None else EspeakSynthesizer(settings.tts)

    async def handler(session: CallControl) -> IvrResult:
        flows = registry.snapshot()
        name = registry.choose(session.env)
        flow = flows.get(name)
        if flow is None:
            log.error("ivr call=%s: flow %r is not loaded (script %r, dnid %r)",
                      session.env.uniqueid, name, session.env.script, session.env.dnid)
            flow = _missing_flow(name, settings.fallback)
        runner = FlowRunner(session, flows, queue=queue, lookups=lookups, events=events,
                            clock=clock, settings=settings, tts=speech)
        result = await runner.run(flow)
        log.info("ivr call=%s flow=%s@%s outcome=%s path=%s", result.call_id, result.flow,
                 result.version, result.outcome, "/".join(result.path))
        if sessions is not None:
            try:
                sessions.session_ended(result)
            except Exception:  # the figures may miss a session; the call must not notice
                log.exception("ivr call=%s: recording the session failed", result.call_id)
        return result

    return handler
