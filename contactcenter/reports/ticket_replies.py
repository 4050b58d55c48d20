"""A ticket's next responses, from its history, and the SLA's verdict on each: pure.

Design note. A **next response** is a public reply of ours to a customer who wrote again once we
had answered: the first ``customer-reply`` history row (a person's mail, not an autoreply) after
a public ``reply`` row starts a cycle, the next ``reply`` row ends it; more customer messages in
between change nothing (the cycle counts from the oldest unanswered one). It is the cycle the
tickets channel's next-response clock runs (``tickets/sla.py``: ``customer_replied``,
``respond``), and both its ends are history rows, so its time is exact.

Its SLA verdict is the channel's own, but the ticket's row keeps the due time of its current (or
last) cycle only (``next_response_due`` / ``_at``, revision 0030): an earlier cycle's due time,
moved by its pauses, was overwritten by the next cycle's. So each cycle is judged by what is left
of it, best first:

* the cycle the row holds (met at ``next_response_at``): late when met after
  ``next_response_due``, exactly;
* a cycle with a ``next_response:breach`` row (the escalation sweep writes one per cycle when it
  is overdue and not met yet): late;
* a cycle with a ``next_response:warning`` row and no breach: it had a target, met in time;
* any other cycle **before** the one the row holds (or before the one running now): in time,
  on the assumption that its clock ran too (an in-time cycle leaves no row). A policy that
  gained or lost its next-response target between two cycles makes this wrong for that ticket;
* a cycle after the one the row holds, or of a ticket whose row never ran the clock: no target
  (``None``), counted in no SLA figure.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGE_PREFIX = "next_response:"


@dataclass(frozen=True, slots=True)
class Cycle:
    """One next response: since when the customer waited, when we answered, in which queue
    and by whom; which SLA stages fired while it ran."""

    start: float
    met_at: float
    queue: str
    agent: str | None
    warned: bool = False
    breached: bool = False

    @property
    def seconds(self) -> float:
        """How long the customer waited (calendar time)."""
        return self.met_at - self.start


class Cycles:
    """Follows one ticket's next-response cycles through its history rows, in order."""

    def __init__(self) -> None:
        self.ended: list[Cycle] = []
        self._start: float | None = None
        self._warned = self._breached = False

    @property
    def running(self) -> bool:
        """Whether a customer waits for our answer now."""
        return self._start is not None

    def customer(self, at: float) -> None:
        """A person's message after our first answer: a cycle starts unless one runs."""
        if self._start is None:
            self._start, self._warned, self._breached = at, False, False

    def stage(self, stage: str) -> None:
        """An ``sla`` history row's stage (only the next response's count, while it runs)."""
        if self._start is None or not stage.startswith(STAGE_PREFIX):
            return
        self._warned = True
        self._breached = self._breached or stage.endswith(":breach")

    def reply(self, at: float, queue: str, agent: str | None) -> None:
        """Our public reply (not the first): it ends the running cycle, if any."""
        if self._start is None:
            return
        self.ended.append(Cycle(self._start, at, queue, agent, self._warned, self._breached))
        self._start = None

    def verdicts(self, due: float | None, met_at: float | None) -> list[bool | None]:
        """Late (True), in time (False) or no target (None) for each ended cycle, from the
        row's ``next_response_due`` and ``next_response_at`` (see the module's note)."""
        held: int | None = None  # index of the cycle the row holds; len(ended): a later one
        if due is not None:
            if met_at is None:
                held = len(self.ended)  # the row's cycle runs: every ended one came before
            else:
                held = next((i for i, c in enumerate(self.ended) if c.met_at == met_at), None)
        out: list[bool | None] = []
        for i, c in enumerate(self.ended):
            if i == held and due is not None and met_at is not None:
                out.append(met_at > due)
            elif c.breached:
                out.append(True)
            elif c.warned or (held is not None and i < held):
                out.append(False)
            else:
                out.append(None)
        return out
