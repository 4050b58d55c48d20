"""The call-class AMI events the server never uses, dropped at the PBX by name.

Our AMI user reads only the ``call`` and ``dtmf`` classes; within ``call`` these events are
frequent and of no use to any part of the server, so ``dialplan/manager_contactcenter.conf``
excludes them with Asterisk's advanced event filters (by name: a hash lookup in Asterisk, no
regex). ``contactcenter doctor`` warns when they are missing; tests keep the shipped conf (and
so the simulator's defaults, which mirror it) equal to this list, and every AMI subscriber of
the server off it.
"""

from __future__ import annotations

UNUSED_EVENTS = (
    "DeviceStateChange",
    "HangupRequest",
    "SoftHangupRequest",
    "MusicOnHoldStart",
    "MusicOnHoldStop",
    "DialState",
)


def exclude_lines(events: tuple[str, ...] = UNUSED_EVENTS) -> tuple[str, ...]:
    """manager.conf ``eventfilter`` lines excluding ``events`` by name."""
    return tuple(f"eventfilter(action(exclude),name({name})) =" for name in events)
