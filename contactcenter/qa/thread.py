"""A chat's messages or a ticket's thread as QA reads them, and automatic answers from them.

Design note: pure, no I/O (``interactions.py`` reads the lines). A call's automatic answers come
from its transcript, timed in seconds from the start of the recording; a written interaction's
come from its lines, each timed in seconds from when the agent took it (a chat's acceptance,
a ticket's creation), so a scorecard's window (``from_s``, ``to_s``) means the same thing on
every channel: "within the first 30 s of the agent's part". Only the agent's own lines are
read (public ones for a ticket): an evaluation judges what the agent wrote, and a customer
quoting a phrase must not answer for them. A phrase is looked for within one line (a match
never spans two messages); the best match wins, then the earliest, and its evidence names the
line and its time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contactcenter.common.timestamps import iso
from contactcenter.qa.phrases import find_phrase, words_of
from contactcenter.qa.scorecards import NO, PRESENT, YES, AutoAnswer, Form
from contactcenter.qa.speech import Word

AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Line:
    """One message of a chat, or one article of a ticket's thread."""

    number: int  # the chat message's seq, or the ticket article's id
    at: datetime
    offset_s: float  # seconds from when the agent took the interaction (may be negative)
    author: str  # agent | visitor | customer | system
    name: str
    text: str
    internal: bool = False  # a ticket's internal note

    def as_json(self) -> dict[str, Any]:
        """The line for the evaluation page."""
        return {"number": self.number, "at": iso(self.at), "offset_s": round(self.offset_s, 1),
                "author": self.author, "name": self.name, "text": self.text,
                "internal": self.internal}


def auto_answers_from_lines(form: Form, lines: Sequence[Line]) -> dict[str, AutoAnswer]:
    """An answer for every question with an ``auto`` rule, from the agent's public lines."""
    mine = [ln for ln in lines if ln.author == AGENT and not ln.internal]
    out = {}
    for q in form.questions():
        rule = q.auto
        if rule is None:
            continue
        best: AutoAnswer | None = None
        for line in mine:
            words = [Word(w, line.offset_s, line.offset_s) for w in words_of(line.text)]
            match = find_phrase(words, rule.phrase, rule.from_s, rule.to_s, rule.min_match)
            if match is None or (best is not None and best.evidence is not None
                                 and match.score <= best.evidence.score):
                continue
            best = AutoAnswer("", rule.phrase, match, line.number, line.at)
        said = best is not None
        value = YES if said == (rule.expect == PRESENT) else NO
        out[q.id] = AutoAnswer(value, rule.phrase, best.evidence if best else None,
                               best.message if best else None, best.at if best else None)
    return out
