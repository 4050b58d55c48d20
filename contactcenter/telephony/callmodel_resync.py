"""Resync: apply a CoreShowChannels/BridgeList snapshot to a CallModel, exactly once per change.

Design note
-----------
After every (re)connect the PBX is asked what is live, and the model is made to match:
channels missing from the snapshot are ended (ChannelHungUp/CallEnded with ``resync=True``),
unknown ones are added (oldest Uniqueid first, so a call's first channel starts it), known ones
get their state, name, Linkedid and bridge corrected. Changes the model saw *during* the
snapshot window (``CallModel.begin_resync`` .. now) win over the snapshot, because AMI
responses and events are not causally ordered. This module is the call model's other half:
it uses the model's internal add/end/publish methods on purpose, so that the exactly-once
bookkeeping lives in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contactcenter.telephony import events as ev
from contactcenter.telephony.callmodel_state import Bridge, Channel, Snapshot, SnapshotChannel

if TYPE_CHECKING:
    from contactcenter.telephony.callmodel import CallModel

__all__ = ["reconcile"]


def reconcile(model: CallModel, snapshot: Snapshot) -> ev.ModelResynced:
    """Make the model match ``snapshot``: end what is gone, add what is new, exactly once."""
    created = model._created_in_window or set()
    ended = model._ended_in_window or set()
    bridged = model._bridged_in_window or set()
    model.abort_resync()
    ts = model.clock.time()
    listed = {c.uniqueid: c for c in snapshot.channels}
    n_ended = n_added = 0
    gone = [u for u in model.channels if u not in listed and u not in created]
    if snapshot.bridges is not None:
        for b in snapshot.bridges:
            bridge = model.bridges.setdefault(b.bridge_id, Bridge(b.bridge_id))
            bridge.bridge_type, bridge.technology = b.bridge_type, b.technology
    # Oldest first, so a call's first channel is the one that started it.
    for item in sorted(snapshot.channels, key=lambda c: _uid_order(c.uniqueid)):
        if item.uniqueid in ended:
            continue
        chan = model.channels.get(item.uniqueid)
        if chan is None:
            model._add_channel(item.to_channel(ts), ts, True)
            n_added += 1
            chan = model.channels[item.uniqueid]
            if item.bridge_id:
                _join_from_snapshot(model, chan, item.bridge_id, ts)
            continue
        _update_from_snapshot(model, chan, item, ts, item.uniqueid not in bridged)
    # Ends come after the additions: a call whose first channel hung up during the outage but
    # whose other legs are still up must go on, not end and start again.
    for uid in gone:
        chan = model.channels.get(uid)
        if chan is not None:
            model._end_channel(chan, 0, "Gone while AMI was disconnected", ts, True)
            n_ended += 1
    if snapshot.bridges is not None:
        listed_bridges = {b.bridge_id for b in snapshot.bridges}
        for bid in [b for b, br in model.bridges.items()
                    if b not in listed_bridges and not br.channels]:
            del model.bridges[bid]
    done = ev.ModelResynced(model.pbx, len(listed), n_added, n_ended, ts)
    model.publish(done)
    return done

def _join_from_snapshot(model: CallModel, chan: Channel, bridge_id: str, ts: float) -> None:
    bridge = model.bridges.setdefault(bridge_id, Bridge(bridge_id))
    chan.bridge_id = bridge_id
    bridge.channels.add(chan.uniqueid)
    model.publish(ev.BridgeJoined(model.pbx, bridge_id, chan.uniqueid, chan.name,
                                 chan.linkedid, ts, resync=True))

def _update_from_snapshot(
    model: CallModel, chan: Channel, item: SnapshotChannel, ts: float, fix_bridge: bool
) -> None:
    if item.linkedid and item.linkedid != chan.linkedid:
        model._relink(chan, item.linkedid, ts)
    if item.name and item.name != chan.name:
        old = chan.name
        if model.by_name.get(old) == chan.uniqueid:
            del model.by_name[old]
        chan.name = item.name
        model.by_name[item.name] = chan.uniqueid
        model.publish(ev.ChannelRenamed(model.pbx, chan.uniqueid, old, item.name, ts))
    if item.state != chan.state:
        chan.state, chan.state_desc = item.state, item.state_desc
        model.publish(ev.ChannelStateChanged(model.pbx, chan.uniqueid, chan.name, item.state,
                                            item.state_desc, ts))
    if fix_bridge and item.bridge_id != chan.bridge_id:
        if chan.bridge_id is not None:
            model._leave_bridge(chan, ts, True)
        if item.bridge_id:
            _join_from_snapshot(model, chan, item.bridge_id, ts)


def _uid_order(uniqueid: str) -> tuple[float, str]:
    # Asterisk uniqueids are "<epoch>.<sequence>"; the sequence orders creation.
    head, _, seq = uniqueid.rpartition(".")
    try:
        return (float(head or 0), f"{int(seq):012d}" if seq.isdigit() else seq)
    except ValueError:
        return (0.0, uniqueid)
