"""The wallboard publisher: routing changes -> throttled snapshots on the live hub.

Design note: the routing service calls ``on_event`` synchronously inside its dispatch, so that
callback only notes what changed and wakes one task. The task publishes

* ``agent.<id>``: the agent's own view (``{"type": "agent", ...}``) for every agent an event
  touched, at once (cheap: one agent, few subscribers) -- the agent panel follows it live;
* ``wallboard``: the whole floor (queues, agents, live calls, monitoring sessions), leading
  edge first: an isolated change goes out immediately, and changes arriving within
  ``min_interval`` of the last publish are coalesced into one trailing publish. A periodic
  refresh (``refresh`` seconds) re-publishes only when the content changed (longest wait
  grows while callers wait; a call the monitor learned about after the routing event shows up).

Throttling runs in real seconds, not Clock seconds: it protects browsers and the event loop,
which live in real time even when a test speeds the floor's clock up.

Both documents are handed to the hub as ``Deferred``: they are built only when somebody is
subscribed to the topic. At 200 calls/s on a floor of 600 agents, building agent views and
floor snapshots nobody receives cost the server more CPU than routing the calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from contactcenter.domain.interaction import InteractionState
from contactcenter.domain.routing_events import RoutingEvent
from contactcenter.routing.service import RoutingService
from contactcenter.routing.snapshot import Snapshot
from contactcenter.web.live import Deferred, RawJson

log = logging.getLogger(__name__)

Publish = Callable[[str, Any], int]
WALLBOARD_TOPIC = "wallboard"


def call_json(call: Any, on_hold_since: float | None = None) -> dict[str, Any]:
    """A monitorable live call (``monitoring.ports.LiveCall``) as the wallboard shows it."""
    return {"interaction_id": call.interaction_id, "agent_id": call.agent_id,
            "queue": call.queue, "caller_id": call.caller_id, "pbx": call.pbx,
            "started_at": call.started_at, "on_hold_since": on_hold_since}


def _fields(view: Any) -> dict[str, Any]:
    """A freshly built view dataclass as a dict (shallow: its containers are its own copies,
    which ``dataclasses.asdict`` would deep-copy once more)."""
    return {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}


Today = Callable[[], Mapping[str, Mapping[str, Any]]]


def _today(queue: dict[str, Any], figures: Mapping[str, Any]) -> dict[str, Any]:
    """A queue's counters replaced by the report's figures for today (docs/reports.md)."""
    sl = figures.get("service_level_pct")
    queue.update(
        entered=figures.get("offered", 0), answered=figures.get("answered", 0),
        abandoned=figures.get("abandoned", 0), exited=figures.get("exited", 0),
        service_level=None if sl is None else sl / 100,
        short_abandoned=figures.get("short_abandoned", 0), asa_s=figures.get("asa_s"),
        handled=figures.get("handled", 0))
    return queue


def wallboard_data(snap: Snapshot, calls: Iterable[Any], sessions: Iterable[Any],
                   on_hold_since: Callable[[str], float | None] = lambda _iid: None,
                   today: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The wallboard document: per-queue figures, agents by state, live calls, spy sessions.

    With ``today`` (the reports' figures since local midnight, by queue) the queues' counters
    are those; otherwise the engine's, since the server started."""
    queues = [_fields(q) for q in snap.queues.values()]
    if today is not None:
        queues = [_today(q, today.get(q["name"], {})) for q in queues]
    return {
        "at": snap.at,
        "queues": queues,
        "agents": [
            {"id": a.id, "name": a.name, "state": a.state, "pause_reason": a.pause_reason,
             "queues": a.queues, "answered_today": a.answered_today}
            for a in snap.agents.values()
        ],
        "calls": [call_json(c, on_hold_since(c.interaction_id)) for c in calls],
        "sessions": [s.as_json() for s in sessions],
    }


def channel_counts(routing: RoutingService) -> dict[str, dict[str, dict[str, int]]]:
    """Per queue and channel: interactions waiting (in line or being offered) and active
    (connected), e.g. ``{"support": {"chat": {"waiting": 2, "active": 5}}}``."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for rec in routing.engine.live.values():
        if rec.state is InteractionState.CONNECTED:
            key = "active"
        elif rec.state in (InteractionState.WAITING, InteractionState.OFFERED):
            key = "waiting"
        else:
            continue
        per = out.setdefault(rec.queue, {}).setdefault(rec.channel, {"waiting": 0, "active": 0})
        per[key] += 1
    return out


def agent_message(routing: RoutingService, agent_id: str) -> dict[str, Any]:
    """The ``agent.<id>`` message: the agent's view plus each of their queues' wrap-up time."""
    view = routing.agent(agent_id)
    wrapup = {}
    for q in view.queues:
        with contextlib.suppress(Exception):
            wrapup[q] = routing.queue_config(q).wrapup_s
    return {"type": "agent", "agent": _fields(view), "wrapup_s": wrapup}


class WallboardPublisher:
    """Subscribes to the routing service and pushes floor snapshots to the live hub."""

    def __init__(self, routing: RoutingService, publish: Publish, monitor: Any = None, *,
                 min_interval: float = 0.1, refresh: float = 1.0,
                 today: Today | None = None, ivr_today: Today | None = None) -> None:
        self.routing = routing
        self.today = today
        self.ivr_today = ivr_today  # the IVR report's figures for today, by flow
        self.publish = publish
        self.monitor = monitor
        self.min_interval = min_interval
        self.refresh = refresh
        self.published = 0
        self._dirty = False
        self._agents: set[str] = set()
        self._wake = asyncio.Event()
        self._last_text: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Subscribe to routing and start the publishing task."""
        if self._task is None:
            self._unsubscribe = self.routing.subscribe(self.on_event)
            self._task = asyncio.create_task(self._run(), name="wallboard-publisher")

    async def stop(self) -> None:
        """Unsubscribe and stop the task."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def on_event(self, event: RoutingEvent) -> None:
        """Routing subscriber: note the change, wake the publisher (never blocks)."""
        if event.kind == "position":  # a waiting caller's place: the queue figures are unchanged
            return
        self._dirty = True
        agent_id = getattr(event, "agent_id", None)
        if agent_id:
            self._agents.add(agent_id)
        self._wake.set()

    def current(self) -> dict[str, Any]:
        """The wallboard document now."""
        calls = self.monitor.live_calls() if self.monitor is not None else []
        sessions = self.monitor.sessions() if self.monitor is not None else []
        data = wallboard_data(self.routing.snapshot(), calls, sessions, self.routing.on_hold_since,
                              self.today() if self.today is not None else None)
        data["channels"] = channel_counts(self.routing)
        if self.ivr_today is not None:
            data["ivr"] = self.ivr_today()
        return data

    def publish_now(self) -> bool:
        """Publish pending agent views and the wallboard when it changed; True if it did."""
        agents, self._agents = self._agents, set()
        for agent_id in agents:
            try:
                self.publish(f"agent.{agent_id}",
                             Deferred(functools.partial(agent_message, self.routing, agent_id)))
            except Exception:  # an unknown agent id must not stop the floor's updates
                log.debug("agent view %s not published", agent_id, exc_info=True)
        self._dirty = False
        if not self.publish(WALLBOARD_TOPIC, Deferred(self._wallboard_if_changed)):
            return False
        self.published += 1
        return True

    def _wallboard_if_changed(self) -> RawJson | None:
        data = self.current()
        at = data.pop("at")
        # One encoding serves both the "did it change" test and the frame sent to every client.
        text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
        if text == self._last_text:
            return None
        self._last_text = text
        return RawJson(f'{text[:-1]},"at":{json.dumps(at)}}}')

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = -1e9
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # arrives as the wake fires, and stop() would then wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh):
                    await self._wake.wait()
            # Leading edge: a change long after the last publish goes out now; one inside
            # the window waits for its end, taking whatever else arrived meanwhile with it.
            delay = last + self.min_interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._wake.clear()
            try:
                if self.publish_now():
                    last = loop.time()
            except Exception:
                log.exception("wallboard publish failed")
