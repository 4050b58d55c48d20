"""Schema check: located YAML (LocDict/LocList) -> typed ``Flow``, with file:line:col errors.

Design: one pass over the document collects every problem instead of stopping at the first, and
each problem points at the key or value that causes it. Unknown keys are errors (a typo such as
``retires:`` must not silently fall back to a default). Node references are only checked for
shape here; ``graph.py`` checks that they exist, using the reference marks collected here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from contactcenter.common.yamlfile import LocDict, LocList, Mark
from contactcenter.ivr import model as m
from contactcenter.ivr.checker import (
    CHANNELS,
    DAYS,
    DIAL_RE,
    DIGITS,
    ID_RE,
    MAX_CHOICES,
    MAX_NODES,
    Checker,
    Ref,
)
from contactcenter.ivr.expressions import Expr, ExprSyntaxError, literal, parse
from contactcenter.ivr.saytext import parse_template

COMMON = {"type", "description"}
# Nodes that need a telephone line, and nodes that need a text conversation (``channel:``).
VOICE_ONLY = frozenset({"say", "transfer", "message", "subflow"})
CHAT_ONLY = frozenset({"kb_answer"})
# Keys of shared node kinds that only mean something on a call (digits, timeouts, hold).
VOICE_KEYS = {"play": {"interrupt"}, "menu": {"timeout", "timeout_prompt", "on_timeout"},
              "input": {"terminator", "timeout"},
              "queue": {"max_wait", "on_exit", "on_callback", "on_failed"}}
MAX_LABEL = 40
NodeBuilder = Callable[[Checker, str, LocDict], "m.Node | None"]


def _voice_keys(c: Checker, kind: str, d: LocDict) -> None:
    if c.channel == "chat":
        for key in sorted(VOICE_KEYS.get(kind, set()) & set(d)):
            c.error(d.key_mark(key), f"{key!r} has no meaning in a chat flow (channel: chat)")


def _play(c: Checker, nid: str, d: LocDict) -> m.Node:
    _voice_keys(c, "play", d)
    c.keys(d, COMMON | {"prompt", "interrupt", "next"}, {"prompt", "next"}, f"play node {nid!r}")
    return m.PlayNode(nid, d.mark, c.prompts(d, "prompt"), c.digits(d, "interrupt"),
                      c.ref(d, "next") or "")


def _menu(c: Checker, nid: str, d: LocDict) -> m.Node:
    allowed = {"prompt", "choices", "timeout", "retries", "invalid_prompt", "timeout_prompt",
               "on_invalid", "on_timeout", "var"}
    chat = c.channel == "chat"
    _voice_keys(c, "menu", d)
    c.keys(d, COMMON | allowed, {"prompt", "choices", "on_invalid" if chat else "on_timeout"},
           f"menu node {nid!r}")
    choices: dict[str, str] = {}
    raw = c.mapping(d.get("choices"), d.value_mark("choices"), "'choices'") if "choices" in d else None
    if raw is not None:
        if not raw or len(raw) > MAX_CHOICES:
            c.error(raw.mark, f"'choices' must have 1 to {MAX_CHOICES} keys")
        for key in raw:
            k = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
            if chat:  # a button: its label is what the visitor clicks or types
                if not isinstance(k, str) or not k.strip() or len(k) > MAX_LABEL \
                        or any(ch in k for ch in "\r\n\x00"):
                    c.error(raw.key_mark(key), f"button {key!r} must be a label of 1 to "
                            f"{MAX_LABEL} characters on one line")
                    continue
            elif not isinstance(k, str) or len(k) != 1 or k not in DIGITS:
                c.error(raw.key_mark(key), f"menu choice {key!r} must be one key: 0-9, '*' or '#'")
                continue
            t = c.ref(raw, key)
            if t:
                choices[k] = t
    on_timeout = c.ref(d, "on_timeout") or ""
    on_invalid = c.ref(d, "on_invalid") or on_timeout
    if chat:  # a visitor has all the time they want: only wrong answers run out
        on_timeout = on_invalid
    var = c.var_name(d["var"], d.value_mark("var")) if "var" in d else None
    return m.MenuNode(
        nid, d.mark, c.prompts(d, "prompt"), choices, c.seconds(d, "timeout", 5.0, 0.5, 60),
        c.integer(d, "retries", 3, 1, 10), c.prompts(d, "invalid_prompt", (
            "Please choose one of the buttons.",) if chat else ("option-is-invalid",)),
        c.prompts(d, "timeout_prompt"), on_invalid, on_timeout, var)


def _input(c: Checker, nid: str, d: LocDict) -> m.Node:
    allowed = {"prompt", "var", "min_length", "max_length", "terminator", "pattern", "timeout",
               "retries", "invalid_prompt", "next", "on_failure"}
    _voice_keys(c, "input", d)
    c.keys(d, COMMON | allowed, {"prompt", "var", "next", "on_failure"}, f"input node {nid!r}")
    var = c.var_name(d["var"], d.value_mark("var")) if "var" in d else None
    top = 500 if c.channel == "chat" else 64  # characters typed, or digits pressed
    lo, hi = c.integer(d, "min_length", 1, 1, top), c.integer(d, "max_length", 20, 1, top)
    if lo > hi:
        c.error(d.value_mark("min_length"), "'min_length' is larger than 'max_length'")
    term = c.text(d, "terminator", "#")
    if term not in ("#", "*", ""):
        c.error(d.value_mark("terminator"), "'terminator' must be '#', '*' or ''")
    pattern = c.text(d, "pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            c.error(d.value_mark("pattern"), f"bad regular expression: {exc}")
    return m.InputNode(
        nid, d.mark, c.prompts(d, "prompt"), var or "", lo, hi, term or "", pattern,
        c.seconds(d, "timeout", 5.0, 0.5, 60), c.integer(d, "retries", 3, 1, 10),
        c.prompts(d, "invalid_prompt"), c.ref(d, "next") or "", c.ref(d, "on_failure") or "")


VOICE_RE = re.compile(r"[A-Za-z0-9_-]{1,40}(\+[A-Za-z0-9_-]{1,40})?")


def _say(c: Checker, nid: str, d: LocDict) -> m.Node | None:
    modes = [k for k in ("digits", "number", "datetime", "text") if k in d]
    c.keys(d, COMMON | {"digits", "number", "datetime", "text", "voice", "rate",
                        "fallback_prompt", "interrupt", "format", "timezone", "next"},
           {"next"}, f"say node {nid!r}")
    if len(modes) != 1:
        c.error(d.mark, f"say node {nid!r} needs exactly one of 'digits', 'number', "
                "'datetime', 'text'")
        return None
    if modes[0] != "text":
        for key in ("voice", "rate", "fallback_prompt"):
            if key in d:
                c.error(d.key_mark(key), f"{key!r} goes with 'text' only")
        value = c.expr(d, modes[0])
        return m.SayNode(nid, d.mark, modes[0], value or literal(""), c.digits(d, "interrupt"),
                         c.text(d, "format", "") or "", c.timezone(d, "timezone") or "",
                         c.ref(d, "next") or "")
    for key in ("format", "timezone"):
        if key in d:
            c.error(d.key_mark(key), f"{key!r} does not go with 'text'")
    return m.SayNode(nid, d.mark, "text", literal(""), c.digits(d, "interrupt"), "", "",
                     c.ref(d, "next") or "", _template(c, d),
                     c.text(d, "voice", "", VOICE_RE, "an espeak-ng voice like en-us or "
                            "en-us+klatt") or "",
                     c.integer(d, "rate", 0, 80, 450), c.prompts(d, "fallback_prompt"))


def _template(c: Checker, d: LocDict) -> tuple[str | Expr, ...]:
    raw, mark = d["text"], d.value_mark("text")
    if not isinstance(raw, str) or not raw.strip():
        c.error(mark, "'text' must be the words to say, with {variables} in braces")
        return ()
    try:
        return parse_template(raw)
    except ExprSyntaxError as exc:
        c.error(Mark(mark.file, mark.line, mark.col + exc.offset), f"bad 'text': {exc}")
        return ()


def _assignments(c: Checker, raw: Any, where: Mark, what: str) -> tuple[tuple[str, Expr], ...]:
    d = c.mapping(raw, where, what)
    out = []
    for name, value in (d or {}).items():
        var = c.var_name(name, d.key_mark(name))  # type: ignore[union-attr]
        e = c.expr_value(value, d.value_mark(name), str(name))  # type: ignore[union-attr]
        if var and e:
            out.append((var, e))
    return tuple(out)


def _set(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON | {"vars", "next"}, {"vars", "next"}, f"set node {nid!r}")
    return m.SetNode(nid, d.mark, _assignments(c, d.get("vars"), d.value_mark("vars"), "'vars'")
                     if "vars" in d else (), c.ref(d, "next") or "")


def _branch(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON | {"cases", "else"}, {"cases", "else"}, f"branch node {nid!r}")
    cases = []
    raw = d.get("cases")
    if "cases" in d and not isinstance(raw, LocList):
        c.error(d.value_mark("cases"), "'cases' must be a list of {if: ..., goto: ...}")
    items, marks = (raw, raw.item_marks) if isinstance(raw, LocList) else ([], [])  # cases: true
    for item, mk in zip(items, marks):
        case = c.mapping(item, mk, "a branch case")
        if case is None:
            continue
        c.keys(case, {"if", "goto"}, {"if", "goto"}, "branch case")
        cond, target = c.expr(case, "if"), c.ref(case, "goto")
        if cond and target:
            cases.append(m.BranchCase(cond, target, case.mark))
    return m.BranchNode(nid, d.mark, tuple(cases), c.ref(d, "else") or "")


def _time_ranges(c: Checker, v: Any, mark: Mark) -> tuple[m.TimeRange, ...]:
    if v == "closed" or v is None:
        return ()
    items = [v] if isinstance(v, str) else v
    out = []
    for item in items if isinstance(items, list) else [object()]:
        mt = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", item) if isinstance(item, str) else None
        if not mt:
            c.error(mark, f"opening hours must look like \"08:00-18:00\" or 'closed', not {item!r}")
            continue
        h1, m1, h2, m2 = map(int, mt.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
            c.error(mark, f"bad time range {item!r} (end must be after start, within one day)")
            continue
        out.append(m.TimeRange(start, end))
    return tuple(out)


def _hours(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON | {"timezone", "weekly", "holidays", "open", "closed", "holiday"},
           {"timezone", "weekly", "open", "closed"}, f"hours node {nid!r}")
    weekly: dict[int, tuple[m.TimeRange, ...]] = {}
    raw = c.mapping(d["weekly"], d.value_mark("weekly"), "'weekly'") if "weekly" in d else None
    for key, value in (raw or {}).items():
        mt = re.fullmatch(r"([a-z]{3})(?:-([a-z]{3}))?", key) if isinstance(key, str) else None
        if not mt or mt.group(1) not in DAYS or (mt.group(2) and mt.group(2) not in DAYS):
            c.error(raw.key_mark(key), f"day {key!r} must be mon..sun or a range like mon-fri")  # type: ignore[union-attr]
            continue
        a = DAYS.index(mt.group(1))
        b = DAYS.index(mt.group(2)) if mt.group(2) else a
        for day in range(a, b + 1) if a <= b else []:
            weekly[day] = _time_ranges(c, value, raw.value_mark(key))  # type: ignore[union-attr]
    holidays: set[dt.date] = set()
    hol = d.get("holidays", [])
    if not isinstance(hol, list):
        c.error(d.value_mark("holidays"), "'holidays' must be a list of dates (YYYY-MM-DD)")
        hol = []
    for item, mk in zip(hol, getattr(hol, "item_marks", [])):
        try:
            holidays.add(item if isinstance(item, dt.date) else dt.date.fromisoformat(str(item)))
        except ValueError:
            c.error(mk, f"holiday {item!r} is not a date (YYYY-MM-DD)")
    closed = c.ref(d, "closed") or ""
    return m.HoursNode(nid, d.mark, c.timezone(d, "timezone") or "UTC", weekly,
                       frozenset(holidays), c.ref(d, "open") or "", closed,
                       c.ref(d, "holiday") or closed)


def _lookup(c: Checker, nid: str, d: LocDict) -> m.Node:
    allowed = {"source", "fallback_source", "key", "into", "timeout", "found", "not_found",
               "on_error"}
    c.keys(d, COMMON | allowed, {"source", "found", "not_found"}, f"lookup node {nid!r}")
    into = c.var_name(d.get("into", "customer"), d.value_mark("into"))
    not_found = c.ref(d, "not_found") or ""
    return m.LookupNode(
        nid, d.mark, c.text(d, "source", "", ID_RE, "a source name") or "",
        c.text(d, "fallback_source", None, ID_RE, "a source name"),
        c.expr(d, "key", parse("caller_id")) or literal(""), into or "customer",
        c.seconds(d, "timeout", 2.0, 0.1, 30), c.ref(d, "found") or "", not_found,
        c.ref(d, "on_error") or not_found)


def _queue(c: Checker, nid: str, d: LocDict) -> m.Node:
    allowed = {"queue", "priority", "skills", "data", "max_wait", "on_exit", "on_callback",
               "on_failed"}
    _voice_keys(c, "queue", d)
    c.keys(d, COMMON | allowed, {"queue"}, f"queue node {nid!r}")
    skills: dict[str, int] = {}
    raw = c.mapping(d["skills"], d.value_mark("skills"), "'skills'") if "skills" in d else None
    for k, v in (raw or {}).items():
        if not isinstance(k, str) or not ID_RE.fullmatch(k):
            c.error(raw.key_mark(k), f"skill {k!r} must be a name")  # type: ignore[union-attr]
        elif isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100:
            c.error(raw.value_mark(k), f"skill level for {k!r} must be 0..100")  # type: ignore[union-attr]
        else:
            skills[k] = v
    data = _assignments(c, d["data"], d.value_mark("data"), "'data'") if "data" in d else ()
    return m.QueueNode(
        nid, d.mark, c.text(d, "queue", "", ID_RE, "a queue name") or "",
        c.expr(d, "priority", literal(0)) or literal(0), skills, data,
        c.seconds(d, "max_wait", None, 1, 86400), c.ref(d, "on_exit"), c.ref(d, "on_callback"),
        c.ref(d, "on_failed"))


def _transfer(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON | {"to", "number", "timeout", "on_failure"}, set(), f"transfer node {nid!r}")
    if ("to" in d) == ("number" in d):
        c.error(d.mark, f"transfer node {nid!r} needs exactly one of 'to' or 'number'")
    return m.TransferNode(nid, d.mark, c.text(d, "to", None, DIAL_RE, "a dial string"),
                          c.expr(d, "number"), c.integer(d, "timeout", 30, 1, 600),
                          c.ref(d, "on_failure"))


def _message(c: Checker, nid: str, d: LocDict) -> m.Node:
    allowed = {"prompt", "purpose", "max_seconds", "silence", "beep", "next"}
    c.keys(d, COMMON | allowed, {"next"}, f"message node {nid!r}")
    return m.MessageNode(
        nid, d.mark, c.prompts(d, "prompt"), c.text(d, "purpose", "voicemail", ID_RE, "a name"),
        c.integer(d, "max_seconds", 120, 1, 600),
        c.integer(d, "silence", 0, 1, 60) or None, c.boolean(d, "beep", True),
        c.ref(d, "next") or "")


KB_MATCHES = ("all", "any", "title")  # strictest first, as the knowledge base reports a match


def _score(c: Checker, d: LocDict) -> float:
    v = c.get(d, "min_score", (int, float), 0.0, "a number (the search's score, 0 or more)")
    if v < 0:
        c.error(d.value_mark("min_score"), "'min_score' must be 0 or more")
        return 0.0
    return float(v)


def _kb_answer(c: Checker, nid: str, d: LocDict) -> m.Node:
    allowed = {"question", "prompt", "match", "min_score", "max_articles", "intro",
               "helped_prompt", "yes_label", "no_label", "answered", "not_answered", "no_match"}
    c.keys(d, COMMON | allowed, {"answered", "not_answered"}, f"kb_answer node {nid!r}")
    match = c.text(d, "match", "any") or "any"
    if match not in KB_MATCHES:
        c.error(d.value_mark("match"), f"'match' must be one of {', '.join(KB_MATCHES)}")
    labels = []
    for key, default in (("yes_label", "Yes"), ("no_label", "No")):
        label = c.text(d, key, default) or default
        if len(label) > MAX_LABEL:
            c.error(d.value_mark(key), f"{key!r} must be at most {MAX_LABEL} characters")
        labels.append(label)
    if labels[0].casefold() == labels[1].casefold():
        c.error(d.mark, f"kb_answer node {nid!r}: 'yes_label' and 'no_label' must differ")
    not_answered = c.ref(d, "not_answered") or ""
    return m.KbAnswerNode(
        nid, d.mark, c.expr(d, "question", parse("message")) or literal(""),
        c.prompts(d, "prompt"), match, _score(c, d),
        c.integer(d, "max_articles", 3, 1, 10),
        c.prompts(d, "intro", ("These articles may answer your question:",)),
        c.prompts(d, "helped_prompt", ("Did that answer your question?",)),
        labels[0], labels[1], c.ref(d, "answered") or "", not_answered,
        c.ref(d, "no_match") or not_answered)


def _goto(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON | {"target"}, {"target"}, f"goto node {nid!r}")
    return m.GotoNode(nid, d.mark, c.ref(d, "target") or "")


def _subflow(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON | {"flow", "next"}, {"flow", "next"}, f"subflow node {nid!r}")
    flow = c.text(d, "flow", "", ID_RE, "a flow name") or ""
    if flow:
        c.subflows.append(Ref(nid, flow, d.value_mark("flow")))
    return m.SubflowNode(nid, d.mark, flow, c.ref(d, "next") or "")


def _return(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON, set(), f"return node {nid!r}")
    return m.ReturnNode(nid, d.mark)


def _hangup(c: Checker, nid: str, d: LocDict) -> m.Node:
    c.keys(d, COMMON | {"prompt"}, set(), f"hangup node {nid!r}")
    return m.HangupNode(nid, d.mark, c.prompts(d, "prompt"))


BUILDERS: dict[str, NodeBuilder] = {
    "play": _play, "menu": _menu, "input": _input, "say": _say, "set": _set, "branch": _branch,
    "hours": _hours, "lookup": _lookup, "queue": _queue, "transfer": _transfer,
    "message": _message, "goto": _goto, "subflow": _subflow, "return": _return,
    "hangup": _hangup, "kb_answer": _kb_answer,
}


def fallback_from(c: Checker, raw: Any, where: Mark) -> m.Fallback | None:
    """Build a ``Fallback`` from ``{prompt, queue, priority}``."""
    d = c.mapping(raw, where, "'fallback'")
    if d is None:
        return None
    c.keys(d, {"prompt", "queue", "priority"}, set(), "'fallback'")
    return m.Fallback(c.prompts(d, "prompt"), c.text(d, "queue", None, ID_RE, "a queue name"),
                      c.integer(d, "priority", 0, -1000, 1000))


TOP_KEYS = {"name", "description", "entry", "language", "timezone", "fallback", "variables",
            "nodes", "channel", "handover"}


def build_flow(doc: Any, file: str, name: str, digest: str) -> tuple[m.Flow | None, Checker]:
    """Check ``doc`` against the flow schema; return the flow (None on errors) and the checker."""
    c = Checker(file)
    top = Mark(file, 1, 1)
    d = c.mapping(doc, top, "a flow file")
    if d is None:
        return None, c
    c.keys(d, TOP_KEYS, {"entry", "nodes"}, "the flow")
    if "name" in d and d["name"] != name:
        c.error(d.value_mark("name"), f"'name' is {d['name']!r} but the file is named {name!r}")
    channel = c.text(d, "channel", "voice") or "voice"
    if channel not in CHANNELS:
        c.error(d.value_mark("channel"), f"'channel' must be one of {', '.join(CHANNELS)}")
        channel = "voice"
    c.channel = channel
    handover = None
    if "handover" in d:
        if channel != "chat":
            c.error(d.key_mark("handover"), "'handover' goes with 'channel: chat' only")
        handover = c.ref(d, "handover")
    entry = c.text(d, "entry", "", ID_RE, "a node name") or ""
    if entry:
        c.refs.append(Ref("", entry, d.value_mark("entry")))
    language = c.text(d, "language", None, re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?"),
                      "a language code like en or fr_CA")
    nodes: dict[str, m.Node] = {}
    raw_nodes = c.mapping(d["nodes"], d.value_mark("nodes"), "'nodes'") if "nodes" in d else None
    if raw_nodes is not None and len(raw_nodes) > MAX_NODES:
        c.error(raw_nodes.mark, f"too many nodes ({len(raw_nodes)} > {MAX_NODES})")
        raw_nodes = None
    for nid, body in (raw_nodes or {}).items():
        if not isinstance(nid, str) or not ID_RE.fullmatch(nid):
            c.error(raw_nodes.key_mark(nid), f"node name {nid!r} must be letters, digits, _ or -")  # type: ignore[union-attr]
            continue
        nd = c.mapping(body, raw_nodes.value_mark(nid), f"node {nid!r}")  # type: ignore[union-attr]
        if nd is None:
            continue
        kind = nd.get("type")
        if not isinstance(kind, str) or kind not in BUILDERS:  # a list or mapping is unhashable
            where = nd.value_mark("type") if "type" in nd else nd.mark
            c.error(where, f"node {nid!r} has {'unknown type ' + repr(kind) if 'type' in nd else 'no type'}"
                    f" (one of: {', '.join(BUILDERS)})")
            continue
        if kind in (VOICE_ONLY if channel == "chat" else CHAT_ONLY):
            c.error(nd.value_mark("type"), f"node {nid!r}: a {kind!r} node cannot run in a "
                    f"{channel} flow" + (" (it needs a call)" if channel == "chat" else
                                         " (it needs a chat: set 'channel: chat')"))
            continue
        c.node = nid
        node = BUILDERS[kind](c, nid, nd)
        if node is not None:
            # Graph errors and runtime logs point at the node's name, where editors jump.
            nodes[nid] = dataclasses.replace(node, mark=raw_nodes.key_mark(nid))  # type: ignore[union-attr]
    variables = (_assignments(c, d["variables"], d.value_mark("variables"), "'variables'")
                 if "variables" in d else ())
    fallback = fallback_from(c, d["fallback"], d.value_mark("fallback")) if "fallback" in d else None
    timezone = c.timezone(d, "timezone")
    if c.errors:
        return None, c
    flow = m.Flow(name, file, entry, nodes, language, timezone, fallback,
                  variables, digest, d.mark, str(d.get("description", "")),
                  channel=channel, handover=handover)
    return flow, c
