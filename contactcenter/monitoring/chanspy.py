"""ChanSpy arguments for listen / whisper / barge on one EXACT channel.

Design note: ChanSpy's first argument is a name PREFIX by default (app_chanspy.c builds its
iterator with ``ast_channel_iterator_by_name_new(spec, strlen(spec))``, a ``strncasecmp``), so
``PJSIP/1001`` would also match ``PJSIP/10011-0000002a`` and, worse, it would cycle to another
call once the first one ends. We always pass the full channel name (``PJSIP/1001-0000001a``)
AND the ``u`` option, with which ChanSpy looks the channel up with ``ast_channel_get_by_name``
(exact name or uniqueid) and iterates over that one channel only. ``E`` makes the spy leg hang up
when the spied-on channel does, so a spy never outlives the call or moves on to another one.
``q`` suppresses the beep and the channel-name announcement. The name is also refused if it
contains characters that would split ChanSpy's arguments (``,``) or the wire (CR, LF, NUL).
"""

from __future__ import annotations

import enum
import re

# Tech/resource-<hex or decimal sequence>, optionally ;1/;2 for Local channel halves.
_EXACT_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/[^\s,|()\"';]+-[0-9A-Fa-f]+(;[12])?")


class SpyMode(str, enum.Enum):
    """What the supervisor does on the call."""

    LISTEN = "listen"
    WHISPER = "whisper"  # the agent hears the supervisor, the caller does not
    BARGE = "barge"  # both hear the supervisor


_MODE_OPTIONS = {SpyMode.LISTEN: "q", SpyMode.WHISPER: "qw", SpyMode.BARGE: "qB"}


class BadChannelError(ValueError):
    """Not a complete, safe channel name (a bare device like ``PJSIP/1001`` is refused)."""


def check_exact_channel(channel: str) -> str:
    """Return ``channel`` if it is a full channel name ChanSpy can match exactly."""
    if not isinstance(channel, str) or not _EXACT_CHANNEL.fullmatch(channel):
        raise BadChannelError(f"{channel!r} is not a complete channel name")
    return channel


def spy_options(mode: SpyMode) -> str:
    """ChanSpy option letters for ``mode`` (plus ``E`` and ``u``, see the module note)."""
    return _MODE_OPTIONS[SpyMode(mode)] + "Eu"


def chanspy_data(channel: str, mode: SpyMode) -> str:
    """The ``Data`` of the Originate: ``<exact channel>,<options>``."""
    return f"{check_exact_channel(channel)},{spy_options(mode)}"
