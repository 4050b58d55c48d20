"""The FastAGI hot-path shortcuts behave exactly like the general paths they bypass.

Covered: argument rendering fast paths (against the general renderer), the typed commands'
direct encoding (against build_command), the deadline wheel (never early, discard, re-arm,
close), and the link's own FIFO turn-taking that replaced asyncio.Lock (order, cancellation).
The link tests drive an AgiSession over a recording transport (not one of our components).
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.telephony.agi.api import CallHangup, UnsafeValueError
from contactcenter.telephony.agi.command import (
    Quoted,
    _render_arg,
    build_command,
    quote,
    render_arg,
    render_quoted,
)
from contactcenter.telephony.agi.deadlines import DeadlineWheel, slot_time
from contactcenter.telephony.agi.environment import parse_environment
from contactcenter.telephony.agi.protocol import AgiEnvironmentBlock, AgiServerProtocol
from contactcenter.telephony.agi.session import AgiSession, AgiTimeoutError

HANG = 10.0  # generous timeout that only catches hangs

# Characters that matter to parse_args or the framing, plus Unicode spaces and controls.
_TRICKY = ' \t"\\\r\n\x00\x0b\x0c\x1c\x85\xa0\u2000\u2028\u3000aZ09-_*#/.'
_ARG_TEXT = st.text(
    st.one_of(st.sampled_from(_TRICKY), st.characters(blacklist_categories=("Cs",))),
    max_size=12,
)


def _outcome(fn, value):
    try:
        return ("ok", fn(value))
    except (TypeError, ValueError) as exc:  # the exception type is part of the contract
        return ("raises", type(exc))


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(_ARG_TEXT, st.integers(-(10**6), 10**6)))
def test_render_arg_fast_path_equals_general_path(value):
    assert _outcome(render_arg, value) == _outcome(_render_arg, value)


@settings(max_examples=300, deadline=None)
@given(value=_ARG_TEXT)
def test_render_quoted_fast_path_equals_quote(value):
    assert _outcome(render_quoted, value) == _outcome(quote, value)


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b", "\n"])
def test_fast_paths_refuse_cr_lf_nul(bad):
    with pytest.raises(UnsafeValueError):
        render_arg(bad)
    with pytest.raises(UnsafeValueError):
        render_quoted(bad)


def test_render_arg_refuses_bool_and_floats_like_build_command():
    for bad in (True, 1.5, None):
        with pytest.raises(TypeError):
            render_arg(bad)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    now=st.floats(0, 1e7, allow_nan=False),
    delay=st.floats(0, 1e5, allow_nan=False),
)
def test_slot_never_fires_before_its_deadline_and_is_not_far_late(now, delay):
    when = now + delay
    at = slot_time(when, now)
    assert at >= when
    assert at - when <= max(0.0101, delay * 0.1) + 1e-6 * max(1.0, when)


# -- a session over a recording transport ------------------------------------------------------

ENV = (
    b"agi_network: yes\nagi_network_script: ivr?flow=main\nagi_channel: Local/1@x-1;2\n"
    b"agi_uniqueid: 1.1\nagi_callerid: 100\nagi_context: x\nagi_extension: 1\n\n"
)


class RecordingTransport:
    """Keeps what the link writes; closing is remembered."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.lines.append(data)

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing


def new_session(**kw) -> tuple[AgiSession, RecordingTransport]:
    proto = AgiServerProtocol()
    proto.receive_data(ENV)
    block = proto.next_event()
    assert isinstance(block, AgiEnvironmentBlock)
    transport = RecordingTransport()
    return AgiSession(parse_environment(block.fields), proto, transport, **kw), transport


async def wait_lines(transport: RecordingTransport, n: int) -> None:
    async with asyncio.timeout(HANG):
        while len(transport.lines) < n:
            await asyncio.sleep(0)


NAMES = ["hello-world", "a b", 'q"uote', "back\\slash", "", "x\ty", "ünïcode", "\u3000"]


@pytest.mark.parametrize("value", NAMES)
async def test_typed_commands_encode_like_build_command(value):
    session, transport = new_session()
    calls = [
        (session.stream_file(value, value), build_command("STREAM FILE", value, Quoted(value))),
        (session.get_data(value, 3000, 4), build_command("GET DATA", value, 3000, 4)),
        (session.wait_for_digit(-1), build_command("WAIT FOR DIGIT", -1)),
        (
            session.set_variable(value or "V", value),
            build_command("SET VARIABLE", value or "V", value),
        ),
        (session.get_variable(value or "V"), build_command("GET VARIABLE", value or "V")),
        (session.answer(), build_command("ANSWER")),
    ]
    for i, (coro, expected) in enumerate(calls):
        task = asyncio.ensure_future(coro)
        await wait_lines(transport, i + 1)
        assert transport.lines[i] == expected.wire
        session.feed(b"200 result=0\n")
        await asyncio.wait_for(task, HANG)
    session.close()


async def test_typed_commands_refuse_unsafe_values_before_sending():
    session, transport = new_session()
    for coro in (
        session.stream_file("a\nb"),
        session.stream_file("ok", "1\r"),
        session.get_data("p\x00", 1000, 2),
        session.set_variable("X", "v\n"),
        session.get_variable("X\r"),
    ):
        with pytest.raises(UnsafeValueError):
            await coro
    assert transport.lines == []
    session.close()


async def test_turns_are_fifo_and_a_cancelled_waiter_is_skipped():
    session, transport = new_session()
    first = asyncio.ensure_future(session.set_variable("A", "1"))
    second = asyncio.ensure_future(session.set_variable("B", "2"))
    third = asyncio.ensure_future(session.set_variable("C", "3"))
    await wait_lines(transport, 1)
    await asyncio.sleep(0)
    second.cancel()
    session.feed(b"200 result=1\n")
    await asyncio.wait_for(first, HANG)
    await wait_lines(transport, 2)
    assert transport.lines == [b"SET VARIABLE A 1\n", b"SET VARIABLE C 3\n"]
    session.feed(b"200 result=1\n")
    await asyncio.wait_for(third, HANG)
    assert second.cancelled()
    noop = asyncio.ensure_future(session.noop())
    await wait_lines(transport, 3)  # the link is free again: sent at once
    assert transport.lines[2] == b"NOOP\n"
    session.feed(b"200 result=0\n")
    await asyncio.wait_for(noop, HANG)
    session.close()


async def test_turn_handed_to_a_cancelled_waiter_passes_on():
    session, transport = new_session()
    first = asyncio.ensure_future(session.set_variable("A", "1"))
    second = asyncio.ensure_future(session.set_variable("B", "2"))
    third = asyncio.ensure_future(session.set_variable("C", "3"))
    await wait_lines(transport, 1)
    await asyncio.sleep(0)
    session.feed(b"200 result=1\n")  # first gets its reply ...
    await asyncio.sleep(0)  # ... runs once, and hands the turn to second
    assert first.done() and not second.done() and len(transport.lines) == 1
    second.cancel()  # cancelled before it could use the turn: third must get it
    await wait_lines(transport, 2)
    assert transport.lines[1] == b"SET VARIABLE C 3\n"
    session.feed(b"200 result=1\n")
    await asyncio.wait_for(third, HANG)
    assert second.cancelled()
    session.close()


async def test_shorter_deadline_after_a_long_one_still_fires():
    session, transport = new_session(command_timeout=300.0)
    task = asyncio.ensure_future(session.noop())  # registers a slot ~300 s out
    await wait_lines(transport, 1)
    session.feed(b"200 result=0\n")
    await asyncio.wait_for(task, HANG)
    with pytest.raises(AgiTimeoutError):
        await asyncio.wait_for(session.exec("Playback", "x", timeout=0.05), HANG)
    assert session.closed and session.timed_out and transport.closing
    with pytest.raises(CallHangup):
        await session.noop()


async def test_wheel_fires_on_time_skips_discarded_and_rearms():
    loop = asyncio.get_running_loop()
    wheel = DeadlineWheel(loop)
    fired: dict[str, float] = {}

    class Entry:
        def __init__(self, name: str, delay: float) -> None:
            self.name = name
            self.deadline = loop.time() + delay
            self.slot = wheel.add(slot_time(self.deadline, loop.time()), self)

        def on_deadline(self) -> None:
            now = loop.time()
            if now < self.deadline:  # the loop's ms rounding may fire a hair early
                self.slot = wheel.add(slot_time(self.deadline, now), self)
                return
            fired[self.name] = now - self.deadline

    a, c = Entry("a", 0.02), Entry("c", 0.03)
    Entry("b", 0.05)
    wheel.discard(c.slot, c)
    a.deadline += 0.05  # moved later: the early slot fires, the entry re-arms itself
    async with asyncio.timeout(HANG):
        while len(fired) < 2:
            await asyncio.sleep(0.01)
    assert set(fired) == {"a", "b"}
    assert all(late >= 0 for late in fired.values())
    assert wheel.pending() == 0
    d = Entry("d", 100.0)
    assert wheel.pending() == 1
    wheel.close()
    assert wheel.pending() == 0 and d.name not in fired
