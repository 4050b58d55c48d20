"""Search queries: the web-search syntax people type, parsed once, written for each database.

Design note: both databases get the same parsed query, so they answer the same question.
The syntax is PostgreSQL's ``websearch_to_tsquery``: words must all match, ``"quoted words"``
match as a phrase, ``-word`` excludes, ``or`` separates alternatives (``a or b c`` is a, or b
and c). Only runs of letters and digits survive the parse, so neither FTS5's query language nor
tsquery's operators can be reached from the text. Stop words are dropped here, per language,
for both databases: PostgreSQL's dictionaries drop them anyway, FTS5 has no such list and
would otherwise require "how" and "do" to be in the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"\w+")
_CHUNK = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
MAX_TERMS = 32
MAX_WORD = 64

# PostgreSQL's (Snowball's) English list, so both databases drop the same words.
_EN = """i me my myself we our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves what which who
whom this that these those am is are was were be been being have has had having do does did
doing a an the and but if or because as until while of at by for with about against between
into through during before after above below to from up down in out on off over under again
further then once here there when where why how all any both each few more most other some
such no nor not only own same so than too very s t can will just don should now"""
_FR = """au aux avec ce ces dans de des du elle en et eux il je la le les leur lui ma mais me
même mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes
toi ton tu un une vos votre vous c d j l à m n s t y été est suis es sont comment quoi"""
_DE = """aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dein
der des dem den die dies doch du durch ein eine einem einen einer er es für hat hatte ich ihr
im in ist ja kann mein mich mir mit nach nicht noch nun nur ob oder sich sie sind so über um
und uns unser von vor war was weil wenn wer wie wir wo zu zum zur wird werden kein keine"""
_ES = """a al algo como con de del el ella ellos en es esta este está hay la las le les lo los
me mi mis muy más no nos o para pero por que qué se si sin sobre su sus te tu tus un una uno
y ya yo cómo"""
STOP_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split()) for lang, words in
    {"en": _EN, "fr": _FR, "de": _DE, "es": _ES}.items()}


def language(locale: str) -> str:
    """``pt-br`` -> ``pt``."""
    return locale.split("-", 1)[0]


def stop_words(locale: str) -> frozenset[str]:
    return STOP_WORDS.get(language(locale), frozenset())


@dataclass(frozen=True, slots=True)
class Term:
    """One word, or a phrase of several in a row."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Conjunction:
    """Every term must match and no excluded one may."""

    terms: tuple[Term, ...]
    excluded: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """Alternatives: an article matches when one of them matches."""

    alternatives: tuple[Conjunction, ...]

    @property
    def empty(self) -> bool:
        return not self.alternatives

    def words(self) -> list[str]:
        """Every word that must or may match, in order, once each."""
        seen: dict[str, None] = {}
        for conj in self.alternatives:
            for term in conj.terms:
                seen.update(dict.fromkeys(term.words))
        return list(seen)

    def excluded(self) -> tuple[Term, ...]:
        """Every excluded term, once each."""
        return tuple(dict.fromkeys(t for conj in self.alternatives for t in conj.excluded))

    def fts5(self) -> str:
        """The FTS5 MATCH expression (every word quoted: FTS5's own syntax stays out)."""
        def term(t: Term) -> str:
            return '"' + " ".join(t.words) + '"'

        parts = []
        for conj in self.alternatives:
            text = " AND ".join(term(t) for t in conj.terms)
            text += "".join(f" NOT {term(t)}" for t in conj.excluded)
            parts.append(f"({text})")
        return " OR ".join(parts)

    def websearch(self) -> str:
        """The same query as ``websearch_to_tsquery`` text."""
        def term(t: Term, sign: str = "") -> str:
            single = len(t.words) == 1 and t.words[0] != "or"
            return sign + (t.words[0] if single else '"' + " ".join(t.words) + '"')

        return " or ".join(
            " ".join([term(t) for t in conj.terms] + [term(t, "-") for t in conj.excluded])
            for conj in self.alternatives)

    def text(self) -> str:
        """The query written back (for people: the corrected query, the gaps list)."""
        return self.websearch()

    def any_of_its_words(self) -> Query:
        """Articles with any of this query's words, each alone (phrases split, exclusions
        left out): what a title or the tags must hold for the search's first tier."""
        return Query(tuple(Conjunction((Term((w,)),)) for w in self.words()))


def words_of(text: str) -> tuple[str, ...]:
    """The words of ``text`` as a query holds them: lowercase runs of letters and digits."""
    return tuple(w[:MAX_WORD] for w in WORD.findall(text.lower()))


def parse(text: str, locale: str) -> Query:
    """The query in ``text`` (web-search syntax), stop words of ``locale`` left out."""
    stops = stop_words(locale)
    alternatives: list[list[tuple[bool, Term]]] = [[]]
    count = 0
    for match in _CHUNK.finditer(text):
        minus = bool(match.group(1) or match.group(3))
        quoted = match.group(2) is not None
        raw = match.group(2) if quoted else match.group(4)
        if not quoted and not minus and raw.lower() == "or":
            if alternatives[-1]:
                alternatives.append([])
            continue
        words = words_of(raw)
        if not words or count >= MAX_TERMS:
            continue
        count += 1
        alternatives[-1].append((minus, Term(words)))
    out = []
    for alt in alternatives:
        terms = [t for minus, t in alt if not minus]
        kept = [t for t in terms if len(t.words) > 1 or t.words[0] not in stops]
        terms = kept or terms  # a query of stop words only ("the who") keeps them
        excluded = tuple(t for minus, t in alt if minus)
        if terms:  # exclusions alone would match almost everything: not a question
            out.append(Conjunction(tuple(terms), excluded))
    return Query(tuple(out))


def any_word(words: list[str], locale: str, excluded: tuple[Term, ...] = ()) -> Query:
    """Articles with any of ``words`` (stop words left out) and none of ``excluded``: the
    relaxed search, assist."""
    stops = stop_words(locale)
    kept = [w for w in dict.fromkeys(words) if w not in stops][:MAX_TERMS]
    return Query(tuple(Conjunction((Term((w,)),), excluded) for w in kept))


def replace_words(query: Query, corrections: dict[str, str]) -> Query:
    """``query`` with single words replaced as ``corrections`` says (typo correction)."""
    def fix(t: Term) -> Term:
        return Term(tuple(corrections.get(w, w) for w in t.words))

    return Query(tuple(Conjunction(tuple(fix(t) for t in c.terms), c.excluded)
                       for c in query.alternatives))

