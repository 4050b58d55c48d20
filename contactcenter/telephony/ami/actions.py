"""Typed constructors for the AMI actions we send; each returns a list of header pairs.

Header order follows what real Asterisk clients send (see the 2026-11-23 traces), with
``Action`` first; ``action_id`` (when given) goes last, which is where ``AmiClient`` puts the id
it allocates. Every value is checked for CR, LF and NUL here already, so a bad caller id fails
where it is built rather than deep inside the transport. ``Originate`` never lets a value choose
an ``Application``/``Data`` pair unless our own code passes both explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping

from contactcenter.telephony.ami.protocol import AmiUnsafeValueError, check_value

Headers = list[tuple[str, str]]

__all__ = [
    "LIST_ACTIONS",
    "BridgeInfo",
    "BridgeList",
    "Command",
    "CoreShowChannels",
    "CoreStatus",
    "DeviceStateList",
    "Getvar",
    "Hangup",
    "Headers",
    "Login",
    "Logoff",
    "MixMonitor",
    "MixMonitorMute",
    "Originate",
    "Ping",
    "PlayDTMF",
    "QueueStatus",
    "QueueSummary",
    "Redirect",
    "Setvar",
    "Status",
    "StopMixMonitor",
    "UserEvent",
    "with_action_id",
]

# Actions whose reply is "EventList: start", items, then a "*Complete" event.
LIST_ACTIONS = frozenset(
    {
        "coreshowchannels",
        "status",
        "bridgelist",
        "bridgeinfo",
        "queuestatus",
        "queuesummary",
        "devicestatelist",
    }
)

_DTMF = set("0123456789*#ABCDabcd")


def _build(action: str, *pairs: tuple[str, str | int | None], action_id: str | None) -> Headers:
    out: Headers = [("Action", action)]
    for key, value in pairs:
        if value is None:
            continue
        out.append((key, check_value(str(value), key)))
    if action_id is not None:
        out.append(("ActionID", check_value(action_id, "ActionID")))
    return out


def with_action_id(headers: Headers, action_id: str) -> Headers:
    """A copy of ``headers`` with any ActionID replaced by ``action_id`` (appended last)."""
    return [(k, v) for k, v in headers if k.lower() != "actionid"] + [
        ("ActionID", check_value(action_id, "ActionID"))
    ]


def Login(
    username: str, secret: str, events: str | None = "on", action_id: str | None = None
) -> Headers:
    """Authenticate; ``events="on"`` asks for the full event stream (None omits the header)."""
    return _build(
        "Login", ("Username", username), ("Secret", secret), ("Events", events),
        action_id=action_id,
    )


def Logoff(action_id: str | None = None) -> Headers:
    """End the session; Asterisk answers ``Goodbye`` and closes."""
    return _build("Logoff", action_id=action_id)


def Ping(action_id: str | None = None) -> Headers:
    """Keep-alive; answered by ``Ping: Pong``."""
    return _build("Ping", action_id=action_id)


def _variables(variables: Mapping[str, str] | None) -> str | None:
    if not variables:
        return None
    parts = []
    for name, value in variables.items():
        name = check_value(str(name), "variable name")
        value = check_value(str(value), f"variable {name}")
        # Asterisk splits the Variable header on commas and the name at the first '='.
        if not name or "=" in name or "," in name or "," in value:
            raise AmiUnsafeValueError(f"variable {name!r} cannot be sent in an Originate")
        parts.append(f"{name}={value}")
    return ",".join(parts)


def _priority(priority: int | str | None, application: str | None) -> int | str | None:
    if priority is None and application is None:
        return 1
    return priority


def Originate(
    channel: str,
    *,
    context: str | None = None,
    exten: str | None = None,
    priority: int | str | None = None,
    application: str | None = None,
    data: str | None = None,
    caller_id: str | None = None,
    timeout_ms: int | None = None,
    variables: Mapping[str, str] | None = None,
    account: str | None = None,
    async_: bool = True,
    channel_id: str | None = None,
    other_channel_id: str | None = None,
    action_id: str | None = None,
) -> Headers:
    """Place a call on ``channel`` to either a dialplan location or an application (not both)."""
    if application is not None and (context or exten or priority is not None):
        raise ValueError("Originate takes either context/exten/priority or application/data")
    if application is None and data is not None:
        raise ValueError("Originate data without an application")
    if application is None and not (context and exten):
        raise ValueError("Originate needs context and exten, or an application")
    if application is not None:
        head: tuple[tuple[str, str | int | None], ...] = (
            ("Application", application),
            ("Data", data),
        )
    else:
        head = ()
    return _build(
        "Originate",
        ("Channel", channel),
        *head,
        ("CallerID", caller_id),
        ("Context", context),
        ("Exten", exten),
        ("Priority", _priority(priority, application)),
        ("Timeout", timeout_ms),
        ("Variable", _variables(variables)),
        ("Account", account),
        ("ChannelId", channel_id),
        ("OtherChannelId", other_channel_id),
        ("Async", "true" if async_ else None),
        action_id=action_id,
    )


def Redirect(
    channel: str,
    context: str,
    exten: str,
    priority: int | str = 1,
    *,
    extra_channel: str | None = None,
    action_id: str | None = None,
) -> Headers:
    """Send ``channel`` (and optionally ``extra_channel``) to a dialplan location."""
    return _build(
        "Redirect", ("Channel", channel), ("ExtraChannel", extra_channel),
        ("Context", context), ("Exten", exten), ("Priority", priority),
        action_id=action_id,
    )


def Hangup(channel: str, cause: int | None = None, action_id: str | None = None) -> Headers:
    """Hang up ``channel`` (a name, or ``/regex/``) with an optional Q.850 cause."""
    return _build("Hangup", ("Channel", channel), ("Cause", cause), action_id=action_id)


def Getvar(variable: str, channel: str | None = None, action_id: str | None = None) -> Headers:
    """Read a channel variable or function (global when ``channel`` is None)."""
    return _build("Getvar", ("Channel", channel), ("Variable", variable), action_id=action_id)


def Setvar(
    variable: str, value: str, channel: str | None = None, action_id: str | None = None
) -> Headers:
    """Set a channel variable (global when ``channel`` is None)."""
    return _build(
        "Setvar", ("Channel", channel), ("Variable", variable), ("Value", value),
        action_id=action_id,
    )


def Status(
    channel: str | None = None,
    variables: list[str] | tuple[str, ...] | None = None,
    action_id: str | None = None,
) -> Headers:
    """List channel status (all channels, or one), optionally with some variables."""
    return _build(
        "Status", ("Channel", channel),
        ("Variables", ",".join(variables) if variables else None),
        action_id=action_id,
    )


def CoreShowChannels(action_id: str | None = None) -> Headers:
    """List every active channel (list action)."""
    return _build("CoreShowChannels", action_id=action_id)


def BridgeList(bridge_type: str | None = None, action_id: str | None = None) -> Headers:
    """List bridges (list action)."""
    return _build("BridgeList", ("BridgeType", bridge_type), action_id=action_id)


def BridgeInfo(bridge_uniqueid: str, action_id: str | None = None) -> Headers:
    """List the channels of one bridge (list action)."""
    return _build("BridgeInfo", ("BridgeUniqueid", bridge_uniqueid), action_id=action_id)


def MixMonitor(
    channel: str, file: str, options: str | None = None, command: str | None = None,
    action_id: str | None = None,
) -> Headers:
    """Start recording ``channel`` into ``file``."""
    return _build(
        "MixMonitor", ("Channel", channel), ("File", file), ("Options", options),
        ("Command", command), action_id=action_id,
    )


def MixMonitorMute(
    channel: str, state: bool, direction: str = "both", action_id: str | None = None
) -> Headers:
    """Mute (``state=True``) or unmute a running recording in one or both directions."""
    if direction not in ("read", "write", "both"):
        raise ValueError(f"bad MixMonitorMute direction {direction!r}")
    return _build(
        "MixMonitorMute", ("Channel", channel), ("Direction", direction),
        ("State", "1" if state else "0"), action_id=action_id,
    )


def StopMixMonitor(
    channel: str, mixmonitor_id: str | None = None, action_id: str | None = None
) -> Headers:
    """Stop recording ``channel``."""
    return _build(
        "StopMixMonitor", ("Channel", channel), ("MixMonitorID", mixmonitor_id),
        action_id=action_id,
    )


def PlayDTMF(
    channel: str, digit: str, duration_ms: int | None = None, action_id: str | None = None
) -> Headers:
    """Play one DTMF digit on ``channel``."""
    if len(digit) != 1 or digit not in _DTMF:
        raise ValueError(f"bad DTMF digit {digit!r}")
    return _build(
        "PlayDTMF", ("Channel", channel), ("Digit", digit), ("Duration", duration_ms),
        action_id=action_id,
    )


def QueueStatus(queue: str | None = None, action_id: str | None = None) -> Headers:
    """Asterisk app_queue status (list action)."""
    return _build("QueueStatus", ("Queue", queue), action_id=action_id)


def QueueSummary(queue: str | None = None, action_id: str | None = None) -> Headers:
    """Asterisk app_queue summary (list action)."""
    return _build("QueueSummary", ("Queue", queue), action_id=action_id)


def DeviceStateList(action_id: str | None = None) -> Headers:
    """List device states (list action)."""
    return _build("DeviceStateList", action_id=action_id)


def ShowDialPlan(context: str | None = None, extension: str | None = None,
                 action_id: str | None = None) -> Headers:
    """List dialplan priorities (list action: ``ListDialplan`` items); an Error reply when
    the context or extension does not exist. Class ``config`` or ``reporting``."""
    return _build("ShowDialPlan", ("Context", context), ("Extension", extension),
                  action_id=action_id)


def Command(command: str, action_id: str | None = None) -> Headers:
    """Run a CLI command; output comes back as ``Output:`` headers (``getall``)."""
    return _build("Command", ("Command", command), action_id=action_id)


def CoreStatus(action_id: str | None = None) -> Headers:
    """Uptime and call counters."""
    return _build("CoreStatus", action_id=action_id)


def UserEvent(name: str, fields: Mapping[str, str] | None = None,
              action_id: str | None = None) -> Headers:
    """Broadcast a custom ``UserEvent`` to every AMI client."""
    extra = tuple((check_value(k, "UserEvent field"), v) for k, v in (fields or {}).items())
    return _build("UserEvent", ("UserEvent", name), *extra, action_id=action_id)
