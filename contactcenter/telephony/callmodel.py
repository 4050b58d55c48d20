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
from contactcenter.telephony.ami.protocol import AmiMessage, header
from contactcenter.telephony.callmodel_core import (
    DEFAULT_KEPT_PREFIXES,
    DEFAULT_KEPT_VARS,
    CallModelCore,
    event_time,
    to_int,
)
from contactcenter.telephony.callmodel_resync import reconcile
from contactcenter.telephony.callmodel_state import (
    Bridge,
    Channel,
    Snapshot,
    channel_block,
    known,
)

__all__ = ["DEFAULT_KEPT_PREFIXES", "DEFAULT_KEPT_VARS", "CallModel"]

_UID = "\nUniqueid:"
_BRIDGE = "\nBridgeUniqueid:"


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
    # Headers are read with ``header`` (one find each, see _UID...), and only those a change
    # needs; an event no subscriber wants is not built (``listeners``), nor its time parsed.

    def _on_newchannel(self, msg: AmiMessage) -> None:
        uid = header(msg, _UID)
        if not uid or uid in self.channels:
            return  # already known (e.g. found by a resync before its Newchannel arrived)
        if self._ended_in_window is not None and uid in self._ended_in_window:
            return
        ts = event_time(msg, self.clock)
        self._add_channel(Channel.from_message(msg, ts), ts, False)

    def _on_newstate(self, msg: AmiMessage) -> None:
        _, state_s, desc, *_, uid, lid = channel_block(msg)
        chan = self._live(uid, lid, msg)
        if chan is None:
            return
        state = to_int(state_s)
        if state == chan.state:
            return
        chan.state = state
        chan.state_desc = desc or ""
        if subs := self.listeners(ev.ChannelStateChanged):
            self.deliver(subs, ev.ChannelStateChanged(
                self.pbx,
                chan.uniqueid,
                chan.name,
                state,
                chan.state_desc,
                event_time(msg, self.clock),
            ))

    def _on_callerid(self, msg: AmiMessage) -> None:
        block = channel_block(msg)
        chan = self._live(block[10], block[11], msg)
        if chan is None:
            return
        new = (known(block[3]), known(block[4]), known(block[5]), known(block[6]))
        old = (chan.caller_id_num, chan.caller_id_name, chan.connected_num, chan.connected_name)
        if new == old:
            return
        chan.caller_id_num, chan.caller_id_name, chan.connected_num, chan.connected_name = new
        call = self.calls.get(chan.linkedid)
        if call is not None and call.first_channel == chan.uniqueid:
            call.caller_id_num, call.caller_id_name = new[0], new[1]
        if subs := self.listeners(ev.ChannelCallerIdChanged):
            self.deliver(subs, ev.ChannelCallerIdChanged(
                self.pbx, chan.uniqueid, chan.name, *new, timestamp=event_time(msg, self.clock)
            ))

    def _on_newexten(self, msg: AmiMessage) -> None:
        chan = self.channels.get(header(msg, _UID) or "")
        if chan is not None:
            chan.context = header(msg, "\nContext:") or chan.context
            chan.exten = header(msg, "\nExten:") or chan.exten
            chan.application = header(msg, "\nApplication:") or chan.application

    def _on_hangup(self, msg: AmiMessage) -> None:
        chan = self.channels.get(header(msg, _UID) or "")
        if chan is None:
            return
        self._end_channel(
            chan,
            to_int(header(msg, "\nCause:")),
            header(msg, "\nCause-txt:") or "",
            event_time(msg, self.clock),
            False,
        )

    def _on_dialbegin(self, msg: AmiMessage) -> None:
        *_, uid, lid = channel_block(msg, dest=True)
        dest = self._live(uid, lid, msg)
        if dest is None:
            return
        if not (subs := self.listeners(ev.DialStarted)):
            return
        caller = self.channels.get(header(msg, _UID) or "")
        self.deliver(subs, ev.DialStarted(
            self.pbx,
            caller.uniqueid if caller else None,
            caller.name if caller else None,
            dest.uniqueid,
            dest.name,
            header(msg, "\nDialString:") or "",
            dest.linkedid,
            event_time(msg, self.clock),
            dest.state,
        ))

    def _on_dialend(self, msg: AmiMessage) -> None:
        *_, uid, lid = channel_block(msg, dest=True)
        dest = self._live(uid, lid, msg)
        if dest is None:
            return
        status = header(msg, "\nDialStatus:") or ""
        dest.dial_status = status
        if not (subs := self.listeners(ev.DialEnded)):
            return
        caller = self.channels.get(header(msg, _UID) or "")
        self.deliver(subs, ev.DialEnded(
            self.pbx,
            caller.uniqueid if caller else None,
            dest.uniqueid,
            dest.name,
            status,
            dest.linkedid,
            event_time(msg, self.clock),
        ))

    def _bridge(self, msg: AmiMessage) -> Bridge:
        bid = header(msg, _BRIDGE) or ""
        bridge = self.bridges.get(bid)
        if bridge is None:
            bridge = Bridge(bid, header(msg, "\nBridgeType:") or "",
                            header(msg, "\nBridgeTechnology:") or "")
            self.bridges[bid] = bridge
        return bridge

    def _on_bridgecreate(self, msg: AmiMessage) -> None:
        self._bridge(msg)

    def _on_bridgeenter(self, msg: AmiMessage) -> None:
        chan = self._channel_of(msg)
        if chan is None:
            return
        bridge = self._bridge(msg)
        if chan.bridge_id is not None and chan.bridge_id != bridge.bridge_id:
            self._leave_bridge(chan, event_time(msg, self.clock), False)
        if self._bridged_in_window is not None:
            self._bridged_in_window.add(chan.uniqueid)
        if chan.bridge_id == bridge.bridge_id:
            return
        chan.bridge_id = bridge.bridge_id
        bridge.channels.add(chan.uniqueid)
        if subs := self.listeners(ev.BridgeJoined):
            self.deliver(subs, ev.BridgeJoined(
                self.pbx, bridge.bridge_id, chan.uniqueid, chan.name, chan.linkedid,
                event_time(msg, self.clock)))

    def _on_bridgeleave(self, msg: AmiMessage) -> None:
        chan = self.channels.get(header(msg, _UID) or "")
        if chan is None or chan.bridge_id != header(msg, _BRIDGE):
            return
        if self._bridged_in_window is not None:
            self._bridged_in_window.add(chan.uniqueid)
        self._leave_bridge(chan, self._time_if(ev.BridgeLeft, msg), False)

    def _on_bridgedestroy(self, msg: AmiMessage) -> None:
        bridge = self.bridges.pop(header(msg, _BRIDGE) or "", None)
        if bridge is None or not bridge.channels:
            return
        ts = self._time_if(ev.BridgeLeft, msg)
        for uid in list(bridge.channels):
            chan = self.channels.get(uid)
            if chan is not None and chan.bridge_id == bridge.bridge_id:
                self._leave_bridge(chan, ts, False)

    def _on_varset(self, msg: AmiMessage) -> None:
        name = header(msg, "\nVariable:") or ""
        if name not in self.kept_vars and not name.startswith(self.kept_prefixes):
            return
        chan = self.channels.get(header(msg, _UID) or "")
        if chan is not None:
            chan.vars[name] = header(msg, "\nValue:") or ""

    def _on_dtmfend(self, msg: AmiMessage) -> None:
        chan = self.channels.get(header(msg, _UID) or "")
        if chan is None or not (subs := self.listeners(ev.DtmfReceived)):
            return
        self.deliver(subs, ev.DtmfReceived(
            self.pbx,
            chan.uniqueid,
            chan.name,
            header(msg, "\nDigit:") or "",
            to_int(header(msg, "\nDurationMs:")),
            header(msg, "\nDirection:") or "",
            event_time(msg, self.clock),
        ))

    def _on_localbridge(self, msg: AmiMessage) -> None:
        one = self.channels.get(header(msg, "\nLocalOneUniqueid:") or "")
        two = self.channels.get(header(msg, "\nLocalTwoUniqueid:") or "")
        if one is None or two is None:
            return
        one.local_peer, two.local_peer = two.uniqueid, one.uniqueid
        if subs := self.listeners(ev.LocalPairLinked):
            self.deliver(subs, ev.LocalPairLinked(
                self.pbx, one.uniqueid, two.uniqueid, event_time(msg, self.clock)))

    def _on_rename(self, msg: AmiMessage) -> None:
        chan = self.channels.get(header(msg, _UID) or "")
        new = header(msg, "\nNewname:") or ""
        if chan is None or not new or new == chan.name:
            return
        old = chan.name
        if self.by_name.get(old) == chan.uniqueid:
            del self.by_name[old]
        chan.name = new
        self.by_name[new] = chan.uniqueid
        if subs := self.listeners(ev.ChannelRenamed):
            self.deliver(subs, ev.ChannelRenamed(
                self.pbx, chan.uniqueid, old, new, event_time(msg, self.clock)))

    def _on_mixmonitorstart(self, msg: AmiMessage) -> None:
        chan = self.channels.get(header(msg, _UID) or "")
        if chan is None:
            return
        chan.recording = True
        if subs := self.listeners(ev.RecordingStarted):
            self.deliver(subs, ev.RecordingStarted(
                self.pbx,
                chan.uniqueid,
                chan.name,
                chan.vars.get("MIXMONITOR_FILENAME"),
                event_time(msg, self.clock),
            ))

    def _on_mixmonitorstop(self, msg: AmiMessage) -> None:
        chan = self.channels.get(header(msg, _UID) or "")
        if chan is None or not chan.recording:
            return
        chan.recording = False
        if subs := self.listeners(ev.RecordingStopped):
            self.deliver(subs, ev.RecordingStopped(
                self.pbx,
                chan.uniqueid,
                chan.name,
                chan.vars.get("MIXMONITOR_FILENAME"),
                event_time(msg, self.clock),
            ))

    def _on_chanspystart(self, msg: AmiMessage) -> None:
        if subs := self.listeners(ev.SpyStarted):
            self.deliver(subs, ev.SpyStarted(
                self.pbx,
                msg.get("SpyerUniqueid") or "",
                msg.get("SpyerChannel") or "",
                msg.get("SpyeeUniqueid") or "",
                msg.get("SpyeeChannel") or "",
                event_time(msg, self.clock),
            ))

    def _on_chanspystop(self, msg: AmiMessage) -> None:
        if subs := self.listeners(ev.SpyStopped):
            self.deliver(subs, ev.SpyStopped(
                self.pbx,
                msg.get("SpyerUniqueid") or "",
                msg.get("SpyerChannel") or "",
                msg.get("SpyeeUniqueid"),
                msg.get("SpyeeChannel"),
                event_time(msg, self.clock),
            ))

    def _on_originateresponse(self, msg: AmiMessage) -> None:
        if subs := self.listeners(ev.OriginateResult):
            self.deliver(subs, ev.OriginateResult(
                self.pbx,
                msg.get("ActionID"),
                msg.get("Response") == "Success",
                to_int(msg.get("Reason")),
                msg.get("Channel") or "",
                known(msg.get("Uniqueid")),
                event_time(msg, self.clock),
            ))

    def _time_if(self, cls: type, msg: AmiMessage) -> float:
        """The event's time when someone wants a ``cls`` event, else 0.0 (never published)."""
        return event_time(msg, self.clock) if self.listeners(cls) else 0.0

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
