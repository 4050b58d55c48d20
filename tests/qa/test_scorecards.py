"""Scorecard forms, phrase spotting and scoring, without a server."""

from __future__ import annotations

import pytest

from contactcenter.qa.phrases import find_phrase
from contactcenter.qa.scorecards import FormError, auto_answers, parse_form, score
from contactcenter.qa.speech import Word

FORM = {"sections": [
    {"title": "Opening", "questions": [
        {"id": "disclosure", "text": "Recording disclosure in the first 30 s", "weight": 10,
         "critical": True, "allow_na": False,
         "auto": {"phrase": "this call may be recorded", "from_s": 0, "to_s": 30}},
        {"id": "no_guarantee", "text": "Never promises a refund", "weight": 5,
         "auto": {"phrase": "i guarantee a refund", "expect": "absent"}}]},
    {"title": "Manner", "questions": [
        {"id": "tone", "text": "Friendly tone", "kind": "scale", "scale_max": 5, "weight": 5},
        {"id": "upsell", "text": "Offered the upgrade", "weight": 5}]}]}


def _words(text: str, start: float, step: float = 0.4) -> list[Word]:
    return [Word(w, start + i * step, start + i * step + 0.3)
            for i, w in enumerate(text.split(" "))]


def test_phrase_is_found_in_its_window_with_its_time_even_with_a_wrong_word():
    words = _words("hello thank you for calling this call can be recorded ok", 3.0)
    match = find_phrase(words, "This call may be recorded.", 0, 30)
    assert match is not None and match.score == 0.8  # 4 of 5 words, in order
    assert match.start == pytest.approx(3.0 + 5 * 0.4) and match.heard == "this call can be recorded"
    assert find_phrase(words, "this call may be recorded", 0, 30, min_match=1.0) is None
    assert find_phrase(words, "this call may be recorded", 10, 30) is None  # said before 10 s
    # Order matters: the same words backwards are at most one word of the phrase in order.
    reversed_match = find_phrase(_words("recorded be may call this", 0),
                                 "this call may be recorded")
    assert reversed_match is None


def test_auto_answers_carry_their_evidence():
    form = parse_form(FORM)
    heard = auto_answers(form, _words("this call may be recorded how can i help", 1.5))
    assert heard["disclosure"].value == "yes"
    assert heard["disclosure"].evidence is not None
    assert heard["disclosure"].evidence.start == pytest.approx(1.5)
    assert heard["no_guarantee"].value == "yes" and heard["no_guarantee"].evidence is None
    late = auto_answers(form, _words("i guarantee a refund this call may be recorded", 28.0))
    assert late["disclosure"].value == "no"  # said, but after 30 s
    assert late["no_guarantee"].value == "no"  # the forbidden phrase was heard
    assert late["no_guarantee"].evidence.heard == "i guarantee a refund"


def test_na_leaves_the_denominator_and_a_critical_no_fails_the_whole():
    form = parse_form(FORM)
    full = score(form, {"disclosure": "yes", "no_guarantee": "yes", "tone": 4, "upsell": "no"})
    assert (full.points, full.possible) == (19.0, 25.0)
    assert full.percent == pytest.approx(76.0) and not full.failed
    na = score(form, {"disclosure": "yes", "no_guarantee": "yes", "tone": 4, "upsell": "na"})
    assert (na.points, na.possible) == (19.0, 20.0) and na.percent == pytest.approx(95.0)
    failed = score(form, {"disclosure": "no", "no_guarantee": "yes", "tone": 5, "upsell": "yes"})
    assert failed.failed and failed.failed_by == ("disclosure",)
    assert failed.percent == 0.0 and failed.points == 15.0  # the rest is kept for reports
    # A non-critical "no" costs its points only.
    assert not score(form, {"disclosure": "yes", "no_guarantee": "no", "tone": 5,
                            "upsell": "yes"}).failed
    assert score(form, {q: "na" for q in ("no_guarantee", "tone", "upsell")}).percent is None


def test_a_form_with_problems_is_refused_with_every_reason():
    bad = {"sections": [{"title": "x", "questions": [
        {"id": "a", "text": "A", "kind": "scale", "critical": True},
        {"id": "a", "text": "again"},
        {"id": "b c", "text": "bad id"},
        {"id": "d", "text": "D", "auto": {"phrase": "", "to_s": -1}},
        {"id": "e", "text": "E", "weight": "heavy", "colour": "red"}]}]}
    with pytest.raises(FormError) as err:
        parse_form(bad)
    text = str(err.value)
    for expected in ("only a yes_no question can be critical", "'a' is used twice",
                     "questions[2].id must be", "auto.phrase must be", "weight must be a number",
                     "unknown field(s) colour"):
        assert expected in text, text
    with pytest.raises(FormError, match="no question"):
        parse_form({"sections": []})
    assert parse_form(parse_form(FORM).as_json()) == parse_form(FORM)  # stored and read back


def test_answers_are_checked_against_their_question():
    form = parse_form(FORM)
    disclosure, tone = form.question("disclosure"), form.question("tone")
    assert disclosure.problem("yes") is None and disclosure.problem("na") is not None
    assert disclosure.problem(3) is not None
    assert tone.problem(5) is None and tone.problem(6) is not None and tone.problem("na") is None
    assert tone.problem(True) is not None
