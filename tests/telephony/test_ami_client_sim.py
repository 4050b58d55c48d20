"""AmiClient + PbxLink against the PBX simulator (contactcenter/sim) over real localhost sockets."""

from __future__ import annotations

import asyncio
import collections

import pytest

from contactcenter.domain.clock import Clock
from contactcenter.telephony import events as ev
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.client import AmiActionError, AmiClient, AmiEndpoint
from contactcenter.telephony.ami.link import PbxLink

sim_mod = pytest.importorskip("contactcenter.sim")
Simulator, SimConfig = sim_mod.Simulator, sim_mod.SimConfig

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def sim():
    s = Simulator(SimConfig(clock=Clock(speed=1.0), agi_url="agi://127.0.0.1:1/nothing"))
    await s.start()
    yield s
    await s.stop()


def endpoint(sim, name="pbx1", **kw) -> AmiEndpoint:
    return AmiEndpoint(name=name, host="127.0.0.1", port=sim.ami_port, username="cc",
                       secret="ccsecret", **kw)


async def wait_for(predicate, timeout: float = 15.0) -> None:
    """Poll until ``predicate()`` holds; the timeout only catches hangs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


def agent_call(n: int) -> list[tuple[str, str]]:
    """A call that stays up: a Local pair into the simulator's auto-answering agent context."""
    return actions.Originate(f"Local/{1000 + n}@sim-agent", context="sim-agent",
                             exten=str(2000 + n))


def sim_uniqueids(sim) -> set[str]:
    return {ch.uniqueid for ch in sim.channels.values()}


async def test_login_ping_correlation_and_list_through_the_simulator(sim):
    client = AmiClient(endpoint(sim), clock=Clock())
    await client.start()
    await client.wait_connected(timeout=5.0)
    assert client.banner == "Asterisk Call Manager/11.0.0"
    pongs = await asyncio.gather(*(client.send_action(actions.Ping()) for _ in range(20)))
    assert len({p.action_id for p in pongs}) == 20
    assert all(p.get("Ping") == "Pong" for p in pongs)
    queued = await client.send_action(agent_call(1))
    assert queued.get("Message") == "Originate successfully queued"
    await wait_for(lambda: len(sim.channels) == 2)
    items = await client.send_list_action(actions.CoreShowChannels())
    assert {m.get("Uniqueid") for m in items} == sim_uniqueids(sim)
    name = min(sim.channels)
    got = await client.send_action(actions.Getvar("NOSUCHVAR", name))
    assert got.get("Value") == ""
    with pytest.raises(AmiActionError) as err:
        await client.send_action(actions.Hangup("PJSIP/nobody-00000000"))
    assert "No such channel" in err.value.message
    await client.stop()


async def test_cut_mid_message_reconnect_resync_no_lost_or_ghost_calls(sim):
    seen: list = []
    # A slow first retry leaves time to change the PBX while the link is down.
    link = PbxLink(endpoint(sim, first_retry=3.0), clock=Clock(), subscribers=[seen.append])
    helper = AmiClient(endpoint(sim, "helper", first_retry=0.05), clock=Clock())
    await link.start()
    await helper.start()
    await link.wait_ready(5.0)
    await helper.wait_connected(5.0)
    for n in range(3):
        await link.send_action(agent_call(n))
    await wait_for(lambda: len(sim.channels) == 6 and len(link.model.channels) == 6)
    before = set(link.model.calls)

    await sim.cut_ami(mid_message=True)
    await wait_for(lambda: link.link.state != "connected")
    # While our link is down: one call ends, another starts (via the helper's own link).
    gone = link.model.call_channels(min(before))
    for chan in gone:
        await sim.hangup_channel(chan.name)
    await helper.wait_connected(5.0)
    await helper.send_action(agent_call(7))
    await wait_for(lambda: len(sim.channels) == 6 and not ({c.uniqueid for c in gone}
                                                           & sim_uniqueids(sim)))
    assert link.link.state != "connected"  # the changes really happened while we were away

    await wait_for(lambda: link.link.state == "connected" and link.resyncs >= 2)
    assert set(link.model.channels) == sim_uniqueids(sim)
    assert len(link.model.calls) == 3 and link.link.reconnects == 1
    # Let the PBX end everything; each call must end exactly once.
    for name in list(sim.channels):
        await sim.hangup_channel(name)
    await wait_for(lambda: not sim.channels and not link.model.channels)
    started = collections.Counter(e.linkedid for e in seen if isinstance(e, ev.CallStarted))
    ended = collections.Counter(e.linkedid for e in seen if isinstance(e, ev.CallEnded))
    assert started == ended and set(started.values()) == {1} and len(started) == 4
    assert [e.linkedid for e in seen if isinstance(e, ev.CallEnded) and e.resync] == [
        min(before)
    ]
    await helper.stop()
    await link.stop()


async def test_silent_link_is_detected_then_reconnected_and_resynced(sim):
    seen: list = []
    # Link clock at 10x: ping every 3 s and dead after 8 s of clock time = 0.8 s real.
    link = PbxLink(endpoint(sim, first_retry=0.2, connect_timeout=1.0), clock=Clock(speed=10),
                   subscribers=[seen.append])
    await link.start()
    await link.wait_ready(5.0)
    await link.send_action(agent_call(1))
    await wait_for(lambda: len(link.model.channels) == 2)
    sim.silence_ami(True)
    await wait_for(lambda: link.link.state != "connected")
    assert "half-open" in (link.link.last_error or "")
    for name in list(sim.channels):
        await sim.hangup_channel(name)  # unseen: nothing gets through a silent link
    await wait_for(lambda: not sim.channels)
    assert len(link.model.channels) == 2  # stale until the resync
    sim.silence_ami(False)
    await wait_for(lambda: link.link.state == "connected" and link.resyncs >= 2)
    assert link.model.channels == {} and link.model.calls == {}
    ended = [e for e in seen if isinstance(e, ev.CallEnded)]
    assert len(ended) == 1 and ended[0].resync
    await link.stop()
