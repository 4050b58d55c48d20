"""Run a chat flow (``channel: chat``) over one text conversation: the chat bot.

Design: the flow model, expressions, hours and lookups are the IVR's; only the medium differs.
The conversation is a port (``TextConversation``: ``send`` a text with buttons or articles,
``receive`` the visitor's next message) and the knowledge base is another (``KbPort``), so this
floor never imports the chat or the knowledge base and ``flows test`` drives it offline.
Rules it keeps:
* "agent" or "human" typed at any point hands over at once: to the flow's ``handover`` node
  when it has one (usually a ``queue`` node), else to the chat channel's own queue.
* A ``queue`` node does not wait in line itself: it ends the run with a ``Handover`` that the
  chat turns into an interaction (with the conversation's original arrival time).
* ``kb_answer`` offers articles only when the search matched at least as strictly as ``match``
  and scored at least ``min_score``; "yes" marks the conversation helped, so a run that then
  ends without a hand-over is a deflection (``outcome: deflected``).
* Any failure (bad value, a port failing, a runaway loop) hands over through the flow's
  ``fallback`` queue (else the channel's): a visitor is never left with a bot that went quiet.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from contactcenter.ivr import model as m
from contactcenter.ivr.common_nodes import CommonNodes
from contactcenter.ivr.expressions import Expr
from contactcenter.ivr.hours import time_variables
from contactcenter.ivr.ports import LookupPort, Step
from contactcenter.ivr.saytext import fill, parse_template
from contactcenter.ivr.settings import IvrSettings

log = logging.getLogger("contactcenter.ivr.text")

HANDOVER_WORDS = frozenset({"agent", "human"})
KB_MATCHES = ("all", "any", "title")  # strictest first (``SearchResult.mode``)
INVALID_INPUT = "That does not look right; please try again."
MAX_MESSAGE = 2000
_FIELD_RE = re.compile(r"[^A-Za-z0-9_]")


class VisitorGone(Exception):
    """The visitor left the conversation (closed it, or it ended) while the bot waited."""


@dataclass(frozen=True, slots=True)
class KbArticle:
    """One article the knowledge base found: what the widget shows of it."""

    id: int
    title: str
    score: float
    url: str | None = None


@dataclass(frozen=True, slots=True)
class KbAnswer:
    """A search's articles and how strictly they matched: all, any, title or none."""

    mode: str
    articles: tuple[KbArticle, ...] = ()


class KbPort(Protocol):
    """The knowledge base as the bot sees it (published articles only)."""

    async def search(self, question: str, limit: int) -> KbAnswer:
        """The best ``limit`` articles for ``question``."""
        ...


class TextConversation(Protocol):
    """The visitor's side of the conversation."""

    async def send(self, text: str, buttons: tuple[str, ...] = (),
                   articles: tuple[KbArticle, ...] = ()) -> None:
        """One bot message; ``buttons`` are answers the visitor may click (or type)."""
        ...

    async def receive(self) -> str:
        """The visitor's next message; ``VisitorGone`` when they left."""
        ...


class Clock(Protocol):
    """Epoch seconds and a way to scale a timeout (the server's Clock, or a virtual one)."""

    def time(self) -> float: ...

    def real(self, seconds: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Handover:
    """Where the conversation goes to a person: ``queue`` None means the channel's own."""

    queue: str | None
    priority: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str = "queue"  # queue | asked | error


@dataclass(frozen=True, slots=True)
class BotResult:
    """How one bot conversation ended: handover, deflected, ended or abandoned."""

    flow: str
    version: str
    outcome: str
    path: tuple[str, ...]
    variables: Mapping[str, Any]
    steps: tuple[Step, ...]
    handover: Handover | None = None
    helped: tuple[int, ...] = ()  # articles the visitor said answered the question
    error: str | None = None


class FlowError(Exception):
    """The flow cannot go on (bad value, unknown node, runaway loop)."""


class _Asked(Exception):
    """The visitor typed a hand-over word."""


@dataclass(frozen=True, slots=True)
class _Done:
    outcome: str
    handover: Handover | None = None


class TextFlowRunner(CommonNodes):
    """Executes one chat flow for one conversation."""

    def __init__(self, conversation: TextConversation, *, kb: KbPort, lookups: LookupPort,
                 clock: Clock, settings: IvrSettings,
                 variables: Mapping[str, Any] | None = None) -> None:
        self.conversation, self.kb, self.lookups = conversation, kb, lookups
        self.clock, self.settings = clock, settings
        self.vars: dict[str, Any] = dict(variables or {})
        self.path: list[str] = []
        self.steps: list[Step] = []
        self.helped: list[int] = []
        self._count = 0
        self._tz = settings.timezone

    async def run(self, flow: m.Flow) -> BotResult:
        """Run ``flow`` to a hand-over or an end; never raises except on cancellation."""
        error = None
        try:
            self._tz = flow.timezone or self.settings.timezone
            self.vars.update(flow=flow.name, language=flow.language or "")
            self._refresh_time()
            for name, expr in flow.variables:
                self.vars[name] = self._eval(expr)
            done = await self._run(flow)
        except VisitorGone:
            done = _Done("abandoned")
        except Exception as exc:  # a bot that fails hands over; it never goes quiet
            error = f"{type(exc).__name__}: {exc}"
            log.error("chat bot flow=%s@%s node=%s failed: %s", flow.name, flow.version,
                      self.path[-1] if self.path else "-", error,
                      exc_info=not isinstance(exc, FlowError))
            fb = flow.fallback
            done = _Done("handover", Handover(fb.queue if fb else None,
                                              fb.priority if fb else 0, {}, {}, "error"))
        return BotResult(flow.name, flow.version, done.outcome, tuple(self.path),
                         dict(self.vars), tuple(self.steps), done.handover,
                         tuple(self.helped), error)

    # --- plumbing -----------------------------------------------------------------------

    def _refresh_time(self) -> None:
        self.vars.update(time_variables(self.clock.time(), self._tz))

    def _eval(self, expr: Expr) -> Any:
        return expr.evaluate(self.vars)

    def _text(self, template: str) -> str:
        return fill(parse_template(template), self.vars, MAX_MESSAGE)[0]

    async def _say(self, texts: tuple[str, ...], buttons: tuple[str, ...] = (),
                   articles: tuple[KbArticle, ...] = ()) -> None:
        """Send ``texts``; the last one carries the buttons and articles."""
        for i, t in enumerate(texts):
            last = i == len(texts) - 1
            await self.conversation.send(self._text(t), buttons if last else (),
                                         articles if last else ())
        if (buttons or articles) and not texts:
            await self.conversation.send("", buttons, articles)

    async def _hear(self) -> str:
        text = (await self.conversation.receive()).strip()
        self.vars["message"] = text
        if text.rstrip(".!?").strip().casefold() in HANDOVER_WORDS:
            raise _Asked
        return text

    async def _run(self, flow: m.Flow) -> _Done:
        node_id = flow.entry
        while True:
            self._count += 1
            if self._count > self.settings.max_steps:
                raise FlowError(f"more than {self.settings.max_steps} steps")
            node = flow.nodes.get(node_id)
            if node is None:
                raise FlowError(f"flow {flow.name!r} has no node {node_id!r}")
            self.path.append(node_id)
            self._refresh_time()
            detail: dict[str, Any] = {}
            try:
                nxt = await getattr(self, "_" + type(node).__name__)(flow, node, detail)
            except _Asked:
                detail["asked"] = "handover"
                if flow.handover is None or node_id == flow.handover:
                    nxt = _Done("handover", Handover(None, reason="asked"))
                else:
                    nxt = flow.handover
            finally:
                self.steps.append(Step(flow.name, node.id, type(node).__name__
                                       .removesuffix("Node").lower(), self.clock.time(), detail))
            if isinstance(nxt, _Done):
                return nxt
            node_id = nxt

    def _end(self) -> _Done:
        return _Done("deflected" if self.helped else "ended")

    # --- node kinds ---------------------------------------------------------------------

    async def _PlayNode(self, flow: m.Flow, n: m.PlayNode, detail: dict) -> str:
        await self._say(n.prompts)
        return n.next

    async def _MenuNode(self, flow: m.Flow, n: m.MenuNode, detail: dict) -> str:
        labels = tuple(n.choices)
        await self._say(n.prompts, labels)
        for attempt in range(n.retries):
            text = await self._hear()
            choice = _pick(labels, text)
            if choice is not None:
                detail.update(choice=choice, attempts=attempt + 1)
                if n.var:
                    self.vars[n.var] = choice
                return n.choices[choice]
            if attempt + 1 < n.retries:
                await self._say(n.invalid_prompts, labels)
        detail["choice"] = None
        return n.on_invalid

    async def _InputNode(self, flow: m.Flow, n: m.InputNode, detail: dict) -> str:
        await self._say(n.prompts)
        for attempt in range(n.retries):
            text = await self._hear()
            ok = n.min_length <= len(text) <= n.max_length and (
                n.pattern is None or re.fullmatch(n.pattern, text) is not None)
            if ok:
                self.vars[n.var] = text
                detail.update(input=text, attempts=attempt + 1)
                return n.next
            if attempt + 1 < n.retries:
                await self._say(n.invalid_prompts or (INVALID_INPUT,))
        detail["input"] = None
        return n.on_failure

    async def _SetNode(self, flow: m.Flow, n: m.SetNode, detail: dict) -> str:
        for name, expr in n.assignments:
            self.vars[name] = detail[name] = self._eval(expr)
        return n.next

    async def _LookupNode(self, flow: m.Flow, n: m.LookupNode, detail: dict) -> str:
        key = self._eval(n.key)
        key = "" if key is None else str(key)
        result = await self._lookup_one(n.source, key, n.timeout_s)
        if result.error and n.fallback_source:
            result = await self._lookup_one(n.fallback_source, key, n.timeout_s)
        for k in [k for k in self.vars if k.startswith(n.into + ".")]:
            del self.vars[k]
        self.vars[f"{n.into}.found"] = result.found
        if result.found:
            self.vars.update({f"{n.into}.{_FIELD_RE.sub('_', str(k))[:40]}": str(v)
                              for k, v in result.fields.items()})
        detail.update(source=result.source or n.source, key=key, found=result.found,
                      error=result.error)
        if result.found:
            return n.found
        return n.on_error if result.error else n.not_found

    async def _QueueNode(self, flow: m.Flow, n: m.QueueNode, detail: dict) -> _Done:
        priority = self._eval(n.priority)
        if isinstance(priority, bool) or not isinstance(priority, (int, float)) \
                or not -1000 <= priority <= 1000:
            raise FlowError(f"queue priority {priority!r} is not a number in -1000..1000")
        data = {name: self._eval(e) for name, e in n.data}
        detail.update(queue=n.queue, priority=int(priority))
        return _Done("handover", Handover(n.queue, int(priority), dict(n.skills), data))

    async def _GotoNode(self, flow: m.Flow, n: m.GotoNode, detail: dict) -> str:
        return n.target

    async def _ReturnNode(self, flow: m.Flow, n: m.ReturnNode, detail: dict) -> _Done:
        return self._end()

    async def _HangupNode(self, flow: m.Flow, n: m.HangupNode, detail: dict) -> _Done:
        await self._say(n.prompts)
        return self._end()

    async def _KbAnswerNode(self, flow: m.Flow, n: m.KbAnswerNode, detail: dict) -> str:
        if n.prompt:
            await self._say(n.prompt)
            question = await self._hear()
        else:
            value = self._eval(n.question)
            question = "" if value is None else str(value)
        answer = await self.kb.search(question, n.max_articles) if question.strip() \
            else KbAnswer("none")
        allowed = KB_MATCHES[:KB_MATCHES.index(n.match) + 1]
        articles = tuple(a for a in answer.articles if a.score >= n.min_score)[:n.max_articles] \
            if answer.mode in allowed else ()
        self.vars.update({"kb.question": question, "kb.found": bool(articles),
                          "kb.helped": False})
        detail.update(question=question, mode=answer.mode, shown=[a.id for a in articles])
        if not articles:
            return n.no_match
        self.vars["kb.titles"] = [a.title for a in articles]
        await self._say(n.intro, (), articles)
        buttons = (n.yes_label, n.no_label)
        await self._say(n.helped_prompt, buttons)
        for _ in range(2):
            choice = _pick(buttons, await self._hear())
            if choice is not None:
                helped = choice == n.yes_label
                self.vars["kb.helped"] = detail["helped"] = helped
                if helped:
                    self.helped.extend(a.id for a in articles)
                    return n.answered
                return n.not_answered
            await self._say(n.helped_prompt, buttons)
        detail["helped"] = None
        return n.not_answered


def _pick(labels: tuple[str, ...], text: str) -> str | None:
    """The label ``text`` names: the label itself (any case), or its number 1..n."""
    folded = text.strip().casefold()
    for label in labels:
        if label.casefold() == folded:
            return label
    if folded.isdigit() and 1 <= int(folded) <= len(labels):
        return labels[int(folded) - 1]
    return None
