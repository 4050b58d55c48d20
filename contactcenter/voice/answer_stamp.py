"""When an agent answered, as the caller's channel recorded it (a server restart hid it).

Design note. An agent who answers while no server listens (the server stopped or restarted
between the Dial and the answer) leaves no event anyone received, and Asterisk itself keeps
no trace of that answer on the caller (``ANSWEREDTIME`` and ``DIALEDTIME`` measure from the
caller's own answer and creation, ``dial_end.py``). So every Dial to an agent carries option
``U(contactcenter-answered^<interaction>^<offer>)``: once the agent answered and before the
bridge, Asterisk runs the dialplan's ``[contactcenter-answered]`` on the agent's leg, which sets
``SHARED(CC_ANSWERED,<interaction>)`` = ``<offer number>@<epoch seconds.ms>`` on the caller's
channel (the interaction id is the caller's uniqueid, and SHARED finds a channel by uniqueid).

A restarted server that adopts such a call reads it: the AMI resync that finds the caller
bridged with the agent asks ``Status`` with ``Variables: SHARED(CC_ANSWERED)`` (manager.c reads
functions there), and a caller whose AGI comes back after the talk is asked over AGI. The offer
number keeps an answer of an earlier offer of the same call (answered, then sent back to a
queue) from passing for this one. The time is the PBX's wall clock (kept by NTP like the
server's); the routing engine keeps it between the offer and now. A dialplan without the
subroutine (older ``extensions_contactcenter.conf``: Asterisk logs an error and bridges all the
same) leaves nothing to read, and the answer counts from when the server learned it, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from contactcenter.domain.clock import Clock
from contactcenter.telephony.agi.api import Subroutine
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.protocol import AmiMessage

log = logging.getLogger(__name__)

ANSWERED_CONTEXT = "contactcenter-answered"
VARIABLE = "CC_ANSWERED"
FUNCTION = f"SHARED({VARIABLE})"  # read on the caller's own channel: no channel argument
Ask = Callable[[str, list[tuple[str, str]]], Awaitable[list[AmiMessage]]]


def answered_subroutine(iid: str, offer_number: str) -> Subroutine:
    """Dial's ``U()`` for offer ``offer_number`` of interaction ``iid`` (the caller's uniqueid)."""
    return Subroutine(ANSWERED_CONTEXT, "s", (iid, offer_number))


def stamped_at(value: str | None, offer_number: str, now: float) -> float | None:
    """The answer time in ``value`` (``<offer>@<epoch.ms>``) when it is offer
    ``offer_number``'s, no later than ``now``; None when absent, malformed or another offer's."""
    offer, sep, when = (value or "").strip().partition("@")
    if not sep or offer != offer_number:
        return None
    try:
        at = float(when)
    except ValueError:
        return None
    return min(at, now) if at > 0 else None


class AnswerStampReader:
    """Asks a PBX (``ask(pbx, headers)``: an AMI list action) when a caller's agent answered."""

    def __init__(self, ask: Ask, clock: Clock) -> None:
        self.ask, self.clock = ask, clock

    async def answered_at(self, pbx: str, channel: str, offer_number: str) -> float | None:
        """When offer ``offer_number`` dialled from ``channel`` was answered (clock time);
        None when the caller's channel has no stamp of it."""
        try:
            items = await self.ask(pbx, actions.Status(channel, [FUNCTION]))
        except Exception as exc:  # noqa: BLE001 - AMI down again: the resync's time stands
            log.info("channel %s: no Status for its answer stamp: %s", channel, exc)
            return None
        now = self.clock.time()
        for item in items:
            if item.get("Event") != "Status":
                continue
            values = dict(v.partition("=")[::2] for v in item.getall("Variable"))
            at = stamped_at(values.get(FUNCTION), offer_number, now)
            if at is not None:
                return at
        return None
