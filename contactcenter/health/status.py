"""``/api/health`` and ``/metrics``: the server's live state, read from its services on demand.

Design note: nothing here keeps state of its own. ``StatusSource`` is the read-only slice of the
running server that health and metrics need; the composition root implements it over the AMI
pool, the FastAGI server, the flow registry and the routing service. Prometheus uses a registry
owned by the app (no global default registry) and a collector that reads the source at scrape
time, so a scrape always shows the present and nothing can drift out of date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from contactcenter.domain.agent import AgentState
from contactcenter.routing.snapshot import Snapshot

# LinkHealth.dialplan: these two, or what is wrong with the PBX's dialplan.
from contactcenter.voice.dialplan_check import DIALPLAN_OK, DIALPLAN_UNCHECKED
from contactcenter.web.roles import requires

LINK_STATES = ("connected", "connecting", "down")


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """One PBX's AMI link as health and metrics report it."""

    name: str
    state: str
    since: float
    reconnects: int
    last_error: str | None = None
    calls: int = 0
    channels: int = 0
    dialplan: str = DIALPLAN_UNCHECKED


@dataclass(frozen=True, slots=True)
class FastAgiHealth:
    """The FastAGI server's counters."""

    active: int = 0
    total: int = 0
    refused: int = 0
    errors: int = 0
    timeouts: int = 0


@dataclass(frozen=True, slots=True)
class QueueHealth:
    """One queue's live figures for metrics."""

    name: str
    waiting: int
    connected: int
    longest_wait_s: float
    agents: dict[str, int] = field(default_factory=dict)  # state -> count


@dataclass(frozen=True, slots=True)
class FloorHealth:
    """Queues and agents, read from one routing snapshot so that their figures agree."""

    queues: list[QueueHealth] = field(default_factory=list)
    agents: dict[str, int] = field(default_factory=dict)  # state -> count, every agent


def floor_health(snap: Snapshot) -> FloorHealth:
    """Per queue: waiting, connected, longest wait, agents by state; all agents by state."""
    connected: Counter[str] = Counter()
    for agent in snap.agents.values():
        for work in agent.work:  # a work slot carries the agent's state: busy = connected
            if work.get("state") == AgentState.BUSY:
                connected[work.get("queue", "")] += 1
    queues = [QueueHealth(q.name, q.waiting, connected[q.name], q.longest_wait_s, dict(q.agents))
              for q in snap.queues.values()]
    return FloorHealth(queues, dict(Counter(a.state for a in snap.agents.values())))


@dataclass(frozen=True, slots=True)
class FlowHealth:
    """The flow registry: loaded flows, files refused, reload counters."""

    loaded: dict[str, str] = field(default_factory=dict)  # flow -> version
    errors: dict[str, list[str]] = field(default_factory=dict)  # file -> file:line messages
    reloads: int = 0
    reload_errors: int = 0
    runtime_errors: int = 0
    # file -> file:line messages: queue nodes naming a queue or skill routing does not know
    warnings: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IvrFlowHealth:
    """One IVR flow's callers: today's, as the IVR report counts them (docs/reports.md, IVR),
    and those this process recorded since it started (counters)."""

    flow: str
    today_sessions: int = 0
    today_contained: int = 0
    sessions: int = 0
    contained: int = 0


class StatusSource(Protocol):
    """What the running server tells health checks and Prometheus."""

    def links(self) -> list[LinkHealth]: ...

    def fastagi(self) -> FastAgiHealth: ...

    def flows(self) -> FlowHealth: ...

    def floor(self) -> FloorHealth: ...

    def routing_suspended(self) -> dict[str, list[str]]:
        """Stored routing entries left out because a file edit made them invalid, with why
        (``queue latam`` -> errors): a warning for monitoring, the server runs without them."""
        ...

    def cluster(self) -> dict[str, Any] | None:
        """This node's role, name and term in a cluster; None for a lone server."""
        ...

    def chats(self) -> dict[str, Any]:
        """Open conversations by (chat channel, queue, state) and the chat counters since
        start (``ChatService.metrics``); empty when there is no chat."""
        ...

    def tickets_imap(self) -> list[dict[str, Any]]:
        """Each polled IMAP folder's state (``tickets/imap.py``: ``mailbox``, ``state``,
        ``since``, ``imported``, ``reconnects``, ``last_error``); empty without any."""
        ...

    def ivr(self) -> list[IvrFlowHealth]:
        """Each IVR flow's callers today and since start (flows not loaded summed as one)."""
        ...


STATUS_KEY = web.AppKey("cc_status", StatusSource)
REGISTRY_KEY = web.AppKey("cc_metrics_registry", CollectorRegistry)


class ServerCollector(Collector):
    """Turns a ``StatusSource`` into Prometheus families at scrape time."""

    def __init__(self, source: StatusSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        """Yield every family (called by the registry on each scrape)."""
        up = GaugeMetricFamily("cc_ami_link_up", "1 when the AMI link to the PBX is connected",
                               labels=["pbx"])
        state = GaugeMetricFamily("cc_ami_link_state", "AMI link state (1 for the current one)",
                                  labels=["pbx", "state"])
        reconnects = CounterMetricFamily("cc_ami_reconnects", "AMI reconnects", labels=["pbx"])
        calls = GaugeMetricFamily("cc_pbx_calls", "Live calls in the call model", labels=["pbx"])
        dialplan = GaugeMetricFamily(
            "cc_pbx_dialplan_ok", "1 when the PBX's dialplan has what the server relies on "
            "(0: see /api/health; absent until checked)", labels=["pbx"])
        for link in self.source.links():
            up.add_metric([link.name], 1.0 if link.state == "connected" else 0.0)
            if link.dialplan != DIALPLAN_UNCHECKED:
                dialplan.add_metric([link.name], 1.0 if link.dialplan == DIALPLAN_OK else 0.0)
            for s in LINK_STATES:
                state.add_metric([link.name, s], 1.0 if link.state == s else 0.0)
            reconnects.add_metric([link.name], link.reconnects)
            calls.add_metric([link.name], link.calls)
        yield from (up, state, reconnects, calls, dialplan)

        agi = self.source.fastagi()
        yield GaugeMetricFamily("cc_fastagi_sessions_active", "FastAGI sessions running",
                                value=agi.active)
        for name, value, text in (("total", agi.total, "FastAGI sessions dispatched"),
                                  ("refused", agi.refused, "FastAGI clients refused"),
                                  ("errors", agi.errors, "FastAGI protocol/handler errors"),
                                  ("timeouts", agi.timeouts, "FastAGI timeouts")):
            yield CounterMetricFamily(f"cc_fastagi_sessions_{name}", text, value=value)

        flows = self.source.flows()
        yield GaugeMetricFamily("cc_flows_loaded", "IVR flows serving calls", value=len(flows.loaded))
        yield GaugeMetricFamily("cc_flow_files_invalid", "Flow files refused (old version serves)",
                                value=len(flows.errors))
        yield GaugeMetricFamily("cc_flow_files_with_warnings",
                                "Flow files naming a queue or skill routing does not know",
                                value=len(flows.warnings))
        yield GaugeMetricFamily("cc_routing_entries_suspended",
                                "Stored queues/agents/skills left out as invalid after a file edit",
                                value=len(self.source.routing_suspended()))
        yield CounterMetricFamily("cc_flow_reloads", "Flow files swapped in", value=flows.reloads)
        yield CounterMetricFamily("cc_flow_reload_errors", "Flow edits refused",
                                  value=flows.reload_errors)
        yield CounterMetricFamily("cc_flow_runtime_errors", "Calls sent to a fallback",
                                  value=flows.runtime_errors)

        waiting = GaugeMetricFamily("cc_queue_waiting", "Interactions waiting", labels=["queue"])
        connected = GaugeMetricFamily("cc_queue_connected", "Interactions with an agent",
                                      labels=["queue"])
        longest = GaugeMetricFamily("cc_queue_longest_wait_seconds", "Longest current wait",
                                    labels=["queue"])
        queue_agents = GaugeMetricFamily("cc_queue_agents", "Agents of the queue by state",
                                         labels=["queue", "state"])
        floor = self.source.floor()  # one routing snapshot per scrape
        for q in floor.queues:
            waiting.add_metric([q.name], q.waiting)
            connected.add_metric([q.name], q.connected)
            longest.add_metric([q.name], q.longest_wait_s)
            for st, n in sorted(q.agents.items()):
                queue_agents.add_metric([q.name, st], n)
        yield from (waiting, connected, longest, queue_agents)
        agents = GaugeMetricFamily("cc_agents", "Agents by state", labels=["state"])
        for st, n in sorted(floor.agents.items()):
            agents.add_metric([st], n)
        yield agents

        chats = self.source.chats()
        open_now = GaugeMetricFamily("cc_chat_conversations", "Open chat conversations",
                                     labels=["channel", "queue", "state"])
        for row in chats.get("conversations", ()):
            open_now.add_metric([row["channel"], row["queue"], row["state"]], row["count"])
        events = CounterMetricFamily("cc_chat_events", "Chat events since start (started, "
                                     "offline messages, idle closes, visitors gone, transfers)",
                                     labels=["kind"])
        for kind, n in sorted(chats.get("counters", {}).items()):
            events.add_metric([kind], n)
        yield from (open_now, events)

        yield from _ivr_families(self.source.ivr())

        imap_up = GaugeMetricFamily("cc_tickets_imap_up", "1 when the IMAP folder polled for "
                                    "tickets is connected", labels=["mailbox"])
        for box in self.source.tickets_imap():
            imap_up.add_metric([box["mailbox"]], 1.0 if box["state"] == "connected" else 0.0)
        yield imap_up


def _ivr_families(flows: list[IvrFlowHealth]) -> Iterator[Any]:
    """Per flow (the only label): today's callers and containment, the counters since start."""
    today = GaugeMetricFamily("cc_ivr_sessions_today", "IVR sessions started today (local "
                              "day), as the IVR report counts them", labels=["flow"])
    contained = GaugeMetricFamily("cc_ivr_contained_today", "IVR sessions of today that "
                                  "ended in the IVR (self-service)", labels=["flow"])
    ratio = GaugeMetricFamily("cc_ivr_containment_today_ratio", "Self-service containment "
                              "today: contained / sessions", labels=["flow"])
    total = CounterMetricFamily("cc_ivr_sessions", "IVR sessions recorded since start",
                                labels=["flow"])
    served = CounterMetricFamily("cc_ivr_sessions_contained", "IVR sessions recorded since "
                                 "start that ended in the IVR", labels=["flow"])
    for f in flows:
        today.add_metric([f.flow], f.today_sessions)
        contained.add_metric([f.flow], f.today_contained)
        if f.today_sessions:
            ratio.add_metric([f.flow], f.today_contained / f.today_sessions)
        total.add_metric([f.flow], f.sessions)
        served.add_metric([f.flow], f.contained)
    yield from (today, contained, ratio, total, served)


def make_registry(source: StatusSource) -> tuple[CollectorRegistry, Histogram]:
    """A fresh registry with the server collector and the routing-latency histogram."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(source))
    latency = Histogram(
        "cc_routing_decision_seconds", "Time from an interaction becoming routable to its offer",
        buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120),
        registry=registry,
    )
    return registry, latency


@requires("public")
async def health(request: web.Request) -> web.Response:
    """Liveness and the state of every wire: AMI link per PBX, FastAGI, flows."""
    src = request.app[STATUS_KEY]
    links = src.links()
    flows = src.flows()
    ok = all(link.state == "connected" and link.dialplan in (DIALPLAN_OK, DIALPLAN_UNCHECKED)
             for link in links)
    body = {
        "status": "ok" if ok else "degraded",
        "ami": [asdict(link) for link in links],
        "fastagi": asdict(src.fastagi()),
        "flows": {"loaded": flows.loaded, "errors": flows.errors, "warnings": flows.warnings,
                  "reloads": flows.reloads, "reload_errors": flows.reload_errors},
        "routing": {"suspended": src.routing_suspended()},
    }
    cluster = src.cluster()
    if cluster is not None:
        body["cluster"] = cluster
    imap = src.tickets_imap()
    if imap:
        body["tickets_imap"] = imap
        if any(box["state"] in ("down", "auth-failed") for box in imap):
            body["status"] = "degraded"
    return web.json_response(body)


@requires("public")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of the app's own registry."""
    data = generate_latest(request.app[REGISTRY_KEY])
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_status_routes(app: web.Application, source: StatusSource,
                      registry: CollectorRegistry) -> None:
    """Install ``/api/health`` and ``/metrics`` over ``source``."""
    app[STATUS_KEY] = source
    app[REGISTRY_KEY] = registry
    app.router.add_get("/api/health", health)
    app.router.add_get("/metrics", metrics)
