"""A small, safe expression language for ``set``, ``branch``, ``say`` and queue priorities.

Design: flows are written by admins, so no ``eval``. Source text is tokenized and parsed once at
load time into a tree of tuples (``Expr``); evaluation walks that tree against a read-only
variable mapping. Values are str, int, float, bool, None or lists of those. Unknown variables
are ``None`` (a lookup that found nothing simply leaves its variables unset). Comparing a number
with a numeric string compares numbers, because DTMF input always arrives as text.

Grammar (lowest precedence first)::

    expr   := or ;  or := and ("or" and)* ;  and := not ("and" not)*
    not    := "not" not | cmp
    cmp    := add (("=="|"!="|"<"|"<="|">"|">="|"in"|"not in"|"matches") add)?
    add    := unary (("+"|"-"|"*") unary)* ;  unary := "-" unary | primary
              ("+" concatenates when either side is text)
    primary:= NUMBER | STRING | true | false | null | NAME | NAME "(" args ")"
            | "(" expr ")" | "[" [expr ("," expr)*] "]"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_SOURCE = 1000
MAX_DEPTH = 20
MAX_STRING = 4096


class ExprSyntaxError(ValueError):
    """The expression text cannot be parsed; ``offset`` is the 0-based column in the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class ExprError(ValueError):
    """Evaluation failed at call time (wrong types, bad regex, ...)."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+(?:\.\d+)?)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|\(|\)|\[|\]|,)
    )""",
    re.VERBOSE,
)

_KEYWORDS = {"and", "or", "not", "in", "matches", "true", "false", "null"}


def _unescape(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            col = pos + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise ExprSyntaxError(f"unexpected character {text[col]!r}", col)
        start = m.start(m.lastgroup) if m.lastgroup else pos
        kind = m.lastgroup or ""
        val: Any = m.group(kind)
        if kind == "num":
            val = float(val) if "." in val else int(val)
        elif kind == "str":
            val = _unescape(val)
        elif kind == "name" and val in _KEYWORDS:
            kind = "kw"
        tokens.append((kind, val, start))
        pos = m.end()
    tokens.append(("end", None, len(text)))
    return tokens


# --- functions callable from flows: pure, total on their documented types -----------------


def _fn_if(cond: Any, a: Any, b: Any) -> Any:
    return a if truthy(cond) else b


def _fn_int(v: Any) -> int:
    try:
        return int(str(v).strip())
    except ValueError:
        raise ExprError(f"int(): {v!r} is not a whole number") from None


def _fn_default(v: Any, d: Any) -> Any:
    return d if v is None or v == "" else v


FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "len": (1, lambda v: len(v) if isinstance(v, (str, list)) else len(_s(v))),
    "lower": (1, lambda v: _s(v).lower()),
    "upper": (1, lambda v: _s(v).upper()),
    "str": (1, lambda v: _s(v)),
    "int": (1, _fn_int),
    "digits": (1, lambda v: re.sub(r"\D", "", _s(v))),
    "startswith": (2, lambda v, p: _s(v).startswith(_s(p))),
    "endswith": (2, lambda v, p: _s(v).endswith(_s(p))),
    "contains": (2, lambda v, p: _s(p) in _s(v)),
    "default": (2, _fn_default),
    "if": (3, _fn_if),
}


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def truthy(v: Any) -> bool:
    """Flow truthiness: None, False, 0, "" and [] are false."""
    return bool(v)


@dataclass(frozen=True, slots=True)
class Expr:
    """A parsed expression: its source text, its tree and the variable names it reads."""

    source: str
    tree: tuple
    names: frozenset[str]

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate against ``variables``; raises ``ExprError`` on type problems."""
        return _eval(self.tree, variables)


def literal(value: Any) -> Expr:
    """An expression that always yields ``value`` (for YAML numbers and booleans)."""
    return Expr(repr(value), ("lit", value), frozenset())


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.names: set[str] = set()

    def peek(self) -> tuple[str, Any, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, Any, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, val: Any) -> bool:
        k, v, _ = self.peek()
        if k == kind and v == val:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, val: Any) -> None:
        if not self.accept(kind, val):
            _, v, pos = self.peek()
            got = "end of expression" if v is None else repr(v)
            raise ExprSyntaxError(f"expected {val!r}, found {got}", pos)

    def parse(self) -> tuple:
        tree = self.or_()
        k, v, pos = self.peek()
        if k != "end":
            raise ExprSyntaxError(f"unexpected {v!r}", pos)
        return tree

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprSyntaxError("expression nested too deeply", self.peek()[2])

    def or_(self) -> tuple:
        left = self.and_()
        while self.accept("kw", "or"):
            left = ("or", left, self.and_())
        return left

    def and_(self) -> tuple:
        left = self.not_()
        while self.accept("kw", "and"):
            left = ("and", left, self.not_())
        return left

    def not_(self) -> tuple:
        if self.accept("kw", "not"):
            self.nest()
            inner = self.not_()
            self.depth -= 1
            return ("not", inner)
        return self.cmp()

    def cmp(self) -> tuple:
        left = self.add()
        k, v, _ = self.peek()
        if k == "op" and v in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return ("cmp", v, left, self.add())
        if k == "kw" and v in ("in", "matches"):
            self.take()
            return (v, left, self.add())
        if k == "kw" and v == "not" and self.toks[self.i + 1][:2] == ("kw", "in"):
            self.i += 2
            return ("not", ("in", left, self.add()))
        return left

    def add(self) -> tuple:
        left = self.unary()
        while True:
            k, v, _ = self.peek()
            if k == "op" and v in ("+", "-", "*"):
                self.take()
                left = ("arith", v, left, self.unary())
            else:
                return left

    def unary(self) -> tuple:
        if self.accept("op", "-"):
            self.nest()
            inner = self.unary()
            self.depth -= 1
            return ("arith", "-", ("lit", 0), inner)
        return self.primary()

    def primary(self) -> tuple:
        k, v, pos = self.take()
        if k in ("num", "str"):
            return ("lit", v)
        if k == "kw" and v in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[v])
        if k == "name":
            if self.accept("op", "("):
                if v not in FUNCTIONS:
                    raise ExprSyntaxError(f"unknown function {v!r}", pos)
                args = self.items(")")
                arity = FUNCTIONS[v][0]
                if len(args) != arity:
                    raise ExprSyntaxError(f"{v}() takes {arity} argument(s), got {len(args)}", pos)
                return ("call", v, tuple(args))
            self.names.add(v)
            return ("var", v)
        if k == "op" and v == "(":
            self.nest()
            inner = self.or_()
            self.depth -= 1
            self.expect("op", ")")
            return inner
        if k == "op" and v == "[":
            return ("list", tuple(self.items("]")))
        got = "end of expression" if k == "end" else repr(v)
        raise ExprSyntaxError(f"unexpected {got}", pos)

    def items(self, close: str) -> list[tuple]:
        self.nest()
        out: list[tuple] = []
        if not self.accept("op", close):
            out.append(self.or_())
            while self.accept("op", ","):
                out.append(self.or_())
            self.expect("op", close)
        self.depth -= 1
        return out


def parse(text: str) -> Expr:
    """Parse ``text``; raises ``ExprSyntaxError`` with the offending offset."""
    if len(text) > MAX_SOURCE:
        raise ExprSyntaxError(f"expression longer than {MAX_SOURCE} characters", 0)
    if not text.strip():
        raise ExprSyntaxError("empty expression", 0)
    p = _Parser(text)
    tree = p.parse()
    return Expr(text, tree, frozenset(p.names))


def _num(v: Any) -> int | float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v.strip()):
        return float(v) if "." in v else int(v)
    return None


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare(op: str, a: Any, b: Any) -> bool:
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None and (not isinstance(a, str) or not isinstance(b, str)):
        a, b = na, nb
    if op in ("==", "!="):
        return _CMP[op](a, b)
    numbers = _num(a) is not None and _num(b) is not None and not isinstance(a, str)
    if not (numbers or (isinstance(a, str) and isinstance(b, str))):
        raise ExprError(f"cannot order {a!r} and {b!r}")
    return _CMP[op](a, b)


def _eval(t: tuple, env: Mapping[str, Any]) -> Any:
    op = t[0]
    if op == "lit":
        return t[1]
    if op == "var":
        return env.get(t[1])
    if op == "and":
        left = _eval(t[1], env)
        return _eval(t[2], env) if truthy(left) else left
    if op == "or":
        left = _eval(t[1], env)
        return left if truthy(left) else _eval(t[2], env)
    if op == "not":
        return not truthy(_eval(t[1], env))
    if op == "cmp":
        return _compare(t[1], _eval(t[2], env), _eval(t[3], env))
    if op == "in":
        item, coll = _eval(t[1], env), _eval(t[2], env)
        if isinstance(coll, list):
            return any(_compare("==", item, c) for c in coll)
        return _s(item) in _s(coll)
    if op == "matches":
        subject, pattern = _s(_eval(t[1], env)), _s(_eval(t[2], env))
        try:
            return re.fullmatch(pattern, subject) is not None
        except re.error as exc:
            raise ExprError(f"bad pattern {pattern!r}: {exc}") from None
    if op == "arith":
        a, b = _eval(t[2], env), _eval(t[3], env)
        return _arith(t[1], a, b)
    if op == "call":
        fn = FUNCTIONS[t[1]][1]
        return fn(*(_eval(a, env) for a in t[2]))
    if op == "list":
        return [_eval(a, env) for a in t[1]]
    raise ExprError(f"bad expression node {op!r}")  # pragma: no cover - parser never builds it


def _arith(op: str, a: Any, b: Any) -> Any:
    na, nb = _num(a), _num(b)
    # "+" with any text operand concatenates: account numbers and dial strings are digits.
    if op == "+" and (isinstance(a, str) or isinstance(b, str)):
        out = _s(a) + _s(b)
        if len(out) > MAX_STRING:
            raise ExprError("string too long")
        return out
    if na is None or nb is None:
        raise ExprError(f"cannot compute {a!r} {op} {b!r}")
    if op == "+":
        return na + nb
    if op == "-":
        return na - nb
    if abs(na) > 1e9 or abs(nb) > 1e9:
        raise ExprError("number too large")
    return na * nb
