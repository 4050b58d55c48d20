"""Phrase spotting in a transcript: where (if anywhere) a phrase was said within a time window.

Design note: an offline recogniser on telephone audio gets words wrong ("may be recorded" for
"can be recorded"), so a phrase is found when enough of its words occur in order among about
as many transcript words (``min_match``, the share of the phrase's words; 1.0 = all of them,
in order, with at most ``slack`` extra words between). The match carries the time of its first
and last word and the words heard: the evidence an evaluator sees and may overrule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contactcenter.qa.speech import Word

_WORD = re.compile(r"[a-z0-9']+")


def words_of(text: str) -> list[str]:
    """``text`` as lower-case words (letters, digits, apostrophes)."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """Where a phrase was heard: seconds from the start of the recording, and what was heard."""

    start: float
    end: float
    heard: str
    score: float  # share of the phrase's words found, in order

    def as_json(self) -> dict[str, Any]:
        """``{start, end, heard, score}``."""
        return {"start": round(self.start, 2), "end": round(self.end, 2), "heard": self.heard,
                "score": round(self.score, 3)}


def _in_order(phrase: Sequence[str], heard: Sequence[str]) -> list[int]:
    """Indexes into ``heard`` of the longest in-order run of ``phrase``'s words (LCS)."""
    n, m = len(phrase), len(heard)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = (table[i + 1][j + 1] + 1 if phrase[i] == heard[j]
                           else max(table[i + 1][j], table[i][j + 1]))
    picked, i, j = [], 0, 0
    while i < n and j < m:
        if phrase[i] == heard[j]:
            picked.append(j)
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return picked


def find_phrase(words: Sequence[Word], phrase: str, start_s: float = 0.0,
                end_s: float | None = None, min_match: float = 0.8,
                slack: int = 2) -> PhraseMatch | None:
    """The best (then earliest) place ``phrase`` was said between ``start_s`` and ``end_s``
    (a word counts when it starts in the window), or None."""
    wanted = words_of(phrase)
    if not wanted:
        return None
    window = [w for w in words if w.start >= start_s and (end_s is None or w.start <= end_s)]
    heard = [w.text.lower() for w in window]
    span = len(wanted) + slack
    best: PhraseMatch | None = None
    for first in range(len(window)):
        if heard[first] not in wanted:
            continue  # a match starts on one of the phrase's words
        picked = [first + k for k in _in_order(wanted, heard[first:first + span])]
        score = len(picked) / len(wanted)
        if score < min_match or (best is not None and score <= best.score):
            continue
        a, b = window[picked[0]], window[picked[-1]]
        best = PhraseMatch(a.start, b.end, " ".join(heard[picked[0]:picked[-1] + 1]), score)
    return best


def find_all(words: Sequence[Word], phrase: str, min_match: float = 0.8,
             slack: int = 2) -> list[PhraseMatch]:
    """Every place ``phrase`` was said, earliest first, none overlapping (keyword spotting)."""
    wanted = words_of(phrase)
    if not wanted:
        return []
    heard = [w.text.lower() for w in words]
    span = len(wanted) + slack
    out: list[PhraseMatch] = []
    first = 0
    while first < len(words):
        if heard[first] in wanted:
            picked = [first + k for k in _in_order(wanted, heard[first:first + span])]
            score = len(picked) / len(wanted)
            if score >= min_match:
                a, b = words[picked[0]], words[picked[-1]]
                out.append(PhraseMatch(a.start, b.end,
                                       " ".join(heard[picked[0]:picked[-1] + 1]), score))
                first = picked[-1] + 1
                continue
        first += 1
    return out
