"""Sans-IO FastAGI codec for the server side (we are the AGI script, Asterisk is the client).

Design note
-----------
The connection has two phases, and this class is a two-state machine:

    ENV      lines ``agi_key: value`` until an empty line  -> AgiEnvironmentBlock
    REPLIES  reply lines, one per command we sent            -> AgiReply
             the unsolicited ``HANGUP`` line                 -> AgiHangupPush
    (either) end of input (``receive_data(b"")``)            -> AgiClosed

Wire facts it relies on (Asterisk 22, see shared/asterisk-traces/README.md):
* LF only; a stray CR before the LF is tolerated and dropped.
* ``200 result=<word>[ (<data>)][ endpos=<n>]``; ``<word>`` may be empty (``result= (timeout)``)
  and is a string, not always a number (GET DATA returns the digits, e.g. ``*12``).
* ``510 ...``, ``511 ...`` single lines; ``520-...`` opens a usage block of raw lines (no prefix,
  XML inside) closed by a line starting ``520 ``.
* ``HANGUP`` is pushed once, about 40 ms after a command answered, never inside a reply; it is
  only recognised between replies (a usage line reading ``HANGUP`` stays usage text).

Limits (h11 style): the environment block is capped in bytes and lines, any incomplete line is
capped, a usage block is capped. Any violation raises ``AgiProtocolError``, the single error type;
after one the object stays broken. ``send`` serializes commands and refuses CR, LF and NUL with
``UnsafeValueError`` before anything is produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# Re-exported: command serialization lives in command.py; ``send`` below emits its bytes.
from contactcenter.telephony.agi.command import (
    AgiCommand,
    Quoted,
    build_command,
    check_safe,
    quote,
)

__all__ = [
    "NEED_DATA",
    "AgiClosed",
    "AgiCommand",
    "AgiEnvironmentBlock",
    "AgiEvent",
    "AgiHangupPush",
    "AgiProtocolError",
    "AgiReply",
    "AgiServerProtocol",
    "Quoted",
    "build_command",
    "check_safe",
    "parse_reply_line",
    "quote",
]

MAX_ENV_BYTES: Final = 16 * 1024
MAX_ENV_LINES: Final = 200
MAX_LINE_BYTES: Final = 16 * 1024
MAX_USAGE_LINES: Final = 200
MAX_USAGE_BYTES: Final = 64 * 1024

_ENV_KEY = re.compile(r"agi_[A-Za-z0-9_]+")
_ENV_LINE = re.compile(
    r"^agi_([A-Za-z0-9_]+): (.*)$", re.MULTILINE
)  # same rule as _ENV_KEY + partition
_STATUS = re.compile(r"(\d{3})([ -])(.*)", re.DOTALL)
_DATA_ENDPOS = re.compile(r"\((.*)\)(?: endpos=(-?\d+))?", re.DOTALL)
_ENDPOS = re.compile(r"endpos=(-?\d+)")


class AgiProtocolError(Exception):
    """The peer broke the AGI framing (oversized, malformed or unexpected input)."""


class _NeedData:
    """Sentinel type: no complete event is buffered yet."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


@dataclass(frozen=True, slots=True)
class AgiEnvironmentBlock:
    """The ``agi_*`` lines, keys without the ``agi_`` prefix, in arrival order."""

    fields: dict[str, str]


@dataclass(slots=True)  # not frozen: built once per command, and frozen __init__ costs 3x
class AgiReply:
    """One reply to one command: ``200 result=1 (John Smith)``, ``511 ...``, a 520 block."""

    code: int
    result: str = ""  # the word after "result=" ("" when empty or absent); a string on purpose
    data: str | None = None  # text inside the parentheses, e.g. "timeout", "5551234", ""
    endpos: int | None = None
    timeout: bool = False  # data == "timeout" (meaningful for GET DATA / RECORD FILE / GET OPTION)
    text: str = ""  # message of non-200 lines, or unparsed trailing text of a 200 line
    usage: str | None = None  # 520 usage lines joined with "\n"

    @property
    def number(self) -> int | None:
        """``result`` as an integer, or None when it is empty or not a number."""
        try:
            return int(self.result)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class AgiHangupPush:
    """Asterisk pushed ``HANGUP``: the channel is gone (sent once, unsolicited)."""


@dataclass(frozen=True, slots=True)
class AgiClosed:
    """The peer closed its side of the connection."""


AgiEvent = AgiEnvironmentBlock | AgiReply | AgiHangupPush | AgiClosed


def _decode(raw: bytes | bytearray) -> str:
    return raw.decode("utf-8", errors="replace")


def parse_reply_line(line: str) -> AgiReply:
    """Parse one single-line reply (``200 result=...``, ``510 ...``); raise AgiProtocolError."""
    if line.startswith("200 result="):
        # fast paths for the common shapes; anything else goes through the regexes below
        result, sep, tail = line[11:].partition(" ")
        if not sep:
            return AgiReply(200, result)
        if tail[:1] == "(" and tail[-1:] == ")":
            data = tail[1:-1]
            return AgiReply(200, result, data, None, data == "timeout")
        if tail.startswith("endpos=") and tail[7:].isdigit():
            return AgiReply(200, result, None, int(tail[7:]))
    m = _STATUS.fullmatch(line)
    if m is None or m.group(2) != " ":
        raise AgiProtocolError(f"malformed AGI reply line {line[:80]!r}")
    code = int(m.group(1))
    rest = m.group(3)
    if code != 200:
        return AgiReply(code=code, text=rest)
    if not rest.startswith("result="):
        raise AgiProtocolError(f"200 reply without result=: {line[:80]!r}")
    body = rest[7:]
    result, sep, tail = body.partition(" ")
    if not sep:
        return AgiReply(code=200, result=result)
    dm = _DATA_ENDPOS.fullmatch(tail)
    if dm is not None:
        data = dm.group(1)
        endpos = int(dm.group(2)) if dm.group(2) is not None else None
        return AgiReply(200, result, data, endpos, data == "timeout")
    em = _ENDPOS.fullmatch(tail)
    if em is not None:
        return AgiReply(200, result, endpos=int(em.group(1)))
    return AgiReply(200, result, text=tail)


class AgiServerProtocol:
    """Server-side AGI state machine: feed bytes in, take typed events out, get command bytes."""

    __slots__ = (
        "_broken",
        "_buf",
        "_closed_emitted",
        "_env",
        "_env_bytes",
        "_env_lines",
        "_eof",
        "_in_env",
        "_max_env_bytes",
        "_max_env_lines",
        "_max_line",
        "_max_usage_lines",
        "_pos",
        "_usage",
        "_usage_bytes",
        "_usage_code",
        "_usage_first",
    )

    def __init__(
        self,
        *,
        max_env_bytes: int = MAX_ENV_BYTES,
        max_env_lines: int = MAX_ENV_LINES,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_usage_lines: int = MAX_USAGE_LINES,
    ) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._closed_emitted = False
        self._broken: AgiProtocolError | None = None
        self._in_env = True
        self._env: dict[str, str] = {}
        self._env_bytes = 0
        self._env_lines = 0
        self._usage: list[str] | None = None
        self._usage_code = 0
        self._usage_first = ""
        self._usage_bytes = 0
        self._max_env_bytes = max_env_bytes
        self._max_env_lines = max_env_lines
        self._max_line = max_line_bytes
        self._max_usage_lines = max_usage_lines

    @property
    def in_environment(self) -> bool:
        """True until the empty line that ends the ``agi_*`` block has been parsed."""
        return self._in_env

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` means the peer closed its side."""
        if not data:
            self._eof = True
            return
        if self._eof:
            raise AgiProtocolError("data after end of input")
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        self._buf += data

    def send(self, command: AgiCommand) -> bytes:
        """Bytes for one command; only valid once the environment block is complete."""
        if self._in_env:
            raise AgiProtocolError("cannot send a command before the environment block ended")
        return command.wire or command.line.encode("utf-8") + b"\n"

    def send_wire(self, wire: bytes) -> bytes:
        """``send`` for a line already built by command.py (validated, LF-terminated)."""
        if self._in_env:
            raise AgiProtocolError("cannot send a command before the environment block ended")
        return wire

    def next_event(self) -> AgiEvent | _NeedData:
        """Return the next complete event, NEED_DATA, or raise AgiProtocolError."""
        if self._broken is not None:
            raise self._broken
        try:
            if not self._in_env and self._usage is None:
                # Fast path: a complete single-line "200 result=" reply, or nothing buffered
                # (what nearly every call here sees); everything else takes the general path.
                buf, pos = self._buf, self._pos
                if pos == len(buf) and not self._eof:
                    return NEED_DATA
                end = buf.find(b"\n", pos)
                if 0 <= end - pos <= self._max_line:
                    raw = buf[pos:end]
                    if raw.startswith(b"200 result=") and not raw.endswith(b"\r"):
                        if end + 1 == len(buf):
                            buf.clear()  # all consumed (the usual case): reuse the buffer
                            self._pos = 0
                        else:
                            self._pos = end + 1
                        return parse_reply_line(raw.decode("utf-8", "replace"))
            return self._next_event()
        except AgiProtocolError as exc:
            self._broken = exc
            raise

    # -- internals --------------------------------------------------------------------------

    def _take_line(self) -> str | None:
        end = self._buf.find(b"\n", self._pos)
        if end < 0:
            pending = len(self._buf) - self._pos
            if self._in_env and self._env_bytes + pending > self._max_env_bytes:
                raise AgiProtocolError("AGI environment block too large")
            if pending > self._max_line:
                raise AgiProtocolError("AGI line too long")
            if pending and self._pos > 65536:
                del self._buf[: self._pos]
                self._pos = 0
            return None
        raw = self._buf[self._pos : end]
        consumed = end + 1 - self._pos
        self._pos = end + 1
        if self._in_env:
            self._env_bytes += consumed
            if self._env_bytes > self._max_env_bytes:
                raise AgiProtocolError("AGI environment block too large")
        elif consumed > self._max_line + 1:
            raise AgiProtocolError("AGI line too long")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return _decode(raw)

    def _next_event(self) -> AgiEvent | _NeedData:
        if self._in_env:
            block = self._take_env_block()
            if block is not None:
                return block
        while True:
            line = self._take_line()
            if line is None:
                if not self._eof:
                    return NEED_DATA
                if self._in_env and (self._env_lines or self._pos < len(self._buf)):
                    raise AgiProtocolError("connection closed inside the environment block")
                if self._usage is not None:
                    raise AgiProtocolError("connection closed inside a 520 usage block")
                if self._closed_emitted:
                    return NEED_DATA
                self._closed_emitted = True
                return AgiClosed()
            if self._in_env:
                event = self._env_line(line)
            elif self._usage is not None:
                event = self._usage_line(line)
            else:
                event = self._reply_line(line)
            if event is not None:
                return event

    def _take_env_block(self) -> AgiEnvironmentBlock | None:
        """Fast path: the whole block is buffered (the usual case, one segment); else None."""
        if self._env_lines:
            return None
        buf, pos = self._buf, self._pos
        end = buf.find(b"\n\n", pos)
        if end < 0:
            return None
        size = end + 2 - pos
        if size > self._max_env_bytes:
            return None  # let the line path raise with its exact limit message
        text = _decode(buf[pos:end])
        if "\r" in text:
            return None  # CRLF lines: the line-by-line path handles them
        count = text.count("\n") + 1
        if count > self._max_env_lines:
            return None
        pairs = _ENV_LINE.findall(text)
        if len(pairs) != count:
            return None  # a malformed line or unusual spacing: the line path decides
        env = dict(pairs)
        self._pos = end + 2
        self._env_bytes = size
        self._env_lines = count
        self._in_env = False
        return AgiEnvironmentBlock(env)

    def _env_line(self, line: str) -> AgiEvent | None:
        if line == "":
            self._in_env = False
            env, self._env = self._env, {}
            return AgiEnvironmentBlock(env)
        self._env_lines += 1
        if self._env_lines > self._max_env_lines:
            raise AgiProtocolError("AGI environment block has too many lines")
        key, sep, value = line.partition(":")
        if not sep or not _ENV_KEY.fullmatch(key):
            raise AgiProtocolError(f"malformed AGI environment line {line[:80]!r}")
        self._env[key[4:]] = value.removeprefix(" ")
        return None

    def _reply_line(self, line: str) -> AgiEvent | None:
        if line == "HANGUP":
            return AgiHangupPush()
        if len(line) >= 4 and line[3] == "-" and line[:3].isdigit():
            # "520-..." opens a block that is one reply only once its "520 " line arrives.
            self._usage = []
            self._usage_code = int(line[:3])
            self._usage_first = line[4:]
            self._usage_bytes = 0
            return None
        return parse_reply_line(line)

    def _usage_line(self, line: str) -> AgiEvent | None:
        assert self._usage is not None
        if line.startswith(f"{self._usage_code} ") or line == str(self._usage_code):
            usage = "\n".join(self._usage)
            reply = AgiReply(code=self._usage_code, text=self._usage_first, usage=usage)
            self._usage = None
            return reply
        self._usage.append(line)
        self._usage_bytes += len(line) + 1
        if len(self._usage) > self._max_usage_lines or self._usage_bytes > MAX_USAGE_BYTES:
            raise AgiProtocolError("AGI usage block too large")
        return None
