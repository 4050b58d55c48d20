"""/metrics over a real routing service: queue and agent figures are right and come from one
snapshot per scrape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter.domain import routing_events as rev
from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.health.status import (
    FastAgiHealth,
    FloorHealth,
    FlowHealth,
    IvrFlowHealth,
    LinkHealth,
    add_status_routes,
    floor_health,
    make_registry,
)
from contactcenter.routing.config_loader import load_routing_config
from contactcenter.routing.service import RoutingService

REPO = Path(__file__).resolve().parents[2]


class RoutingStatus:
    """A ``StatusSource`` whose floor is the real routing service's; no PBX, no FastAGI."""

    def __init__(self, routing: RoutingService) -> None:
        self.routing = routing
        self.floor_reads = 0

    def links(self) -> list[LinkHealth]:
        """No PBX in this test."""
        return []

    def fastagi(self) -> FastAgiHealth:
        """Idle FastAGI counters."""
        return FastAgiHealth()

    def flows(self) -> FlowHealth:
        """No flows loaded."""
        return FlowHealth()

    def cluster(self) -> dict[str, Any] | None:
        return None

    def chats(self) -> dict[str, Any]:
        return {"conversations": [{"channel": "website", "queue": "support",
                                   "state": "waiting", "count": 2}],
                "counters": {"started": 5, "transferred": 1}}

    def routing_suspended(self) -> dict[str, list[str]]:
        """Nothing suspended."""
        return {}

    def tickets_imap(self) -> list[dict[str, Any]]:
        """No IMAP folder polled."""
        return []

    def ivr(self) -> list[IvrFlowHealth]:
        """No IVR in this test."""
        return []

    def floor(self) -> FloorHealth:
        """The routing service's floor, counting how often a scrape asks."""
        self.floor_reads += 1
        return floor_health(self.routing.snapshot())


def _samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value for every sample line of a Prometheus exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


async def test_metrics_show_queues_and_agents_from_one_snapshot_per_scrape():
    cfg = load_routing_config(REPO / "config/queues.yaml", REPO / "config/agents.yaml")
    routing = RoutingService(cfg, Clock())
    await routing.start()
    offers: list[rev.Offered] = []
    routing.subscribe(lambda e: offers.append(e) if isinstance(e, rev.Offered) else None)
    for agent_id in cfg.agents:
        await routing.agent_login(agent_id)
    for agent_id in ("1001", "1002", "1006", "1009"):  # every sales agent
        await routing.agent_pause(agent_id, "lunch")
    await routing.enqueue(Interaction(channel="voice", queue="sales", id="w1"))
    await routing.enqueue(Interaction(channel="voice", queue="sales", id="w2"))
    await routing.enqueue(Interaction(channel="voice", queue="billing", id="b1"))
    assert [o.interaction_id for o in offers] == ["b1"]  # billing: Eve or Grace are free
    await routing.offer_answered(offers[0].offer_id)
    busy = offers[0].agent_id

    source = RoutingStatus(routing)
    registry, _ = make_registry(source)
    app = web.Application()
    add_status_routes(app, source, registry)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/metrics")) as r:
            assert r.status == 200
            got = _samples(await r.text())
    finally:
        await server.close()
        await routing.stop()

    assert source.floor_reads == 1
    assert got['cc_queue_waiting{queue="sales"}'] == 2.0
    assert got['cc_queue_waiting{queue="billing"}'] == 0.0
    assert got['cc_queue_connected{queue="billing"}'] == 1.0
    assert got['cc_queue_connected{queue="sales"}'] == 0.0
    assert got['cc_queue_longest_wait_seconds{queue="sales"}'] >= 0.0
    assert got['cc_queue_agents{queue="sales",state="paused"}'] == 4.0
    assert 'cc_queue_agents{queue="sales",state="available"}' not in got
    assert got['cc_agents{state="paused"}'] == 4.0
    assert got['cc_agents{state="busy"}'] == 1.0
    assert got['cc_agents{state="available"}'] == 5.0
    assert busy in ("1005", "1007")
    assert got['cc_chat_conversations{channel="website",queue="support",state="waiting"}'] == 2.0
    assert got['cc_chat_events_total{kind="started"}'] == 5.0
    assert got['cc_chat_events_total{kind="transferred"}'] == 1.0
