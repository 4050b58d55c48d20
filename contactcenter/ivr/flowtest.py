"""Offline test cases for flows (``<flow>.test.yaml`` next to ``<flow>.yaml``).

Design: a test file is checked like a flow (unknown keys are file:line errors), then each case
runs the real ``FlowRunner`` against a ``ScriptedCall`` on virtual time, with stub queue and
lookup ports answering what the case says. Expectations are compared after the run; a failure
names the case's line. See docs/flows.md for the format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contactcenter.common.yamlfile import LocDict, Mark, SourceError, SourceErrors, load_yaml_text
from contactcenter.ivr.checker import Checker
from contactcenter.ivr.flowtest_expect import check_common
from contactcenter.ivr.hours import zone
from contactcenter.ivr.model import Flow
from contactcenter.ivr.offline import (
    OfflineSynthesizer,
    Press,
    ScriptedCall,
    Silence,
    VirtualClock,
)
from contactcenter.ivr.ports import (
    CollectingEvents,
    IvrResult,
    LookupResult,
    QueueOutcome,
    QueueRequest,
)
from contactcenter.ivr.runner import FlowRunner
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.text_flowtest import run_text_case
from contactcenter.telephony.agi.api import AgiEnvironment, CallControl

CASE_KEYS = {"name", "caller_id", "caller_name", "dnid", "extension", "language", "query",
             "time", "keys", "hangup_after", "prompt_seconds", "durations", "lookups", "queue",
             "dial_status", "speech", "expect",
             "says", "kb", "kb_mode"}  # the last three: chat flows (text_flowtest.py)
EXPECT_KEYS = {"path", "visits", "not_visits", "variables", "outcome", "queue", "commands",
               "commands_include", "messages", "said", "sent", "sent_include"}
MAX_CASES = 200


@dataclass
class TestCase:
    """One scripted call and what must come out of it."""

    name: str
    mark: Mark
    spec: LocDict


@dataclass
class CaseResult:
    """The outcome of one case: ``failures`` is empty when it passed."""

    name: str
    mark: Mark
    failures: list[str] = field(default_factory=list)
    result: IvrResult | None = None
    commands: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every expectation held."""
        return not self.failures


class StubQueue:
    """A ``QueuePort`` answering a scripted list of outcomes (default: connected)."""

    def __init__(self, outcomes: list[QueueOutcome]) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[QueueRequest] = []

    async def run(self, call: CallControl, request: QueueRequest) -> QueueOutcome:
        """Record the request; return the next scripted outcome."""
        self.requests.append(request)
        return self.outcomes.pop(0) if self.outcomes else QueueOutcome("connected")


class StubLookups:
    """A ``LookupPort`` answering from ``{source: fields | None | "error" | "timeout"}``."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = dict(answers)
        self.keys: list[tuple[str, str]] = []

    async def lookup(self, source: str, key: str) -> LookupResult:
        """Answer as the test case says; unknown sources find nothing."""
        self.keys.append((source, key))
        ans = self.answers.get(source)
        if ans in ("error", "timeout"):
            return LookupResult(False, {}, source, str(ans))
        if isinstance(ans, Mapping):
            return LookupResult(True, {str(k): str(v) for k, v in ans.items()}, source)
        return LookupResult(False, {}, source)


def load_cases(text: str, file: str) -> tuple[str | None, list[TestCase]]:
    """Parse a test file; returns (flow name or None, cases). Raises ``SourceErrors``."""
    try:
        doc = load_yaml_text(text, file)
    except SourceError as exc:
        raise SourceErrors([exc]) from None
    c = Checker(file)
    d = c.mapping(doc, Mark(file, 1, 1), "a test file")
    if d is None:
        raise SourceErrors(c.errors)
    c.keys(d, {"flow", "defaults", "cases"}, {"cases"}, "the test file")
    defaults = c.mapping(d["defaults"], d.value_mark("defaults"), "'defaults'") if "defaults" in d else None
    cases: list[TestCase] = []
    raw = d.get("cases")
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_CASES:
        c.error(d.value_mark("cases"), f"'cases' must be a list of 1 to {MAX_CASES} cases")
        raw = []
    for i, (item, mk) in enumerate(zip(raw, getattr(raw, "item_marks", []))):
        spec = c.mapping(item, mk, "a test case")
        if spec is None:
            continue
        merged = LocDict({**(defaults or {}), **spec})
        merged.mark = spec.mark
        merged.key_marks = {**getattr(defaults, "key_marks", {}), **spec.key_marks}
        merged.value_marks = {**getattr(defaults, "value_marks", {}), **spec.value_marks}
        c.keys(merged, CASE_KEYS, {"expect"}, "a test case")
        if "expect" in merged:
            exp = c.mapping(merged["expect"], merged.value_mark("expect"), "'expect'")
            if exp is not None:
                c.keys(exp, EXPECT_KEYS, set(), "'expect'")
        _parse_keys(c, merged)
        if "speech" in merged and merged["speech"] not in ("ok", "fail"):
            c.error(merged.value_mark("speech"), "'speech' must be ok or fail")
        cases.append(TestCase(str(merged.get("name", f"case {i + 1}")), spec.mark, merged))
    if c.errors:
        raise SourceErrors(c.errors)
    flow = d.get("flow")
    return (str(flow) if flow is not None else None), cases


def _parse_keys(c: Checker, spec: LocDict) -> list[Press | Silence]:
    out: list[Press | Silence] = []
    raw = spec.get("keys", [])
    if not isinstance(raw, list):
        c.error(spec.value_mark("keys"), "'keys' must be a list")
        return out
    for item, mk in zip(raw, getattr(raw, "item_marks", [spec.mark] * len(raw))):
        if item == "silence":
            out.append(Silence())
        elif isinstance(item, (str, int)) and not isinstance(item, bool):
            out.append(Press(str(item)))
        elif isinstance(item, LocDict) and set(item) <= {"press", "after"} and "press" in item:
            after = item.get("after", 0.5)
            if isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0:
                c.error(item.value_mark("after"), "'after' must be seconds >= 0")
                continue
            out.append(Press(str(item["press"]), float(after)))
        else:
            c.error(mk, "a key step is \"123#\", silence, or {press: \"1\", after: 0.5}")
            continue
        if isinstance(out[-1], Press) and any(ch not in "0123456789*#" for ch in out[-1].digits):
            c.error(mk, f"{out[-1].digits!r} has keys other than 0-9 * #")
    return out


def _epoch(value: Any, tz: str) -> float:
    if value is None:
        return dt.datetime(2026, 11, 23, 10, 0, tzinfo=zone(tz)).timestamp()  # a Monday
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day, 12, 0)
    else:
        when = dt.datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(tz))
    return when.timestamp()


def _queue_outcomes(raw: Any) -> list[QueueOutcome]:
    items = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(QueueOutcome(item))  # type: ignore[arg-type]
        else:
            out.append(QueueOutcome(item.get("kind", "connected"), item.get("destination"),
                                    str(item.get("detail", ""))))
    return out


async def run_case(case: TestCase, flow: Flow, flows: Mapping[str, Flow],
                   settings: IvrSettings) -> CaseResult:
    """Run one case offline and compare its expectations."""
    s = case.spec
    res = CaseResult(case.name, case.mark)
    c = Checker(str(case.mark.file))
    steps = _parse_keys(c, s)
    try:
        clock = VirtualClock(_epoch(s.get("time"), flow.timezone or settings.timezone))
    except ValueError as exc:
        res.failures.append(f"bad 'time': {exc}")
        return res
    if flow.channel == "chat":
        res.failures, bot = await run_text_case(s, flow, settings, clock.now,
                                                StubLookups(s.get("lookups") or {}))
        res.result = IvrResult("offline.1", bot.flow, bot.version, bot.outcome, bot.path,
                               bot.variables, bot.steps, bot.error)
        return res
    query = {str(k): str(v) for k, v in (s.get("query") or {}).items()}
    caller = s.get("caller_id")
    env = AgiEnvironment(
        channel="Local/offline@cc-inbound-00000001;2", uniqueid="offline.1",
        callerid=None if caller is None else str(caller),
        calleridname=str(s["caller_name"]) if "caller_name" in s else None,
        dnid=str(s["dnid"]) if "dnid" in s else None, extension=str(s.get("extension", "s")),
        context="cc-inbound", language=str(s.get("language", "en")), script="ivr", query=query)
    call = ScriptedCall(env, clock, steps, s.get("hangup_after"), float(s.get("prompt_seconds", 2.0)),
                        {str(k): float(v) for k, v in (s.get("durations") or {}).items()},
                        str(s.get("dial_status", "ANSWER")))
    queue = StubQueue(_queue_outcomes(s.get("queue")))
    events = CollectingEvents()
    speech = str(s.get("speech", "ok"))
    tts = OfflineSynthesizer(settings.tts.cache_dir,
                             None if speech == "ok" else f"speech {speech} (test case)")
    runner = FlowRunner(call, flows, queue=queue, lookups=StubLookups(s.get("lookups") or {}),
                        events=events, clock=clock, settings=settings, tts=tts)
    result = await runner.run(flow)
    res.result, res.commands = result, call.commands
    _compare(res, s.get("expect") or {}, result, call, queue, events)
    if "said" in (s.get("expect") or {}) and list(s["expect"]["said"]) != tts.said:
        res.failures.append(f"said: expected {list(s['expect']['said'])}, got {tts.said}")
    return res


def _compare(res: CaseResult, exp: Mapping[str, Any], result: IvrResult, call: ScriptedCall,
             queue: StubQueue, events: CollectingEvents) -> None:
    fail = res.failures.append
    check_common(fail, exp, result)
    if "queue" in exp:
        if not queue.requests:
            fail("queue: the call never reached a queue")
        else:
            req = queue.requests[0]
            for k, v in (exp["queue"] or {}).items():
                got = getattr(req, k, None) if k != "data" else dict(req.data)
                if k in ("skills", "data"):
                    assert got is not None  # every QueueRequest has both
                    bad = {dk: dv for dk, dv in v.items() if str(got.get(dk)) != str(dv)}
                    if bad:
                        fail(f"queue {k}: expected {dict(v)}, got {dict(got)}")
                elif got != v:
                    fail(f"queue {k}: expected {v!r}, got {got!r}")
    if "commands" in exp and list(exp["commands"]) != call.commands:
        fail(f"commands: expected {list(exp['commands'])}, got {call.commands}")
    for cmd in exp.get("commands_include", []):
        if cmd not in call.commands:
            fail(f"commands_include: {cmd!r} not sent; commands were {call.commands}")
    if "messages" in exp and int(exp["messages"]) != len(events.messages):
        fail(f"messages: expected {exp['messages']}, got {len(events.messages)}")
