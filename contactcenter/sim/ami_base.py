"""Shared pieces of the simulated AMI's action handlers: reply framing and channel lookup.

Replies put ``ActionID`` second when the request had one (quirk 5) and leave it out otherwise;
list actions send ``EventList: start``, the items, then ``<Name>Complete``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from contactcenter.telephony.ami.protocol import AmiMessage

from .channels import Headers, SimChannel

if TYPE_CHECKING:
    from .ami_server import AmiSession
    from .dialplan import Dialplan

Handler = Callable[["AmiSession", AmiMessage], Awaitable[None]]


def reply(msg: AmiMessage, response: str, *pairs: tuple[str, str]) -> Headers:
    """``Response`` then ``ActionID`` (when the request had one) then ``pairs``."""
    aid = msg.get("ActionID")
    return [("Response", response)] + ([("ActionID", aid)] if aid is not None else []) + list(pairs)


def item(msg: AmiMessage, event: str, *pairs: tuple[str, str]) -> Headers:
    """A list item / completion event with ActionID second."""
    aid = msg.get("ActionID")
    return [("Event", event)] + ([("ActionID", aid)] if aid is not None else []) + list(pairs)


class ActionGroup:
    """A group of handlers; every ``do_<action>`` method answers the AMI action of that name."""

    def __init__(self, dp: Dialplan) -> None:
        self.dp, self.pbx, self.clock = dp, dp.pbx, dp.clock

    def action_handlers(self) -> dict[str, Handler]:
        """``{action name in lower case: handler}`` for this group's ``do_`` methods."""
        return {name[3:]: getattr(self, name) for name in dir(self) if name.startswith("do_")}

    def _channel(self, s: AmiSession, msg: AmiMessage, missing: str) -> SimChannel | None:
        name = msg.get("Channel")
        if not name:
            s.send(reply(msg, "Error", ("Message", missing)))
            return None
        ch = self.pbx.find(name)
        if ch is None:
            s.send(reply(msg, "Error", ("Message", "No such channel")))
        return ch

    def _list(
        self,
        s: AmiSession,
        msg: AmiMessage,
        message: str,
        complete: str,
        items: list[Headers],
        extra: Headers | tuple[tuple[str, str], ...] = (),
    ) -> None:
        s.send(reply(msg, "Success", ("EventList", "start"), ("Message", message)))
        for it in items:
            s.send(it)
        s.send(
            item(msg, complete, ("EventList", "Complete"), ("ListItems", str(len(items))), *extra)
        )

    def _ordered(self) -> list[SimChannel]:
        return sorted(self.pbx.channels.values(), key=lambda c: c.name)
