"""Chat flows (``channel: chat``): the checks with file:line errors, the ``kb_answer`` node,
and the text runner offline, through ``flows check`` / ``flows test`` as an admin runs them."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.ivr.cli import flows_check, flows_test
from contactcenter.ivr.loader import load_flow_text
from contactcenter.ivr.model import KbAnswerNode
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.text_flowtest import ScriptedVisitor, StubKb
from contactcenter.ivr.text_runner import KbArticle, TextFlowRunner

BOT = """\
channel: chat
entry: ask
handover: person
nodes:
  ask:
    type: kb_answer
    prompt: "Your question, {visitor_name}?"
    min_score: 1.5
    match: all
    answered: bye
    not_answered: person
  person:
    type: queue
    queue: web
    data: {question: kb.question}
  bye:
    type: hangup
    prompt: "Bye!"
"""


def errors(text: str) -> list[str]:
    with pytest.raises(SourceErrors) as info:
        load_flow_text(text, "bot.yaml")
    return [str(e) for e in info.value.errors]


def test_a_chat_flow_loads_with_its_kb_answer_node():
    flow = load_flow_text(BOT, "bot.yaml")
    assert (flow.channel, flow.handover) == ("chat", "person")
    node = flow.nodes["ask"]
    assert isinstance(node, KbAnswerNode)
    assert (node.match, node.min_score, node.max_articles) == ("all", 1.5, 3)
    assert node.no_match == "person"  # defaults to not_answered
    assert (node.yes_label, node.no_label) == ("Yes", "No")


@pytest.mark.parametrize(("text", "where", "message"), [
    # a voice-only node in a chat flow, at its type
    (BOT + "  talk:\n    type: say\n    digits: '1'\n    next: bye\n", "bot.yaml:20:11",
     "a 'say' node cannot run in a chat flow"),
    # a voice-only key of a shared node kind
    (BOT.replace("    queue: web\n", "    queue: web\n    max_wait: 60\n"), "bot.yaml:15:5",
     "'max_wait' has no meaning in a chat flow"),
    # kb_answer in a voice flow
    (BOT.replace("channel: chat\n", "").replace("handover: person\n", "")
     .replace('"Your question, {visitor_name}?"', "cc/q").replace('"Bye!"', "cc/bye"),
     "bot.yaml:4:11", "a 'kb_answer' node cannot run in a voice flow"),
    # a bad hole in a bot message
    (BOT.replace("{visitor_name}", "{visitor name}"), "bot.yaml:7:", "bad 'prompt'"),
    # match, labels, and the flow-level keys
    (BOT.replace("match: all", "match: some"), "bot.yaml:9:12", "'match' must be one of"),
    (BOT.replace("    answered: bye", "    yes_label: OK\n    no_label: ok\n    answered: bye"),
     "bot.yaml:6:5", "'yes_label' and 'no_label' must differ"),
    (BOT.replace("channel: chat", "channel: sms"), "bot.yaml:1:10", "'channel' must be one of"),
    (BOT.replace("handover: person", "handover: nobody"), "bot.yaml:3:11",
     "'nobody', which does not exist"),
    (BOT.replace("    answered: bye", "    answered: bye\n    retries: 2"), "bot.yaml:11:5",
     "unknown key 'retries' in kb_answer node 'ask'"),
])
def test_chat_flow_mistakes_point_at_their_line(text, where, message):
    found = errors(text)
    assert any(e.startswith(where) and message in e for e in found), found


def test_menu_buttons_in_a_chat_flow_are_labels_and_need_on_invalid():
    menu = ("channel: chat\nentry: m\nnodes:\n  m:\n    type: menu\n    prompt: Pick one\n"
            "    choices: {Billing: q, %s: q}\n    on_timeout: q\n  q:\n    type: queue\n"
            "    queue: web\n")
    found = errors(menu % ("x" * 41))
    assert any(e.startswith("bot.yaml:7:") and "must be a label of 1 to 40" in e
               for e in found), found
    assert any(e.startswith("bot.yaml:8:5") and "'on_timeout' has no meaning" in e
               for e in found), found
    assert any(e.startswith("bot.yaml:5:5") and "missing required key 'on_invalid'" in e
               for e in found), found


def run(flow_text: str, says: list[str], articles: list[KbArticle], mode: str = "all"):
    flow = load_flow_text(flow_text, "bot.yaml")
    visitor, kb = ScriptedVisitor(says), StubKb(articles, mode)

    class Clock:
        def time(self) -> float:
            return 1_795_000_000.0

        def real(self, seconds: float) -> float:
            return seconds

    runner = TextFlowRunner(visitor, kb=kb, lookups=None,  # type: ignore[arg-type]
                            clock=Clock(), settings=IvrSettings(),
                            variables={"visitor_name": "Ada"})
    return asyncio.run(runner.run(flow)), visitor, kb


def test_the_runner_offers_only_confident_articles_and_yes_deflects():
    articles = [KbArticle(1, "Reset", 3.0, "/help/en/reset"), KbArticle(2, "Weak", 1.0)]
    result, visitor, kb = run(BOT, ["how to reset", "YES"], articles)
    assert result.outcome == "deflected" and result.helped == (1,)
    assert visitor.articles == [1]  # the weak one (score 1.0 < min_score 1.5) is not shown
    assert visitor.sent == ["Your question, Ada?", "These articles may answer your question:",
                            "Did that answer your question?", "Bye!"]
    assert visitor.buttons == [("Yes", "No")]
    assert kb.questions == ["how to reset"]


def test_a_loose_match_is_not_confident_and_hands_over_with_the_question():
    result, visitor, _ = run(BOT, ["how to reset"], [KbArticle(1, "Reset", 9.0)], mode="any")
    assert (result.outcome, result.path) == ("handover", ("ask", "person"))
    assert result.handover is not None
    assert (result.handover.queue, dict(result.handover.data)) == ("web",
                                                                   {"question": "how to reset"})
    assert visitor.articles == []


def test_human_typed_at_any_point_goes_to_the_handover_node():
    result, _, _ = run(BOT, ["human!"], [])
    assert (result.outcome, result.path) == ("handover", ("ask", "person"))
    result, _, _ = run(BOT.replace("handover: person\n", ""), ["Agent"], [])
    assert result.outcome == "handover" and result.handover is not None
    assert (result.handover.queue, result.handover.reason) == (None, "asked")


def test_flows_check_and_test_run_chat_flows_and_name_a_failing_case(tmp_path: Path):
    (tmp_path / "bot.yaml").write_text(BOT)
    (tmp_path / "bot.test.yaml").write_text(
        "cases:\n"
        "  - name: helped\n    says: [q, 'yes']\n    kb: [{id: 4, title: T, score: 2}]\n"
        "    expect: {outcome: deflected, path: [ask, bye]}\n"
        "  - name: wrong on purpose\n    says: [q, 'no']\n    kb: [{id: 4, title: T, score: 2}]\n"
        "    expect: {outcome: deflected, sent_include: [Nope]}\n")
    out = io.StringIO()
    assert flows_check([str(tmp_path)], out) == 0, out.getvalue()
    out = io.StringIO()
    assert flows_test([str(tmp_path)], out) == 1
    text = out.getvalue()
    assert f"PASS {tmp_path}/bot.test.yaml:2: helped" in text
    assert f"FAIL {tmp_path}/bot.test.yaml:6: wrong on purpose" in text
    assert "outcome: expected 'deflected', got 'handover'" in text
    assert "sent_include: 'Nope' not sent" in text
