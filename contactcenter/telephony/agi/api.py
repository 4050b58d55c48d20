"""What a call script may do to a call: the contract between the FastAGI session and its users.

The IVR runner, the voice side of the queue engine and the offline flow tester all program
against ``CallControl``. ``AgiSession`` (over a real FastAGI socket) implements it; so does the
offline scripted caller used by ``contactcenter flows test``. Every string argument that reaches
the wire is checked by the implementation: CR, LF and NUL raise ``UnsafeValueError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

_SUB_PART = re.compile(r"[A-Za-z0-9_.:@+-]*")


class CallHangup(Exception):
    """The caller is gone (511, a pushed HANGUP, or the socket closed); stop at once."""


class UnsafeValueError(ValueError):
    """A value would break the wire framing (CR, LF or NUL); refused before anything is sent."""


class AgiCommandError(Exception):
    """Asterisk refused a command (510 unknown command, 520 usage) or answered garbage."""


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The ``agi_*`` block Asterisk sends first, plus the script name and its arguments."""

    channel: str
    uniqueid: str
    callerid: str | None  # None when Asterisk says "unknown"
    calleridname: str | None
    dnid: str | None
    extension: str
    context: str
    language: str
    script: str  # "ivr" for agi_network_script "ivr?flow=main"
    query: Mapping[str, str] = field(default_factory=dict)  # {"flow": "main"}
    args: tuple[str, ...] = ()  # agi_arg_1 .. agi_arg_N
    raw: Mapping[str, str] = field(default_factory=dict)  # every agi_* key without the prefix


@dataclass(frozen=True, slots=True)
class RecordResult:
    """Outcome of RECORD FILE: the digit that ended it (if any) and whether it timed out."""

    digit: str | None
    timed_out: bool
    endpos: int


class CallControl(Protocol):
    """Typed commands on one live call. Methods raise ``CallHangup`` once the caller is gone."""

    env: AgiEnvironment

    async def answer(self) -> None: ...

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play a sound; return the escape digit pressed, or None when it played out."""

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play ``prompt`` and collect up to ``max_digits``; None on timeout with no digits."""

    async def wait_for_digit(self, timeout_ms: int) -> str | None: ...

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None: ...

    async def say_number(self, number: int, escape_digits: str = "") -> str | None: ...

    async def say_datetime(
        self, epoch: int, escape_digits: str = "", fmt: str = "", tz: str = ""
    ) -> str | None: ...

    async def set_variable(self, name: str, value: str) -> None: ...

    async def get_variable(self, name: str) -> str | None: ...

    async def get_full_variable(self, expression: str) -> str | None: ...

    async def exec(self, application: str, data: str = "") -> int:
        """Run a dialplan application; return its result code."""

    async def record_file(
        self,
        filename: str,
        fmt: str,
        escape_digits: str,
        timeout_ms: int,
        beep: bool = True,
        silence_s: int | None = None,
    ) -> RecordResult: ...

    async def set_music(self, on: bool, moh_class: str = "") -> None: ...

    async def verbose(self, message: str, level: int = 1) -> None: ...

    async def hangup(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Subroutine:
    """A dialplan subroutine to run, ``Gosub(context,exten,priority(args))``.

    Every part is id-like (letters, digits, ``_.:@+-``): nothing in it can reach the dialplan
    parsers' separators (``,`` ``^`` ``(`` ``)``), quotes or ``${`` expressions.
    """

    context: str
    exten: str
    args: tuple[str, ...] = ()
    priority: int = 1

    def __post_init__(self) -> None:
        for part in (self.context, self.exten, *self.args):
            if not _SUB_PART.fullmatch(part):
                raise ValueError(f"subroutine parts must be id-like: {part!r}")
        if not self.context or not self.exten:
            raise ValueError("a subroutine needs a context and an extension")

    def dial_option(self) -> str:
        """The location as Dial's ``B()``/``b()`` options take it: ``^`` between parts and
        arguments, since ``,`` would end the option (app_dial.c argsep="^")."""
        args = f"({'^'.join(self.args)})" if self.args else ""
        return f"{self.context}^{self.exten}^{self.priority}{args}"

    def callee_option(self) -> str:
        """The subroutine as Dial's ``U()`` option takes it: ``context^arg^arg``. Dial always
        starts it at ``s,1`` of that context on the answered leg (app_dial.c
        OPT_CALLEE_GOSUB), so only such a subroutine can be given."""
        if self.exten != "s" or self.priority != 1:
            raise ValueError(f"Dial's U() runs s,1 of a context, not {self.exten},{self.priority}")
        return "^".join((self.context, *self.args))
