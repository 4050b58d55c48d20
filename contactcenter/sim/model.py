"""What tests and the demo hand the simulator: its configuration, phones and caller scripts.

All durations are clock seconds (``SimConfig.clock`` may run faster than real time). Every text
that the simulator will later put on the AMI or AGI wire is checked here: CR, LF and NUL are
refused with ``ValueError`` so that a bad script fails where it is written, not on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from contactcenter.domain.clock import Clock

from .events import NameFilter


def check_safe(what: str, value: str | None) -> None:
    """Refuse a value that would break AMI/AGI framing (CR, LF or NUL)."""
    if value is not None and ("\r" in value or "\n" in value or "\x00" in value):
        raise ValueError(f"{what} contains CR, LF or NUL: {value!r}")


@dataclass(frozen=True, slots=True)
class Press:
    """The caller presses ``digits``; the first ``after`` clock seconds into the command."""

    digits: str
    after: float = 0.0

    def __post_init__(self) -> None:
        bad = [d for d in self.digits if d not in "0123456789*#ABCD"]
        if not self.digits or bad:
            raise ValueError(f"Press needs DTMF digits, got {self.digits!r}")


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller presses nothing during one digit-reading command."""


Step = Press | Silence


@dataclass(frozen=True, slots=True)
class Phone:
    """A simulated endpoint reachable by ``dial_string`` (``PJSIP/1001`` or ``Local/1001@agents``)."""

    dial_string: str
    answer_after: float | None = 1.0  # None: rings until the dialler gives up
    talk_for: float | None = 30.0  # None: stays until the other side hangs up
    caller_id: str = ""  # what the phone shows as its own number (defaults to the extension)
    audio: bool = True  # carries RTP-like audio (ChanSpy wakes up on it, quirk 17)
    busy: bool = False  # refuses every call at once: the dialler gets BUSY (cause 17)
    speech: str | None = None  # an 8 kHz WAV it says on every call, into recordings (voices.py)

    def __post_init__(self) -> None:
        check_safe("dial_string", self.dial_string)
        check_safe("caller_id", self.caller_id)
        tech, _, rest = self.dial_string.partition("/")
        if tech not in ("PJSIP", "SIP", "Local") or not rest:
            raise ValueError(f"unsupported dial string {self.dial_string!r}")
        if tech == "Local" and "@" not in rest:
            raise ValueError(f"Local dial string needs exten@context: {self.dial_string!r}")


@dataclass(slots=True)
class CallerScript:
    """One inbound caller: who calls, which number, what they press, when they hang up."""

    caller_id: str | None = None
    caller_name: str | None = None
    exten: str = "100"
    agi_url: str | None = None
    steps: list[Step] = field(default_factory=list)
    hangup_after: float | None = 120.0  # clock seconds after answer; None: never
    context: str = "cc-inbound"
    variables: dict[str, str] = field(default_factory=dict)
    speech: str | None = None  # an 8 kHz WAV the caller says once bridged (voices.py)

    def __post_init__(self) -> None:
        for what, value in (
            ("caller_id", self.caller_id),
            ("caller_name", self.caller_name),
            ("exten", self.exten),
            ("agi_url", self.agi_url),
            ("context", self.context),
        ):
            check_safe(what, value)
        for name, value in self.variables.items():
            check_safe("variable name", name)
            check_safe("variable value", value)
        if not self.exten:
            raise ValueError("exten must not be empty")


# AMI write classes (manager.conf labels, manager.c ``perms[]``).
WRITE_CLASSES = frozenset({
    "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
    "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security",
    "message", "all", "none",
})
# What dialplan/manager_contactcenter.conf grants our AMI user (``write =``); a test keeps the
# two equal, so the simulator refuses exactly what a real Asterisk would refuse the server.
CONTACTCENTER_WRITE = "call,originate,reporting"
# ... and ``read =``: the event classes the server follows (channel, dial and bridge events;
# key presses). No ``dialplan`` (VarSet, Newexten: a third of Asterisk's events), ``agi``,
# ``agent`` or ``reporting`` (RTCP): the server uses none of them.
CONTACTCENTER_READ = "call,dtmf"
# ... and its ``eventfilter`` lines: call-class events the server has no use for, excluded
# at the PBX (Asterisk's advanced filters, by event name: no regex per event).
CONTACTCENTER_EVENT_FILTERS = (
    "eventfilter(action(exclude),name(DeviceStateChange)) =",
    "eventfilter(action(exclude),name(HangupRequest)) =",
    "eventfilter(action(exclude),name(SoftHangupRequest)) =",
    "eventfilter(action(exclude),name(MusicOnHoldStart)) =",
    "eventfilter(action(exclude),name(MusicOnHoldStop)) =",
    "eventfilter(action(exclude),name(DialState)) =",
)
_FILTER = re.compile(r"eventfilter\((?P<criteria>[^=]*)\)\s*=\s*(?P<expr>.*)")
_CRITERION = re.compile(r"(?P<key>action|name)\((?P<value>[A-Za-z0-9_]+)\)")


def parse_event_filters(lines: tuple[str, ...] | list[str]) -> NameFilter:
    """``eventfilter(action(include|exclude),name(X)) =`` lines -> a NameFilter.

    Only filters by event name are simulated (header(), method() and legacy regex filters are
    refused with ValueError rather than silently ignored).
    """
    include: set[str] = set()
    exclude: set[str] = set()
    for line in lines:
        m = _FILTER.fullmatch(line.strip())
        if m is None or m.group("expr").strip():
            raise ValueError(f"simulated eventfilter must be by name only: {line!r}")
        parts = [p.strip() for p in m.group("criteria").split(",") if p.strip()]
        found = dict(_c(p, line) for p in parts)
        if "name" not in found or found.get("action", "include") not in ("include", "exclude"):
            raise ValueError(f"simulated eventfilter needs name() and include/exclude: {line!r}")
        (exclude if found.get("action") == "exclude" else include).add(found["name"])
    return NameFilter(frozenset(include), frozenset(exclude))


def _c(part: str, line: str) -> tuple[str, str]:
    m = _CRITERION.fullmatch(part)
    if m is None:
        raise ValueError(f"simulated eventfilter criterion not supported: {part!r} in {line!r}")
    return m.group("key"), m.group("value")


def parse_write_classes(value: str, what: str = "write classes") -> frozenset[str]:
    """``"call,originate"`` -> the class names; ValueError on a name Asterisk does not know."""
    check_safe(what, value)
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    unknown = names - WRITE_CLASSES
    if unknown:
        raise ValueError(f"unknown AMI class(es): {', '.join(sorted(unknown))}")
    return names


@dataclass(slots=True)
class SimConfig:
    """How the simulated Asterisk listens and where it hands inbound calls."""

    ami_host: str = "127.0.0.1"
    ami_port: int = 0
    ami_users: dict[str, str] = field(default_factory=lambda: {"cc": "ccsecret"})
    # Per-user ``write =`` of manager.conf; a user not listed gets ``default_write``.
    ami_write: dict[str, str] = field(default_factory=dict)
    default_write: str = CONTACTCENTER_WRITE
    # Per-user ``read =``: the event classes a session receives; others get ``default_read``.
    ami_read: dict[str, str] = field(default_factory=dict)
    default_read: str = CONTACTCENTER_READ
    # Per-user ``eventfilter`` lines; others get ``default_event_filters``.
    ami_event_filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_event_filters: tuple[str, ...] = CONTACTCENTER_EVENT_FILTERS
    agi_url: str = "agi://127.0.0.1:4573/ivr?flow=main"
    # Several servers (CONTACTCENTER_AGI_NODES): their URLs, tried in order as the shipped
    # dialplan does (a refused connection: the next one); empty: ``agi_url`` alone.
    agi_urls: tuple[str, ...] = ()
    clock: Clock = field(default_factory=Clock)
    recordings_dir: Path | None = None
    inbound_contexts: tuple[str, ...] = ("cc-inbound",)
    bad_login_delay: float = 1.0  # clock seconds before "Authentication failed" (quirk 3)
    agi_connect_delay: float = 0.5  # clock seconds between ;2 Answer and the AGI connection
    sound_lengths: dict[str, float] = field(default_factory=dict)  # extra/overriding lengths
    missing_sounds: frozenset[str] = frozenset({"nonexistent-file"})
    # Optional wire tap for benchmarks: called with (AGI channel uniqueid, "read" | "sent", text)
    # for every command line read from the server and every text written to it, at that moment.
    agi_trace: Callable[[str, str, str], None] | None = None
    # Events kept for tests (``pbx.bus.history``/``named``); 0 keeps none (benchmarks).
    event_history: int = 20000
    # The Asterisk's dialplan lacks [contactcenter-subs] offer (an old extensions_contactcenter
    # .conf): Dial's B() then finds nothing, and ShowDialPlan says so.
    without_offer_sub: bool = False
    # ... or lacks [contactcenter-answered] (older still): Dial's U() finds nothing, and the
    # agent's answer leaves no stamp on the caller's channel.
    without_answered_sub: bool = False

    def __post_init__(self) -> None:
        self.agi_urls = tuple(self.agi_urls)
        for url in self.agi_urls:
            check_safe("agi_urls", url)
        parse_write_classes(self.default_write)
        for user, classes in self.ami_write.items():
            check_safe("AMI user", user)
            parse_write_classes(classes)
        parse_write_classes(self.default_read, "read classes")
        parse_event_filters(self.default_event_filters)
        for filters in self.ami_event_filters.values():
            parse_event_filters(filters)
        for user, classes in self.ami_read.items():
            check_safe("AMI user", user)
            parse_write_classes(classes, "read classes")

    def agi_nodes(self) -> tuple[str, ...]:
        """The FastAGI URLs an inbound call tries, in order (``agi_urls``, else ``agi_url``)."""
        return self.agi_urls or (self.agi_url,)

    def event_filter(self, user: str) -> NameFilter:
        """The event-name filter of AMI user ``user`` (manager.conf ``eventfilter``)."""
        return parse_event_filters(self.ami_event_filters.get(user, self.default_event_filters))

    def read_classes(self, user: str) -> frozenset[str]:
        """The read classes of AMI user ``user`` (manager.conf ``read =``)."""
        return parse_write_classes(self.ami_read.get(user, self.default_read), "read classes")

    def write_classes(self, user: str) -> frozenset[str]:
        """The write classes of AMI user ``user`` (manager.conf ``write =``)."""
        return parse_write_classes(self.ami_write.get(user, self.default_write))
