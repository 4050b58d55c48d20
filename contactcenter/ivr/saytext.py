"""The text of a ``say`` node: words with ``{expression}`` holes, filled from the call's variables.

Design note: ``"Your balance is {customer.balance} dollars"`` is parsed once, when the flow
loads, into literal pieces and ``Expr`` holes (the same expression language as every other
node), so a bad hole is a file:line:col error and never a call-time surprise. ``{{`` and
``}}`` are literal braces. Filling it never fails on a value: null is nothing, true/false are
"yes"/"no", a whole float is said without ".0", a list is joined with commas. The result is
one line of speech: control characters become spaces, runs of spaces one space, and it is cut at
a word past ``max_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contactcenter.ivr.expressions import Expr, ExprSyntaxError, parse

Template = tuple[str | Expr, ...]
MAX_TEMPLATE = 2000
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")


def parse_template(text: str) -> Template:
    """Split ``text`` into literal pieces and parsed holes; ``ExprSyntaxError`` with the offset."""
    if len(text) > MAX_TEMPLATE:
        raise ExprSyntaxError(f"text longer than {MAX_TEMPLATE} characters", 0)
    parts: list[str | Expr] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            buf.append(ch)
            i += 2
        elif ch == "}":
            raise ExprSyntaxError("'}' without '{' (write '}}' for a brace)", i)
        elif ch == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise ExprSyntaxError("'{' is never closed (write '{{' for a brace)", i)
            try:
                expr = parse(text[i + 1:end])
            except ExprSyntaxError as exc:
                raise ExprSyntaxError(str(exc), i + 1 + exc.offset) from None
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(expr)
            i = end + 1
        else:
            buf.append(ch)
            i += 1
    if buf:
        parts.append("".join(buf))
    return tuple(parts)


def spoken(value: Any) -> str:
    """How a value of a hole is said."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(spoken(v) for v in value)
    return str(value)


def fill(template: Template, variables: Mapping[str, Any], max_chars: int) -> tuple[str, bool]:
    """The text to speak and whether it was cut; ``ExprError`` from a hole propagates."""
    raw = "".join(p if isinstance(p, str) else spoken(p.evaluate(variables)) for p in template)
    text = _SPACES.sub(" ", raw).strip()
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(), True

