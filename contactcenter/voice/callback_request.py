"""A caller's "call me back": check the number, then register a callback that keeps their place.

Two paths lead here: the flow's ``message`` node with ``purpose: callback`` (after the queue
node's own max wait let the caller out: the interaction has just exited) and a queue exit or
leave destination of type ``callback`` (the voice queue glue). Both call ``request_callback``
with the call's interaction id (its uniqueid) and caller id. The routing engine re-opens the
interaction that just exited, or turns the waiting one into a callback, with its original
order key (docs/routing.md, "Callbacks"). A caller id that cannot be dialled back is refused
here, before it can reach a dial string; so is a call with no place in line to keep.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contactcenter.routing.errors import RoutingError
from contactcenter.routing.service import RoutingService

log = logging.getLogger(__name__)

_DIALABLE = re.compile(r"\+?[0-9]{3,20}")


def dialable_number(text: str | None) -> str:
    """``text`` if it is a number we may call back (digits, optionally a leading +, 3 to 20
    digits), else ValueError. Spaces, letters, ``*``/``#``, CR/LF and dial options are refused."""
    if not isinstance(text, str) or not _DIALABLE.fullmatch(text):
        raise ValueError(f"not a dialable number: {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class CallbackRegistration:
    """What became of a callback request: ``detail`` is for the log and the flow's result."""

    ok: bool
    number: str | None
    detail: str


async def request_callback(routing: RoutingService, interaction_id: str,
                           caller_id: str | None,
                           data: Mapping[str, Any] | None = None) -> CallbackRegistration:
    """Register a callback to ``caller_id`` for ``interaction_id``, keeping its place."""
    try:
        number = dialable_number(caller_id)
    except ValueError:
        detail = "refused: the caller id is not a dialable number"
        log.warning("call=%s: callback %s (%r)", interaction_id, detail, caller_id)
        return CallbackRegistration(False, None, detail)
    try:
        await routing.request_callback(interaction_id, number, dict(data or {}))
    except (RoutingError, ValueError) as exc:
        detail = f"refused: no place in line to keep ({exc})"
        log.warning("call=%s: callback to %s %s", interaction_id, number, detail)
        return CallbackRegistration(False, number, detail)
    log.info("call=%s: callback to %s requested", interaction_id, number)
    return CallbackRegistration(True, number, "requested")
