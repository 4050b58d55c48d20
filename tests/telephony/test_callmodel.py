"""Call model built from the real Asterisk 22 event streams; resync/reconcile exactly-once rules."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.domain.clock import Clock
from contactcenter.telephony import events as ev
from contactcenter.telephony.ami.protocol import AmiMessage, AmiParser
from contactcenter.telephony.callmodel import CallModel
from contactcenter.telephony.callmodel_state import Snapshot, SnapshotChannel

TRACES = Path("/work/shared/asterisk-traces")


def inbound(name: str) -> list[AmiMessage]:
    """Every message Asterisk sent in one transcript, parsed."""
    parser = AmiParser()
    for line in (TRACES / f"{name}.ami.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["dir"] == "in" and not rec.get("eof"):
            parser.receive_data(rec["data"].encode())
    return parser.messages()


def events_of(name: str) -> list[AmiMessage]:
    """Only the unsolicited events (what the client hands to the model)."""
    return [m for m in inbound(name) if m.event and not m.action_id or
            (m.event == "OriginateResponse")]


def feed(name: str) -> tuple[CallModel, list]:
    seen: list = []
    model = CallModel("pbx1", [seen.append], Clock())
    model.apply_all(events_of(name))
    return model, seen


def kinds(seen: list) -> collections.Counter:
    return collections.Counter(type(e).__name__ for e in seen)


def snapshot_of(model: CallModel) -> Snapshot:
    """What CoreShowChannels would list for the PBX whose truth is ``model``."""
    return Snapshot(tuple(
        SnapshotChannel(c.uniqueid, c.linkedid, c.name, c.state, c.state_desc, c.caller_id_num,
                        c.caller_id_name, c.connected_num, c.connected_name, c.context, c.exten,
                        c.priority, c.application, c.bridge_id)
        for c in model.channels.values()
    ))


def test_06_load_sample_ten_calls_forty_channels_all_ended():
    model, seen = feed("06-load-sample")
    k = kinds(seen)
    assert k["CallStarted"] == 10 and k["CallEnded"] == 10
    assert k["ChannelCreated"] == 40 and k["ChannelHungUp"] == 40
    assert k["BridgeJoined"] == k["BridgeLeft"] == 20
    assert k["DtmfReceived"] == 10 and k["OriginateResult"] == 10
    assert model.channels == {} and model.calls == {} and model.bridges == {}
    ended = [e for e in seen if isinstance(e, ev.CallEnded)]
    assert all(e.channel_count == 4 for e in ended)
    assert len({e.linkedid for e in ended}) == 10
    hung = [e.uniqueid for e in seen if isinstance(e, ev.ChannelHungUp)]
    assert len(hung) == len(set(hung)) == 40


def test_06_mid_call_state_has_bridged_pairs():
    msgs = events_of("06-load-sample")
    model = CallModel("pbx1", [], Clock())
    # Stop right after the 20th BridgeEnter: every call is bridged to its agent.
    enters = 0
    for msg in msgs:
        model.apply(msg)
        if msg.event == "BridgeEnter":
            enters += 1
            if enters == 20:
                break
    assert len(model.calls) == 10 and len(model.channels) == 40
    for call in model.calls.values():
        chans = model.call_channels(call.linkedid)
        assert len(chans) == 4
        bridged = [c for c in chans if c.bridge_id]
        assert len(bridged) == 2
        assert model.bridge_peers(bridged[0].uniqueid) == [bridged[1]]
        assert all(c.local_peer for c in chans)


def test_02_ivr_call_dtmf_dial_recording_hangup():
    _, seen = feed("02-ivr-dtmf-dial-hangup")
    k = kinds(seen)
    assert k["CallStarted"] == 1 and k["CallEnded"] == 1 and k["ChannelHungUp"] == 4
    (started,) = [e for e in seen if isinstance(e, ev.CallStarted)]
    dtmf = [e for e in seen if isinstance(e, ev.DtmfReceived)]
    assert [d.digit for d in dtmf] == ["1"] and dtmf[0].name.endswith(";2")
    dials = [e for e in seen if isinstance(e, ev.DialStarted)]
    assert any(d.dial_string == "1001@sim-agent" and d.caller_name.endswith(";2") for d in dials)
    assert [e.dial_status for e in seen if isinstance(e, ev.DialEnded)] == ["ANSWER", "ANSWER"]
    (rec_start,) = [e for e in seen if isinstance(e, ev.RecordingStarted)]
    (rec_stop,) = [e for e in seen if isinstance(e, ev.RecordingStopped)]
    assert rec_stop.by_hangup and rec_start.uniqueid == rec_stop.uniqueid
    assert rec_start.filename and rec_start.filename.endswith(".wav")
    (ended,) = [e for e in seen if isinstance(e, ev.CallEnded)]
    assert ended.linkedid == started.linkedid and ended.timestamp > started.timestamp
    # The caller's caller id arrived by NewCallerid after the Newchannel.
    assert any(isinstance(e, ev.ChannelCallerIdChanged) and e.caller_id_num == "5551234"
               for e in seen)


def test_04_chanspy_events():
    model, seen = feed("04-originate-chanspy")
    starts = [e for e in seen if isinstance(e, ev.SpyStarted)]
    stops = [e for e in seen if isinstance(e, ev.SpyStopped)]
    assert len(starts) == len(stops) == 3
    assert {s.spyee_name for s in starts} == {"Local/100@cc-inbound-00000024;2"}
    assert model.channels == {}


def test_05_snapshot_matches_the_live_model():
    msgs = inbound("05-ami-actions")
    model = CallModel("pbx1", [], Clock())
    items = []
    bridges = []
    for msg in msgs:
        aid = msg.action_id or ""
        if msg.event == "CoreShowChannel":
            items.append(msg)
        elif msg.event == "BridgeListItem":
            bridges.append(msg)
        elif msg.event and (not aid or msg.event == "OriginateResponse"):
            model.apply(msg)
        if msg.event == "CoreShowChannelsComplete":
            break
    seen: list = []
    model.subscribe(seen.append)
    result = model.reconcile(Snapshot.from_messages(items))
    assert (result.channels, result.added, result.ended) == (4, 0, 0)
    assert [e for e in seen if not isinstance(e, ev.ModelResynced)] == []


def test_05_fresh_model_rebuilt_from_snapshot_then_events_end_it_once():
    msgs = inbound("05-ami-actions")
    items = [m for m in msgs if m.event == "CoreShowChannel"]
    bridges = [m for m in msgs if m.event == "BridgeListItem"]
    seen: list = []
    model = CallModel("pbx1", [seen.append], Clock())
    result = model.reconcile(Snapshot.from_messages(items, bridges))
    assert (result.added, result.ended) == (4, 0)
    assert len(model.calls) == 1
    (call,) = model.calls.values()
    assert call.linkedid == "1795457504.88" and call.first_channel == "1795457504.88"
    (bridge,) = model.bridges.values()
    assert len(bridge.channels) == 2 and bridge.bridge_type == "basic"
    # Now the rest of the stream (after the snapshot) plays out: everything ends exactly once.
    after = False
    for msg in msgs:
        if msg.event == "CoreShowChannelsComplete":
            after = True
            continue
        if after and msg.event and (not msg.action_id or msg.event == "OriginateResponse"):
            model.apply(msg)
    hung = collections.Counter(e.uniqueid for e in seen if isinstance(e, ev.ChannelHungUp))
    assert set(hung) >= {c.uniqueid for c in Snapshot.from_messages(items).channels}
    assert max(hung.values()) == 1
    assert [e.linkedid for e in seen if isinstance(e, ev.CallEnded)].count("1795457504.88") == 1
    assert model.channels == {}


def test_reconcile_ends_missing_and_ignores_late_hangups():
    model, _ = feed_until("06-load-sample", "BridgeEnter", 20)
    seen: list = []
    model.subscribe(seen.append)
    keep = [c for c in model.channels.values() if c.linkedid == min(model.calls)]
    model.reconcile(Snapshot(tuple(snapshot_of_channels(keep))))
    assert len(model.calls) == 1 and len(model.channels) == 4
    k = kinds(seen)
    assert k["ChannelHungUp"] == 36 and k["CallEnded"] == 9
    assert all(e.resync for e in seen if isinstance(e, (ev.ChannelHungUp, ev.CallEnded)))
    seen.clear()
    model.reconcile(Snapshot(tuple(snapshot_of_channels(keep))))  # idempotent
    assert kinds(seen) == collections.Counter({"ModelResynced": 1})
    # The real Hangups arrive late: nothing is ended twice.
    seen.clear()
    rest = events_of("06-load-sample")
    model.apply_all(m for m in rest if m.event == "Hangup")
    assert kinds(seen)["ChannelHungUp"] == 4 and kinds(seen)["CallEnded"] == 1


def test_changes_during_the_resync_window_beat_the_snapshot():
    msgs = events_of("06-load-sample")
    model = CallModel("pbx1", [], Clock())
    truth = CallModel("truth", [], Clock())
    first_new = next(i for i, m in enumerate(msgs) if m.event == "Newchannel")
    truth.apply_all(msgs[: first_new + 1])
    snap = snapshot_of(truth)  # lists the first channel
    model.begin_resync()
    # While the snapshot is in flight: that channel hangs up; another one is created.
    first_uid = msgs[first_new].get("Uniqueid")
    model.apply(msgs[first_new])
    model.apply(AmiMessage((("Event", "Hangup"), ("Uniqueid", first_uid), ("Cause", "16"))))
    second = next(m for m in msgs[first_new + 1:] if m.event == "Newchannel")
    model.apply(second)
    result = model.reconcile(snap)
    assert first_uid not in model.channels  # not resurrected
    assert second.get("Uniqueid") in model.channels  # not ended for missing from the snapshot
    assert (result.added, result.ended) == (0, 0)


def feed_until(name: str, event: str, count: int) -> tuple[CallModel, list]:
    seen: list = []
    model = CallModel("pbx1", [seen.append], Clock())
    n = 0
    for msg in events_of(name):
        model.apply(msg)
        if msg.event == event:
            n += 1
            if n == count:
                break
    return model, seen


def snapshot_of_channels(chans):
    return [
        SnapshotChannel(c.uniqueid, c.linkedid, c.name, c.state, c.state_desc, c.caller_id_num,
                        c.caller_id_name, c.connected_num, c.connected_name, c.context, c.exten,
                        c.priority, c.application, c.bridge_id)
        for c in chans
    ]


EVENTS_06 = events_of("06-load-sample")


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_outage_anywhere_no_lost_or_ghost_calls(data):
    """Link lost at event i, back at event j: after resync + the rest, all ends exactly once."""
    n = len(EVENTS_06)
    i = data.draw(st.integers(0, n))
    j = data.draw(st.integers(i, n))
    seen: list = []
    model = CallModel("pbx1", [seen.append], Clock())
    truth = CallModel("truth", [], Clock())
    model.apply_all(EVENTS_06[:i])
    truth.apply_all(EVENTS_06[:j])
    model.reconcile(snapshot_of(truth))  # events i..j were lost while down
    assert set(model.channels) == set(truth.channels)
    assert set(model.calls) == set(truth.calls)
    model.apply_all(EVENTS_06[j:])
    created = collections.Counter(e.uniqueid for e in seen if isinstance(e, ev.ChannelCreated))
    hung = collections.Counter(e.uniqueid for e in seen if isinstance(e, ev.ChannelHungUp))
    assert created == hung and (not created or max(created.values()) == 1)
    started = collections.Counter(e.linkedid for e in seen if isinstance(e, ev.CallStarted))
    ended = collections.Counter(e.linkedid for e in seen if isinstance(e, ev.CallEnded))
    assert started == ended and (not started or max(started.values()) == 1)
    assert model.channels == {} and model.calls == {}


def test_a_failing_subscriber_does_not_stop_the_model():
    good: list = []

    def bad(event):
        raise RuntimeError("consumer bug")

    model = CallModel("pbx1", [bad, good.append], Clock())
    model.apply_all(events_of("03c-agi-script-exits"))
    assert kinds(good)["CallEnded"] == 1 and model.channels == {}
