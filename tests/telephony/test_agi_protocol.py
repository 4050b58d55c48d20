"""Sans-IO AGI codec: tables from the Asterisk 22 transcripts, splits, fuzzing, serialization."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.telephony.agi.api import UnsafeValueError
from contactcenter.telephony.agi.environment import parse_environment, split_script
from contactcenter.telephony.agi.protocol import (
    NEED_DATA,
    AgiClosed,
    AgiEnvironmentBlock,
    AgiHangupPush,
    AgiProtocolError,
    AgiReply,
    AgiServerProtocol,
    Quoted,
    build_command,
    parse_reply_line,
    quote,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "asterisk-traces"
if not TRACES.is_dir():  # the checkout may sit elsewhere; the shared folder is fixed
    TRACES = Path("/work/shared/asterisk-traces")
AGI_TRACES = sorted(TRACES.glob("*.agi.jsonl"))


def load_trace(path: Path) -> list[dict]:
    """Records of one transcript, in wire order."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def drain(proto: AgiServerProtocol) -> list:
    """Every complete event buffered in ``proto``."""
    events = []
    while True:
        ev = proto.next_event()
        if ev is NEED_DATA:
            return events
        events.append(ev)


def events_of(chunks: list[bytes], eof: bool = True) -> list:
    """Feed chunks one by one and collect all events."""
    proto = AgiServerProtocol()
    events: list = []
    for chunk in chunks:
        if not chunk:
            continue  # b"" means EOF to the protocol
        proto.receive_data(chunk)
        events.extend(drain(proto))
    if eof:
        proto.receive_data(b"")
        events.extend(drain(proto))
    return events


def incoming(records: list[dict]) -> bytes:
    return "".join(r["data"] for r in records if r["dir"] == "in").encode()


# -- every reply format from the README's FastAGI section, exact wire text ---------------------

REPLY_TABLE = [
    ("200 result=0", AgiReply(200, "0")),
    ("200 result=49", AgiReply(200, "49")),
    ("200 result=1 (1)", AgiReply(200, "1", data="1")),
    ("200 result=1 ()", AgiReply(200, "1", data="")),
    ("200 result=1 (John Smith)", AgiReply(200, "1", data="John Smith")),
    ("200 result=0 endpos=11234", AgiReply(200, "0", endpos=11234)),
    ("200 result=-1 endpos=0", AgiReply(200, "-1", endpos=0)),
    ("200 result=42", AgiReply(200, "42")),
    ("200 result= (timeout)", AgiReply(200, "", data="timeout", timeout=True)),
    ("200 result=0 endpos=3404", AgiReply(200, "0", endpos=3404)),
    ("200 result=6", AgiReply(200, "6")),
    ("200 result=-1", AgiReply(200, "-1")),
    ("200 result=1", AgiReply(200, "1")),
    ("200 result=35 (dtmf) endpos=8000", AgiReply(200, "35", data="dtmf", endpos=8000)),
    ("200 result=0 (timeout) endpos=16000", AgiReply(200, "0", "timeout", 16000, True)),
    ("200 result=-1 (hangup) endpos=400", AgiReply(200, "-1", data="hangup", endpos=400)),
    ("200 result=*12", AgiReply(200, "*12")),
    ("200 result=1 (a) b (c)", AgiReply(200, "1", data="a) b (c")),
    ("200 result=1 (x) endpos=5)", AgiReply(200, "1", data="x) endpos=5")),
    ("200 result=-1 Gosub failed", AgiReply(200, "-1", text="Gosub failed")),
    ("200 result=0 ", AgiReply(200, "0")),
    ("200 result=1 (", AgiReply(200, "1", text="(")),
    ("510 Invalid or unknown command", AgiReply(510, text="Invalid or unknown command")),
    (
        "511 Command Not Permitted on a dead channel or intercept routine",
        AgiReply(511, text="Command Not Permitted on a dead channel or intercept routine"),
    ),
]


@pytest.mark.parametrize("line,expected", REPLY_TABLE, ids=[t[0] for t in REPLY_TABLE])
def test_reply_line_table(line, expected):
    assert parse_reply_line(line) == expected
    # the same line through the stateful parser, after an env block
    events = events_of([b"agi_network: yes\n\n", line.encode() + b"\n"])
    assert events[1:] == [expected, AgiClosed()]


def test_reply_numbers():
    assert parse_reply_line("200 result=49").number == 49
    assert parse_reply_line("200 result= (timeout)").number is None
    assert parse_reply_line("200 result=*12").number is None


@pytest.mark.parametrize(
    "line", ["200", "200 ok", "2000 result=1", "abc", "", "200-result=1x", "HANGUPX"]
)
def test_bad_reply_lines(line):
    with pytest.raises(AgiProtocolError):
        parse_reply_line(line)


def test_usage_block_520_exact_wire():
    records = load_trace(TRACES / "03-agi-edge-cases.agi.jsonl")
    wire = incoming(records)
    events = events_of([wire])
    usages = [e for e in events if isinstance(e, AgiReply) and e.code == 520]
    assert len(usages) == 3
    first = usages[0]
    assert first.text == "Invalid command syntax.  Proper usage follows:"
    lines = first.usage.split("\n")
    assert lines[0].startswith("Send the given file, allowing playback")
    assert "    <value>SUCCESS</value>" in lines
    assert lines[-1] == "    <value>FAILED</value>"
    assert usages[2].usage == (
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
        "Returns the digits received from the channel at the other end."
    )


def test_usage_line_reading_hangup_is_usage_text():
    events = events_of([b"agi_x: 1\n\n520-Bad.\nHANGUP\n520 End of proper usage.\nHANGUP\n"])
    assert events[1] == AgiReply(520, text="Bad.", usage="HANGUP")
    assert events[2] == AgiHangupPush()


@pytest.mark.parametrize("path", AGI_TRACES, ids=[p.name for p in AGI_TRACES])
def test_transcript_event_stream(path):
    """Each transcript: one env block, one reply per command sent, one event per HANGUP push."""
    records = load_trace(path)
    commands = [r for r in records if r["dir"] == "out" and not r.get("eof")]
    pushes = [r for r in records if r["dir"] == "in" and r["data"] == "HANGUP\n"]
    # feed record by record, as the wire delivered them
    events = events_of([r["data"].encode() for r in records if r["dir"] == "in"])
    assert isinstance(events[0], AgiEnvironmentBlock)
    assert len(events[0].fields) == 22
    replies = [e for e in events if isinstance(e, AgiReply)]
    assert len(replies) == len(commands)
    assert sum(isinstance(e, AgiHangupPush) for e in events) == len(pushes)
    assert events[-1] == AgiClosed()
    # the HANGUP push comes right after the reply it follows, never inside one
    for i, ev in enumerate(events):
        if isinstance(ev, AgiHangupPush):
            assert isinstance(events[i - 1], AgiReply)


def test_transcript_02_results_in_order():
    records = load_trace(TRACES / "02-ivr-dtmf-dial-hangup.agi.jsonl")
    events = events_of([incoming(records)])
    summary = [
        (e.code, e.result, e.data, e.endpos) if isinstance(e, AgiReply) else type(e).__name__
        for e in events
    ]
    assert summary == [
        "AgiEnvironmentBlock",
        (200, "0", None, None),
        (200, "0", None, 11234),
        (200, "49", None, None),
        (200, "1", None, None),
        (200, "1", "1", None),
        (200, "1", "5551234", None),
        (200, "0", None, None),
        (200, "0", None, None),
        (200, "-1", None, None),
        "AgiHangupPush",
        (200, "1", "ANSWER", None),
        (511, "", None, None),
        "AgiClosed",
    ]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_split_gives_same_events(data):
    path = data.draw(st.sampled_from(AGI_TRACES))
    wire = incoming(load_trace(path))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=25)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)])]
    assert events_of(chunks) == events_of([wire])


_env_key = st.text("abcxyz_019", min_size=1, max_size=6)
_env_val = st.text(
    st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=12
)


@settings(max_examples=120, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(_env_key, st.sampled_from([": ", ":", ":  ", " : "]), _env_val), max_size=12
    ),
    crlf=st.booleans(),
    prefix=st.sampled_from(["agi_", "agi_", "ag_"]),
)
def test_env_fast_path_equals_line_path(pairs, crlf, prefix):
    """The whole-block fast path and the line-by-line path accept and produce the same."""
    eol = "\r\n" if crlf else "\n"
    wire = ("".join(f"{prefix}{k}{sep}{v}{eol}" for k, sep, v in pairs) + eol).encode()

    def outcome(chunks):
        try:
            return events_of(chunks, eof=False)
        except AgiProtocolError:
            return "error"

    assert outcome([wire]) == outcome([wire[i : i + 1] for i in range(len(wire))])


def test_byte_by_byte_equals_whole():
    wire = incoming(load_trace(TRACES / "03-agi-edge-cases.agi.jsonl"))
    assert events_of([wire[i : i + 1] for i in range(len(wire))]) == events_of([wire])


@settings(max_examples=150, deadline=None)
@given(blob=st.binary(max_size=600), env_first=st.booleans(), eof=st.booleans())
def test_arbitrary_bytes_raise_only_protocol_error(blob, env_first, eof):
    proto = AgiServerProtocol()
    try:
        if env_first:
            proto.receive_data(b"agi_network: yes\n\n")
        proto.receive_data(blob)
        if eof:
            proto.receive_data(b"")
        for _ in range(1000):
            if proto.next_event() is NEED_DATA:
                break
    except AgiProtocolError:
        with pytest.raises(AgiProtocolError):  # stays broken
            proto.next_event()


@settings(max_examples=200, deadline=None)
@given(
    tail=st.text(
        st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=30
    )
)
def test_200_result_lines_parse_or_raise_protocol_error(tail):
    """The regex-free fast path for "200 result=" lines: any tail, only AgiProtocolError."""
    line = "200 result=" + tail
    try:
        direct = parse_reply_line(line)
    except AgiProtocolError:
        direct = "error"
    try:
        streamed = events_of([b"agi_a: b\n\n", line.encode() + b"\n"], eof=False)[1:]
    except AgiProtocolError:
        streamed = "error"
    if isinstance(direct, AgiReply) and not tail.endswith("\r"):
        assert streamed == [direct]


@settings(max_examples=80, deadline=None)
@given(
    lines=st.lists(
        st.text(
            st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=40
        ),
        max_size=30,
    )
)
def test_arbitrary_text_lines_raise_only_protocol_error(lines):
    proto = AgiServerProtocol()
    proto.receive_data(b"agi_a: b\n\n" + "".join(f"{x}\n" for x in lines).encode())
    try:
        drain(proto)
    except AgiProtocolError:
        pass
    else:
        assert proto.in_environment is False


# -- limits -----------------------------------------------------------------------------------


def test_env_block_size_cap_without_newline():
    proto = AgiServerProtocol()
    proto.receive_data(b"agi_x: " + b"a" * 17000)
    with pytest.raises(AgiProtocolError, match="too large"):
        proto.next_event()


def test_env_block_size_cap_many_lines():
    proto = AgiServerProtocol()
    proto.receive_data(b"".join(b"agi_k%d: %s\n" % (i, b"v" * 90) for i in range(190)))
    with pytest.raises(AgiProtocolError, match="too large"):
        drain(proto)


def test_env_block_line_cap():
    proto = AgiServerProtocol()
    proto.receive_data(b"".join(b"agi_k%d: v\n" % i for i in range(201)))
    with pytest.raises(AgiProtocolError, match="too many lines"):
        drain(proto)


def test_reply_line_cap():
    proto = AgiServerProtocol()
    proto.receive_data(b"agi_x: y\n\n200 result=1 (" + b"x" * 20000)
    assert isinstance(proto.next_event(), AgiEnvironmentBlock)
    with pytest.raises(AgiProtocolError, match="too long"):
        proto.next_event()


@pytest.mark.parametrize(
    "wire",
    [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"agi_x value\n\n", b"\x00\x01\x02\n", b"foo: bar\n"],
)
def test_garbage_env_block(wire):
    proto = AgiServerProtocol()
    proto.receive_data(wire)
    with pytest.raises(AgiProtocolError):
        drain(proto)


def test_eof_inside_env_block_is_an_error():
    proto = AgiServerProtocol()
    proto.receive_data(b"agi_network: yes\n")
    proto.receive_data(b"")
    with pytest.raises(AgiProtocolError, match="environment"):
        proto.next_event()


def test_eof_before_anything_is_a_clean_close():
    assert events_of([]) == [AgiClosed()]


def test_crlf_tolerated():
    events = events_of([b"agi_channel: SIP/1\r\n\r\n200 result=1 (x)\r\nHANGUP\r\n"])
    assert events == [
        AgiEnvironmentBlock({"channel": "SIP/1"}),
        AgiReply(200, "1", data="x"),
        AgiHangupPush(),
        AgiClosed(),
    ]


# -- serialization -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,wire",
    [
        (("ANSWER",), "ANSWER"),
        (
            ("STREAM FILE", "hello-world", Quoted("0123456789*#")),
            'STREAM FILE hello-world "0123456789*#"',
        ),
        (("SET VARIABLE", "CC_CHOICE", "1"), "SET VARIABLE CC_CHOICE 1"),
        (("SET VARIABLE", "CC_NAME", "John Smith"), 'SET VARIABLE CC_NAME "John Smith"'),
        (("GET FULL VARIABLE", "${CALLERID(num)}"), "GET FULL VARIABLE ${CALLERID(num)}"),
        (("SAY DIGITS", "123", Quoted("")), 'SAY DIGITS 123 ""'),
        (("VERBOSE", Quoted("trace verbose message"), 1), 'VERBOSE "trace verbose message" 1'),
        (("GET OPTION", "beep", Quoted("12"), 1000), 'GET OPTION beep "12" 1000'),
        (("EXEC", "Dial", "Local/1001@sim-agent,20"), "EXEC Dial Local/1001@sim-agent,20"),
        (("SET VARIABLE", "X", ""), 'SET VARIABLE X ""'),
        (("SET VARIABLE", "X", 'say "hi" \\o/'), 'SET VARIABLE X "say \\"hi\\" \\\\o/"'),
        (("noop lower case",), "noop lower case"),
    ],
)
def test_command_serialization_matches_transcripts(args, wire):
    cmd = build_command(*args)
    assert cmd.line == wire
    proto = AgiServerProtocol()
    proto.receive_data(b"agi_x: y\n\n")
    drain(proto)
    assert proto.send(cmd) == wire.encode() + b"\n"


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b", "x\r"])
def test_unsafe_values_refused(bad):
    with pytest.raises(UnsafeValueError):
        build_command("SET VARIABLE", "X", bad)
    with pytest.raises(UnsafeValueError):
        build_command("VERBOSE", Quoted(bad))
    with pytest.raises(UnsafeValueError):
        quote(bad)
    with pytest.raises((UnsafeValueError, ValueError)):
        build_command("GET VARIABLE" + bad)


@pytest.mark.parametrize("name", ["", "GET  VARIABLE", "ANSWER ", "A1", "X;Y"])
def test_bad_command_names(name):
    with pytest.raises(ValueError):
        build_command(name)


def test_send_before_env_is_refused():
    with pytest.raises(AgiProtocolError):
        AgiServerProtocol().send(build_command("ANSWER"))


def _asterisk_parse_args(line: str) -> list[str]:
    """Port of res_agi.c parse_args (quotes group, backslash escapes) to check our quoting."""
    out: list[str] = []
    cur: list[str] | None = None
    quoted = escaped = False
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and cur is None:
                cur = []
            continue
        if ch in " \t" and not quoted and not escaped:
            if cur is not None:
                out.append("".join(cur))
            cur = None
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if cur is None:
            cur = []
        cur.append(ch)
        escaped = False
    if cur is not None:
        out.append("".join(cur))
    return out


@settings(max_examples=150, deadline=None)
@given(
    value=st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",))),
    always=st.booleans(),
)
def test_quoting_round_trips_through_asterisk_parser(value, always):
    cmd = build_command("SET VARIABLE", "X", Quoted(value) if always else value)
    assert _asterisk_parse_args(cmd.line) == ["SET", "VARIABLE", "X", value]


# -- environment --------------------------------------------------------------------------------


def test_environment_from_transcript_02():
    block = events_of([incoming(load_trace(TRACES / "02-ivr-dtmf-dial-hangup.agi.jsonl"))])[0]
    env = parse_environment(block.fields)
    assert env.script == "ivr"
    assert dict(env.query) == {"flow": "main"}
    assert env.channel == "Local/100@cc-inbound-00000044;2"
    assert env.uniqueid == "1795457556.137"
    assert env.callerid == "5551234"
    assert env.calleridname == "Trace Caller"
    assert env.dnid is None
    assert env.extension == "100"
    assert env.context == "cc-inbound"
    assert env.language == "en"
    assert env.args == ()
    assert env.raw["accountcode"] == ""
    assert env.raw["version"] == "22.10.1"


def test_environment_unknown_callerid_is_none():
    block = events_of([incoming(load_trace(TRACES / "03-agi-edge-cases.agi.jsonl"))])[0]
    env = parse_environment(block.fields)
    assert env.callerid is None and env.calleridname is None
    assert env.raw["callingpres"] == "67"


def test_environment_args_and_request_fallback():
    env = parse_environment(
        {
            "request": "agi://10.0.0.1:4573/queue?name=sales&prio=2",
            "arg_2": "b",
            "arg_1": "a",
            "arg_10": "j",
        }
    )
    assert env.script == "queue"
    assert dict(env.query) == {"name": "sales", "prio": "2"}
    assert env.args == ("a", "b", "j")


def test_split_script():
    assert split_script("ivr?flow=main") == ("ivr", {"flow": "main"})
    assert split_script("/ivr/") == ("ivr", {})
    assert split_script("x?a=1&a=2&b=") == ("x", {"a": "2", "b": ""})
