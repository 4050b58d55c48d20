"""Located-value checks shared by the flow schema, test files and the ``ivr:`` settings.

A ``Checker`` reads one value at a time from a ``LocDict`` and records a ``SourceError`` at the
key or value that is wrong, then returns a default so checking can go on and report everything
in one pass.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from contactcenter.common.yamlfile import LocDict, LocList, Mark, SourceError, mark_of
from contactcenter.ivr.expressions import Expr, ExprSyntaxError, literal, parse
from contactcenter.ivr.saytext import parse_template

MAX_NODES = 300
MAX_CHOICES = 12
MAX_PROMPTS = 20
MAX_TEXT = 200
MAX_CHAT_TEXT = 2000  # one bot message in a chat flow
CHANNELS = ("voice", "chat")

ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}(\.[A-Za-z_][A-Za-z0-9_]{0,40}){0,3}")
SOUND_RE = re.compile(r"/?[A-Za-z0-9_][A-Za-z0-9_./-]{0,150}")
DIAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9/@._+#*:-]{0,120}")
DIGITS = "0123456789*#"
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Names the runner fills in from the call; flows may read but not assign them.
READ_ONLY_VARS = frozenset(
    {"caller_id", "caller_name", "dnid", "extension", "channel", "uniqueid", "flow", "now",
     "date", "time", "hour", "minute", "weekday"}
)

_MISSING = object()


@dataclass
class Ref:
    """A reference from one node to another, with where it was written."""

    source: str
    target: str
    mark: Mark


@dataclass
class Checker:
    """Collects errors and node references while building one flow."""

    file: str
    errors: list[SourceError] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    subflows: list[Ref] = field(default_factory=list)
    node: str = ""
    channel: str = "voice"  # chat flows' prompts are texts, not sound names

    def error(self, mark: Mark, message: str) -> None:
        self.errors.append(SourceError(mark, message))

    def mapping(self, value: Any, where: Mark, what: str) -> LocDict | None:
        if isinstance(value, LocDict):
            return value
        self.error(mark_of(value, where), f"{what} must be a mapping, not {_tname(value)}")
        return None

    def keys(self, d: LocDict, allowed: set[str], required: set[str], what: str) -> None:
        for k in d:
            if k not in allowed:
                hint = ", ".join(sorted(allowed))
                self.error(d.key_mark(k), f"unknown key {k!r} in {what} (allowed: {hint})")
        for k in sorted(required - set(d)):
            self.error(d.mark, f"{what} is missing required key {k!r}")

    def get(self, d: LocDict, key: str, kinds: tuple[type, ...], default: Any, label: str) -> Any:
        if key not in d:
            return default
        v = d[key]
        if isinstance(v, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(v, kinds)
        if not ok:
            self.error(d.value_mark(key), f"{key!r} must be {label}, not {_tname(v)}")
            return default
        return v

    def text(self, d: LocDict, key: str, default: Any = None, pattern: re.Pattern[str] | None = None,
             what: str = "a string") -> Any:
        v = self.get(d, key, (str,), _MISSING, what)
        if v is _MISSING:
            return default
        if len(v) > MAX_TEXT or any(c in v for c in "\r\n\x00"):
            self.error(d.value_mark(key), f"{key!r} is too long or contains a line break")
            return default
        if pattern is not None and not pattern.fullmatch(v):
            self.error(d.value_mark(key), f"{key!r}: {v!r} is not {what}")
            return default
        return v

    def integer(self, d: LocDict, key: str, default: int, lo: int, hi: int) -> int:
        v = self.get(d, key, (int,), _MISSING, "a whole number")
        if v is _MISSING:
            return default
        if not lo <= v <= hi:
            self.error(d.value_mark(key), f"{key!r} must be between {lo} and {hi}")
            return default
        return int(v)

    def seconds(self, d: LocDict, key: str, default: Any, lo: float, hi: float) -> Any:
        v = self.get(d, key, (int, float), _MISSING, "a number of seconds")
        if v is _MISSING:
            return default
        if not lo <= v <= hi:
            self.error(d.value_mark(key), f"{key!r} must be between {lo:g} and {hi:g} seconds")
            return default
        return float(v)

    def boolean(self, d: LocDict, key: str, default: bool) -> bool:
        return bool(self.get(d, key, (bool,), default, "true or false"))

    def prompts(self, d: LocDict, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        if key not in d:
            return default
        v = d[key]
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, list) or len(items) > MAX_PROMPTS:
            self.error(d.value_mark(key), f"{key!r} must be a sound name or a list of up to "
                       f"{MAX_PROMPTS} sound names")
            return default
        marks = getattr(items, "item_marks", None) or [d.value_mark(key)] * len(items)
        out = []
        for item, mk in zip(items, marks):
            if self.channel == "chat":
                if self.chat_text(item, mk, key):
                    out.append(item)
            elif not isinstance(item, str) or not SOUND_RE.fullmatch(item):
                self.error(mk, f"{item!r} is not a valid sound name (letters, digits, _ . / -)")
            else:
                out.append(item)
        return tuple(out)

    def chat_text(self, item: Any, mark: Mark, key: str) -> bool:
        """A chat flow's message: text with ``{expressions}`` in braces, checked now."""
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_CHAT_TEXT \
                or "\x00" in item:
            self.error(mark, f"{key!r} must be a text of 1 to {MAX_CHAT_TEXT} characters")
            return False
        try:
            parse_template(item)
        except ExprSyntaxError as exc:
            self.error(Mark(mark.file, mark.line, mark.col + exc.offset), f"bad {key!r}: {exc}")
            return False
        return True

    def digits(self, d: LocDict, key: str, default: str = "") -> str:
        v = d.get(key, default)
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str) or any(c not in DIGITS for c in v):
            self.error(d.value_mark(key), f"{key!r} must be a string of DTMF keys (0-9 * #)")
            return default
        return "".join(dict.fromkeys(v))

    def ref(self, d: LocDict, key: str, required: bool = True) -> str | None:
        if key not in d:
            return None  # missing required keys are reported by keys()
        v = d[key]
        if not isinstance(v, str) or not ID_RE.fullmatch(v):
            self.error(d.value_mark(key), f"{key!r} must name a node, not {v!r}")
            return None
        self.refs.append(Ref(self.node, v, d.value_mark(key)))
        return v

    def expr(self, d: LocDict, key: str, default: Expr | None = None) -> Expr | None:
        if key not in d:
            return default
        return self.expr_value(d[key], d.value_mark(key), key)

    def expr_value(self, v: Any, mark: Mark, label: str) -> Expr | None:
        if isinstance(v, (bool, int, float)) or v is None:
            return literal(v)
        if not isinstance(v, str):
            self.error(mark, f"{label!r} must be an expression, not {_tname(v)}")
            return None
        try:
            return parse(v)
        except ExprSyntaxError as exc:
            # The value mark is the scalar's start; a quoted scalar shifts by its opening quote.
            col = mark.col + exc.offset
            self.error(Mark(mark.file, mark.line, col), f"bad expression in {label!r}: {exc}")
            return None

    def var_name(self, v: Any, mark: Mark, assign: bool = True) -> str | None:
        if not isinstance(v, str) or not VAR_RE.fullmatch(v):
            self.error(mark, f"{v!r} is not a valid variable name")
            return None
        if assign and v in READ_ONLY_VARS:
            self.error(mark, f"variable {v!r} is set by the call and cannot be assigned")
            return None
        return v

    def timezone(self, d: LocDict, key: str) -> str | None:
        tz = self.text(d, key)
        if tz is None:
            return None
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.error(d.value_mark(key), f"unknown time zone {tz!r}")
            return None
        return tz


def _tname(v: Any) -> str:
    if v is None:
        return "empty"
    return {dict: "a mapping", LocDict: "a mapping", list: "a list", LocList: "a list",
            str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(v), type(v).__name__)
