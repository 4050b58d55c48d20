"""Monitoring through HTTP: agent refused and audited; start / switch / stop on the exact channel.

The AMI side is a scripted PBX port (it answers actions and pushes the events Asterisk sends,
shaped as in transcript 04); the run through contactcenter.sim is tests/e2e/test_monitoring_e2e.py.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.domain.clock import Clock
from contactcenter.monitoring.ports import LiveCall
from contactcenter.monitoring.routes import add_monitoring_routes
from contactcenter.monitoring.service import MonitorService
from contactcenter.storage.audit import AuditLog
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.web.roles import Actor, check_route_roles


class ScriptedPbx:
    """Answers Originate/Hangup like Asterisk; ``audio`` False reproduces 04b (no ChanSpyStop)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.service: MonitorService | None = None
        self.audio = True
        self._n = 0x26

    async def send_action(self, headers, timeout=5.0):
        h = dict(headers)
        self.sent.append(h)
        loop = asyncio.get_running_loop()
        if h["Action"] == "Originate":
            self._n += 1
            spyer = f"{h['Channel']}-{self._n:08x};1"
            self.spyer = spyer
            loop.call_soon(self._emit, ("Event", "OriginateResponse"), ("ActionID", h["ActionID"]),
                           ("Response", "Success"), ("Channel", spyer), ("Uniqueid", h["ChannelId"]))
            loop.call_soon(self._emit, ("Event", "ChanSpyStart"), ("SpyerChannel", spyer),
                           ("SpyerUniqueid", h["ChannelId"]), ("SpyeeChannel", h["Data"].split(",")[0]))
        elif h["Action"] == "Hangup" and self.audio and h["Channel"].endswith(";1"):
            loop.call_soon(self._emit, ("Event", "ChanSpyStop"), ("SpyerChannel", h["Channel"]))
        return AmiMessage.of(("Response", "Success"), ("ActionID", h.get("ActionID", "x")))

    def _emit(self, *pairs):
        self.service.on_ami_event("pbx1", AmiMessage.of(*pairs))


@web.middleware
async def _test_actor(request, handler):
    # Test-only stand-in for the auth middleware.
    role = request.headers.get("X-Test-Role")
    if role:
        request["actor"] = Actor(7, request.headers.get("X-Test-User", role), role,
                                 request.headers.get("X-Test-Agent"))
    return await handler(request)


@pytest.fixture
async def env(database):
    pbx = ScriptedPbx()
    audit = AuditLog(database)
    service = MonitorService({"pbx1": pbx}, audit, Clock(speed=20.0),
                             dial_string_for=lambda a: {"sup": "Local/2001@agents"}.get(a.username),
                             stop_timeout_s=2.0)
    pbx.service = service
    service.on_call_connected(LiveCall("int-1", "a1", "sales", "5551234", "PJSIP/1001-0000001a",
                                       "Local/100@cc-inbound-00000024;2", "pbx1", 1.0))
    service.on_call_connected(LiveCall("int-2", "a2", "sales", "5559999", "PJSIP/10011-0000001b",
                                       "Local/100@cc-inbound-00000028;2", "pbx1", 2.0))
    app = web.Application(middlewares=[_test_actor])
    add_monitoring_routes(app, service)
    assert check_route_roles(app) == []
    async with TestClient(TestServer(app)) as client:
        yield client, pbx, audit, service
    await service.close()


SUP = {"X-Test-Role": "supervisor", "X-Test-User": "sup"}


async def test_agent_attempt_is_refused_and_audited(env):
    client, pbx, audit, _ = env
    r = await client.post("/api/monitoring/sessions", json={"interaction_id": "int-1", "mode": "listen"},
                          headers={"X-Test-Role": "agent", "X-Test-User": "ann", "X-Test-Agent": "a2"})
    assert r.status == 403
    assert (await client.get("/api/monitoring/calls", headers={"X-Test-Role": "agent"})).status == 403
    assert pbx.sent == []
    rows = await audit.list(action_prefix="monitor.")
    assert [(e.actor, e.action, e.target, e.outcome) for e in rows] == [
        ("ann", "monitor.start", "int-1", "refused")]


async def test_listen_switch_barge_stop_on_the_exact_channel(env):
    client, pbx, audit, service = env
    calls = await (await client.get("/api/monitoring/calls", headers=SUP)).json()
    assert [c["interaction_id"] for c in calls["calls"]] == ["int-1", "int-2"]
    r = await client.post("/api/monitoring/sessions", json={"interaction_id": "int-1", "mode": "listen"},
                          headers=SUP)
    assert r.status == 201
    sid = (await r.json())["session_id"]
    orig = pbx.sent[0]
    assert orig["Application"] == "ChanSpy" and orig["Data"] == "PJSIP/1001-0000001a,qEu"
    assert orig["Channel"] == "Local/2001@agents"
    for _ in range(100):
        if service.session(sid).leg.state.value == "spying":
            break
        await asyncio.sleep(0.01)
    assert service.session(sid).leg.state.value == "spying"
    r = await client.patch(f"/api/monitoring/sessions/{sid}", json={"mode": "barge"}, headers=SUP)
    assert r.status == 200 and (await r.json())["mode"] == "barge"
    datas = [s["Data"] for s in pbx.sent if s["Action"] == "Originate"]
    assert datas == ["PJSIP/1001-0000001a,qEu", "PJSIP/1001-0000001a,qBEu"]
    r = await client.delete(f"/api/monitoring/sessions/{sid}", headers=SUP)
    body = await r.json()
    assert r.status == 200 and body["confirmed"] is True
    hung = [s["Channel"] for s in pbx.sent if s["Action"] == "Hangup"]
    assert hung[-2:] == [pbx.spyer, pbx.spyer[:-2] + ";2"]
    actions = [(e.action, e.outcome) for e in reversed(await audit.list(action_prefix="monitor."))]
    assert actions == [("monitor.start", "ok"), ("monitor.switch", "ok"), ("monitor.stop", "ok")]
    assert service.sessions() == []


async def test_stop_on_silent_call_always_ends(env):
    client, pbx, audit, service = env
    pbx.audio = False  # 04b: ChanSpy ignores the hangup of its leg
    r = await client.post("/api/monitoring/sessions", json={"interaction_id": "int-2", "mode": "whisper"},
                          headers=SUP)
    sid = (await r.json())["session_id"]
    assert pbx.sent[0]["Data"] == "PJSIP/10011-0000001b,qwEu"
    await asyncio.sleep(0.05)
    r = await asyncio.wait_for(client.delete(f"/api/monitoring/sessions/{sid}", headers=SUP), 10)
    body = await r.json()
    assert body["confirmed"] is False and body["reason"] == "stopped-unconfirmed"
    hung = [s["Channel"] for s in pbx.sent if s["Action"] == "Hangup"]
    assert hung.count(pbx.spyer) == 2 and pbx.spyer[:-2] + ";2" in hung  # second round sent
    assert service.sessions() == []
    last = (await audit.list(action_prefix="monitor.stop"))[0]
    assert last.outcome == "unconfirmed"
