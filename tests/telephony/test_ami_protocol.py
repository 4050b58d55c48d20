"""Sans-IO AMI codec: tables from the Asterisk 22 transcripts, splits, fuzzing, serialization."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactcenter.telephony.agi.api import UnsafeValueError
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.protocol import (
    AmiMessage,
    AmiParser,
    AmiProtocolError,
    serialize,
)

TRACES = Path("/work/shared/asterisk-traces")
AMI_TRACES = sorted(p for p in TRACES.glob("*.jsonl") if ".agi." not in p.name)
BANNER = "Asterisk Call Manager/11.0.0\r\n"


def load_trace(path: Path) -> list[dict]:
    """Records of one transcript, in wire order."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reference_headers(data: str) -> tuple[tuple[str, str], ...]:
    """An independent, obviously-correct reading of one CRLF message."""
    assert data.endswith("\r\n\r\n")
    pairs = []
    for line in data[:-4].split("\r\n"):
        key, value = line.split(":", 1)
        pairs.append((key, value.removeprefix(" ")))
    return tuple(pairs)


def drain(parser: AmiParser) -> list[AmiMessage]:
    out = []
    while (msg := parser.next_message()) is not None:
        out.append(msg)
    return out


def stream_of(path: Path, direction: str) -> bytes:
    return "".join(
        r["data"] for r in load_trace(path) if r["dir"] == direction and not r.get("eof")
    ).encode()


def expected_of(path: Path, direction: str) -> list[tuple]:
    return [
        reference_headers(r["data"])
        for r in load_trace(path)
        if r["dir"] == direction and not r.get("eof") and not r["data"].startswith("Asterisk Call")
    ]


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.name)
def test_every_record_parses_to_exactly_one_message(path):
    count = 0
    for rec in load_trace(path):
        if rec.get("eof") or rec["data"] == BANNER:
            continue
        parser = AmiParser(expect_banner=False)
        parser.receive_data(rec["data"].encode())
        msgs = drain(parser)
        assert len(msgs) == 1, rec
        assert msgs[0].headers == reference_headers(rec["data"])
        assert parser.buffered == 0
        count += 1
    assert count > 0


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.name)
def test_client_records_round_trip_byte_for_byte(path):
    for rec in load_trace(path):
        if rec["dir"] != "out" or rec.get("eof"):
            continue
        parser = AmiParser(expect_banner=False)
        parser.receive_data(rec["data"].encode())
        (msg,) = drain(parser)
        assert serialize(msg.headers) == rec["data"].encode()


def test_whole_inbound_streams_with_banner():
    for path in AMI_TRACES:
        parser = AmiParser()
        parser.receive_data(stream_of(path, "in"))
        assert parser.banner == "Asterisk Call Manager/11.0.0"
        assert [m.headers for m in drain(parser)] == expected_of(path, "in")


def _out_records(name: str) -> list[str]:
    return [r["data"] for r in load_trace(TRACES / name) if r["dir"] == "out" and not r.get("eof")]


# Each row: transcript record index (of the client's records) -> our constructor call.
CONSTRUCTED = [
    ("01-ami-login-ping.ami.jsonl", 0, lambda: actions.Login("cc", "ccsecret", action_id="login-1")),
    ("01-ami-login-ping.ami.jsonl", 1, lambda: actions.Ping(action_id="ping-2")),
    ("01-ami-login-ping.ami.jsonl", 2, lambda: actions.Ping()),
    ("01-ami-login-ping.ami.jsonl", 4, lambda: actions.Logoff(action_id="logoff-3")),
    ("01-ami-login-ping.prelogin.jsonl", 2,
     lambda: actions.Login("cc", "ccsecret", events=None, action_id="login-3")),
    ("02-ivr-dtmf-dial-hangup.ami.jsonl", 1, lambda: actions.Originate(
        "Local/100@cc-inbound", caller_id='"Trace Caller" <5551234>', context="sim-caller",
        exten="s", priority=1, variables={"DIGITS": "1", "PREDELAY": "3", "HOLDTIME": "6"},
        action_id="orig-ivr-1")),
    ("03c-agi-script-exits.ami.jsonl", 1, lambda: actions.Originate(
        "Local/100@cc-inbound", context="sim-caller", exten="s",
        variables={"DIGITS": "", "PREDELAY": "1", "HOLDTIME": "5"}, action_id="orig-03c")),
    ("04-originate-chanspy.ami.jsonl", 2, lambda: actions.Originate(
        "Local/2001@sim-agent", application="ChanSpy",
        data="Local/100@cc-inbound-00000024;2,qB", caller_id='"Supervisor" <2001>',
        action_id="spy-1-qB")),
    ("04-originate-chanspy.ami.jsonl", 3,
     lambda: actions.Hangup("Local/2001@sim-agent-00000026;1", action_id="hangup-spy-1")),
    ("04-originate-chanspy.ami.jsonl", 8,
     lambda: actions.Hangup("Local/100@cc-inbound-00000024;1", cause=16,
                            action_id="hangup-caller")),
    ("05-ami-actions.ami.jsonl", 2,
     lambda: actions.CoreShowChannels(action_id="coreshowchannels-2")),
    ("05-ami-actions.ami.jsonl", 3, lambda: actions.Status(action_id="status-3")),
    ("05-ami-actions.ami.jsonl", 5, lambda: actions.Status(
        "Local/100@cc-inbound-0000002c;2", variables=["CC_CHOICE", "DIALSTATUS"],
        action_id="status-5")),
    ("05-ami-actions.ami.jsonl", 6, lambda: actions.Getvar(
        "CC_CHOICE", "Local/100@cc-inbound-0000002c;2", action_id="getvar-6")),
    ("05-ami-actions.ami.jsonl", 8, lambda: actions.Setvar(
        "CC_TAG", "vip", "Local/100@cc-inbound-0000002c;2", action_id="setvar-8")),
    ("05-ami-actions.ami.jsonl", 11, lambda: actions.Getvar(
        "NOSUCHGLOBAL", action_id="getvar-11")),
    ("05-ami-actions.ami.jsonl", 13, lambda: actions.MixMonitor(
        "Local/100@cc-inbound-0000002c;2", "/var/spool/asterisk/monitor/trace-ami-rec.wav",
        options="b", action_id="mixmonitor-13")),
    ("05-ami-actions.ami.jsonl", 14, lambda: actions.MixMonitorMute(
        "Local/100@cc-inbound-0000002c;2", True, action_id="mixmonitormute-14")),
    ("05-ami-actions.ami.jsonl", 15, lambda: actions.MixMonitorMute(
        "Local/100@cc-inbound-0000002c;2", False, action_id="mixmonitormute-15")),
    ("05-ami-actions.ami.jsonl", 16, lambda: actions.StopMixMonitor(
        "Local/100@cc-inbound-0000002c;2", action_id="stopmixmonitor-16")),
    ("05-ami-actions.ami.jsonl", 18, lambda: actions.PlayDTMF(
        "Local/100@cc-inbound-0000002c;1", "5", 200, action_id="playdtmf-18")),
    ("05-ami-actions.ami.jsonl", 19, lambda: actions.BridgeList(action_id="bridgelist-19")),
    ("05-ami-actions.ami.jsonl", 20, lambda: actions.BridgeInfo(
        "fa9a83f8-16fa-478f-840d-d060294b8fbe", action_id="bridgeinfo-20")),
    ("05-ami-actions.ami.jsonl", 21,
     lambda: actions.DeviceStateList(action_id="devicestatelist-21")),
    ("05-ami-actions.ami.jsonl", 22, lambda: actions.QueueStatus(action_id="queuestatus-22")),
    ("05-ami-actions.ami.jsonl", 23, lambda: actions.QueueSummary(action_id="queuesummary-23")),
    ("05-ami-actions.ami.jsonl", 24,
     lambda: actions.Command("core show version", action_id="command-24")),
    ("05-ami-actions.ami.jsonl", 27, lambda: actions.CoreStatus(action_id="corestatus-27")),
    ("05-ami-actions.ami.jsonl", 35, lambda: actions.Originate(
        "Local/9999@nosuchcontext", application="Wait", data="1", action_id="orig-fail-async")),
    ("05-ami-actions.ami.jsonl", 36, lambda: actions.Originate(
        "Local/9999@nosuchcontext", application="Wait", data="1", async_=False,
        action_id="orig-fail-sync")),
    ("05-ami-actions.ami.jsonl", 37, lambda: actions.Redirect(
        "Local/100@cc-inbound-0000002c;2", "sim-agent", "1001", 1, action_id="redirect-34")),
    ("05-ami-actions.ami.jsonl", 38, lambda: actions.Hangup(
        "Local/100@cc-inbound-0000002c;2", cause=21, action_id="hangup-35")),
    ("06-load-sample.ami.jsonl", 4, lambda: actions.Originate(
        "Local/103@cc-inbound", context="sim-caller", exten="s",
        variables={"DIGITS": "2", "HOLDTIME": "4"}, action_id="load-04")),
]


@pytest.mark.parametrize("name,index,build", CONSTRUCTED,
                         ids=[f"{name}-{index}" for name, index, _build in CONSTRUCTED])
def test_action_constructors_reproduce_transcripts(name, index, build):
    assert serialize(build()) == _out_records(name)[index].encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_split_gives_the_same_messages(data):
    path = data.draw(st.sampled_from(AMI_TRACES[:6]))
    stream = stream_of(path, "in")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=40)))
    parser = AmiParser()
    got = []
    prev = 0
    for cut in cuts + [len(stream)]:
        parser.receive_data(stream[prev:cut])
        got.extend(m.headers for m in drain(parser))
        prev = cut
    assert got == expected_of(path, "in")


def test_byte_by_byte_with_multibyte_utf8():
    text = "Event: NewCallerid\r\nCallerIDName: Zoë Ünal 日本\r\nUniqueid: 1.2\r\n\r\n"
    parser = AmiParser(expect_banner=False)
    raw = text.encode()
    for i in range(len(raw)):
        parser.receive_data(raw[i : i + 1])
    (msg,) = drain(parser)
    assert msg.get("calleridname") == "Zoë Ünal 日本"


def test_bare_lf_is_tolerated_and_cr_split_across_reads():
    parser = AmiParser()
    parser.receive_data(b"Asterisk Call Manager/11.0.0\r")
    assert parser.banner is None
    parser.receive_data(b"\nResponse: Success\nActionID: a\n\nEvent: X\r")
    parser.receive_data(b"\n\r")
    parser.receive_data(b"\n")
    msgs = drain(parser)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert [m.headers for m in msgs] == [
        (("Response", "Success"), ("ActionID", "a")),
        (("Event", "X"),),
    ]


def test_cr_inside_a_value_is_kept():
    # 03: AGIExecStart carries "Command: NOOP\r" because the AGI line ended in CRLF.
    parser = AmiParser(expect_banner=False)
    parser.receive_data(b"Event: AGIExecStart\r\nCommand: NOOP\r")
    parser.receive_data(b"\r\n\r\n")
    (msg,) = drain(parser)
    assert msg.get("Command") == "NOOP\r"


def test_lookup_is_case_insensitive_and_keeps_duplicates():
    msg = AmiMessage((("Response", "Success"), ("ActionID", "x"), ("Output", "a"),
                      ("Output", "b"), ("Message", "m")))
    assert msg.get("actionid") == "x" and msg.action_id == "x"
    assert msg.response == "Success" and msg.event is None
    assert msg.getall("OUTPUT") == ["a", "b"]
    assert msg.get("Output") == "a"
    assert msg.get("missing", "d") == "d"
    assert "message" in msg and "nope" not in msg
    assert msg == AmiMessage(msg.headers)


def test_oversize_incomplete_message_is_refused():
    parser = AmiParser(expect_banner=False)
    parser.receive_data(b"Event: Big\r\n")
    with pytest.raises(AmiProtocolError):
        for _ in range(100):
            parser.receive_data(b"X: " + b"y" * 1000 + b"\r\n")
    with pytest.raises(AmiProtocolError):
        parser.receive_data(b"\r\n")  # a failed parser stays failed


def test_header_line_without_colon_is_kept_not_fatal():
    parser = AmiParser(expect_banner=False)
    parser.receive_data(b"Response: Follows\r\nno colon here\r\n--END COMMAND--\r\n\r\n")
    (msg,) = drain(parser)
    assert msg.headers == (("Response", "Follows"), ("", "no colon here"), ("", "--END COMMAND--"))


_KEYS = st.sampled_from(["Event", "Uniqueid", "uniqueid", "Channel", "Dest", "DestChannel",
                         "Variable", "Value", "ActionID", "X-Y"])
_VALUES = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                  max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_KEYS, _VALUES), min_size=1, max_size=8), _KEYS)
def test_lazy_lookup_agrees_with_parsed_headers(pairs, name):
    parser = AmiParser(expect_banner=False)
    parser.receive_data(serialize(pairs))
    (wire,) = drain(parser)
    built = AmiMessage(pairs)
    assert wire.headers == built.headers == tuple(pairs)
    first = next((v for k, v in pairs if k.lower() == name.lower()), None)
    assert built.get(name) == first
    # The text fast path matches the exact-case key first; Asterisk never sends one key
    # in two cases, so the first exact match is the answer whenever one exists.
    exact = next((v for k, v in pairs if k == name), None)
    assert wire.get(name) == (exact if exact is not None else first)
    assert wire.getall(name) == built.getall(name)
    assert wire == built and hash(wire) == hash(built)
    event = next((v for k, v in pairs if k == "Event"), None) if pairs[0][0] == "Event" else None
    if event is not None:
        assert wire.event == event


def test_messages_are_immutable():
    msg = AmiMessage.of(("Event", "Hangup"), Uniqueid="1.2")
    with pytest.raises(AttributeError):
        msg._raw = "x"  # type: ignore[misc]
    assert msg.get("uniqueid") == "1.2" and msg.event == "Hangup"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=10), st.booleans())
def test_arbitrary_bytes_raise_only_protocol_errors(chunks, banner):
    parser = AmiParser(expect_banner=banner, max_message_size=2048)
    try:
        for chunk in chunks:
            parser.receive_data(chunk)
            drain(parser)
    except AmiProtocolError:
        pass


@pytest.mark.parametrize(
    "headers",
    [
        [("Action", "Ping\r\nAction: Logoff")],
        [("Action", "Originate"), ("CallerID", "x\n")],
        [("Action", "Originate"), ("CallerID", "x\x00y")],
        [("Act\rion", "Ping")],
        [("Action:", "Ping")],
        [("", "Ping")],
        [("Two words", "Ping")],
        [("Action", "Ping"), ("X", "\ud800")],
    ],
)
def test_serialize_refuses_framing_breakers(headers):
    with pytest.raises(UnsafeValueError):
        serialize(headers)


def test_constructors_refuse_unsafe_values():
    with pytest.raises(UnsafeValueError):
        actions.Originate("PJSIP/1001", context="agents", exten="1001",
                          caller_id='"Eve\r\nAction: Hangup" <1>')
    with pytest.raises(UnsafeValueError):
        actions.Originate("PJSIP/1001", context="agents", exten="1001",
                          variables={"CC_NOTE": "a,Application=System"})
    with pytest.raises(UnsafeValueError):
        actions.Setvar("CC_X", "v\n", "PJSIP/1")
    with pytest.raises(ValueError):
        actions.Originate("PJSIP/1001", context="agents", exten="1", application="System")
    with pytest.raises(ValueError):
        actions.Originate("PJSIP/1001", data="rm -rf /")
    with pytest.raises(ValueError):
        actions.PlayDTMF("PJSIP/1", "55")


def test_serialize_roundtrip_unicode():
    headers = [("Action", "Setvar"), ("Variable", "CC_NAME"), ("Value", "Zoë 日本")]
    parser = AmiParser(expect_banner=False)
    parser.receive_data(serialize(headers))
    (msg,) = drain(parser)
    assert list(msg.headers) == headers
