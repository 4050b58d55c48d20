"""When a caller's Dial ended, read from Asterisk after the fact (a server restart hid it).

Design note. A call answered before a restart whose agent hung up while no server listened
comes back to us through the dialplan's AGI retry, possibly long after its Dial returned; the
moment its talk ended has no event left. Asterisk still knows it: Dial's end sets
``DIALEDTIME_MS`` on the caller's channel, its age at that moment (app_dial's
end_bridge_callback: the channel's age and up time, not the agent's talk, see
tests/telephony/test_sim_dial_times.py), and the ``Status`` action gives the channel's age now
(``Seconds``) with that variable in one reply. ``Seconds`` counts whole seconds
(``now.tv_sec - creation.tv_sec``), so the end is known to within a second. ``dial_ended_at``
is the arithmetic; ``DialEndReader`` the one AMI request around it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from contactcenter.domain.clock import Clock
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.protocol import AmiMessage

log = logging.getLogger(__name__)

VARIABLE = "DIALEDTIME_MS"
Ask = Callable[[str, list[tuple[str, str]]], Awaitable[list[AmiMessage]]]


def dial_ended_at(item: AmiMessage, now: float) -> float | None:
    """The clock time the channel's last Dial ended, from its ``Status`` item read at ``now``
    (asked with ``Variables: DIALEDTIME_MS``); None when either figure is missing."""
    seconds = (item.get("Seconds") or "").strip()
    values = dict(v.partition("=")[::2] for v in item.getall("Variable"))
    dialed = values.get(VARIABLE, "").strip()
    if not seconds.isdigit() or not dialed.isdigit():
        return None
    return min(now, now - int(seconds) + int(dialed) / 1000)


class DialEndReader:
    """Asks a PBX (``ask(pbx, headers)``: an AMI list action) when a channel's Dial ended."""

    def __init__(self, ask: Ask, clock: Clock) -> None:
        self.ask, self.clock = ask, clock

    async def ended_at(self, pbx: str, channel: str) -> float | None:
        """When ``channel``'s last Dial ended (clock time); None when Asterisk cannot say."""
        try:
            items = await self.ask(pbx, actions.Status(channel, [VARIABLE]))
        except Exception as exc:  # noqa: BLE001 - AMI down: the time the AGI came back stands
            log.info("channel %s: no Status for its Dial's end: %s", channel, exc)
            return None
        now = self.clock.time()
        return next((at for item in items if item.get("Event") == "Status"
                     and (at := dial_ended_at(item, now)) is not None), None)
