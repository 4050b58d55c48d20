"""Simulated channels and bridges, and the header blocks Asterisk 22 prints for them.

Design note: a ``SimChannel`` is plain state (name, ids, dialplan location, caller id,
variables, bridge). Behaviour lives in ``pbx.py``; this module only knows how Asterisk names
things: ``Local/100@cc-inbound-00000044;1`` pairs, ``PJSIP/1001-00000012`` endpoints,
``<epoch>.<n>`` uniqueids, and the channel block of quirk 7 (``<unknown>`` for unknown
values, an empty ``AccountCode: ``), optionally prefixed (``Dest``, ``LocalOne``, ``Spyer``...).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

from contactcenter.domain.clock import Clock

from .waits import Flag

STATE_DOWN, STATE_RING, STATE_RINGING, STATE_UP = 0, 4, 5, 6
STATE_DESC = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
}

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
    127: "Interworking, unspecified",
}

Headers = list[tuple[str, str]]


@dataclass(eq=False)
class SimChannel:
    """One live channel as the simulated PBX sees it."""

    name: str
    uniqueid: str
    linkedid: str
    tech: str
    context: str
    exten: str
    priority: int = 1
    state: int = STATE_DOWN
    caller_num: str | None = None
    caller_name: str | None = None
    connected_num: str | None = None
    connected_name: str | None = None
    language: str = "en"
    accountcode: str = ""
    dnid: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)  # SHARED() variables (a datastore)
    application: str = ""
    app_data: str = ""
    bridge: Bridge | None = None
    peer: SimChannel | None = None  # the other half of a Local pair
    created_at: float = 0.0
    answered_at: float | None = None  # when it first went Up (its ast_channel_answertime)
    audio: bool = False  # carries audio (ChanSpy on it wakes up promptly)
    speech: str | None = None  # what its phone says (Phone.speech), heard by recordings
    gone: bool = False
    hangup_cause: int = 16
    # set when someone asks this channel to hang up; its owner task reacts
    hangup_requested: Flag = field(default_factory=Flag)
    redirect_to: tuple[str, str, int] | None = None
    in_agi: bool = False
    hangup_asked: bool = False  # a real hangup request (not a redirect's async goto)
    ended: Flag = field(default_factory=Flag)

    @property
    def state_desc(self) -> str:
        """``Up``, ``Ring``... as Asterisk prints ChannelStateDesc."""
        return STATE_DESC.get(self.state, "Unknown")

    def block(self, prefix: str = "") -> Headers:
        """The channel block of quirk 7, with every header name prefixed by ``prefix``."""
        return list(zip(_block_names(prefix), self._values(), strict=True))

    def block_text(self, prefix: str = "") -> str:
        """``block(prefix)`` as it goes on the AMI wire (``Name: value\r\n`` lines).

        The events nobody keeps as header lists (no history) are formatted straight from
        here: one ``%`` over a per-prefix template instead of a list of pairs per event.
        """
        if prefix:
            return _block_format(prefix) % self._values()
        # the unprefixed block of nearly every event: an f-string is twice as fast as the %
        unknown = "<unknown>"
        return (
            f"Channel: {self.name}\r\nChannelState: {self.state}\r\n"
            f"ChannelStateDesc: {STATE_DESC.get(self.state, 'Unknown')}\r\n"
            f"CallerIDNum: {unknown if self.caller_num is None else self.caller_num}\r\n"
            f"CallerIDName: {unknown if self.caller_name is None else self.caller_name}\r\n"
            f"ConnectedLineNum: {unknown if self.connected_num is None else self.connected_num}"
            f"\r\nConnectedLineName: "
            f"{unknown if self.connected_name is None else self.connected_name}\r\n"
            f"Language: {self.language}\r\nAccountCode: {self.accountcode}\r\n"
            f"Context: {self.context}\r\nExten: {self.exten}\r\nPriority: {self.priority}\r\n"
            f"Uniqueid: {self.uniqueid}\r\nLinkedid: {self.linkedid}\r\n"
        )

    def _values(self) -> tuple[str, ...]:
        unknown = "<unknown>"  # quirk 7: how Asterisk prints an unset caller id
        return (
            self.name, str(self.state), STATE_DESC.get(self.state, "Unknown"),
            unknown if self.caller_num is None else self.caller_num,
            unknown if self.caller_name is None else self.caller_name,
            unknown if self.connected_num is None else self.connected_num,
            unknown if self.connected_name is None else self.connected_name,
            self.language, self.accountcode, self.context, self.exten, str(self.priority),
            self.uniqueid, self.linkedid,
        )


_BLOCK = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
          "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
          "Priority", "Uniqueid", "Linkedid")


@functools.lru_cache(maxsize=16)
def _block_names(prefix: str) -> tuple[str, ...]:
    """Header names of a channel block with ``prefix`` (``Dest``, ``Spyee``...)."""
    return tuple(prefix + name for name in _BLOCK)


@functools.lru_cache(maxsize=16)
def _block_format(prefix: str) -> str:
    """``%``-template of a channel block's wire text with ``prefix`` (``%`` escaped in names)."""
    return "".join(f"{name.replace('%', '%%')}: %s\r\n" for name in _block_names(prefix))


def headers_text(headers: Headers | tuple[tuple[str, str], ...]) -> str:
    """Header pairs as AMI wire lines (``Name: value\r\n`` each, no blank line)."""
    return "".join([f"{k}: {v}\r\n" for k, v in headers])


@dataclass(eq=False)
class Bridge:
    """A basic two-party bridge."""

    uniqueid: str = field(default_factory=lambda: uuid4_text())
    channels: list[SimChannel] = field(default_factory=list)

    def block(self) -> Headers:
        """The Bridge* header block of BridgeCreate/Enter/Leave/Destroy."""
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]

    def block_text(self) -> str:
        """``block()`` as it goes on the AMI wire."""
        return _BRIDGE_FORMAT % (self.uniqueid, len(self.channels))


_BRIDGE_FORMAT = (
    "BridgeUniqueid: %s\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\n"
    "BridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: %d\r\n"
    "BridgeVideoSourceMode: none\r\n"
)
BRIDGE_LINES = 7  # lines of a Bridge block
BLOCK_LINES = len(_BLOCK)  # lines of a channel block


class IdAllocator:
    """Uniqueids (``<epoch>.<n>``) and per-technology channel sequence numbers."""

    def __init__(self, clock: Clock, first_uniqueid: int = 100, first_sequence: int = 0x20) -> None:
        self._clock = clock
        self._next_uid = first_uniqueid
        self._next_seq: dict[str, int] = {}
        self._first_seq = first_sequence
        self._preset: list[str] = []

    def preset(self, uniqueids: list[str]) -> None:
        """Use these uniqueids for the next channels (Originate ``ChannelId``/``OtherChannelId``)."""
        self._preset = list(uniqueids)

    def uniqueid(self) -> str:
        """A fresh uniqueid like ``1795457556.136`` (or the next preset one)."""
        if self._preset:
            return self._preset.pop(0)
        uid = f"{int(self._clock.time())}.{self._next_uid}"
        self._next_uid += 1
        return uid

    def sequence(self, tech: str) -> str:
        """The next 8-hex-digit sequence suffix for channels of ``tech``."""
        n = self._next_seq.get(tech, self._first_seq)
        self._next_seq[tech] = n + 1
        return f"{n:08x}"


def uuid4_text() -> str:
    """A random version-4 UUID as text, like ``str(uuid.uuid4())``; from ``random``, not
    ``os.urandom`` (one system call per bridge) -- nobody needs it unguessable here."""
    n = random.getrandbits(128) & ~(0xF000 << 64 | 0xC000 << 48) | 0x4000 << 64 | 0x8000 << 48
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def cause_text(cause: int) -> str:
    """Cause-txt for a Q.850 cause code."""
    return CAUSE_TEXT.get(cause, "Unknown")
