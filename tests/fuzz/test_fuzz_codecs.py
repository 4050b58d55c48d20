"""Fuzzing the wire codecs: the AMI and the FastAGI sans-IO objects and their serializers.

Properties, for any input:
* ``AmiParser`` / ``AgiServerProtocol`` fed any bytes, in any chunks, hand out messages or raise
  their one error type (AmiProtocolError / AgiProtocolError); nothing else escapes, and a
  stream both parsers accept gives the same messages whatever the chunking.
* ``serialize(headers)`` either refuses (AmiUnsafeValueError) or makes bytes that parse back to
  exactly one message with exactly those headers: no value can add a header or a message.
* ``build_command(name, *args)`` either refuses (ValueError) or makes one LF-terminated line that
  the simulator's Asterisk ``parse_args`` reading splits back into exactly those arguments.
Seeds are the real Asterisk transcripts in ``../shared/asterisk-traces`` plus generated text;
mutations insert, drop and flip bytes, including the framing ones (CR, LF, NUL, ``:``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzz_budget import FAST, SLOW
from hypothesis import given
from hypothesis import strategies as st

from contactcenter.sim.agi_wire import parse_command
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
)
from contactcenter.telephony.ami.protocol import (
    AmiMessage,
    AmiParser,
    AmiProtocolError,
    AmiUnsafeValueError,
    serialize,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "asterisk-traces"


def _streams(kind: str) -> list[bytes]:
    """Each transcript's bytes in one direction ("in": what the peer sent us)."""
    out = []
    for path in sorted(TRACES.glob(f"*.{kind}*.jsonl")) if TRACES.is_dir() else []:
        records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        out.append("".join(r["data"] for r in records
                           if r.get("dir") == "in" and not r.get("eof")).encode())
    return [s for s in out if s] or [b"agi_network: yes\n\n200 result=0\n"]


AMI_SEEDS = _streams("ami") + [
    b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nMessage: ok\r\n\r\n",
    "Event: NewCallerid\r\nCallerIDName: Zoë 日本\r\n\r\n".encode(),
]
AGI_SEEDS = _streams("agi") + [
    (b"agi_network: yes\nagi_callerid: 100\n\n200 result=49 (timeout) endpos=8000\n"
     b"520-Invalid command syntax.  Proper usage follows:\nusage\n520 End of proper usage.\n"
     b"HANGUP\n511 Command Not Permitted\n"),
]

FRAMING = st.sampled_from([b"\r", b"\n", b"\r\n", b"\n\n", b"\x00", b":", b": ", b" ", b"\xff",
                           b"\xc3", b"(", b")", b"=", b"-", b"520-", b"200 result=", b"HANGUP\n",
                           b"agi_", b"Event: ", b"endpos=", b"9" * 30])


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A real stream (or a slice of it) with a few bytes inserted, dropped or replaced."""
    data = bytearray(draw(st.sampled_from(seeds)))
    start = draw(st.integers(0, len(data)))
    data = data[start: start + draw(st.integers(0, 4000))]
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "drop", "flip", "framing"]))
        if op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif op == "drop":
            del data[at: at + draw(st.integers(1, 60))]
        elif op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:at] = draw(FRAMING)
    return bytes(data)


def streams(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Random bytes, random framing soup, or a mutated real transcript."""
    return st.one_of(st.binary(max_size=600),
                     st.lists(FRAMING | st.binary(max_size=8), max_size=80).map(b"".join),
                     mutated(seeds))


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (sorted, deduplicated)."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points + [len(data)]:
        out.append(data[prev:p])
        prev = p
    return [c for c in out if c]


# -- AMI -----------------------------------------------------------------------------------------


def ami_messages(chunks: list[bytes], banner: bool) -> list[tuple] | None:
    """Headers of every message parsed from ``chunks``; None when the stream is refused."""
    parser = AmiParser(expect_banner=banner)
    out: list[tuple] = []
    try:
        for chunk in chunks:
            parser.receive_data(chunk)
            for msg in parser.messages():
                assert isinstance(msg, AmiMessage)
                # Every accessor must work on whatever came in.
                msg.get("Event"), msg.get("x-unknown"), msg.event, msg.action_id, msg.getall("a")
                msg.as_dict()
                out.append(msg.headers)
    except AmiProtocolError:
        with pytest.raises(AmiProtocolError):  # a broken parser stays broken
            parser.receive_data(b"Ping: x\r\n\r\n")
        return None
    return out


def check_ami_stream(data: bytes, cuts: list[int], banner: bool) -> None:
    """Any bytes in any chunks: messages or AmiProtocolError; chunking does not change them."""
    whole = ami_messages([data], banner)
    split = ami_messages(chunked(data, cuts), banner)
    if whole is not None and split is not None:
        assert whole == split


_KEY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["Action", "Event", "Variable", "Channel", "ActionID", "A:B", " Lead", "Tab\t", ""])
_VALUE = st.text(max_size=60) | st.sampled_from(
    ["x\r\nAction: Originate", "a\nb", "nul\x00", "\r", "  spaced  ", ":", "x\r", "\ud800"])


def check_ami_serialize(headers: list[tuple[str, str]]) -> None:
    """Refused, or parsed back as exactly one message with exactly these headers."""
    try:
        wire = serialize(headers)
    except AmiUnsafeValueError:
        return
    parser = AmiParser(expect_banner=False)
    parser.receive_data(wire)
    (msg,) = parser.messages()
    assert msg.headers == tuple(headers)
    assert parser.buffered == 0


@FAST
@given(data=streams(AMI_SEEDS), cuts=st.lists(st.integers(0, 5000), max_size=12),
       banner=st.booleans())
def test_ami_parser_fuzz(data, cuts, banner):
    check_ami_stream(data, cuts, banner)


@FAST
@given(headers=st.lists(st.tuples(_KEY, _VALUE), min_size=1, max_size=8))
def test_ami_serialize_fuzz(headers):
    check_ami_serialize(headers)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@SLOW
@given(data=streams(AMI_SEEDS), cuts=st.lists(st.integers(0, 5000), max_size=12),
       banner=st.booleans())
def test_ami_parser_fuzz_10k(data, cuts, banner):
    check_ami_stream(data, cuts, banner)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@SLOW
@given(headers=st.lists(st.tuples(_KEY, _VALUE), min_size=1, max_size=8))
def test_ami_serialize_fuzz_10k(headers):
    check_ami_serialize(headers)


# -- AGI -----------------------------------------------------------------------------------------

_EVENTS = (AgiEnvironmentBlock, AgiReply, AgiHangupPush, AgiClosed)


def agi_events(chunks: list[bytes], eof: bool) -> list | None:
    """Every event parsed from ``chunks``; None when the stream is refused."""
    proto = AgiServerProtocol()
    out: list = []
    try:
        for chunk in chunks + ([b""] if eof else []):
            proto.receive_data(chunk)
            while (event := proto.next_event()) is not NEED_DATA:
                assert isinstance(event, _EVENTS)
                if isinstance(event, AgiReply):
                    event.number  # noqa: B018 - must not raise on any result word
                out.append(event)
                assert len(out) < 100_000
    except AgiProtocolError:
        with pytest.raises(AgiProtocolError):  # a broken protocol stays broken
            proto.next_event()
        return None
    return out


def check_agi_stream(data: bytes, cuts: list[int], eof: bool) -> None:
    """Any bytes in any chunks: events or AgiProtocolError; chunking does not change them."""
    whole = agi_events([data] if data else [], eof)  # b"" would mean end of input
    split = agi_events(chunked(data, cuts), eof)
    if whole is not None and split is not None:
        assert whole == split


_ARG = (st.text(max_size=30) | st.integers(-10**6, 10**6)
        | st.text(max_size=20).map(Quoted) | st.sampled_from(
            ['"', "\\", '\\"', "a b", "\t", "x\nHANGUP", "\x00", "${SHELL(id)}", "1,2|3", "", " "]))
_NAME = st.sampled_from(["SET VARIABLE", "EXEC", "GET DATA", "VERBOSE", "STREAM FILE"]) | st.text(
    max_size=20)


def check_agi_command(name: str, args: list) -> None:
    """Refused, or one line the Asterisk-side reading splits back into exactly ``args``."""
    try:
        cmd = build_command(name, *args)
    except ValueError:  # UnsafeValueError is a ValueError, as is a bad command name
        return
    assert cmd.wire.endswith(b"\n") and cmd.wire.count(b"\n") == 1
    assert b"\r" not in cmd.wire and b"\x00" not in cmd.wire
    parsed = parse_command(cmd.line)
    words = len(name.split())
    expected = [a.value if isinstance(a, Quoted) else str(a) for a in args]
    got = list(parsed.words or ()) + list(parsed.args)
    assert got[words:] == expected
    assert [w.upper() for w in got[:words]] == name.upper().split()


@FAST
@given(data=streams(AGI_SEEDS), cuts=st.lists(st.integers(0, 5000), max_size=12),
       eof=st.booleans())
def test_agi_protocol_fuzz(data, cuts, eof):
    check_agi_stream(data, cuts, eof)


@FAST
@given(name=_NAME, args=st.lists(_ARG, max_size=6))
def test_agi_command_fuzz(name, args):
    check_agi_command(name, args)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@SLOW
@given(data=streams(AGI_SEEDS), cuts=st.lists(st.integers(0, 5000), max_size=12),
       eof=st.booleans())
def test_agi_protocol_fuzz_10k(data, cuts, eof):
    check_agi_stream(data, cuts, eof)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@SLOW
@given(name=_NAME, args=st.lists(_ARG, max_size=6))
def test_agi_command_fuzz_10k(name, args):
    check_agi_command(name, args)
