"""The simulator's cheap paths write the same bytes as the header-list paths they stand for.

Without event history (benchmarks) events are formatted straight to wire text, AGI lines and
application data without quoting are split with ``str.split``, and channel owners wait on
``Flag``s with ``wait_any`` instead of a task per flag and per timer. Each is checked here
against the general path.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from contactcenter.domain.clock import Clock
from contactcenter.sim.agi_commands import app_args
from contactcenter.sim.agi_wire import split_args
from contactcenter.sim.channels import Bridge, SimChannel, headers_text, uuid4_text
from contactcenter.sim.events import encode_event
from contactcenter.sim.model import SimConfig
from contactcenter.sim.pbx import Pbx
from contactcenter.sim.waits import Flag, wait_any


def _channel(**kw: object) -> SimChannel:
    ch = SimChannel(name="PJSIP/3001-00000020", uniqueid="1796392020.7", linkedid="1796392020.5",
                    tech="PJSIP", context="default", exten="s")
    for key, value in kw.items():
        setattr(ch, key, value)
    return ch


@pytest.mark.parametrize("fields", [
    {},
    {"caller_num": "5550001", "caller_name": "Ann", "connected_num": "", "state": 6,
     "priority": 3, "language": "fr", "accountcode": "acct"},
    {"state": 42},  # unknown state: ChannelStateDesc Unknown
])
@pytest.mark.parametrize("prefix", ["", "Dest", "LocalOne", "Spyee"])
def test_channel_block_text_is_the_block_on_the_wire(fields, prefix):
    ch = _channel(**fields)
    assert ch.block_text(prefix) == headers_text(ch.block(prefix))


def test_bridge_block_text_is_the_block_on_the_wire():
    bridge = Bridge()
    bridge.channels.append(_channel())
    assert bridge.block_text() == headers_text(bridge.block())


def test_uuid4_text_looks_like_uuid4():
    for _ in range(200):
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                            uuid4_text())


def _run_calls(history: int) -> list[bytes]:
    """A scripted call's events as one AMI subscriber gets them (fixed clock; bridge id masked)."""
    clock = Clock()
    clock.time = lambda: 1796392020.123456  # type: ignore[method-assign]
    pbx = Pbx(SimConfig(clock=clock, event_history=history))
    got: list[bytes] = []
    pbx.bus.subscribe(got.append)  # reads everything: VarSet, Newexten, DeviceStateChange...
    one, two = pbx.new_local_pair("100", "cc-inbound")
    pbx.newexten(one, "AppDial2", "(Outgoing Line)")
    for ch in (one, two):
        pbx.set_callerid(ch, "5550001", None)
        pbx.set_connected(ch, "5550001", None)
    pbx.local_bridge(one, two)
    pbx.dial_begin(None, one, "100@cc-inbound")
    pbx.answer(two)
    pbx.dial_end(None, one, "ANSWER")
    pbx.device_state("Local/100@cc-inbound", "INUSE")
    agent = pbx.new_channel("PJSIP/3001", "default", "s", linkedid=two.linkedid)
    pbx.set_var(two, "DIALSTATUS", "")
    pbx.dial_begin(two, agent, "3001")
    pbx.dtmf(two, "5", True)
    pbx.dial_end(two, agent, "ANSWER")
    bridge = pbx.bridge_create()
    pbx.bridge_enter(bridge, agent)
    pbx.bridge_enter(bridge, two)
    pbx.bridge_peers(bridge)
    pbx.bridge_leave(agent)
    pbx.bridge_destroy(bridge)
    pbx.request_hangup(two)
    pbx.hangup(agent)
    return [re.sub(rb"BridgeUniqueid: [-0-9a-f]+", b"BridgeUniqueid: B", data) for data in got]


def test_events_without_history_are_the_same_bytes():
    with_history = _run_calls(20000)
    assert _run_calls(0) == with_history
    assert len(with_history) > 20


def test_event_text_matches_encode_event():
    clock = Clock()
    clock.time = lambda: 1796392020.5  # type: ignore[method-assign]
    pbx = Pbx(SimConfig(clock=clock, event_history=0))
    got: list[bytes] = []
    pbx.bus.subscribe(got.append)
    ch = _channel(caller_num="1")
    pbx.emit_ch("Hangup", ch, [("Cause", "16"), ("Cause-txt", "Normal Clearing")])
    full = [("Event", "Hangup"), ("Privilege", "call,all"), ("Timestamp", "1796392020.500000")]
    assert got == [encode_event(full + ch.block() + [("Cause", "16"),
                                                        ("Cause-txt", "Normal Clearing")])]


@pytest.mark.parametrize("history", [0, 100])
def test_unsafe_value_still_refused_without_history(history):
    pbx = Pbx(SimConfig(event_history=history))
    pbx.bus.subscribe(lambda data: None)
    ch = pbx.new_channel("PJSIP/3001", "default", "s")
    with pytest.raises(ValueError):
        pbx.set_var(ch, "X", "a\rb")
    with pytest.raises(ValueError):
        pbx.dial_begin(ch, ch, "30\n01")


@pytest.mark.parametrize("line", [
    "", "ANSWER", "EXEC MSet A=1,B=2", "  SET  VARIABLE\tX  1 ", "GET VARIABLE X\r",
    'EXEC Dial "PJSIP/1,20"', "SET VARIABLE X a\\ b", "a\x0bb c",
])
def test_split_args_plain_and_quoted(line):
    expected = {
        "": [], "ANSWER": ["ANSWER"], "EXEC MSet A=1,B=2": ["EXEC", "MSet", "A=1,B=2"],
        "  SET  VARIABLE\tX  1 ": ["SET", "VARIABLE", "X", "1"],
        "GET VARIABLE X\r": ["GET", "VARIABLE", "X\r"],
        'EXEC Dial "PJSIP/1,20"': ["EXEC", "Dial", "PJSIP/1,20"],
        "SET VARIABLE X a\\ b": ["SET", "VARIABLE", "X", "a b"],
        "a\x0bb c": ["a\x0bb", "c"],
    }
    assert split_args(line) == expected[line]


@pytest.mark.parametrize(("data", "delim", "limit", "expected"), [
    ("", ",", 99, []),
    ("a,b", ",", 99, ["a", "b"]),
    ("a,", ",", 99, ["a", ""]),
    (",", ",", 99, ["", ""]),
    ("A=b=c", "=", 2, ["A", "b=c"]),
    ("A=", "=", 2, ["A", ""]),
    ("a,b,c", ",", 1, ["a,b,c"]),
    ("a(b,c),d", ",", 99, ["a(b,c)", "d"]),
    ('"a,b",c', ",", 99, ["a,b", "c"]),
])
def test_app_args_plain_and_grouped(data, delim, limit, expected):
    assert app_args(data, delim, limit) == expected


async def test_wait_any_flag_timeout_and_cleanup():
    a, b = Flag(), Flag()
    assert await wait_any((a, b), 0.01) is False
    assert not a._waiters and not b._waiters
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, b.set)
    assert await wait_any((a, b), 5) is True
    assert not a._waiters and not b._waiters
    assert await wait_any((b,)) is True  # already set: returns after one loop pass


async def test_flag_wait_and_when_set():
    flag = Flag()
    seen: list[str] = []
    stop = flag.when_set(lambda: seen.append("set"))
    waiter = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    flag.set()
    flag.clear()  # like asyncio.Event: a waiter woken by set() still returns True
    assert await waiter is True
    await asyncio.sleep(0)
    assert seen == ["set"]
    stop()
    other = Flag()
    stop_other = other.when_set(lambda: seen.append("never"))
    stop_other()
    other.set()
    await asyncio.sleep(0)
    assert seen == ["set"] and not other._waiters
