"""The call model's records (channels, calls, bridges) and the resync snapshot they are checked against.

These are plain mutable records owned by one ``CallModel``; readers outside the model should
treat them as read-only views. A ``Snapshot`` is what a resync after a (re)connect collects:
the ``CoreShowChannel`` items (each carries its ``BridgeId``) and the ``BridgeListItem`` items.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from contactcenter.telephony.ami.protocol import AmiMessage, header

__all__ = [
    "Bridge",
    "Call",
    "Channel",
    "Snapshot",
    "SnapshotBridge",
    "SnapshotChannel",
    "channel_block",
    "known",
]

_UNKNOWN = "<unknown>"

#: The channel snapshot block of nearly every call event, in the order Asterisk writes it
#: (manager_channels.c, ast_manager_build_channel_state_string_prefix). One regex search reads
#: all of it for the price of two or three single-header finds.
_BLOCK_FIELDS = (
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
    "Priority", "Uniqueid", "Linkedid",
)
_KEPT = (0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13)  # not Language, AccountCode


def _block_re(prefix: str) -> re.Pattern[str]:
    return re.compile("".join(
        f"\n{prefix}{name}: (.*)" if i in _KEPT else f"\n{prefix}{name}: .*"
        for i, name in enumerate(_BLOCK_FIELDS)) + "\n")


_BLOCK = _block_re("")
_DEST_BLOCK = _block_re("Dest")
_BLOCK_NEEDLES = tuple(f"\n{_BLOCK_FIELDS[i]}:" for i in _KEPT)
_DEST_NEEDLES = tuple(f"\nDest{_BLOCK_FIELDS[i]}:" for i in _KEPT)

#: What ``channel_block`` returns, in this order (None for a header the event lacks).
ChannelBlock = tuple[str | None, ...]


def channel_block(msg: AmiMessage, dest: bool = False) -> ChannelBlock:
    """The channel (``dest``: a Dial's called channel, ``Dest*``) an event describes:
    ``(name, state, state_desc, caller_id_num, caller_id_name, connected_num,
    connected_name, context, exten, priority, uniqueid, linkedid)``, each as ``get`` would
    read it. A message not laid out as Asterisk writes it is read header by header."""
    raw = msg.raw
    if raw is not None:
        found = (_DEST_BLOCK if dest else _BLOCK).search(raw)
        if found is not None:
            return found.groups()
    return tuple(header(msg, needle) for needle in (_DEST_NEEDLES if dest else _BLOCK_NEEDLES))


def known(value: str | None) -> str | None:
    """None for Asterisk's ``<unknown>`` placeholder and for empty values."""
    if not value or value == _UNKNOWN:
        return None
    return value


@dataclass(slots=True)
class Channel:
    """One live Asterisk channel, keyed by its Uniqueid."""

    uniqueid: str
    name: str
    linkedid: str
    state: int = 0
    state_desc: str = "Down"
    caller_id_num: str | None = None
    caller_id_name: str | None = None
    connected_num: str | None = None
    connected_name: str | None = None
    context: str = ""
    exten: str = ""
    priority: str = ""
    application: str = ""
    bridge_id: str | None = None
    local_peer: str | None = None  # uniqueid of the other half of a Local pair
    recording: bool = False
    dial_status: str | None = None  # set on the called leg by DialEnd
    created_at: float = 0.0
    vars: dict[str, str] = field(default_factory=dict)

    @property
    def is_up(self) -> bool:
        """True once the channel is answered (state 6)."""
        return self.state == 6

    @classmethod
    def from_message(cls, msg: AmiMessage, created_at: float) -> Channel:
        """A channel from a ``Newchannel``: ``SnapshotChannel.from_message(msg).to_channel()``
        without the intermediate record (a tenth of all events)."""
        name, state, desc, cid_num, cid_name, cl_num, cl_name, context, exten, priority, \
            uniqueid, linkedid = channel_block(msg)
        uniqueid = uniqueid or ""
        return cls(
            uniqueid=uniqueid,
            name=name or "",
            linkedid=linkedid or uniqueid,
            state=_int(state),
            state_desc=desc or "",
            caller_id_num=known(cid_num),
            caller_id_name=known(cid_name),
            connected_num=known(cl_num),
            connected_name=known(cl_name),
            context=context or "",
            exten=exten or "",
            priority=priority or "",
            application=header(msg, "\nApplication:") or "",
            created_at=created_at,
        )


@dataclass(slots=True)
class Call:
    """All channels sharing one Linkedid: one call as the contact center sees it."""

    linkedid: str
    started_at: float
    caller_id_num: str | None
    caller_id_name: str | None
    exten: str
    first_channel: str
    channels: set[str] = field(default_factory=set)  # live uniqueids
    channel_count: int = 0  # every channel the call ever had


@dataclass(slots=True)
class Bridge:
    """An Asterisk bridge and the uniqueids of the channels in it."""

    bridge_id: str
    bridge_type: str = ""
    technology: str = ""
    channels: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class SnapshotChannel:
    """One channel as listed by CoreShowChannels (or Status)."""

    uniqueid: str
    linkedid: str
    name: str
    state: int
    state_desc: str
    caller_id_num: str | None
    caller_id_name: str | None
    connected_num: str | None
    connected_name: str | None
    context: str
    exten: str
    priority: str
    application: str
    bridge_id: str | None

    def to_channel(self, created_at: float) -> Channel:
        """A fresh model channel with this listing's fields."""
        return Channel(
            uniqueid=self.uniqueid, name=self.name, linkedid=self.linkedid, state=self.state,
            state_desc=self.state_desc, caller_id_num=self.caller_id_num,
            caller_id_name=self.caller_id_name, connected_num=self.connected_num,
            connected_name=self.connected_name, context=self.context, exten=self.exten,
            priority=self.priority, application=self.application, created_at=created_at,
        )

    @classmethod
    def from_message(cls, msg: AmiMessage) -> SnapshotChannel:
        """Read a channel block: a ``CoreShowChannel``/``Status`` item, or a ``Newchannel``."""
        uniqueid = msg.get("Uniqueid") or ""
        return cls(
            uniqueid=uniqueid,
            linkedid=msg.get("Linkedid") or uniqueid,
            name=msg.get("Channel") or "",
            state=_int(msg.get("ChannelState")),
            state_desc=msg.get("ChannelStateDesc") or "",
            caller_id_num=known(msg.get("CallerIDNum")),
            caller_id_name=known(msg.get("CallerIDName")),
            connected_num=known(msg.get("ConnectedLineNum")),
            connected_name=known(msg.get("ConnectedLineName")),
            context=msg.get("Context") or "",
            exten=msg.get("Exten") or "",
            priority=msg.get("Priority") or "",
            application=msg.get("Application") or "",
            # CoreShowChannel says BridgeId, Status says BridgeID; get() folds case.
            bridge_id=msg.get("BridgeId") or None,
        )


@dataclass(frozen=True, slots=True)
class SnapshotBridge:
    """One bridge as listed by BridgeList."""

    bridge_id: str
    bridge_type: str
    technology: str

    @classmethod
    def from_message(cls, msg: AmiMessage) -> SnapshotBridge:
        """Read a ``BridgeListItem``."""
        return cls(
            bridge_id=msg.get("BridgeUniqueid") or "",
            bridge_type=msg.get("BridgeType") or "",
            technology=msg.get("BridgeTechnology") or "",
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the PBX says is live right now (channels, and bridges when listed)."""

    channels: tuple[SnapshotChannel, ...]
    bridges: tuple[SnapshotBridge, ...] | None = None  # None: bridges were not listed

    @classmethod
    def from_messages(
        cls, channels: Iterable[AmiMessage], bridges: Iterable[AmiMessage] | None = None
    ) -> Snapshot:
        """Build from CoreShowChannels (or Status) items and optional BridgeList items."""
        chans = tuple(
            SnapshotChannel.from_message(m)
            for m in channels
            if m.event in ("CoreShowChannel", "Status") and m.get("Uniqueid")
        )
        brs = None
        if bridges is not None:
            brs = tuple(
                SnapshotBridge.from_message(m)
                for m in bridges
                if m.event == "BridgeListItem" and m.get("BridgeUniqueid")
            )
        return cls(chans, brs)


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
