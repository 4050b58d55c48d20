"""The expectations every flow test case may state, whatever the flow's channel: the path taken,
the outcome and the variables (``flowtest.py`` for calls, ``text_flowtest.py`` for chats)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol


class RunResult(Protocol):
    @property
    def path(self) -> Sequence[str]: ...
    @property
    def outcome(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def variables(self) -> Mapping[str, Any]: ...


def check_common(fail: Callable[[str], None], exp: Mapping[str, Any], result: RunResult) -> None:
    """Report (through ``fail``) each of ``path``, ``visits``, ``not_visits``, ``outcome`` and
    ``variables`` that ``result`` does not meet."""
    path = list(result.path)
    if "path" in exp and list(exp["path"]) != path:
        fail(f"path: expected {list(exp['path'])}, got {path}")
    if "visits" in exp:
        it = iter(path)
        missing = [n for n in exp["visits"] if n not in it]
        if missing:
            fail(f"visits: {missing} not visited in that order; path was {path}")
    for n in exp.get("not_visits", []):
        if n in path:
            fail(f"not_visits: {n!r} was visited; path was {path}")
    if "outcome" in exp and exp["outcome"] != result.outcome:
        fail(f"outcome: expected {exp['outcome']!r}, got {result.outcome!r}"
             + (f" ({result.error})" if result.error else ""))
    for k, v in (exp.get("variables") or {}).items():
        got = result.variables.get(k)
        if got != v and str(got) != str(v):
            fail(f"variable {k!r}: expected {v!r}, got {got!r}")
