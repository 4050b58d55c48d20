"""Live model of one PBX's channels, calls and bridges, built from AMI events.

Design note
-----------
* Keys: a channel is its ``Uniqueid`` (names change on Rename; Local pairs share a prefix);
  a call is a ``Linkedid`` (every channel of one call carries the Linkedid of its first one);
  a bridge is its ``BridgeUniqueid``. A call ends when its last live channel hangs up.
* Only ``Newchannel`` (or a resync) creates a channel. Any other event naming an unknown
  Uniqueid is ignored: Asterisk emits VarSet/Newexten after a Hangup, and creating channels
  from them would make ghosts.
* Exactly once: ChannelHungUp and CallEnded are published when the record is removed, and a
  record is removed once, whether by its Hangup event or by a resync that finds it gone.
* Resync (after every (re)connect): ``begin_resync()`` is called when CoreShowChannels is
  sent, ``reconcile(snapshot)`` when its list is complete. AMI responses and events are not
  causally ordered, so changes seen between the two are trusted over the snapshot: a channel
  created in that window is not ended for missing from it, and a channel hung up in that
  window is not resurrected for being in it.
* Subscribers are plain callables passed in; one that raises is logged and skipped, it does
  not stop the model or the other subscribers.
* Cheap by construction: events the model does not use (DeviceStateChange, AGIExec*, ...)
  are dropped after one dict lookup, and VarSet keeps only a few variables. Our AMI user does
  not read the ``dialplan`` class at all, so VarSet and Newexten only reach a model fed by a
  user that does (a lab login with ``read = all``); nothing may depend on them.
"""

from __future__ import annotations

from collections.abc import Callable

from contactcenter.telephony import events as ev
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.telephony.callmodel_core import (
    DEFAULT_KEPT_PREFIXES,
    DEFAULT_KEPT_VARS,
    CallModelCore,
    event_time,
    header_value,
    to_int,
)
from contactcenter.telephony.callmodel_resync import reconcile
from contactcenter.telephony.callmodel_state import (
    Bridge,
    Channel,
    Snapshot,
    SnapshotChannel,
    known,
)

__all__ = ["DEFAULT_KEPT_PREFIXES", "DEFAULT_KEPT_VARS", "CallModel"]


class CallModel(CallModelCore):
    """Channels, calls and bridges of one PBX; feed it AMI events, read it, subscribe to it."""

    def _event_handlers(self) -> dict[str, Callable[[AmiMessage], None]]:
        """The AMI events the model follows, each with its handler."""
        return {
            "Newchannel": self._on_newchannel,
            "Newstate": self._on_newstate,
            "NewCallerid": self._on_callerid,
            "NewConnectedLine": self._on_callerid,
            "Newexten": self._on_newexten,
            "Hangup": self._on_hangup,
            "DialBegin": self._on_dialbegin,
            "DialEnd": self._on_dialend,
            "BridgeCreate": self._on_bridgecreate,
            "BridgeEnter": self._on_bridgeenter,
            "BridgeLeave": self._on_bridgeleave,
            "BridgeDestroy": self._on_bridgedestroy,
            "VarSet": self._on_varset,
            "DTMFEnd": self._on_dtmfend,
            "LocalBridge": self._on_localbridge,
            "Rename": self._on_rename,
            "MixMonitorStart": self._on_mixmonitorstart,
            "MixMonitorStop": self._on_mixmonitorstop,
            "ChanSpyStart": self._on_chanspystart,
            "ChanSpyStop": self._on_chanspystop,
            "OriginateResponse": self._on_originateresponse,
        }

    # ------------------------------------------------------------------ event handlers

    def _on_newchannel(self, msg: AmiMessage) -> None:
        uid = msg.get("Uniqueid")
        if not uid or uid in self.channels:
            return  # already known (e.g. found by a resync before its Newchannel arrived)
        if self._ended_in_window is not None and uid in self._ended_in_window:
            return
        ts = event_time(msg, self.clock)
        chan = SnapshotChannel.from_message(msg).to_channel(ts)
        self._add_channel(chan, ts, False)

    def _on_newstate(self, msg: AmiMessage) -> None:
        chan = self._channel_of(msg)
        if chan is None:
            return
        state = to_int(msg.get("ChannelState"))
        if state == chan.state:
            return
        chan.state = state
        chan.state_desc = msg.get("ChannelStateDesc") or ""
        self.publish(
            ev.ChannelStateChanged(
                self.pbx,
                chan.uniqueid,
                chan.name,
                state,
                chan.state_desc,
                event_time(msg, self.clock),
            )
        )

    def _on_callerid(self, msg: AmiMessage) -> None:
        chan = self._channel_of(msg)
        if chan is None:
            return
        new = (
            known(msg.get("CallerIDNum")),
            known(msg.get("CallerIDName")),
            known(msg.get("ConnectedLineNum")),
            known(msg.get("ConnectedLineName")),
        )
        old = (chan.caller_id_num, chan.caller_id_name, chan.connected_num, chan.connected_name)
        if new == old:
            return
        chan.caller_id_num, chan.caller_id_name, chan.connected_num, chan.connected_name = new
        call = self.calls.get(chan.linkedid)
        if call is not None and call.first_channel == chan.uniqueid:
            call.caller_id_num, call.caller_id_name = new[0], new[1]
        self.publish(
            ev.ChannelCallerIdChanged(
                self.pbx, chan.uniqueid, chan.name, *new, timestamp=event_time(msg, self.clock)
            )
        )

    def _on_newexten(self, msg: AmiMessage) -> None:
        # A sixth of all events: read the wire text directly instead of four get() calls.
        raw = msg.raw
        if not raw:
            chan = self.channels.get(msg.get("Uniqueid") or "")
            if chan is not None:
                chan.context = msg.get("Context") or chan.context
                chan.exten = msg.get("Exten") or chan.exten
                chan.application = msg.get("Application") or chan.application
            return
        chan = self.channels.get(header_value(raw, "\nUniqueid: ") or "")
        if chan is not None:
            chan.context = header_value(raw, "\nContext: ") or chan.context
            chan.exten = header_value(raw, "\nExten: ") or chan.exten
            chan.application = header_value(raw, "\nApplication: ") or chan.application

    def _on_hangup(self, msg: AmiMessage) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None:
            return
        self._end_channel(
            chan,
            to_int(msg.get("Cause")),
            msg.get("Cause-txt") or "",
            event_time(msg, self.clock),
            False,
        )

    def _on_dialbegin(self, msg: AmiMessage) -> None:
        dest = self._channel_of(msg, "Dest")
        if dest is None:
            return
        caller = self.channels.get(msg.get("Uniqueid") or "")
        self.publish(
            ev.DialStarted(
                self.pbx,
                caller.uniqueid if caller else None,
                caller.name if caller else None,
                dest.uniqueid,
                dest.name,
                msg.get("DialString") or "",
                dest.linkedid,
                event_time(msg, self.clock),
            )
        )

    def _on_dialend(self, msg: AmiMessage) -> None:
        dest = self._channel_of(msg, "Dest")
        if dest is None:
            return
        status = msg.get("DialStatus") or ""
        dest.dial_status = status
        caller = self.channels.get(msg.get("Uniqueid") or "")
        self.publish(
            ev.DialEnded(
                self.pbx,
                caller.uniqueid if caller else None,
                dest.uniqueid,
                dest.name,
                status,
                dest.linkedid,
                event_time(msg, self.clock),
            )
        )

    def _bridge(self, msg: AmiMessage) -> Bridge:
        bid = msg.get("BridgeUniqueid") or ""
        bridge = self.bridges.get(bid)
        if bridge is None:
            bridge = Bridge(bid, msg.get("BridgeType") or "", msg.get("BridgeTechnology") or "")
            self.bridges[bid] = bridge
        return bridge

    def _on_bridgecreate(self, msg: AmiMessage) -> None:
        self._bridge(msg)

    def _on_bridgeenter(self, msg: AmiMessage) -> None:
        chan = self._channel_of(msg)
        if chan is None:
            return
        bridge = self._bridge(msg)
        ts = event_time(msg, self.clock)
        if chan.bridge_id is not None and chan.bridge_id != bridge.bridge_id:
            self._leave_bridge(chan, ts, False)
        if self._bridged_in_window is not None:
            self._bridged_in_window.add(chan.uniqueid)
        if chan.bridge_id == bridge.bridge_id:
            return
        chan.bridge_id = bridge.bridge_id
        bridge.channels.add(chan.uniqueid)
        self.publish(
            ev.BridgeJoined(self.pbx, bridge.bridge_id, chan.uniqueid, chan.name, chan.linkedid, ts)
        )

    def _leave_bridge(self, chan: Channel, ts: float, resync: bool) -> None:
        bid = chan.bridge_id
        if bid is None:
            return
        chan.bridge_id = None
        bridge = self.bridges.get(bid)
        if bridge is not None:
            bridge.channels.discard(chan.uniqueid)
        self.publish(
            ev.BridgeLeft(self.pbx, bid, chan.uniqueid, chan.name, chan.linkedid, ts, resync)
        )

    def _on_bridgeleave(self, msg: AmiMessage) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None or chan.bridge_id != msg.get("BridgeUniqueid"):
            return
        if self._bridged_in_window is not None:
            self._bridged_in_window.add(chan.uniqueid)
        self._leave_bridge(chan, event_time(msg, self.clock), False)

    def _on_bridgedestroy(self, msg: AmiMessage) -> None:
        bridge = self.bridges.pop(msg.get("BridgeUniqueid") or "", None)
        if bridge is None:
            return
        ts = event_time(msg, self.clock)
        for uid in list(bridge.channels):
            chan = self.channels.get(uid)
            if chan is not None and chan.bridge_id == bridge.bridge_id:
                self._leave_bridge(chan, ts, False)

    def _on_varset(self, msg: AmiMessage) -> None:
        # A third of all events, nearly all dropped here: find the name without get().
        raw = msg.raw
        i = raw.find("\nVariable: ") if raw else -1
        if i >= 0:
            name = raw[i + 11 : raw.find("\n", i + 11)]
        else:
            name = msg.get("Variable") or ""
        if name not in self.kept_vars and not name.startswith(self.kept_prefixes):
            return
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is not None:
            chan.vars[name] = msg.get("Value") or ""

    def _on_dtmfend(self, msg: AmiMessage) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None:
            return
        self.publish(
            ev.DtmfReceived(
                self.pbx,
                chan.uniqueid,
                chan.name,
                msg.get("Digit") or "",
                to_int(msg.get("DurationMs")),
                msg.get("Direction") or "",
                event_time(msg, self.clock),
            )
        )

    def _on_localbridge(self, msg: AmiMessage) -> None:
        one = self.channels.get(msg.get("LocalOneUniqueid") or "")
        two = self.channels.get(msg.get("LocalTwoUniqueid") or "")
        if one is None or two is None:
            return
        one.local_peer, two.local_peer = two.uniqueid, one.uniqueid
        self.publish(
            ev.LocalPairLinked(self.pbx, one.uniqueid, two.uniqueid, event_time(msg, self.clock))
        )

    def _on_rename(self, msg: AmiMessage) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        new = msg.get("Newname") or ""
        if chan is None or not new or new == chan.name:
            return
        old = chan.name
        if self.by_name.get(old) == chan.uniqueid:
            del self.by_name[old]
        chan.name = new
        self.by_name[new] = chan.uniqueid
        self.publish(
            ev.ChannelRenamed(self.pbx, chan.uniqueid, old, new, event_time(msg, self.clock))
        )

    def _on_mixmonitorstart(self, msg: AmiMessage) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None:
            return
        chan.recording = True
        self.publish(
            ev.RecordingStarted(
                self.pbx,
                chan.uniqueid,
                chan.name,
                chan.vars.get("MIXMONITOR_FILENAME"),
                event_time(msg, self.clock),
            )
        )

    def _on_mixmonitorstop(self, msg: AmiMessage) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None or not chan.recording:
            return
        chan.recording = False
        self.publish(
            ev.RecordingStopped(
                self.pbx,
                chan.uniqueid,
                chan.name,
                chan.vars.get("MIXMONITOR_FILENAME"),
                event_time(msg, self.clock),
            )
        )

    def _on_chanspystart(self, msg: AmiMessage) -> None:
        self.publish(
            ev.SpyStarted(
                self.pbx,
                msg.get("SpyerUniqueid") or "",
                msg.get("SpyerChannel") or "",
                msg.get("SpyeeUniqueid") or "",
                msg.get("SpyeeChannel") or "",
                event_time(msg, self.clock),
            )
        )

    def _on_chanspystop(self, msg: AmiMessage) -> None:
        self.publish(
            ev.SpyStopped(
                self.pbx,
                msg.get("SpyerUniqueid") or "",
                msg.get("SpyerChannel") or "",
                msg.get("SpyeeUniqueid"),
                msg.get("SpyeeChannel"),
                event_time(msg, self.clock),
            )
        )

    def _on_originateresponse(self, msg: AmiMessage) -> None:
        self.publish(
            ev.OriginateResult(
                self.pbx,
                msg.get("ActionID"),
                msg.get("Response") == "Success",
                to_int(msg.get("Reason")),
                msg.get("Channel") or "",
                known(msg.get("Uniqueid")),
                event_time(msg, self.clock),
            )
        )

    # ------------------------------------------------------------------ resync

    def begin_resync(self) -> None:
        """Mark the moment the snapshot is requested; changes from now on beat the snapshot."""
        self._created_in_window = set()
        self._ended_in_window = set()
        self._bridged_in_window = set()

    def abort_resync(self) -> None:
        """Forget a resync whose snapshot never completed (the link dropped again)."""
        self._created_in_window = self._ended_in_window = self._bridged_in_window = None

    def reconcile(self, snapshot: Snapshot) -> ev.ModelResynced:
        """Make the model match ``snapshot``: end what is gone, add what is new, exactly once."""
        return reconcile(self, snapshot)
