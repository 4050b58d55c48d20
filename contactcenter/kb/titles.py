"""The titles a search falls back on: typo correction against their words, fuzzy whole titles.

Design note: read once per change of the articles (the service empties its cache on every
write: this server is the only writer) and kept per locale and states. The words of the titles
always shown are worked out once; a scheduled article (``publish_at``) joins, with its words,
when the reader's time has reached it, so nothing about it shows before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contactcenter.kb.query import WORD


def _title_words(titles: list[str]) -> set[str]:
    return {w for t in titles for w in WORD.findall(t.lower()) if len(w) >= 3}


@dataclass(frozen=True, slots=True)
class Titles:
    """The titles a reader sees, for typo tolerance: (id, title), the same lowercased by id,
    and their words of three letters or more (sorted, and as a set)."""

    titles: list[tuple[int, str]]
    lowered: dict[int, str]
    vocabulary: list[str]
    known: set[str]


class TitleCache:
    """One locale's and states' titles, read once per change of the articles: the words of
    those always shown are worked out once; a scheduled article's, when its time has come."""

    def __init__(self, rows: list[tuple[int, str, datetime | None]]) -> None:
        self.rows = rows
        always = [(i, t) for i, t, at in rows if at is None]
        known = _title_words([t for _, t in always])
        self.always = Titles(always, {i: t.lower() for i, t in always}, sorted(known), known)
        self.scheduled = [(i, t, at) for i, t, at in rows if at is not None]

    def shown(self, until: datetime) -> Titles:
        """The titles shown by ``until``."""
        due = [(i, t) for i, t, at in self.scheduled if at <= until]
        if not due:
            return self.always
        known = self.always.known | _title_words([t for _, t in due])
        titles = [(i, t) for i, t, at in self.rows if at is None or at <= until]
        return Titles(titles, {i: t.lower() for i, t in titles}, sorted(known), known)
