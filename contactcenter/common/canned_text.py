"""Canned texts, whatever the channel: a shortcut's form, the check of a text's
``{placeholder}`` names, and filling them in.

Design note: chat replies (``chat/canned.py``) and ticket answers (``tickets/canned.py``) keep
their own tables and rules of who sees which; the text itself follows the same rules in both,
so they live here, below the channels. An unknown placeholder is refused when a text is saved
(a typo never reaches a customer), and filling is one pass, so a value is never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_TEXT = 2000
SHORTCUT_RULE = "1-32 of a-z, 0-9, '_' or '-', starting with a letter or digit"
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def clean_shortcut(value: Any) -> str | None:
    """The shortcut without its leading ``/``; None when it is not one."""
    if isinstance(value, str):
        value = value.removeprefix("/")
    if not isinstance(value, str) or not _SHORTCUT.match(value):
        return None
    return value


def check_text(value: Any, known: Iterable[str]) -> tuple[str, str | None]:
    """``(text trimmed, None)``, or ``("", why)`` when it is empty, too long or names a
    placeholder not in ``known``."""
    if not isinstance(value, str) or not value.strip():
        return "", "the text is empty"
    text = value.strip()
    if len(text) > MAX_TEXT:
        return "", f"at most {MAX_TEXT} characters"
    names = tuple(known)
    unknown = sorted({p for p in _PLACEHOLDER.findall(text) if p not in names})
    if unknown:
        return "", (f"unknown placeholder(s) {', '.join('{' + p + '}' for p in unknown)}"
                    f"; known: {', '.join('{' + p + '}' for p in names)}")
    return text, None


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders replaced (in one pass: a value is never expanded)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
