"""Ticket types and admin-defined typed custom fields, as values: their definitions, the check
of a value against its field, and what a solve still lacks.

Design note: a field's value is checked on every write by ``check_value`` (the API, a later
import, anything) and stored twice: as JSON (what the page shows and edits) and as ``text``, one
canonical string (``2026-12-07``, ``42``, ``true``, the chosen option), which is what the list
filters by equality and searches by substring; a number is kept in its shortest form, so
``42.0`` and ``42`` are the same value. A field ``required_on_solve`` may stay empty while the
ticket is worked, but a change to ``solved`` without it is refused, naming every field missing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from contactcenter.tickets.model import TicketUnprocessable

KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
TEXT_MAX = 1000
LABEL_MAX = 100
OPTIONS_MAX = 100
TYPES_MAX = 50


class FieldRefused(TicketUnprocessable):
    """A field, a type or a value of the declared form but refused content."""


class Kind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    DROPDOWN = "dropdown"
    CHECKBOX = "checkbox"


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One custom field of tickets; ``options`` only for a dropdown."""

    key: str
    label: str
    kind: Kind
    options: tuple[str, ...] = ()
    required_on_solve: bool = False
    position: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "kind": self.kind.value,
                "options": list(self.options), "required_on_solve": self.required_on_solve,
                "position": self.position}


def _one_line(value: Any, what: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldRefused(f"{what} is required")
    value = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise FieldRefused(f"{what} must be one line without control characters")
    if len(value) > max_len:
        raise FieldRefused(f"{what} is longer than {max_len} characters")
    return value


def parse_field(body: Mapping[str, Any], position: int = 0) -> FieldDef:
    """A field definition from an admin's request body (``FieldRefused`` says why not)."""
    key = body.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise FieldRefused("key must be 1-32 of a-z, 0-9 or '_', starting with a letter")
    if key == "types":  # the path of the list of types
        raise FieldRefused("key 'types' is reserved")
    try:
        kind = Kind(str(body.get("kind")))
    except ValueError:
        raise FieldRefused(f"kind must be one of {', '.join(k.value for k in Kind)}") from None
    options: tuple[str, ...] = ()
    if kind is Kind.DROPDOWN:
        raw = body.get("options")
        if not isinstance(raw, list) or not raw:
            raise FieldRefused("a dropdown needs its options")
        options = tuple(_one_line(o, "an option", LABEL_MAX) for o in raw)
        if len(set(options)) != len(options) or len(options) > OPTIONS_MAX:
            raise FieldRefused(f"options must be different, at most {OPTIONS_MAX}")
    elif body.get("options"):
        raise FieldRefused("only a dropdown has options")
    required = body.get("required_on_solve", False)
    if not isinstance(required, bool):
        raise FieldRefused("required_on_solve must be true or false")
    return FieldDef(key, _one_line(body.get("label", key), "label", LABEL_MAX), kind, options,
                    required, position)


def parse_types(values: Any) -> tuple[str, ...]:
    """The list of ticket types an admin saves: names, in order, no duplicates."""
    if not isinstance(values, list) or len(values) > TYPES_MAX:
        raise FieldRefused(f"types must be a list of at most {TYPES_MAX} names")
    out: list[str] = []
    for v in values:
        if not isinstance(v, str) or not TYPE.match(v):
            raise FieldRefused(f"type {v!r} must be 1-32 of a-z, 0-9, '_' or '-', starting "
                               "with a letter")
        if v in out:
            raise FieldRefused(f"type {v!r} is listed twice")
        out.append(v)
    return tuple(out)


def check_value(field: FieldDef, value: Any) -> tuple[Any, str] | None:
    """``(value as stored, its text)`` for ``field``; None clears it (None, "" or false for a
    text or a checkbox alike). ``FieldRefused`` names the field and what it takes."""
    what = f"field {field.key!r} ({field.kind.value})"
    if value is None or (isinstance(value, str) and not value.strip()
                         and field.kind is not Kind.CHECKBOX):
        return None
    if field.kind is Kind.TEXT:
        if not isinstance(value, str):
            raise FieldRefused(f"{what} takes a string")
        text = value.strip()
        if "\x00" in text or len(text) > TEXT_MAX:
            raise FieldRefused(f"{what} takes at most {TEXT_MAX} characters, no NUL")
        return text, text
    if field.kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise FieldRefused(f"{what} takes a number")
        number: int | float = int(value) if float(value).is_integer() \
            and abs(value) < 2 ** 53 else float(value)
        return number, repr(number)
    if field.kind is Kind.DATE:
        try:
            day = date.fromisoformat(value) if isinstance(value, str) \
                and len(value) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise FieldRefused(f"{what} takes a date as YYYY-MM-DD")
        return day.isoformat(), day.isoformat()
    if field.kind is Kind.DROPDOWN:
        if value not in field.options:
            raise FieldRefused(f"{what} takes one of {', '.join(field.options)}")
        return value, value
    if not isinstance(value, bool):
        raise FieldRefused(f"{what} takes true or false")
    return (True, "true") if value else None


def missing_on_solve(fields: list[FieldDef], values: Mapping[str, Any]) -> list[FieldDef]:
    """The fields a ticket must have before it is solved and does not."""
    return [f for f in fields if f.required_on_solve and values.get(f.key) is None]
