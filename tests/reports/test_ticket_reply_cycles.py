"""The SLA verdicts of a ticket's next-response cycles (``reports/ticket_replies.py``) as a table:
what the ticket's row holds, breach and warning rows, cycles before and after the row's, a
cycle running now, a ticket whose clock never ran."""

from __future__ import annotations

import pytest

from contactcenter.reports.ticket_replies import Cycles


def cycles(*script: tuple[str, float]) -> Cycles:
    """Cycles after ``script``: ("customer", at), ("reply", at), ("warning"|"breach", 0)."""
    out = Cycles()
    for what, at in script:
        if what == "customer":
            out.customer(at)
        elif what == "reply":
            out.reply(at, "email", "a1")
        else:
            out.stage(f"next_response:{what}")
    return out


THREE = (("customer", 10), ("customer", 15), ("reply", 20),  # 10 s, the 2nd message changes nothing
         ("reply", 25),  # nobody waited
         ("customer", 30), ("warning", 0), ("breach", 0), ("reply", 50),
         ("customer", 60), ("warning", 0), ("reply", 70))


@pytest.mark.parametrize(("due", "met_at", "verdicts"), [
    # The row holds the last cycle, met late: the first (no row) in time, the second breached.
    (65.0, 70.0, [False, True, True]),
    (75.0, 70.0, [False, True, False]),  # met in time
    # The row holds the second cycle: the third came after it (the clock did not run it),
    # yet its warning row says it had a target.
    (45.0, 50.0, [False, True, False]),
    (45.0, 20.0, [False, True, False]),  # the first: held, met in time
    (None, None, [None, True, False]),  # no clock on the row: only the rows tell
    (200.0, None, [False, True, False]),  # a cycle runs now: every ended one came before
])
def test_verdicts_of_each_cycle(due, met_at, verdicts):
    played = cycles(*THREE)
    assert [(c.start, c.met_at, c.seconds) for c in played.ended] == [
        (10, 20, 10), (30, 50, 20), (60, 70, 10)]
    assert played.verdicts(due, met_at) == verdicts


def test_a_cycle_after_the_one_the_row_holds_has_no_target():
    played = cycles(("customer", 10), ("reply", 20), ("customer", 30), ("reply", 40))
    assert played.verdicts(25.0, 20.0) == [False, None]
    assert played.verdicts(15.0, 20.0) == [True, None]
    assert not played.running
    played.customer(50)
    played.stage("resolution:breach")  # another target's stage
    assert played.running and played.verdicts(15.0, 20.0) == [True, None]
