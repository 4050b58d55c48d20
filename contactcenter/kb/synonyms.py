"""The admins' synonyms: groups of words or short phrases that a search treats as one.

Design note: a group is a set of equals (``cancel``, ``terminate``, ``end contract``), per
locale. A query is expanded before it reaches a database (``with_synonyms``): where a word, a
quoted phrase or a run of words is a synonym, each member of its group makes one more
alternative of the same parsed query, so SQLite's MATCH and PostgreSQL's websearch text are
written from one expanded question and the two keep answering alike. The query as typed stays
the first alternative; exclusions stay as typed; the expansion is capped. Matching happens
after stop words were dropped, like everything in the query.
"""

from __future__ import annotations

import itertools

from contactcenter.kb.model import KbError
from contactcenter.kb.query import Conjunction, Query, Term, words_of

MAX_GROUPS = 1000
MAX_GROUP_TERMS = 20
MAX_SYNONYM_WORDS = 4  # words in one synonym ("sim card", "end of contract")
MAX_ALTERNATIVES = 32  # alternatives a query may grow to with its synonyms
Synonyms = dict[tuple[str, ...], tuple[Term, ...]]


def synonym_term(text: str) -> tuple[str, ...]:
    """A synonym as the query sees it: its words, lowercase."""
    return words_of(text)


def synonym_map(groups: list[list[str]]) -> Synonyms:
    """Each synonym's words -> every term of its group, itself first."""
    out: Synonyms = {}
    for group in groups:
        terms = [Term(synonym_term(t)) for t in group]
        for term in terms:
            out[term.words] = (term, *(t for t in terms if t != term))
    return out


def with_synonyms(query: Query, synonyms: Synonyms) -> Query:
    """``query`` where a word, a quoted phrase or a run of words that is a synonym may be any
    of its group: each combination becomes an alternative (the query as typed first), at
    most ``MAX_ALTERNATIVES``; exclusions stay as typed."""
    if not synonyms:
        return query
    out: dict[Conjunction, None] = {}
    for conj in query.alternatives:
        slots: list[tuple[Term, ...]] = []
        terms, i = conj.terms, 0
        while i < len(terms):
            found = None
            for n in range(min(MAX_SYNONYM_WORDS, len(terms) - i), 0, -1):
                span = terms[i:i + n]
                if n > 1 and any(len(t.words) != 1 for t in span):
                    continue
                key = tuple(w for t in span for w in t.words)
                if key in synonyms:
                    found = (n, synonyms[key])
                    break
            if found is None:
                slots.append((terms[i],))
                i += 1
            else:
                slots.append(found[1])
                i += found[0]
        for combination in itertools.product(*slots):
            if len(out) >= MAX_ALTERNATIVES:
                break
            out[Conjunction(tuple(combination), conj.excluded)] = None
    return Query(tuple(out))


def clean_synonyms(groups: list[list[str]]) -> list[list[str]]:
    """The groups as stored: synonyms lowercased, one space between words, each once;
    KbError when a group or a synonym breaks the rules."""
    if len(groups) > MAX_GROUPS:
        raise KbError("invalid", f"at most {MAX_GROUPS} synonym groups")
    seen: dict[str, int] = {}
    clean = []
    for n, group in enumerate(groups, 1):
        terms = list(dict.fromkeys(" ".join(synonym_term(t)) for t in group))
        if any(not t or len(t.split()) > MAX_SYNONYM_WORDS for t in terms):
            raise KbError("invalid", f"group {n}: a synonym is 1 to {MAX_SYNONYM_WORDS} "
                                     "words of letters or digits")
        if not 2 <= len(terms) <= MAX_GROUP_TERMS:
            raise KbError("invalid", f"group {n}: 2 to {MAX_GROUP_TERMS} different "
                                     "synonyms")
        for t in terms:
            if t in seen:
                raise KbError("invalid", f"{t!r} is in groups {seen[t]} and {n}: a "
                                         "synonym belongs to one group")
            seen[t] = n
        clean.append(terms)
    return clean
