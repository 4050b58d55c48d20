"""Offline test cases of chat flows (``channel: chat``), for ``flows test``.

Design: a case of a chat flow is the same ``<flow>.test.yaml`` entry as a call's, with the
visitor's messages in ``says`` (in order; after the last one the visitor leaves) and the
knowledge base's answer in ``kb`` (the articles every search finds, with ``kb_mode`` saying how
strictly they matched). The real ``TextFlowRunner`` runs against a scripted visitor and stub
ports on virtual time; ``expect`` compares the path, variables, outcome (``handover``,
``deflected``, ``ended``, ``abandoned``), the hand-over's queue fields and the bot's messages
(``sent``: every text in order; ``sent_include``: some of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contactcenter.ivr.flowtest_expect import check_common
from contactcenter.ivr.model import Flow
from contactcenter.ivr.offline import VirtualClock
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.text_runner import (
    BotResult,
    KbAnswer,
    KbArticle,
    TextFlowRunner,
    VisitorGone,
)

KB_MODES = ("all", "any", "title", "none")


class ScriptedVisitor:
    """A ``TextConversation``: answers from a list, records what the bot sent."""

    def __init__(self, says: list[str]) -> None:
        self.says = list(says)
        self.sent: list[str] = []
        self.buttons: list[tuple[str, ...]] = []
        self.articles: list[int] = []

    async def send(self, text: str, buttons: tuple[str, ...] = (),
                   articles: tuple[KbArticle, ...] = ()) -> None:
        """Keep the bot's message."""
        if text:
            self.sent.append(text)
        if buttons:
            self.buttons.append(buttons)
        self.articles.extend(a.id for a in articles)

    async def receive(self) -> str:
        """The next scripted message; the visitor leaves after the last."""
        if not self.says:
            raise VisitorGone
        return self.says.pop(0)


class StubKb:
    """A ``KbPort`` finding the same articles for every question."""

    def __init__(self, articles: list[KbArticle], mode: str) -> None:
        self.answer = KbAnswer(mode if articles else "none", tuple(articles))
        self.questions: list[str] = []

    async def search(self, question: str, limit: int) -> KbAnswer:
        """Record the question; answer as the case says."""
        self.questions.append(question)
        return KbAnswer(self.answer.mode, self.answer.articles[:limit])


def kb_articles(raw: Any) -> list[KbArticle]:
    """The case's ``kb`` list ({id, title, score, url?}) as articles; ``ValueError``."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TypeError("'kb' must be a list of {id, title, score}")
    out = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise TypeError("'kb' must be a list of {id, title, score}")
        out.append(KbArticle(int(item.get("id", i)), str(item.get("title", f"Article {i}")),
                             float(item.get("score", 1.0)), item.get("url")))
    return out


async def run_text_case(spec: Mapping[str, Any], flow: Flow, settings: IvrSettings,
                        epoch: float, lookups: Any) -> tuple[list[str], BotResult]:
    """Run one chat case; returns (failures, result)."""
    failures: list[str] = []
    says = [str(s) for s in (spec.get("says") or [])]
    mode = str(spec.get("kb_mode", "all"))
    if mode not in KB_MODES:
        return [f"'kb_mode' must be one of {', '.join(KB_MODES)}"], _empty(flow)
    try:
        kb = StubKb(kb_articles(spec.get("kb")), mode)
    except (TypeError, ValueError) as exc:
        return [str(exc)], _empty(flow)
    visitor = ScriptedVisitor(says)
    variables = {"visitor_name": str(spec.get("caller_name", "")),
                 "channel": "offline", "language": str(spec.get("language", ""))}
    runner = TextFlowRunner(visitor, kb=kb, lookups=lookups, clock=VirtualClock(epoch),
                            settings=settings, variables=variables)
    result = await runner.run(flow)
    exp = spec.get("expect") or {}
    fail = failures.append
    check_common(fail, exp, result)
    if "queue" in exp:
        ho = result.handover
        if ho is None:
            fail("queue: the conversation was never handed over")
        else:
            for k, v in (exp["queue"] or {}).items():
                got = getattr(ho, k, None)
                if k in ("skills", "data"):
                    bad = {dk: dv for dk, dv in v.items() if str((got or {}).get(dk)) != str(dv)}
                    if bad:
                        fail(f"queue {k}: expected {dict(v)}, got {dict(got or {})}")
                elif got != v:
                    fail(f"queue {k}: expected {v!r}, got {got!r}")
    if "sent" in exp and list(exp["sent"]) != visitor.sent:
        fail(f"sent: expected {list(exp['sent'])}, got {visitor.sent}")
    for text in exp.get("sent_include", []):
        if text not in visitor.sent:
            fail(f"sent_include: {text!r} not sent; the bot sent {visitor.sent}")
    return failures, result


def _empty(flow: Flow) -> BotResult:
    return BotResult(flow.name, flow.version, "not-run", (), {}, ())
