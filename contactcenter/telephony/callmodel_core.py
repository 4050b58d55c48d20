"""The call model's state and bookkeeping: channels, calls and bridges of one PBX.

``CallModelCore`` keeps the records and publishes what changes; ``callmodel.CallModel`` maps
each AMI event to these moves (see the design note there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from contactcenter.domain.clock import Clock
from contactcenter.telephony import events as ev
from contactcenter.telephony.ami.protocol import AmiMessage, header
from contactcenter.telephony.callmodel_state import (
    Bridge,
    Call,
    Channel,
)

__all__ = [
    "DEFAULT_KEPT_PREFIXES",
    "DEFAULT_KEPT_VARS",
    "CallModelCore",
    "event_time",
    "listens_to",
    "to_int",
]

log = logging.getLogger(__name__)

DEFAULT_KEPT_VARS = frozenset(
    {"MIXMONITOR_FILENAME", "DIALSTATUS", "AGISTATUS", "BRIDGEPEER", "QUEUENAME"}
)
DEFAULT_KEPT_PREFIXES = ("CC_",)

_TIMESTAMP = "\nTimestamp:"
_UNIQUEID = "\nUniqueid:"
_LINKEDID = "\nLinkedid:"

_F = TypeVar("_F", bound=Callable[..., Any])


def listens_to(*types: type) -> Callable[[_F], _F]:
    """Declare the only telephony event types a model subscriber acts on.

    The model then calls it for those alone, and does not even build an event that no
    subscriber wants. A subscriber without the mark gets every event.
    """

    def mark(fn: _F) -> _F:
        fn.telephony_events = types  # type: ignore[attr-defined]
        return fn

    return mark


def _wants(fn: ev.Subscriber, cls: type) -> bool:
    types = getattr(fn, "telephony_events", None)  # bound methods read their function's
    return types is None or issubclass(cls, types)


def event_time(msg: AmiMessage, clock: Clock) -> float:
    """The event's Timestamp header, else the clock's time."""
    raw = header(msg, _TIMESTAMP)
    if raw:
        try:
            return float(raw)
        except ValueError:
            pass
    return clock.time()


def to_int(value: str | None, default: int = 0) -> int:
    """``value`` as an int, ``default`` when empty or not a number."""
    try:
        return int(value) if value else default
    except ValueError:
        return default


class CallModelCore:
    """Records and bookkeeping of one PBX's channels, calls and bridges."""

    """Channels, calls and bridges of one PBX; feed it AMI events, read it, subscribe to it."""

    def __init__(
        self,
        pbx: str,
        subscribers: Iterable[ev.Subscriber] = (),
        clock: Clock | None = None,
        kept_vars: Iterable[str] = DEFAULT_KEPT_VARS,
        kept_prefixes: tuple[str, ...] = DEFAULT_KEPT_PREFIXES,
    ) -> None:
        self.pbx = pbx
        # Per event type, the subscribers that want it (see listens_to); an empty tuple means
        # nobody does, and the event is not even built.
        self._routes: dict[type, tuple[ev.Subscriber, ...]] = {}
        self._subscribers: tuple[ev.Subscriber, ...] = tuple(subscribers)
        self.clock = clock or Clock()
        self.kept_vars = frozenset(kept_vars)
        self.kept_prefixes = tuple(kept_prefixes)
        self.channels: dict[str, Channel] = {}
        self.by_name: dict[str, str] = {}
        self.calls: dict[str, Call] = {}
        self.bridges: dict[str, Bridge] = {}
        self.calls_started = 0
        self.calls_ended = 0
        self.channels_created = 0
        self.channels_ended = 0
        self.events_applied = 0
        # Resync window bookkeeping (None when no resync is in progress).
        self._created_in_window: set[str] | None = None
        self._ended_in_window: set[str] | None = None
        self._bridged_in_window: set[str] | None = None
        self._handlers = self._event_handlers()

    # ------------------------------------------------------------------ reading

    def _event_handlers(self) -> dict[str, Callable[[AmiMessage], None]]:
        """AMI event name -> handler; ``CallModel`` maps the events it follows."""
        return {}

    @property
    def subscribers(self) -> tuple[ev.Subscriber, ...]:
        """Typed-event subscribers, called in this order (change them with ``subscribe``)."""
        return self._subscribers

    def subscribe(self, fn: ev.Subscriber) -> Callable[[], None]:
        """Add a subscriber (after the others); returns the function that removes it."""
        self._subscribers += (fn,)
        self._routes.clear()

        def unsubscribe() -> None:
            self._subscribers = tuple(f for f in self._subscribers if f is not fn)
            self._routes.clear()

        return unsubscribe

    def listeners(self, cls: type) -> tuple[ev.Subscriber, ...]:
        """The subscribers that want events of type ``cls`` (empty: do not build one)."""
        subs = self._routes.get(cls)
        if subs is None:
            subs = self._routes[cls] = tuple(
                fn for fn in self._subscribers if _wants(fn, cls))
        return subs

    def channel(self, uniqueid: str) -> Channel | None:
        """The live channel with this Uniqueid."""
        return self.channels.get(uniqueid)

    def channel_by_name(self, name: str) -> Channel | None:
        """The live channel with this name (e.g. ``PJSIP/1001-00000012``)."""
        uid = self.by_name.get(name)
        return self.channels.get(uid) if uid else None

    def call(self, linkedid: str) -> Call | None:
        """The live call with this Linkedid."""
        return self.calls.get(linkedid)

    def call_channels(self, linkedid: str) -> list[Channel]:
        """The live channels of a call, oldest first."""
        call = self.calls.get(linkedid)
        if call is None:
            return []
        chans = [self.channels[u] for u in call.channels if u in self.channels]
        return sorted(chans, key=lambda c: (c.created_at, c.uniqueid))

    def bridge_peers(self, uniqueid: str) -> list[Channel]:
        """The other channels in the same bridge as ``uniqueid``."""
        chan = self.channels.get(uniqueid)
        if chan is None or chan.bridge_id is None:
            return []
        bridge = self.bridges.get(chan.bridge_id)
        if bridge is None:
            return []
        return [self.channels[u] for u in bridge.channels if u != uniqueid and u in self.channels]

    # ------------------------------------------------------------------ feeding

    def apply(self, msg: AmiMessage, name: str | None = None) -> None:
        """Apply one AMI event (``name``: its Event header, when the caller has read it);
        events the model does not track are ignored."""
        if name is None:
            name = msg.event or ""
        handler = self._handlers.get(name)
        if handler is not None:
            self.events_applied += 1
            handler(msg)

    def apply_all(self, msgs: Iterable[AmiMessage]) -> None:
        """Apply events in order."""
        for msg in msgs:
            self.apply(msg)

    def publish(self, event: ev.TelephonyEvent) -> None:
        """Deliver one event to every subscriber that wants it; a failing subscriber does not
        stop the rest."""
        self.deliver(self.listeners(type(event)), event)

    @staticmethod
    def deliver(subs: tuple[ev.Subscriber, ...], event: ev.TelephonyEvent) -> None:
        """Deliver ``event`` to ``subs`` (from ``listeners``), isolating their failures."""
        for fn in subs:
            try:
                fn(event)
            except Exception:
                log.exception("call model subscriber %r failed on %r", fn, event)

    # ------------------------------------------------------------------ creation / removal
    # Each event is built only when some subscriber wants its type (``listeners``).

    def _add_channel(self, chan: Channel, ts: float, resync: bool) -> None:
        self.channels[chan.uniqueid] = chan
        self.by_name[chan.name] = chan.uniqueid
        self.channels_created += 1
        if self._created_in_window is not None:
            self._created_in_window.add(chan.uniqueid)
        call = self.calls.get(chan.linkedid)
        new_call = call is None
        if call is None:
            call = Call(
                linkedid=chan.linkedid,
                started_at=ts,
                caller_id_num=chan.caller_id_num,
                caller_id_name=chan.caller_id_name,
                exten=chan.exten,
                first_channel=chan.uniqueid,
            )
            self.calls[chan.linkedid] = call
            self.calls_started += 1
        call.channels.add(chan.uniqueid)
        call.channel_count += 1
        if new_call and (subs := self.listeners(ev.CallStarted)):
            self.deliver(subs, ev.CallStarted(
                self.pbx,
                call.linkedid,
                chan.uniqueid,
                call.caller_id_num,
                call.caller_id_name,
                call.exten,
                ts,
                resync,
            ))
        if subs := self.listeners(ev.ChannelCreated):
            self.deliver(subs, ev.ChannelCreated(
                self.pbx,
                chan.uniqueid,
                chan.linkedid,
                chan.name,
                chan.state,
                chan.caller_id_num,
                chan.caller_id_name,
                chan.context,
                chan.exten,
                ts,
                resync,
            ))

    def _end_channel(
        self, chan: Channel, cause: int, cause_txt: str, ts: float, resync: bool
    ) -> None:
        del self.channels[chan.uniqueid]
        if self.by_name.get(chan.name) == chan.uniqueid:
            del self.by_name[chan.name]
        self.channels_ended += 1
        if self._ended_in_window is not None:
            self._ended_in_window.add(chan.uniqueid)
        if chan.bridge_id is not None:
            self._leave_bridge(chan, ts, resync)
        if chan.recording:
            chan.recording = False
            if subs := self.listeners(ev.RecordingStopped):
                self.deliver(subs, ev.RecordingStopped(
                    self.pbx,
                    chan.uniqueid,
                    chan.name,
                    chan.vars.get("MIXMONITOR_FILENAME"),
                    ts,
                    by_hangup=True,
                ))
        peer = self.channels.get(chan.local_peer) if chan.local_peer else None
        if peer is not None and peer.local_peer == chan.uniqueid:
            peer.local_peer = None
        if subs := self.listeners(ev.ChannelHungUp):
            self.deliver(subs, ev.ChannelHungUp(
                self.pbx, chan.uniqueid, chan.linkedid, chan.name, cause, cause_txt, ts, resync
            ))
        self._detach_from_call(chan.uniqueid, chan.linkedid, ts, resync)

    def _leave_bridge(self, chan: Channel, ts: float, resync: bool) -> None:
        bid = chan.bridge_id
        if bid is None:
            return
        chan.bridge_id = None
        bridge = self.bridges.get(bid)
        if bridge is not None:
            bridge.channels.discard(chan.uniqueid)
        if subs := self.listeners(ev.BridgeLeft):
            self.deliver(subs, ev.BridgeLeft(
                self.pbx, bid, chan.uniqueid, chan.name, chan.linkedid, ts, resync))

    def _detach_from_call(self, uniqueid: str, linkedid: str, ts: float, resync: bool) -> None:
        call = self.calls.get(linkedid)
        if call is None:
            return
        call.channels.discard(uniqueid)
        if not call.channels:
            del self.calls[linkedid]
            self.calls_ended += 1
            if subs := self.listeners(ev.CallEnded):
                self.deliver(subs, ev.CallEnded(
                    self.pbx, linkedid, call.channel_count, call.started_at, ts, resync))

    def _relink(self, chan: Channel, linkedid: str, ts: float) -> None:
        """Move a channel to another call (Asterisk propagates the oldest Linkedid on bridging)."""
        old = chan.linkedid
        chan.linkedid = linkedid
        call = self.calls.get(linkedid)
        if call is None:
            call = Call(
                linkedid, ts, chan.caller_id_num, chan.caller_id_name, chan.exten, chan.uniqueid
            )
            self.calls[linkedid] = call
            self.calls_started += 1
            if subs := self.listeners(ev.CallStarted):
                self.deliver(subs, ev.CallStarted(
                    self.pbx,
                    linkedid,
                    chan.uniqueid,
                    chan.caller_id_num,
                    chan.caller_id_name,
                    chan.exten,
                    ts,
                ))
        call.channels.add(chan.uniqueid)
        call.channel_count += 1
        self._detach_from_call(chan.uniqueid, old, ts, False)

    def _channel_of(self, msg: AmiMessage, dest: bool = False) -> Channel | None:
        """The live channel an event names (``dest``: a Dial's called leg, Dest* headers),
        moved to the event's Linkedid if that changed."""
        uid, lid = ("\nDestUniqueid:", "\nDestLinkedid:") if dest else (_UNIQUEID, _LINKEDID)
        return self._live(header(msg, uid), header(msg, lid), msg)

    def _live(self, uniqueid: str | None, linkedid: str | None, msg: AmiMessage) -> Channel | None:
        """The live channel ``uniqueid``, moved to call ``linkedid`` if that changed."""
        chan = self.channels.get(uniqueid or "")
        if chan is not None and linkedid and linkedid != chan.linkedid:
            self._relink(chan, linkedid, event_time(msg, self.clock))
        return chan
