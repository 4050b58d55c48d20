"""SpyLeg driven by the real Asterisk 22 transcripts 04 (audio) and 04b (silent spyee)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contactcenter.monitoring.chanspy import SpyMode
from contactcenter.monitoring.spy_leg import LegState, SpyLeg
from contactcenter.telephony.ami.protocol import AmiParser

TRACES = Path(__file__).resolve().parents[3] / "shared" / "asterisk-traces"
if not TRACES.is_dir():
    TRACES = Path("/work/shared/asterisk-traces")


def _events(name: str) -> list[tuple[int, object]]:
    parser = AmiParser(expect_banner=True)
    out = []
    for line in (TRACES / name).read_text().splitlines():
        rec = json.loads(line)
        if rec.get("dir") != "in" or not rec.get("data"):
            continue
        parser.receive_data(rec["data"].encode())
        while (msg := parser.next_message()) is not None:
            out.append((rec["t_ms"], msg))
    return out


def _leg(action_id: str, mode: SpyMode) -> SpyLeg:
    leg = SpyLeg("ccspy-test", "Local/2001@sim-agent", "Local/100@cc-inbound-00000024;2", mode)
    leg.start()
    leg.note_action_id(action_id)
    return leg


def _feed(leg: SpyLeg, events, until_ms: int, from_ms: int = 0) -> list:
    sent = []
    for t, msg in events:
        if from_ms <= t < until_ms:
            sent += leg.on_event(msg)
    return sent


@pytest.mark.parametrize(
    "action_id,mode,start_ms,hangup_ms,spyer",
    [
        ("spy-1-qB", SpyMode.BARGE, 2759, 4863, "Local/2001@sim-agent-00000026;1"),
        ("spy-2-qw", SpyMode.WHISPER, 6402, 8506, "Local/2002@sim-agent-00000027;1"),
    ],
)
def test_audio_call_stop_is_confirmed_by_chanspystop(action_id, mode, start_ms, hangup_ms, spyer):
    events = _events("04-originate-chanspy.ami.jsonl")
    leg = _leg(action_id, mode)
    _feed(leg, events, hangup_ms, start_ms)
    assert leg.state is LegState.SPYING
    assert leg.spyer == spyer
    hangups = leg.stop()
    names = [dict(h)["Channel"] for h in hangups]
    assert names == [spyer, spyer[:-2] + ";2"]  # both halves of the spy's Local pair
    _feed(leg, events, hangup_ms + 1500, hangup_ms)
    assert leg.state is LegState.ENDED and leg.confirmed and leg.end_reason == "stopped"


def test_other_legs_events_do_not_touch_ours():
    events = _events("04-originate-chanspy.ami.jsonl")
    leg = _leg("spy-2-qw", SpyMode.WHISPER)
    _feed(leg, events, 6402)  # everything of spy 1, start to finish
    assert leg.state is LegState.ORIGINATING and leg.spyer is None


def test_silent_spyee_stop_ends_at_deadline_with_second_round():
    events = _events("04b-chanspy-silent-spyee.ami.jsonl")
    leg = SpyLeg("ccspy-test", "Local/2001@sim-agent", "Local/100@cc-inbound-00000029;2", SpyMode.BARGE)
    leg.start()
    orig = next(m for t, m in events if m.event == "OriginateResponse" and m.get("Application") == "ChanSpy")
    leg.note_action_id(orig.get("ActionID"))
    _feed(leg, events, 4867)
    assert leg.state is LegState.SPYING
    leg.stop()
    _feed(leg, events, 11373, 4867)  # ChanSpy ignores the hangup: nothing arrives
    assert leg.state is LegState.STOPPING
    second = leg.deadline()
    names = {dict(h)["Channel"] for h in second}
    assert {"Local/2001@sim-agent-0000002b;1", "Local/2001@sim-agent-0000002b;2", leg.channel_id} <= names
    assert leg.state is LegState.ENDED and not leg.confirmed
    assert _feed(leg, events, 10**9, 11373) == []  # the late ChanSpyStop is harmless


def test_stop_before_originate_response_uses_channel_ids_then_names():
    leg = SpyLeg("ccspy-x", "Local/2001@agents", "PJSIP/1001-0000000a", SpyMode.LISTEN)
    start = dict(leg.start()[0])
    assert start["Data"] == "PJSIP/1001-0000000a,qEu"
    assert start["ChannelId"] == "ccspy-x-1" and start["OtherChannelId"] == "ccspy-x-2"
    first = [dict(h)["Channel"] for h in leg.stop()]
    assert first == ["ccspy-x-1", "ccspy-x-2"]
    from contactcenter.telephony.ami.protocol import AmiMessage

    late = leg.on_event(AmiMessage.of(
        ("Event", "OriginateResponse"), ("ActionID", "ccspy-x-orig"), ("Response", "Success"),
        ("Channel", "Local/2001@agents-00000001;1"), ("Uniqueid", "ccspy-x-1"),
    ))
    assert [dict(h)["Channel"] for h in late] == [
        "Local/2001@agents-00000001;1", "Local/2001@agents-00000001;2"
    ]
    leg.on_event(AmiMessage.of(("Event", "Hangup"), ("Channel", "Local/2001@agents-00000001;1"),
                               ("Uniqueid", "ccspy-x-1")))
    assert leg.state is LegState.ENDED and leg.confirmed
