"""AGI command lines: validated names, arguments quoted the way Asterisk's parse_args reads them.

Asterisk (res_agi.c ``parse_args``) splits a command line on spaces and tabs; double quotes group
words and a backslash makes the next character literal, inside quotes or not. So an argument is
sent bare when it is a plain word and quoted (with ``\\`` and ``\"`` escaped) otherwise;
``Quoted`` forces quotes, as Asterisk's own examples do for escape digits and messages. CR, LF
and NUL can never be sent: they would end or corrupt the line, so they raise UnsafeValueError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from contactcenter.telephony.agi.api import UnsafeValueError

__all__ = [
    "AgiCommand",
    "Quoted",
    "build_command",
    "check_safe",
    "quote",
    "render_arg",
    "render_quoted",
]

_UNSAFE = ("\r", "\n", "\x00")
_NEEDS_QUOTES = re.compile(r'[\s"\\]')
_COMMAND_NAME = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
_KNOWN_COMMANDS = frozenset(
    (
        "ANSWER",
        "CHANNEL STATUS",
        "EXEC",
        "GET DATA",
        "GET FULL VARIABLE",
        "GET OPTION",
        "GET VARIABLE",
        "HANGUP",
        "NOOP",
        "RECORD FILE",
        "SAY DATETIME",
        "SAY DIGITS",
        "SAY NUMBER",
        "SET MUSIC",
        "SET VARIABLE",
        "STREAM FILE",
        "VERBOSE",
        "WAIT FOR DIGIT",
    )
)  # names the session uses; anything else is checked against _COMMAND_NAME


@dataclass(frozen=True, slots=True)
class Quoted:
    """A command argument that is always sent in double quotes (escape digits, messages)."""

    value: str


class AgiCommand(NamedTuple):
    """A validated command line, without its terminating LF; ``wire`` is what ``send`` emits.

    A NamedTuple: immutable (prebuilt commands are shared constants) and cheap to build.
    """

    line: str
    name: str = ""
    wire: bytes = b""


def check_safe(value: str, what: str = "value") -> str:
    """Return ``value`` unchanged, or raise UnsafeValueError if it holds CR, LF or NUL."""
    for ch in _UNSAFE:
        if ch in value:
            raise UnsafeValueError(f"{what} contains {ch!r}: {value!r}")
    return value


def quote(value: str) -> str:
    """Double-quote ``value`` the way Asterisk's parse_args reads it back (backslash escapes)."""
    if "\r" in value or "\n" in value or "\x00" in value:
        check_safe(value, "argument")  # raises, with the detail
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_arg(arg: str | int | Quoted) -> str:
    # Exact-type checks first: this runs for every argument of every command.
    if type(arg) is str:
        if "\r" in arg or "\n" in arg or "\x00" in arg:
            check_safe(arg, "argument")  # raises, with the detail
        return quote(arg) if (not arg or _NEEDS_QUOTES.search(arg)) else arg
    if type(arg) is Quoted:
        return quote(arg.value)
    if type(arg) is int:
        return str(arg)
    if isinstance(arg, bool):
        raise TypeError("bool is not an AGI argument; pass an int or a string")
    if isinstance(arg, int):
        return str(arg)
    if isinstance(arg, Quoted):
        return quote(arg.value)
    if isinstance(arg, str):
        check_safe(arg, "argument")
        return quote(arg) if (not arg or _NEEDS_QUOTES.search(arg)) else arg
    raise TypeError(f"unsupported AGI argument type {type(arg).__name__}")


def render_arg(arg: str | int | Quoted) -> str:
    """One argument as ``build_command`` renders it (bare when plain, quoted otherwise).

    Fast path for the usual plain word: a printable string holds no CR, LF, NUL, tab or other
    whitespace than the space (``str.isprintable``), so ruling out space, quote and backslash
    leaves nothing to quote or refuse. Anything else takes the general, checking path.
    """
    if (
        type(arg) is str
        and arg.isprintable()
        and arg
        and " " not in arg
        and '"' not in arg
        and "\\" not in arg
    ):
        return arg
    return _render_arg(arg)


def render_quoted(value: str) -> str:
    """``value`` always in double quotes, as ``Quoted(value)`` renders it."""
    if type(value) is str and value.isprintable() and '"' not in value and "\\" not in value:
        return '"' + value + '"'
    return quote(value)


def build_command(name: str, *args: str | int | Quoted) -> AgiCommand:
    """Build ``NAME arg ...``; plain strings are quoted only when needed, Quoted always."""
    if name not in _KNOWN_COMMANDS:
        check_safe(name, "command name")
        if not _COMMAND_NAME.fullmatch(name):
            raise ValueError(f"invalid AGI command name {name!r}")
    # Sent as given: Asterisk matches command words case-insensitively (trace 03).
    if args:
        line = name + " " + " ".join([render_arg(a) for a in args])
    else:
        line = name
    return AgiCommand(line, name.upper(), line.encode("utf-8") + b"\n")
