"""Typed telephony events published by the call model and the AMI link.

These are what the rest of the server sees of Asterisk: plain frozen dataclasses, no AMI
headers. Every event names its PBX (the model is per PBX) and carries ``timestamp``: the
Asterisk ``Timestamp:`` header when the PBX sent one, else the model's clock time.
``resync=True`` marks events synthesised by a reconcile after a reconnect (the real event
was missed while the link was down), so consumers can tell a genuine hangup time from a
discovered one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "BridgeJoined",
    "BridgeLeft",
    "CallEnded",
    "CallStarted",
    "ChannelCallerIdChanged",
    "ChannelCreated",
    "ChannelHungUp",
    "ChannelRenamed",
    "ChannelStateChanged",
    "DialEnded",
    "DialStarted",
    "DtmfReceived",
    "LinkStateChanged",
    "LocalPairLinked",
    "ModelResynced",
    "OriginateResult",
    "RecordingStarted",
    "RecordingStopped",
    "SpyStarted",
    "SpyStopped",
    "Subscriber",
    "TelephonyEvent",
]


@dataclass(frozen=True, slots=True)
class ChannelCreated:
    """A channel appeared (Newchannel, or found by a resync)."""

    pbx: str
    uniqueid: str
    linkedid: str
    name: str
    state: int
    caller_id_num: str | None
    caller_id_name: str | None
    context: str
    exten: str
    timestamp: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class ChannelStateChanged:
    """A channel changed state (Newstate): 4 Ring, 5 Ringing, 6 Up..."""

    pbx: str
    uniqueid: str
    name: str
    state: int
    state_desc: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class ChannelCallerIdChanged:
    """Caller id or connected line of a channel changed (NewCallerid / NewConnectedLine)."""

    pbx: str
    uniqueid: str
    name: str
    caller_id_num: str | None
    caller_id_name: str | None
    connected_num: str | None
    connected_name: str | None
    timestamp: float


@dataclass(frozen=True, slots=True)
class ChannelRenamed:
    """A channel got a new name (Rename; masquerades, Local optimisation)."""

    pbx: str
    uniqueid: str
    old_name: str
    new_name: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    """A channel is gone. Published exactly once per channel."""

    pbx: str
    uniqueid: str
    linkedid: str
    name: str
    cause: int
    cause_txt: str
    timestamp: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The first channel of a call (a Linkedid) appeared."""

    pbx: str
    linkedid: str
    first_channel: str
    caller_id_num: str | None
    caller_id_name: str | None
    exten: str
    timestamp: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The last channel of a call hung up. Published exactly once per call."""

    pbx: str
    linkedid: str
    channel_count: int  # every channel the call ever had
    started_at: float
    timestamp: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class DialStarted:
    """A Dial began (DialBegin); ``caller_uniqueid`` is None for an Originate's first leg."""

    pbx: str
    caller_uniqueid: str | None
    caller_name: str | None
    dest_uniqueid: str
    dest_name: str
    dial_string: str
    linkedid: str
    timestamp: float
    dest_state: int = 0  # the callee channel's state then (5: its phone rings already)


@dataclass(frozen=True, slots=True)
class DialEnded:
    """A Dial ended (DialEnd) with ANSWER, BUSY, NOANSWER, CANCEL, CHANUNAVAIL..."""

    pbx: str
    caller_uniqueid: str | None
    dest_uniqueid: str
    dest_name: str
    dial_status: str
    linkedid: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class BridgeJoined:
    """A channel entered a bridge (BridgeEnter, or found in a bridge by a resync)."""

    pbx: str
    bridge_id: str
    uniqueid: str
    name: str
    linkedid: str
    timestamp: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class BridgeLeft:
    """A channel left a bridge (BridgeLeave, or its hangup / a resync showed it gone)."""

    pbx: str
    bridge_id: str
    uniqueid: str
    name: str
    linkedid: str
    timestamp: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class LocalPairLinked:
    """The two halves (;1 and ;2) of a Local channel were created together (LocalBridge)."""

    pbx: str
    one_uniqueid: str
    two_uniqueid: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A DTMF digit ended on a channel (DTMFEnd)."""

    pbx: str
    uniqueid: str
    name: str
    digit: str
    duration_ms: int
    direction: str  # "Received" or "Sent"
    timestamp: float


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """MixMonitor started on a channel; ``filename`` from MIXMONITOR_FILENAME when seen."""

    pbx: str
    uniqueid: str
    name: str
    filename: str | None
    timestamp: float


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    """MixMonitor stopped (MixMonitorStop, or the channel hung up while recording)."""

    pbx: str
    uniqueid: str
    name: str
    filename: str | None
    timestamp: float
    by_hangup: bool = False


@dataclass(frozen=True, slots=True)
class SpyStarted:
    """ChanSpy began: ``spyer`` listens to ``spyee``."""

    pbx: str
    spyer_uniqueid: str
    spyer_name: str
    spyee_uniqueid: str
    spyee_name: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class SpyStopped:
    """ChanSpy ended."""

    pbx: str
    spyer_uniqueid: str
    spyer_name: str
    spyee_uniqueid: str | None
    spyee_name: str | None
    timestamp: float


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """Outcome of an async Originate (OriginateResponse), matched by its ActionID."""

    pbx: str
    action_id: str | None
    success: bool
    reason: int
    channel: str  # channel name on success, the dial string on failure
    uniqueid: str | None
    timestamp: float


@dataclass(frozen=True, slots=True)
class LinkStateChanged:
    """The AMI link to a PBX changed state: "connecting", "connected" or "down"."""

    pbx: str
    state: str
    since: float
    reconnects: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ModelResynced:
    """A resync snapshot was applied: how many channels were found, added and ended."""

    pbx: str
    channels: int
    added: int
    ended: int
    timestamp: float


TelephonyEvent = (
    ChannelCreated
    | ChannelStateChanged
    | ChannelCallerIdChanged
    | ChannelRenamed
    | ChannelHungUp
    | CallStarted
    | CallEnded
    | DialStarted
    | DialEnded
    | BridgeJoined
    | BridgeLeft
    | LocalPairLinked
    | DtmfReceived
    | RecordingStarted
    | RecordingStopped
    | SpyStarted
    | SpyStopped
    | OriginateResult
    | LinkStateChanged
    | ModelResynced
)

Subscriber = Callable[[TelephonyEvent], None]
