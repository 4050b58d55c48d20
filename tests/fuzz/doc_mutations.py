"""Hypothesis strategies that make broken YAML documents out of real ones.

``mutated_doc(seed)`` loads a real file (a flow, queues.yaml...) as plain data and changes a few
places in it: a value replaced by any scalar or container (huge ints, NaN, dates, nulls, deep
nesting), a key dropped, renamed or added; ``mutated_text(seed)`` edits the text itself (lines
dropped, doubled, re-indented, characters inserted, including tabs, control characters, ``&``,
``*``, ``!!`` and ``<<``). Together they reach the schema and graph checks, not only the parser.
"""

from __future__ import annotations

import copy
import datetime
import functools
import math
from typing import Any

import yaml
from hypothesis import strategies as st

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-10, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**30, -(10**30), math.inf, math.nan, 0, -1, "", "0", "yes", "no", "null",
                     "~", "1e309", "08:00-19:00", "mon-fri", "closed", "caller_id", "customer.tier",
                     "a" * 300, "${x}", "{{x}}", "x == 'y'", "queue", "menu", "play", "hangup",
                     "goto", "sales", "operator", "PJSIP/1001", "en", "Europe/Paris",
                     "Mars/Olympus", "25:61-99:99", datetime.date(2026, 2, 28)]),
    st.text(max_size=30),
)

VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=10) | st.sampled_from(["type", "next", "nodes", "entry", "queue",
                                                 "skills", "timeout", "vars", "choices"]),
        inner, max_size=4),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indexes) to a node of ``doc``, the root included."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


@functools.lru_cache(maxsize=16)
def _parsed(seed_text: str) -> Any:
    return yaml.safe_load(seed_text)


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@st.composite
def mutated_doc(draw: st.DrawFn, seed_text: str) -> str:
    """The YAML (or, one time in four, JSON-style flow YAML) of ``seed_text`` with edits."""
    doc = copy.deepcopy(_parsed(seed_text))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "rename", "deepen"]))
        if not path:
            if op == "replace":
                doc = draw(VALUES)
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        if op == "replace":
            parent[key] = draw(VALUES)
        elif op == "drop":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8) | SCALARS.filter(lambda x: x is not None))] = draw(VALUES)
        elif op == "add" and isinstance(parent, list):
            parent.insert(draw(st.integers(0, len(parent))), draw(VALUES))
        elif op == "rename" and isinstance(parent, dict):
            value = parent.pop(key)
            parent[draw(st.text(max_size=8) | st.sampled_from(["type", "next", "nodes", "Type"]))] = value
        elif op == "deepen":
            value = parent[key]
            for _ in range(draw(st.integers(1, 40))):
                value = draw(st.sampled_from([[value], {"x": value}]))
            parent[key] = value
    try:
        return yaml.dump(doc, Dumper=_Dumper, allow_unicode=draw(st.booleans()),
                              default_flow_style=draw(st.sampled_from([False, True, None])),
                              sort_keys=False)
    except (yaml.YAMLError, RecursionError, ValueError):
        return seed_text


TEXT_BITS = st.sampled_from(["\t", "  ", ":", ": ", "- ", "&a ", "*a", "!!python/object ",
                             "!foo ", "<<: ", "{", "}", "[", "]", "'", '"', "#", "\x07", "\x00",
                             "\ufeff", "\u2028", "\r", "\n", "\\", "|", ">", "%YAML 1.1\n",
                             "---\n", "...\n", "? ", "9" * 40, "@", "`"])


@st.composite
def mutated_text(draw: st.DrawFn, seed_text: str) -> str:
    """``seed_text`` with lines dropped, doubled, re-indented and characters inserted."""
    lines = seed_text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "double", "indent", "dedent", "insert", "insert"]))
        if op == "drop":
            del lines[i]
        elif op == "double":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 4)) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip(" ")
        else:
            at = draw(st.integers(0, len(lines[i])))
            bit = draw(TEXT_BITS | st.text(max_size=4))
            lines[i] = lines[i][:at] + bit + lines[i][at:]
    return "".join(lines)


def documents(seed_text: str) -> st.SearchStrategy[str]:
    """Structural or textual mutations of one seed, or an arbitrary document."""
    return st.one_of(
        mutated_doc(seed_text), mutated_doc(seed_text), mutated_text(seed_text),
        VALUES.map(lambda v: yaml.safe_dump(v)),
        st.text(max_size=200),
    )
