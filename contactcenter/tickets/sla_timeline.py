"""A ticket's SLA clocks as a timeline: pure, from its clocks and its history.

Design note: nothing new is stored for the timeline. The clocks give each target's current
warning and due moments and when it was met; the history gives the rest: the stages that
fired (``sla`` rows, each with its moment), the pauses (changes of status into and out of
``SLA_PAUSED``; one still open ends at ``now``) and the next-response cycles (a customer's
message once an agent answered starts one, our next public reply ends it: ``customer-reply``
and ``reply`` rows). The page draws it and lists the same facts as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contactcenter.tickets import sla
from contactcenter.tickets.model import SLA_PAUSED, Change, Status, Ticket

LABELS = {"first_response": "First response", "next_response": "Next response",
          "resolution": "Resolution"}
_PAUSED = {s.value for s in SLA_PAUSED}


def pauses(history: Sequence[Change], now: float) -> list[dict[str, float]]:
    """Spans in which the clocks stood still, in order (the last may run until ``now``)."""
    out: list[dict[str, float]] = []
    since: float | None = None
    for h in history:
        if h.field != "status":
            continue
        old, new = str(h.old), str(h.new)
        if new in _PAUSED and old not in _PAUSED and since is None:
            since = h.at
        elif old in _PAUSED and new not in _PAUSED and since is not None:
            out.append({"from": since, "to": h.at})
            since = None
    if since is not None:
        out.append({"from": since, "to": now, "open": True})
    return out


def reply_cycles(history: Sequence[Change]) -> list[dict[str, float | None]]:
    """Next-response cycles: from the first customer message (not an autoreply) after one of
    our public replies to our next public reply (None: still waiting)."""
    out: list[dict[str, float | None]] = []
    answered, start = False, None
    for h in history:
        if h.field == "reply":
            if start is not None:
                out.append({"start": start, "met_at": h.at})
            answered, start = True, None
        elif h.field == "customer-reply" and answered and start is None \
                and not (isinstance(h.new, dict) and h.new.get("automatic")):
            start = h.at
    if start is not None:
        out.append({"start": start, "met_at": None})
    return out


def timeline(ticket: Ticket, history: Sequence[Change], bt: sla.BusinessTime,
             now: float) -> dict[str, Any]:
    """The timeline of ``ticket`` (``policy`` None: no SLA applies)."""
    clocks = ticket.sla
    done = ticket.status in (Status.SOLVED, Status.CLOSED)
    shown = sla.view(clocks, bt, now, done) or {}
    marks = [{"at": h.at, "stage": h.new.get("stage"), "due": h.new.get("due")}
             for h in history if h.field == "sla" and isinstance(h.new, dict)]
    cycles = reply_cycles(history)
    targets = []
    for target in sla.TARGETS:
        state = shown.get(target)
        if target == "next_response":
            # Past cycles: their start and when they were met (their due times moved on).
            for cycle in cycles[:-1] if state else cycles:
                if cycle["met_at"] is not None:
                    targets.append({"target": target, "label": LABELS[target],
                                    "start": cycle["start"], "warn": None, "due": None,
                                    "met_at": cycle["met_at"], "state": "met",
                                    "current": False})
        if not state:
            continue
        start = ticket.created_at
        if target == "next_response" and cycles:
            start = cycles[-1]["start"] or start
        targets.append({"target": target, "label": LABELS[target], "start": start,
                        "warn": state["warn"], "due": state["due"], "met_at": state["met_at"],
                        "state": state["state"], "current": True})
    return {"ticket": ticket.id, "policy": clocks.policy, "created_at": ticket.created_at,
            "now": now, "paused": bool(shown.get("paused")), "targets": targets,
            "marks": marks, "pauses": pauses(history, now)}
