"""Whether each PBX's dialplan holds what the server relies on, asked over AMI.

Every Dial to an agent runs ``[contactcenter-subs] offer`` on the caller's channel (Dial's
option ``B``, ``voice/queue.py``). An Asterisk whose ``extensions_contactcenter.conf`` is
older than the server's logs an error and dials all the same, so calls keep working and nothing
shows the loss: callers ringing an agent when the server restarts are then hung up instead of
resumed. So after every AMI resync the server asks the PBX (``ShowDialPlan``, class
``reporting``, which the server's AMI user has) and keeps the answer for ``/api/health``.
The same goes for ``[contactcenter-answered] s``, which Dial's ``U`` runs on the agent's answer
(``answer_stamp.py``): without it, an answer made while no server listened counts from when a
restarted server found it. It is asked once the offer subroutine is fine (one problem at a time,
the older one first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.client import AmiActionError
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.telephony.callmodel_core import listens_to
from contactcenter.telephony.events import ModelResynced
from contactcenter.voice.answer_stamp import ANSWERED_CONTEXT
from contactcenter.voice.answer_stamp import VARIABLE as ANSWER_STAMP
from contactcenter.voice.queue import OFFER_SUBROUTINE

log = logging.getLogger(__name__)

DIALPLAN_OK, DIALPLAN_UNCHECKED = "ok", "unchecked"
OK, UNCHECKED = DIALPLAN_OK, DIALPLAN_UNCHECKED
# What the offer subroutine must set for a restarted server to resume and settle the caller.
NEEDED = ("CC_RESUME=1", "CC_OFFER=${ARG3}")
# What the answered subroutine must write for a restarted server to date an unseen answer.
ANSWERED_NEEDED = f"SHARED({ANSWER_STAMP},${{ARG1}})=${{ARG2}}@"

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class ListsActions(Protocol):
    async def send_list_action(self, headers: Any, timeout: float = ...) -> list[AmiMessage]: ...


def verdict(items: list[AmiMessage]) -> str:
    """``OK``, or what is wrong with the offer subroutine's priorities as listed."""
    data = " ".join(f"{m.get('Application') or ''}({m.get('AppData') or ''})" for m in items)
    missing = [name for name in NEEDED if name not in data]
    if missing:
        context, exten = OFFER_SUBROUTINE
        return (f"[{context}] {exten} does not set {', '.join(missing)}: update "
                "extensions_contactcenter.conf from the server's dialplan/")
    return OK


def answered_verdict(items: list[AmiMessage]) -> str:
    """``OK``, or what is wrong with the answered subroutine's priorities as listed."""
    if any(ANSWERED_NEEDED in (m.get("AppData") or "").replace(" ", "") for m in items):
        return OK
    return (f"[{ANSWERED_CONTEXT}] s does not set {ANSWERED_NEEDED}<time>: update "
            "extensions_contactcenter.conf from the server's dialplan/")


class DialplanCheck:
    """Per PBX, the last answer about the offer subroutine (``OK`` or a problem)."""

    def __init__(self, link_of: Callable[[str], ListsActions | None], spawn: Spawn) -> None:
        self.link_of, self.spawn = link_of, spawn
        self.status: dict[str, str] = {}

    def of(self, pbx: str) -> str:
        """The last answer for ``pbx``; ``UNCHECKED`` before its first resync."""
        return self.status.get(pbx, UNCHECKED)

    @listens_to(ModelResynced)
    def on_telephony_event(self, event: object) -> None:
        """Subscriber of every PBX link's typed telephony events."""
        if isinstance(event, ModelResynced):
            self.spawn(self._check(event.pbx))

    async def _check(self, pbx: str) -> None:
        await self.check(pbx)

    async def check(self, pbx: str) -> str:
        """Ask ``pbx`` now; keep and return the answer."""
        link = self.link_of(pbx)
        if link is None:
            return UNCHECKED
        context, exten = OFFER_SUBROUTINE
        try:
            items = await link.send_list_action(actions.ShowDialPlan(context, exten))
        except AmiActionError as exc:  # "Did not find extension offer@contactcenter-subs"
            answer = (f"{exc}: update extensions_contactcenter.conf from the server's "
                      "dialplan/ (callers ringing an agent at a restart would be hung up)")
        except (TimeoutError, ConnectionError) as exc:
            log.info("AMI %s: dialplan check not answered (%s)", pbx, exc)
            return self.of(pbx)
        else:
            answer = verdict(items)
            if answer == OK:
                answered = await self._check_answered(link)
                if answered is None:
                    return self.of(pbx)
                answer = answered
        if answer != OK and answer != self.status.get(pbx):
            log.warning("AMI %s: %s", pbx, answer)
        self.status[pbx] = answer
        return answer

    async def _check_answered(self, link: ListsActions) -> str | None:
        """The answered subroutine's verdict; None when the PBX did not answer."""
        try:
            items = await link.send_list_action(actions.ShowDialPlan(ANSWERED_CONTEXT, "s"))
        except AmiActionError as exc:  # "Did not find context contactcenter-answered"
            return (f"{exc}: update extensions_contactcenter.conf from the server's dialplan/ "
                    "(an agent's answer made while the server restarts would count from the "
                    "restart)")
        except (TimeoutError, ConnectionError) as exc:
            log.info("AMI: answered-subroutine check not answered (%s)", exc)
            return None
        return answered_verdict(items)
