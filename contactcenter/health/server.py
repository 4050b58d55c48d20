"""The running server as ``web.status.StatusSource``: health, metrics and routing latency."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Protocol

from prometheus_client import Histogram

from contactcenter.domain import routing_events as rev
from contactcenter.health.status import (
    FastAgiHealth,
    FloorHealth,
    FlowHealth,
    IvrFlowHealth,
    LinkHealth,
    floor_health,
)
from contactcenter.routing.service import RoutingService


class RunningServer(Protocol):
    """The parts of the running server health reads (``ContactCenter`` has them all)."""

    pool: Any  # AmiPool
    agi: Any  # FastAgiServer
    flows: Any  # FlowRegistry
    voice: Any  # voice.wiring.VoiceChannel: dialplan_check, ivr_activity
    routing_editor: Any  # RoutingConfigEditor
    routing: RoutingService
    cluster_role: Any  # cluster.node.Role, or None on a lone server
    chat: Any  # chat.wiring.ChatChannel


class ServerStatus:
    """Reads the live services each time it is asked; holds no copy of their state."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self._entered: dict[str, float] = {}

    def links(self) -> list[LinkHealth]:
        """One entry per PBX."""
        out = []
        for link in self.server.pool:
            st = link.link
            out.append(LinkHealth(st.name, st.state, st.since, st.reconnects, st.last_error,
                                  len(link.model.calls), len(link.model.channels),
                                  self.server.voice.dialplan_check.of(st.name)))
        return out

    def fastagi(self) -> FastAgiHealth:
        """The FastAGI server's counters."""
        st = self.server.agi.stats
        return FastAgiHealth(st.active, st.total, st.refused, st.errors, st.timeouts)

    def flows(self) -> FlowHealth:
        """Loaded flows with versions, refused files, reload counters, fallbacks."""
        reg = self.server.flows
        return FlowHealth({name: flow.version for name, flow in reg.snapshot().items()},
                          dict(reg.errors), reg.reloads_total, reg.reload_errors_total,
                          self.server.voice.ivr_activity.fallbacks, dict(reg.warnings))

    def routing_suspended(self) -> dict[str, list[str]]:
        """Stored routing entries suspended at start (see ``config_editor.load_merged``)."""
        return {f"{kind[:-1]} {name}": list(why)
                for (kind, name), why in sorted(self.server.routing_editor.suspended.items())}

    def cluster(self) -> dict[str, Any] | None:
        """The leader's role and term (a standby answers from its own small server)."""
        role = self.server.cluster_role
        if role is None:
            return None
        return {"role": role.role, "node": role.node, "term": role.term}

    def chats(self) -> dict[str, Any]:
        """The chat service's figures, read at scrape time."""
        chat = getattr(self.server, "chat", None)
        return chat.service.metrics() if chat is not None else {}

    def tickets_imap(self) -> list[dict[str, Any]]:
        """The tickets channel's IMAP pollers (none before it started)."""
        tickets = getattr(self.server, "tickets", None)
        return [asdict(box) for box in tickets.imap_status()] if tickets is not None else []

    def ivr(self) -> list[IvrFlowHealth]:
        """Today's IVR figures per flow (the reports'), bounded to the flows loaded."""
        reports = getattr(self.server, "reports", None)
        if reports is None:
            return []
        known = set(self.server.flows.snapshot())
        today = reports.ivr_today.by_flow(known)
        since = reports.ivr_today.since_start(known)
        return [IvrFlowHealth(flow, int(today.get(flow, {}).get("sessions", 0)),
                              int(today.get(flow, {}).get("contained", 0)),
                              *since.get(flow, (0, 0)))
                for flow in sorted(set(today) | set(since))]

    def floor(self) -> FloorHealth:
        """Queues and agents from one routing snapshot."""
        return floor_health(self.server.routing.snapshot())

    def observe_routing(self, routing: RoutingService, histogram: Histogram) -> None:
        """Time (real) from entry to the first offer of interactions offered at once or later."""

        def on_event(event: Any) -> None:
            if isinstance(event, rev.Entered):
                self._entered[event.interaction_id] = time.perf_counter()
            elif isinstance(event, rev.Offered):
                t0 = self._entered.pop(event.interaction_id, None)
                if t0 is not None:
                    histogram.observe(time.perf_counter() - t0)
            elif event.terminal:
                self._entered.pop(getattr(event, "interaction_id", ""), None)

        routing.subscribe(on_event)
