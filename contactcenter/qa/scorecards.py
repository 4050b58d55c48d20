"""Scorecard forms (sections of weighted questions), automatic answers, and the score.

A form, as admins write it (JSON, ``docs/qa.md``)::

    {"sections": [{"title": "Opening", "questions": [
        {"id": "disclosure", "text": "Recording disclosure in the first 30 s",
         "kind": "yes_no", "weight": 10, "critical": true, "allow_na": false,
         "auto": {"phrase": "this call may be recorded", "from_s": 0, "to_s": 30}},
        {"id": "tone", "text": "Friendly tone", "kind": "scale", "scale_max": 5, "weight": 5}]}]}

Scoring: a question answered ``na`` leaves both the points and the possible points; ``yes`` earns
its weight, ``no`` nothing, a scale answer ``v`` earns ``weight * v / scale_max``. A critical
question answered ``no`` fails the evaluation: ``failed`` is true and ``percent`` is 0 whatever
the other answers earned (the points stay, so a report can still show what the rest was worth).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contactcenter.common.timestamps import iso
from contactcenter.qa.phrases import PhraseMatch, find_phrase
from contactcenter.qa.speech import Word

YES, NO, NA = "yes", "no", "na"
YES_NO, SCALE = "yes_no", "scale"
PRESENT, ABSENT = "present", "absent"
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
MAX_QUESTIONS = 200

Value = str | int | None


class FormError(ValueError):
    """A scorecard form that cannot be used, with every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class AutoRule:
    """Answer a yes/no question from the transcript: was ``phrase`` said in the window?"""

    phrase: str
    from_s: float = 0.0
    to_s: float | None = None
    expect: str = PRESENT  # "absent": hearing the phrase is the wrong answer (a forbidden phrase)
    min_match: float = 0.8


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a form."""

    id: str
    text: str
    kind: str = YES_NO
    weight: float = 1.0
    critical: bool = False
    allow_na: bool = True
    scale_max: int = 5
    auto: AutoRule | None = None

    def problem(self, value: Value) -> str | None:
        """Why ``value`` is not an answer to this question (None when it is)."""
        if value == NA:
            return None if self.allow_na else f"{self.id}: N/A is not allowed"
        if self.kind == YES_NO:
            return None if value in (YES, NO) else f"{self.id}: answer yes, no or na"
        if isinstance(value, int) and not isinstance(value, bool) and \
                0 <= value <= self.scale_max:
            return None
        return f"{self.id}: answer a whole number from 0 to {self.scale_max}, or na"


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of questions."""

    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Form:
    """A scorecard's sections, in order."""

    sections: tuple[Section, ...]

    def questions(self) -> Iterator[Question]:
        """Every question, in order."""
        for section in self.sections:
            yield from section.questions

    def question(self, question_id: str) -> Question | None:
        """The question with this id."""
        return next((q for q in self.questions() if q.id == question_id), None)

    def as_json(self) -> dict[str, Any]:
        """The form as stored (and as ``parse_form`` reads it)."""
        def auto(rule: AutoRule | None) -> dict[str, Any] | None:
            if rule is None:
                return None
            return {"phrase": rule.phrase, "from_s": rule.from_s, "to_s": rule.to_s,
                    "expect": rule.expect, "min_match": rule.min_match}

        return {"sections": [
            {"title": s.title, "questions": [
                {"id": q.id, "text": q.text, "kind": q.kind, "weight": q.weight,
                 "critical": q.critical, "allow_na": q.allow_na, "scale_max": q.scale_max,
                 "auto": auto(q.auto)} for q in s.questions]}
            for s in self.sections]}


def _number(data: Mapping[str, Any], key: str, default: float, where: str,
            problems: list[str], low: float, high: float) -> float:
    value = data.get(key, default)
    if value is None and key == "to_s":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        problems.append(f"{where}.{key} must be a number from {low:g} to {high:g}")
        return default
    return float(value)


def _auto(data: Any, where: str, problems: list[str]) -> AutoRule | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append(f"{where}.auto must be an object")
        return None
    unknown = set(data) - {"phrase", "from_s", "to_s", "expect", "min_match"}
    if unknown:
        problems.append(f"{where}.auto: unknown field(s) {', '.join(sorted(unknown))}")
    phrase = data.get("phrase")
    if not isinstance(phrase, str) or not phrase.strip() or len(phrase) > 200:
        problems.append(f"{where}.auto.phrase must be 1 to 200 characters")
        return None
    expect = data.get("expect", PRESENT)
    if expect not in (PRESENT, ABSENT):
        problems.append(f"{where}.auto.expect must be present or absent")
    from_s = _number(data, "from_s", 0.0, f"{where}.auto", problems, 0, 86400)
    to_raw = data.get("to_s")
    to_s = None if to_raw is None else _number(data, "to_s", 0.0, f"{where}.auto", problems,
                                               0, 86400)
    if to_s is not None and to_s < from_s:
        problems.append(f"{where}.auto.to_s must not be before from_s")
    min_match = _number(data, "min_match", 0.8, f"{where}.auto", problems, 0.1, 1.0)
    return AutoRule(phrase.strip(), from_s, to_s, expect, min_match)


def _question(data: Any, where: str, seen: set[str], problems: list[str]) -> Question | None:
    if not isinstance(data, dict):
        problems.append(f"{where} must be an object")
        return None
    unknown = set(data) - {"id", "text", "kind", "weight", "critical", "allow_na", "scale_max",
                           "auto"}
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    qid, text = data.get("id"), data.get("text")
    if not isinstance(qid, str) or not _ID.match(qid):
        problems.append(f"{where}.id must be 1 to 40 letters, digits, '_', '.' or '-'")
        return None
    if qid in seen:
        problems.append(f"{where}.id {qid!r} is used twice")
    seen.add(qid)
    if not isinstance(text, str) or not text.strip() or len(text) > 500:
        problems.append(f"{where}.text must be 1 to 500 characters")
        text = qid
    kind = data.get("kind", YES_NO)
    if kind not in (YES_NO, SCALE):
        problems.append(f"{where}.kind must be yes_no or scale")
        kind = YES_NO
    weight = _number(data, "weight", 1.0, where, problems, 0, 1000)
    critical, allow_na = data.get("critical", False), data.get("allow_na", True)
    for name, flag in (("critical", critical), ("allow_na", allow_na)):
        if not isinstance(flag, bool):
            problems.append(f"{where}.{name} must be true or false")
    scale_max = data.get("scale_max", 5)
    if isinstance(scale_max, bool) or not isinstance(scale_max, int) or not 1 <= scale_max <= 10:
        problems.append(f"{where}.scale_max must be a whole number from 1 to 10")
        scale_max = 5
    auto = _auto(data.get("auto"), where, problems)
    if kind == SCALE and critical is True:
        problems.append(f"{where}: only a yes_no question can be critical")
    if kind == SCALE and auto is not None:
        problems.append(f"{where}: only a yes_no question can be answered automatically")
    return Question(qid, text.strip(), kind, weight, critical is True, allow_na is not False,
                    scale_max, auto)


def parse_form(data: Any) -> Form:
    """A form from its JSON; ``FormError`` listing every problem."""
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise FormError(["the form must be an object with a list of sections"])
    if set(data) - {"sections"}:
        problems.append(f"unknown field(s) {', '.join(sorted(set(data) - {'sections'}))}")
    sections, seen = [], set[str]()
    for i, raw in enumerate(data["sections"]):
        where = f"sections[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("questions"), list):
            problems.append(f"{where} must be an object with a list of questions")
            continue
        title = raw.get("title", "")
        if not isinstance(title, str) or len(title) > 200:
            problems.append(f"{where}.title must be text of at most 200 characters")
            title = ""
        questions = [q for j, item in enumerate(raw["questions"])
                     if (q := _question(item, f"{where}.questions[{j}]", seen, problems))]
        sections.append(Section(title, tuple(questions)))
    count = sum(len(s.questions) for s in sections)
    if count == 0:
        problems.append("the form has no question")
    if count > MAX_QUESTIONS:
        problems.append(f"the form has more than {MAX_QUESTIONS} questions")
    if problems:
        raise FormError(problems)
    return Form(tuple(sections))


@dataclass(frozen=True, slots=True)
class AutoAnswer:
    """What the transcript says for one question, with the evidence."""

    value: str
    phrase: str
    evidence: PhraseMatch | None
    message: int | None = None  # a chat's or a ticket's: the line the phrase was written in
    at: datetime | None = None  # and when it was written

    def as_json(self) -> dict[str, Any]:
        """``{value, phrase, evidence}``; written evidence also has ``message`` and ``at``."""
        evidence = self.evidence.as_json() if self.evidence else None
        if evidence is not None and self.message is not None:
            evidence.update(message=self.message, at=iso(self.at))
        return {"value": self.value, "phrase": self.phrase, "evidence": evidence}


def auto_answers(form: Form, words: Sequence[Word]) -> dict[str, AutoAnswer]:
    """An answer for every question with an ``auto`` rule, from ``words``."""
    out = {}
    for q in form.questions():
        rule = q.auto
        if rule is None:
            continue
        match = find_phrase(words, rule.phrase, rule.from_s, rule.to_s, rule.min_match)
        said = match is not None
        value = YES if said == (rule.expect == PRESENT) else NO
        out[q.id] = AutoAnswer(value, rule.phrase, match)
    return out


@dataclass(frozen=True, slots=True)
class Score:
    """The result of a set of answers."""

    points: float
    possible: float
    percent: float | None  # None when every question was N/A
    failed: bool
    failed_by: tuple[str, ...] = ()  # the critical questions answered "no"

    def as_json(self) -> dict[str, Any]:
        """``{points, possible, percent, failed, failed_by}``."""
        return {"points": round(self.points, 3), "possible": round(self.possible, 3),
                "percent": None if self.percent is None else round(self.percent, 1),
                "failed": self.failed, "failed_by": list(self.failed_by)}


def score(form: Form, values: Mapping[str, Value]) -> Score:
    """Score ``values`` (question id -> answer); unanswered questions count as N/A."""
    points = possible = 0.0
    failed_by = []
    for q in form.questions():
        value = values.get(q.id)
        if value is None or value == NA:
            continue
        possible += q.weight
        if q.kind == YES_NO:
            if value == YES:
                points += q.weight
            elif q.critical:
                failed_by.append(q.id)
        elif isinstance(value, int):
            points += q.weight * value / q.scale_max
    percent = None if possible == 0 else 100.0 * points / possible
    if failed_by:
        percent = 0.0
    return Score(points, possible, percent, bool(failed_by), tuple(failed_by))
