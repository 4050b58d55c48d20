"""FastAGI server and session over real sockets (127.0.0.1, port 0), against a raw fake Asterisk.

The fake Asterisk in this file writes the env block and reply lines exactly as the Asterisk 22
transcripts in shared/asterisk-traces do; the replay tests check every byte we send back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from contactcenter.common.log_throttle import LogThrottle
from contactcenter.domain.clock import Clock
from contactcenter.telephony.agi.api import (
    AgiCommandError,
    CallControl,
    CallHangup,
    UnsafeValueError,
)
from contactcenter.telephony.agi.protocol import Quoted
from contactcenter.telephony.agi.server import AgiServerStats, FastAgiServer
from contactcenter.telephony.agi.session import AgiReplyError, AgiSession, AgiTimeoutError

TRACES = Path("/work/shared/asterisk-traces")
_local = Path(__file__).resolve().parents[3] / "shared" / "asterisk-traces"
if _local.is_dir():
    TRACES = _local

HANG = 10.0  # generous timeout that only catches hangs


def _session_is_call_control(session: AgiSession) -> CallControl:
    return session  # type-checked: AgiSession must satisfy the CallControl protocol


def env_block(script: str = "ivr?flow=main", callerid: str = "5551234", **extra: str) -> bytes:
    """An env block shaped like the transcripts' (22 lines, LF, empty line at the end)."""
    fields = {
        "network": "yes",
        "network_script": script,
        "request": f"agi://127.0.0.1:4573/{script}",
        "channel": "Local/100@cc-inbound-00000044;2",
        "language": "en",
        "type": "Local",
        "uniqueid": "1795457556.137",
        "version": "22.10.1",
        "callerid": callerid,
        "calleridname": "Trace Caller",
        "callingpres": "0",
        "callingani2": "0",
        "callington": "0",
        "callingtns": "0",
        "dnid": "unknown",
        "rdnis": "unknown",
        "context": "cc-inbound",
        "extension": "100",
        "priority": "3",
        "enhanced": "0.0",
        "accountcode": "",
        "threadid": "139973363844800",
    }
    fields.update(extra)
    return "".join(f"agi_{k}: {v}\n" for k, v in fields.items()).encode() + b"\n"


class FakeAsterisk:
    """The Asterisk side of one FastAGI connection, written with raw asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def command(self) -> str:
        """The next line the server sent ("" at EOF)."""
        line = await asyncio.wait_for(self.reader.readline(), HANG)
        return line.decode()

    async def expect_eof(self) -> bool:
        data = await asyncio.wait_for(self.reader.read(), HANG)
        return data == b""

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


@pytest.fixture
async def server():
    # hangup_grace well above the replayed ~40 ms push, so a loaded CI cannot split them
    srv = FastAgiServer(host="127.0.0.1", port=0, clock=Clock(), env_timeout=5.0, hangup_grace=1.0)
    yield srv
    await srv.stop(grace=1.0)


async def started(srv: FastAgiServer, routes: dict[str, Callable[[AgiSession], Awaitable[None]]]):
    for name, handler in routes.items():
        srv.route(name, handler)
    await srv.start()
    assert srv.port != 0
    return srv


async def until(predicate: Callable[[], bool]) -> None:
    """Poll until ``predicate`` holds (bounded by HANG)."""
    async with asyncio.timeout(HANG):
        while not predicate():
            await asyncio.sleep(0.005)


# -- transcript replays ------------------------------------------------------------------------


def load(name: str) -> list[dict]:
    path = TRACES / f"{name}.agi.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def drop_commands(records: list[dict], commands: set[str]) -> list[dict]:
    """Remove sent lines we refuse to produce (raw CR, empty line) and the reply to each."""
    out: list[dict] = []
    skip_reply = False
    for r in records:
        if r["dir"] == "out" and r["data"] in commands:
            skip_reply = True
            continue
        if skip_reply and r["dir"] == "in":
            skip_reply = False
            continue
        out.append(r)
    return out


async def replay(port: int, records: list[dict]) -> list[tuple[str, str]]:
    """Play Asterisk's side of a transcript; return (expected, got) for every mismatched line."""
    fake = await FakeAsterisk.connect(port)
    mismatches: list[tuple[str, str]] = []
    prev_t = None
    try:
        for r in records:
            if r["dir"] == "in":
                # keep the short gaps (HANGUP ~40 ms after -1, the 520 continuation) so that
                # the pushed line really arrives on its own; skip Asterisk's long work times
                if prev_t is not None and 0 < r["t_ms"] - prev_t < 200:
                    await asyncio.sleep((r["t_ms"] - prev_t) / 1000)
                await fake.send(r["data"].encode())
                prev_t = r["t_ms"]
            elif r.get("eof"):
                if not await fake.expect_eof():
                    mismatches.append(("<EOF>", "<more data>"))
            else:
                got = await fake.command()
                if got != r["data"]:
                    mismatches.append((r["data"], got))
                prev_t = r["t_ms"]
    finally:
        await fake.close()
    return mismatches


async def flow_02(s: AgiSession, seen: dict) -> None:
    await s.answer()
    seen["stream"] = await s.stream_file("hello-world", "0123456789*#")
    seen["digit"] = await s.wait_for_digit(5000)
    await s.set_variable("CC_CHOICE", "1")
    seen["choice"] = await s.get_variable("CC_CHOICE")
    seen["cid"] = await s.get_full_variable("${CALLERID(num)}")
    seen["say"] = await s.say_digits("123")
    seen["mixmonitor"] = await s.exec("MixMonitor", "/var/spool/asterisk/monitor/trace-rec.wav")
    with pytest.raises(CallHangup):
        await s.exec("Dial", "Local/1001@sim-agent,20")
    seen["hung_up"] = s.hung_up
    seen["dialstatus"] = await s.get_variable("DIALSTATUS", allow_dead=True)
    with pytest.raises(CallHangup):
        await s.answer()  # refused locally: nothing is sent once the caller is gone
    with pytest.raises(CallHangup):
        await s.command("ANSWER", allow_dead=True)  # sent anyway, as in the trace: 511


async def flow_03(s: AgiSession, seen: dict) -> None:
    await s.answer()
    await s.noop()
    await s.command("noop lower case")
    for name in ("FOO BAR", "STREAM FILE", "WAIT FOR DIGIT", "GET DATA"):
        with pytest.raises(AgiReplyError) as err:
            await s.command(name)
        reply = err.value.reply
        text = reply.text if reply.usage is None else reply.usage.split("\n")[0]
        seen.setdefault("errors", []).append((reply.code, text[:20]))
    await s.verbose("trace verbose message", 1)
    seen["status"] = await s.channel_status()
    seen["nosuchvar"] = await s.get_variable("NOSUCHVAR")
    seen["nosuchvar_full"] = await s.get_full_variable("${NOSUCHVAR}")
    await s.set_variable("CC_NAME", "John Smith")
    seen["name"] = await s.get_variable("CC_NAME")
    with pytest.raises(UnsafeValueError):
        await s.command("NOOP\r")
    with pytest.raises(UnsafeValueError):
        await s.get_variable("CC_NAME\r")
    seen["data1"] = await s.get_data("beep", 3000, 4)
    seen["data2"] = await s.get_data("beep", 2000, 4)
    seen["wait"] = await s.wait_for_digit(2000)
    seen["missing"] = await s.stream_file("nonexistent-file")  # -1, no HANGUP follows
    seen["option"] = await s.get_option("beep", "12", 1000)
    seen["number"] = await s.say_number(42)
    seen["status2"] = await s.channel_status()
    seen["playback"] = await s.exec("Playback", "nonexistent-file")
    seen["playbackstatus"] = await s.get_variable("PLAYBACKSTATUS")
    await s.exec("StartMusicOnHold")
    await s.exec("Wait", "2")
    await s.exec("StopMusicOnHold")
    with pytest.raises(CallHangup):
        await s.wait_for_digit(10000)
    with pytest.raises(CallHangup):
        await s.command("CHANNEL STATUS", allow_dead=True)
    seen["dead_name"] = await s.get_variable("CC_NAME", allow_dead=True)
    with pytest.raises(CallHangup):
        await s.command("STREAM FILE", "beep", Quoted(""), allow_dead=True)
    seen["dead_exec"] = (await s.command("EXEC", "Playback", "beep", allow_dead=True)).result
    with pytest.raises(CallHangup):
        await s.command("HANGUP", allow_dead=True)


async def flow_03b(s: AgiSession, seen: dict) -> None:
    await s.answer()
    seen["digit"] = await s.wait_for_digit(3000)
    await s.hangup()
    seen["hung_up"] = s.hung_up
    await s.hangup()  # no-op once gone
    with pytest.raises(CallHangup):
        await s.channel_status()
    with pytest.raises(CallHangup):
        await s.command("CHANNEL STATUS", allow_dead=True)
    with pytest.raises(CallHangup):
        await s.command("WAIT FOR DIGIT", 1000, allow_dead=True)
    seen["agistatus"] = await s.get_variable("AGISTATUS", allow_dead=True)


async def flow_03c(s: AgiSession, seen: dict) -> None:
    await s.answer()
    await s.set_variable("CC_RESULT", "done")


def flow_04(agent: str) -> Callable[[AgiSession, dict], Awaitable[None]]:
    async def flow(s: AgiSession, seen: dict) -> None:
        await s.answer()
        seen["digit"] = await s.wait_for_digit(5000)
        with pytest.raises(CallHangup):
            await s.dial(agent, 60)

    return flow


async def flow_05(s: AgiSession, seen: dict) -> None:
    await s.answer()
    seen["digit"] = await s.wait_for_digit(5000)
    await s.set_variable("CC_CHOICE", "1")
    seen["dial"] = await s.exec("Dial", "Local/1001@sim-agent,60")  # redirected: 0, then HANGUP
    await s.wait_for_hangup(HANG)
    seen["hung_up"] = s.hung_up
    with pytest.raises(CallHangup):
        await s.command("CHANNEL STATUS", allow_dead=True)
    seen["choice"] = await s.get_variable("CC_CHOICE", allow_dead=True)


REPLAYS = {
    "02-ivr-dtmf-dial-hangup": (
        flow_02,
        {
            "stream": None,
            "digit": "1",
            "choice": "1",
            "cid": "5551234",
            "say": None,
            "mixmonitor": 0,
            "hung_up": True,
            "dialstatus": "ANSWER",
        },
    ),
    "03-agi-edge-cases": (
        flow_03,
        {
            "errors": [
                (510, "Invalid or unknown c"),
                (520, "Send the given file,"),
                (520, "Waits up to <replace"),
                (520, "Stream the given <re"),
            ],
            "status": 6,
            "nosuchvar": None,
            "nosuchvar_full": "",
            "name": "John Smith",
            "data1": "42",
            "data2": None,
            "wait": None,
            "missing": None,
            "option": None,
            "number": None,
            "status2": 6,
            "playback": 0,
            "playbackstatus": "FAILED",
            "dead_name": "John Smith",
            "dead_exec": "0",
        },
    ),
    "03b-agi-self-hangup": (flow_03b, {"digit": "5", "hung_up": True, "agistatus": None}),
    "03c-agi-script-exits": (flow_03c, {}),
    "04-originate-chanspy": (flow_04("Local/1001@sim-agent-moh"), {"digit": "1"}),
    "04b-chanspy-silent-spyee": (flow_04("Local/1001@sim-agent"), {"digit": "1"}),
    "05-ami-actions": (flow_05, {"digit": "1", "dial": 0, "hung_up": True, "choice": "1"}),
}


@pytest.mark.parametrize("trace", sorted(REPLAYS))
async def test_transcript_replay(server, trace):
    flow, expected = REPLAYS[trace]
    seen: dict = {}
    failures: list[BaseException] = []

    async def handler(session: AgiSession) -> None:
        try:
            await flow(session, seen)
        except BaseException as exc:  # surfaced below, not swallowed by the server
            failures.append(exc)
            raise

    await started(server, {"ivr": handler})
    records = drop_commands(load(trace), {"\n", "NOOP\r\n", "GET VARIABLE CC_NAME\r\n"})
    mismatches = await replay(server.port, records)
    await until(lambda: server.stats.active == 0)
    assert failures == []
    assert mismatches == []
    assert seen == expected
    assert server.stats == AgiServerStats(active=0, total=1, connections=1)


# -- routing -----------------------------------------------------------------------------------


async def test_routing_by_script_and_query(server):
    got: list[tuple[str, str, list, tuple, str | None]] = []

    def recorder(tag: str):
        async def handler(session: AgiSession) -> None:
            e = session.env
            got.append((tag, e.script, sorted(e.query.items()), e.args, e.callerid))

        return handler

    await started(server, {"ivr": recorder("ivr"), "queue": recorder("queue")})
    fakes = []
    for script, extra in [
        ("ivr?flow=main&lang=fr", {}),
        ("queue?name=sales", {"arg_1": "vip", "arg_2": "x y"}),
        ("ivr", {}),
    ]:
        fake = await FakeAsterisk.connect(server.port)
        await fake.send(env_block(script, callerid="unknown", **extra))
        fakes.append(fake)
    for fake in fakes:
        assert await fake.expect_eof()  # the server closes when the handler returns
        await fake.close()
    assert sorted(got) == [
        ("ivr", "ivr", [], (), None),
        ("ivr", "ivr", [("flow", "main"), ("lang", "fr")], (), None),
        ("queue", "queue", [("name", "sales")], ("vip", "x y"), None),
    ]
    assert server.stats.total == 3


async def test_unknown_script_gets_verbose_and_hangup(server):
    await started(server, {"ivr": lambda s: asyncio.sleep(0)})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block("nosuch?x=1"))
    line = await fake.command()
    assert line.startswith('VERBOSE "') and "nosuch" in line and line.endswith(" 1\n")
    await fake.send(b"200 result=1\n")
    assert await fake.command() == "HANGUP\n"
    await fake.send(b"200 result=1\n")
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: server.stats.active == 0)
    assert server.stats.unknown_script == 1 and server.stats.errors == 0


def test_route_names_validated():
    srv = FastAgiServer(port=0)
    with pytest.raises(ValueError):
        srv.route("ivr?flow=x", lambda s: asyncio.sleep(0))
    with pytest.raises(ValueError):
        srv.route("/", lambda s: asyncio.sleep(0))


# -- refusal, timeouts, garbage ----------------------------------------------------------------


async def test_refuses_clients_outside_allowed_networks():
    srv = FastAgiServer(host="127.0.0.1", port=0, allowed_networks=["10.0.0.0/8"])
    called = []
    srv.route("ivr", lambda s: called.append(s) or asyncio.sleep(0))
    await srv.start()
    try:
        fake = await FakeAsterisk.connect(srv.port)
        try:
            await fake.send(env_block())
        except (ConnectionError, OSError):
            pass
        try:
            data = await asyncio.wait_for(fake.reader.read(), HANG)
        except (ConnectionError, OSError):
            data = b""
        assert data == b""
        await fake.close()
        await until(lambda: srv.stats.refused == 1)
        assert called == [] and srv.stats.total == 0
    finally:
        await srv.stop(grace=0.5)


async def test_a_flood_of_refused_connections_logs_a_few_lines_not_one_each(caplog):
    srv = FastAgiServer(host="127.0.0.1", port=0, allowed_networks=["10.0.0.0/8"])
    await srv.start()
    try:
        with caplog.at_level(logging.WARNING, logger="contactcenter.telephony.agi.server"):
            for _ in range(40):
                fake = await FakeAsterisk.connect(srv.port)
                await fake.close()
            await until(lambda: srv.stats.refused == 40)
        lines = [r.getMessage() for r in caplog.records]
        assert sum("refused connection" in line for line in lines) == srv.warnings.burst
        assert sum("left out" in line for line in lines) == 1
    finally:
        await srv.stop(grace=0.5)


def test_log_throttle_reports_what_it_left_out_in_the_next_period():
    now = [0.0]
    logger = logging.getLogger("test.throttle")
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger.addHandler(Keep())
    logger.propagate = False
    throttle = LogThrottle(logger, period=60.0, burst=3, now=lambda: now[0])
    for i in range(10):
        throttle.warning("timeout", "timed out %d", i)
    throttle.warning("refused", "refused")  # another kind has its own budget
    now[0] = 61.0
    throttle.warning("timeout", "timed out again")
    assert lines == ["timed out 0", "timed out 1", "timed out 2",
                     "further 'timeout' lines are left out for up to 60 s (counted)",
                     "refused",
                     "7 more 'timeout' line(s) left out in the last 61 s", "timed out again"]


def test_allowed_address_checks():
    srv = FastAgiServer(port=0, allowed_networks=["127.0.0.0/8", "::1/128", "192.0.2.0/24"])
    assert srv.is_allowed(("127.0.0.1", 5555))
    assert srv.is_allowed(("::1", 5555, 0, 0))
    assert srv.is_allowed(("::ffff:192.0.2.7", 5555, 0, 0))
    assert not srv.is_allowed(("198.51.100.1", 5555))
    assert not srv.is_allowed(("fe80::1%eth0", 5555, 0, 2))
    assert not srv.is_allowed(None)
    assert not srv.is_allowed(("not-an-ip", 1))


async def test_half_sent_env_times_out_while_another_session_completes():
    srv = FastAgiServer(host="127.0.0.1", port=0, env_timeout=0.5)
    done = []

    async def handler(session: AgiSession) -> None:
        await session.answer()
        done.append(session.env.uniqueid)

    srv.route("ivr", handler)
    await srv.start()
    try:
        slow = await FakeAsterisk.connect(srv.port)
        block = env_block()
        await slow.send(block[: len(block) // 2])  # half the block, then silence
        good = await FakeAsterisk.connect(srv.port)
        await good.send(env_block(uniqueid="42.1"))
        assert await good.command() == "ANSWER\n"
        await good.send(b"200 result=0\n")
        assert await good.expect_eof()
        assert done == ["42.1"]
        assert await slow.expect_eof()  # dropped at the deadline
        await until(lambda: srv.stats.timeouts == 1)
        assert srv.stats.total == 1 and srv.stats.errors == 0
        await slow.close()
        await good.close()
    finally:
        await srv.stop(grace=0.5)


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: example\r\n\r\n",
        b"\x00\xff\xfe garbage\n",
        b"agi_channel: x\n" + b"A" * 20000,
    ],
    ids=["http", "binary", "oversized"],
)
async def test_garbage_is_dropped_and_server_keeps_serving(server, garbage):
    served = []

    async def handler(session: AgiSession) -> None:
        served.append(session.env.script)

    await started(server, {"ivr": handler})
    bad = await FakeAsterisk.connect(server.port)
    try:
        await bad.send(garbage)
        data = await asyncio.wait_for(bad.reader.read(), HANG)
    except (ConnectionError, OSError):
        data = b""
    assert data == b""
    await bad.close()
    good = await FakeAsterisk.connect(server.port)
    await good.send(env_block())
    assert await good.expect_eof()
    await good.close()
    await until(lambda: server.stats.errors == 1 and server.stats.active == 0)
    assert served == ["ivr"]


# -- hangups -----------------------------------------------------------------------------------


async def test_caller_hangup_mid_command_raises_and_closes(server):
    outcome: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.wait_for_digit(10000)
        except CallHangup:
            outcome.append(f"hangup closed={session.closed} hung_up={session.hung_up}")
            raise

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == "WAIT FOR DIGIT 10000\n"
    await fake.send(b"200 result=-1\n")
    await asyncio.sleep(0.04)  # as on the wire: the push follows ~40 ms later
    await fake.send(b"HANGUP\n")
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: server.stats.active == 0)
    assert outcome == ["hangup closed=False hung_up=True"]
    assert server.stats.errors == 0


async def test_peer_closing_mid_command_raises_callhangup(server):
    outcome: list[bool] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.stream_file("long-prompt", "#")
        except CallHangup:
            outcome.append(session.closed)

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == 'STREAM FILE long-prompt "#"\n'
    await fake.close()
    await until(lambda: outcome != [])
    assert outcome == [True]


async def test_511_raises_callhangup(server):
    states: list[bool] = []

    async def handler(session: AgiSession) -> None:
        with pytest.raises(CallHangup):
            await session.answer()
        states.append(session.hung_up)
        with pytest.raises(CallHangup):
            await session.verbose("never sent")

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == "ANSWER\n"
    await fake.send(b"511 Command Not Permitted on a dead channel or intercept routine\n")
    assert await fake.expect_eof()  # nothing else was sent
    await fake.close()
    await until(lambda: states != [])
    assert states == [True]


async def test_hangup_push_while_idle_wakes_waiter(server):
    woke: list[bool] = []
    idle = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        await session.set_music(True, "default")
        idle.set()
        woke.append(await session.wait_for_hangup())
        with pytest.raises(CallHangup):
            await session.set_music(False)

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == "SET MUSIC ON default\n"
    await fake.send(b"200 result=0\n")
    await asyncio.wait_for(idle.wait(), HANG)
    await fake.send(b"HANGUP\n")
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: woke != [])
    assert woke == [True]


async def test_hangup_right_behind_a_reply_raises(server):
    outcome: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.exec("Dial", "Local/1001@sim-agent,60")
        except CallHangup:
            outcome.append("hangup")

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == "EXEC Dial Local/1001@sim-agent,60\n"
    await fake.send(b"200 result=0\nHANGUP\n")  # a redirect, both lines in one segment
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: outcome != [])
    assert outcome == ["hangup"]


async def test_minus_one_without_hangup_is_a_plain_result(server):
    results: list = []

    async def handler(session: AgiSession) -> None:
        results.append(await session.exec("Dial", "Local/9@nowhere,5"))
        results.append(session.hung_up)

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == "EXEC Dial Local/9@nowhere,5\n"
    await fake.send(b"200 result=-1\n")
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: len(results) == 2)
    assert results == [-1, False]


# -- commands, values, errors ------------------------------------------------------------------


async def test_unsafe_value_is_refused_before_anything_is_sent(server):
    raised: list[str] = []

    async def handler(session: AgiSession) -> None:
        for bad in ("evil\r\nEXEC System rm", "nul\x00", "lf\n"):
            try:
                await session.set_variable("X", bad)
            except UnsafeValueError:
                raised.append("unsafe")
        with pytest.raises(ValueError):
            await session.exec("System rm", "-rf")
        with pytest.raises(ValueError):
            await session.dial("PJSIP/1001,0,G(evil)", 20)
        await session.noop()

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == "NOOP\n"  # the first and only line on the wire
    await fake.send(b"200 result=0\n")
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: server.stats.active == 0)
    assert raised == ["unsafe"] * 3


async def test_record_say_datetime_and_dial_wire(server):
    seen: dict = {}

    async def handler(session: AgiSession) -> None:
        seen["rec"] = await session.record_file("/tmp/msg", "wav", "#", 30000, True, 3)
        seen["rec2"] = await session.record_file("/tmp/msg2", "wav", "", 5000, beep=False)
        seen["dt"] = await session.say_datetime(1795457556, "", "IMp", "Europe/Paris")
        seen["dial"] = await session.dial("PJSIP/1001", 20, "tT")
        with pytest.raises(CallHangup):
            await session.record_file("/tmp/msg3", "wav", "#", 30000)

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    script = [
        ('RECORD FILE /tmp/msg wav "#" 30000 BEEP s=3\n', b"200 result=35 (dtmf) endpos=8000\n"),
        ('RECORD FILE /tmp/msg2 wav "" 5000\n', b"200 result=0 (timeout) endpos=40000\n"),
        ('SAY DATETIME 1795457556 "" "IMp" Europe/Paris\n', b"200 result=0\n"),
        ("EXEC Dial PJSIP/1001,20,tT\n", b"200 result=0\n"),
        ("GET VARIABLE DIALSTATUS\n", b"200 result=1 (NOANSWER)\n"),
        ('RECORD FILE /tmp/msg3 wav "#" 30000 BEEP\n', b"200 result=-1 (hangup) endpos=100\n"),
    ]
    for expected, reply in script:
        assert await fake.command() == expected
        await fake.send(reply)
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: server.stats.active == 0)
    assert seen["rec"].digit == "#" and seen["rec"].endpos == 8000 and not seen["rec"].timed_out
    assert seen["rec2"].digit is None and seen["rec2"].timed_out and seen["rec2"].endpos == 40000
    assert seen["dt"] is None
    assert seen["dial"] == "NOANSWER"
    assert server.stats.errors == 0


async def test_handler_exception_is_logged_and_server_survives(server, caplog):
    calls = []

    async def handler(session: AgiSession) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    await started(server, {"ivr": handler})
    for _ in range(2):
        fake = await FakeAsterisk.connect(server.port)
        await fake.send(env_block())
        assert await fake.expect_eof()
        await fake.close()
    await until(lambda: server.stats.active == 0 and server.stats.total == 2)
    assert server.stats.errors == 1
    assert "boom" in caplog.text


async def test_reply_garbage_or_unsolicited_reply_fails_the_command(server):
    errors: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.answer()
        except AgiCommandError as exc:
            errors.append(type(exc).__name__)

    await started(server, {"ivr": handler})
    fake = await FakeAsterisk.connect(server.port)
    await fake.send(env_block())
    assert await fake.command() == "ANSWER\n"
    await fake.send(b"this is not AGI\n")
    assert await fake.expect_eof()
    await fake.close()
    await until(lambda: server.stats.active == 0)
    assert errors == ["AgiCommandError"]
    assert server.stats.errors == 1


async def test_command_timeout_closes_session():
    srv = FastAgiServer(host="127.0.0.1", port=0, command_timeout=0.3)
    outcome: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.answer()
        except AgiTimeoutError:
            outcome.append(f"timeout closed={session.closed}")
            raise

    srv.route("ivr", handler)
    await srv.start()
    try:
        fake = await FakeAsterisk.connect(srv.port)
        await fake.send(env_block())
        assert await fake.command() == "ANSWER\n"  # and never answer it
        assert await fake.expect_eof()
        await fake.close()
        await until(lambda: srv.stats.active == 0)
        assert outcome == ["timeout closed=True"]
        assert srv.stats.timeouts == 1 and srv.stats.errors == 0
    finally:
        await srv.stop(grace=0.5)


async def test_clock_speed_scales_command_timeout():
    srv = FastAgiServer(host="127.0.0.1", port=0, clock=Clock(speed=100.0), command_timeout=30.0)
    outcome: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.noop()
        except AgiTimeoutError:
            outcome.append("timeout")

    srv.route("ivr", handler)
    await srv.start()
    try:
        fake = await FakeAsterisk.connect(srv.port)
        await fake.send(env_block())
        assert await fake.command() == "NOOP\n"
        assert await fake.expect_eof()  # 30 clock s = 0.3 real s; HANG would catch a miss
        await fake.close()
        await until(lambda: outcome != [])
        assert outcome == ["timeout"]
    finally:
        await srv.stop(grace=0.5)


# -- lifecycle ---------------------------------------------------------------------------------


async def test_graceful_stop_cancels_stuck_handlers_and_closes_sockets():
    srv = FastAgiServer(host="127.0.0.1", port=0)
    entered = asyncio.Event()
    cancelled: list[bool] = []
    finished: list[str] = []

    async def stuck(session: AgiSession) -> None:
        entered.set()
        try:
            await session.wait_for_hangup()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def quick(session: AgiSession) -> None:
        await asyncio.sleep(0.05)
        await session.noop()
        finished.append("quick")

    srv.route("stuck", stuck)
    srv.route("quick", quick)
    await srv.start()
    port = srv.port
    a = await FakeAsterisk.connect(port)
    await a.send(env_block("stuck"))
    b = await FakeAsterisk.connect(port)
    await b.send(env_block("quick"))
    half = await FakeAsterisk.connect(port)
    await half.send(b"agi_network: yes\n")
    await asyncio.wait_for(entered.wait(), HANG)
    await until(lambda: srv.stats.active == 2)

    async def answer_b() -> None:
        assert await b.command() == "NOOP\n"
        await b.send(b"200 result=0\n")

    answering = asyncio.create_task(answer_b())
    await srv.stop(grace=2.0)
    await answering
    assert finished == ["quick"]  # the grace period let it finish
    assert cancelled == [True]
    for fake in (a, b, half):
        try:
            assert await fake.expect_eof()
        except (ConnectionError, OSError):
            pass
        await fake.close()
    assert srv.stats.active == 0
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_many_concurrent_sessions(server):
    async def handler(session: AgiSession) -> None:
        await session.answer()
        await session.set_variable("N", session.env.uniqueid)
        assert await session.get_variable("N") == session.env.uniqueid

    await started(server, {"ivr": handler})

    async def call(i: int) -> bool:
        fake = await FakeAsterisk.connect(server.port)
        await fake.send(env_block(uniqueid=f"{i}.1"))
        assert await fake.command() == "ANSWER\n"
        await fake.send(b"200 result=0\n")
        assert await fake.command() == f"SET VARIABLE N {i}.1\n"
        await fake.send(b"200 result=1\n")
        assert await fake.command() == "GET VARIABLE N\n"
        await fake.send(f"200 result=1 ({i}.1)\n".encode())
        ok = await fake.expect_eof()
        await fake.close()
        return ok

    results = await asyncio.gather(*(call(i) for i in range(200)))
    assert all(results)
    await until(lambda: server.stats.active == 0)
    assert server.stats.total == 200 and server.stats.errors == 0


def test_one_session_on_uvloop():
    """uvloop transports are not asyncio.Transport subclasses; the server must not care."""
    uvloop = pytest.importorskip("uvloop")
    seen: list[str | None] = []

    async def scenario() -> None:
        srv = FastAgiServer(host="127.0.0.1", port=0)

        async def handler(session: AgiSession) -> None:
            seen.append(await session.get_variable("X"))

        srv.route("ivr", handler)
        await srv.start()
        try:
            fake = await FakeAsterisk.connect(srv.port)
            await fake.send(env_block())
            assert await fake.command() == "GET VARIABLE X\n"
            await fake.send(b"200 result=1 (uv)\n")
            assert await fake.expect_eof()
            await fake.close()
        finally:
            await srv.stop(grace=1.0)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())
    assert seen == ["uv"]
