"""Sans-IO codec for the Asterisk Manager Interface (AMI), usable by either side of the wire.

Design note
-----------
AMI is a line protocol: a message is ``Key: Value`` lines ended by an empty line (CRLF on the
wire; bare LF is tolerated). A client-side stream starts with one banner line
(``Asterisk Call Manager/11.0.0``) that has no blank line after it.

* ``AmiParser`` owns no socket. ``receive_data(bytes)`` buffers; ``next_message()`` hands out
  complete messages in order. Framing is done on bytes (a multi-byte UTF-8 character split
  across two reads is decoded only once the whole message is in), and line endings are
  normalised on the way in, holding back a trailing CR whose LF may still be on its way.
* One error type: ``AmiProtocolError``. Anything else escaping the parser is a bug. An
  incomplete message larger than ``max_message_size`` (64 KiB) is refused, so a peer that never
  sends the blank line cannot make us buffer without bound. A line without ``:`` is kept as
  ``("", line)`` instead of killing the link (old Asterisk printed such lines in Command output).
* Cheap on the hot path: all complete messages of a read are decoded in one go and each
  ``AmiMessage`` keeps its text; headers are split only when someone asks for all of them.
  Routing an event and reading two or three fields costs a few ``str.find`` calls.
* ``serialize(headers)`` is the only way bytes for the wire are made: it refuses CR, LF and NUL
  in keys and values and ``:`` or blanks in keys, so no value can smuggle in a header or end a
  message early.
* Header order and duplicates are preserved (``Output:`` of Command, ``Variable:`` of Originate);
  lookups are case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterable

from contactcenter.telephony.agi.api import UnsafeValueError

__all__ = [
    "MAX_MESSAGE_SIZE",
    "AmiMessage",
    "AmiParser",
    "AmiProtocolError",
    "AmiUnsafeValueError",
    "check_value",
    "header",
    "serialize",
]

MAX_MESSAGE_SIZE = 64 * 1024
_MAX_BANNER = 1024


class AmiProtocolError(Exception):
    """The peer sent something that is not AMI (oversize message, overlong banner)."""


class AmiUnsafeValueError(UnsafeValueError):
    """A header key or value would break AMI framing; refused before anything is sent."""


class AmiMessage:
    """One AMI message (action, response or event): ordered ``(key, value)`` header pairs.

    Immutable. Messages read from the wire keep their text and are split into headers only
    when ``headers`` (or a case-folded lookup) is first needed: most events are routed and
    dropped after reading one or two headers, and ``get`` with the canonical header case
    finds a value with one ``str.find``. ``AmiMessage(headers)`` builds one from pairs.
    """

    __slots__ = ("_folded", "_headers", "_lower", "raw")

    #: Wire text of a parsed message as "\n" + LF-joined header lines + "\n" (None when built
    #: from pairs). Read-only; hot paths may ``raw.find("\nName: ")`` instead of get().
    raw: str | None
    _headers: tuple[tuple[str, str], ...]
    _folded: dict[str, str]
    _lower: str

    def __init__(self, headers: Iterable[tuple[str, str]]) -> None:
        _set(self, "_headers", tuple((k, v) for k, v in headers))
        _set(self, "raw", None)

    @classmethod
    def from_text(cls, text: str) -> AmiMessage:
        """A message from one LF-separated header block (no terminating blank line)."""
        msg = _new(cls)
        _set(msg, "raw", f"\n{text}\n")
        return msg

    @classmethod
    def of(cls, *pairs: tuple[str, str], **kwargs: str) -> AmiMessage:
        """Build a message from pairs and/or keyword headers (keyword order is kept)."""
        return cls(tuple(pairs) + tuple(kwargs.items()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("AmiMessage is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("AmiMessage is immutable")

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Every header in wire order, duplicates included."""
        # The caches are unset slots until first use (AttributeError), so that making a
        # message on the hot path is a single attribute store.
        try:
            return self._headers
        except AttributeError:
            headers = _split_headers(self.raw[1:-1] if self.raw else "")
            _set(self, "_headers", headers)
            return headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value of the first header called ``name`` (case-insensitive), else ``default``."""
        raw = self.raw
        if raw is not None:
            # raw is "\n" + lines + "\n": one find locates a header at the start of any line,
            # and every value is followed by a "\n".
            i = raw.find(f"\n{name}:")
            if i >= 0:
                i += len(name) + 2
                if raw[i] == " ":
                    i += 1
                return raw[i : raw.find("\n", i)]
            # Not in this case: search the lower-cased text (found in C, where splitting every
            # header to fold them was most of the cost of asking for an absent one). Only for
            # ASCII text, where lower() keeps every index, and plain names.
            if raw.isascii() and name.isascii() and name and ":" not in name and "\n" not in name:
                try:
                    low = self._lower
                except AttributeError:
                    low = raw.lower()
                    _set(self, "_lower", low)
                i = low.find(f"\n{name.lower()}:")
                if i < 0:
                    return default
                i += len(name) + 2
                if raw[i] == " ":
                    i += 1
                return raw[i : raw.find("\n", i)]
        try:
            folded = self._folded
        except AttributeError:
            # reversed() so that the first occurrence of a duplicated key wins.
            folded = {k.lower(): v for k, v in reversed(self.headers)}
            _set(self, "_folded", folded)
        return folded.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiMessage):
            return NotImplemented
        return self.headers == other.headers

    def __hash__(self) -> int:
        return hash(self.headers)

    def __repr__(self) -> str:
        return f"AmiMessage({self.headers!r})"

    def getall(self, name: str) -> list[str]:
        """Every value of headers called ``name`` (case-insensitive), in wire order."""
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def event(self) -> str | None:
        """The ``Event`` header (None for responses and actions)."""
        raw = self.raw
        if raw is not None and raw.startswith("\nEvent: "):
            return raw[8 : raw.find("\n", 8)]
        return self.get("Event")

    @property
    def response(self) -> str | None:
        """The ``Response`` header (``Success``, ``Error``, ``Goodbye``...), None for events."""
        return self.get("Response")

    @property
    def action(self) -> str | None:
        """The ``Action`` header (for the server side parsing requests)."""
        return self.get("Action")

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` header, None when absent."""
        return self.get("ActionID")

    def as_dict(self) -> dict[str, str]:
        """Headers as a dict (first occurrence wins); handy for logging and tests."""
        return dict(reversed(self.headers))


def header(msg: AmiMessage, needle: str) -> str | None:
    """``msg.get(name)`` for ``needle`` = "\\nName:", the hot path's lookup: one find in the
    wire text, no name formatting; ``get`` is asked only when that exact case is absent."""
    raw = msg.raw
    if raw is not None:
        i = raw.find(needle)
        if i >= 0:
            i += len(needle)
            if raw[i] == " ":
                i += 1
            return raw[i : raw.find("\n", i)]
    return msg.get(needle[1:-1])


_set = object.__setattr__
_new = object.__new__


def _split_headers(text: str) -> tuple[tuple[str, str], ...]:
    """Split one header block; a line without ':' becomes ("", line) rather than an error."""
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    for line in text.split("\n"):
        key, sep, value = line.partition(":")
        if not sep:
            # Not AMI, but old Asterisk printed bare lines in Command output: keep, don't die.
            append(("", line))
            continue
        append((key, value[1:] if value[:1] == " " else value))
    return tuple(pairs)


class AmiParser:
    """Incremental AMI reader: feed bytes, take whole messages out."""

    def __init__(self, expect_banner: bool = True, max_message_size: int = MAX_MESSAGE_SIZE):
        self.banner: str | None = None
        self._expect_banner = expect_banner
        self._max = max_message_size
        self._buf = b""  # LF-normalised, not yet framed
        self._held_cr = False
        self._ready: list[AmiMessage] = []
        self._pos = 0  # index of the next message to hand out in _ready
        self._failed: AmiProtocolError | None = None

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the socket; raises ``AmiProtocolError`` on a broken stream."""
        if self._failed is not None:
            raise self._failed
        if not data:
            return
        if self._held_cr:
            data = b"\r" + data
            self._held_cr = False
        if data[-1:] == b"\r":
            # Its LF may arrive in the next read; decide then whether it is a line end.
            self._held_cr = True
            data = data[:-1]
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        buf = self._buf + data if self._buf else data
        if self._expect_banner and self.banner is None:
            nl = buf.find(b"\n")
            if nl < 0:
                self._buf = buf
                if len(buf) > _MAX_BANNER:
                    self._fail("AMI banner line too long")
                return
            self.banner = buf[:nl].rstrip(b"\r").decode("utf-8", "replace")
            buf = buf[nl + 1 :]
        self._frame(buf)

    def _frame(self, buf: bytes) -> None:
        cut = buf.rfind(b"\n\n")
        while cut > 0 and buf[cut - 1] == 10:
            # "\n\n\n": cut at the first blank line, or the last message would keep an empty
            # header line that a read split elsewhere does not give (found by tests/fuzz).
            cut -= 1
        if cut < 0:
            if len(buf) > self._max:
                self._fail(f"incomplete AMI message exceeds {self._max} bytes")
            self._buf = buf
            return
        rest = buf[cut + 2 :]
        if len(rest) > self._max:
            self._fail(f"incomplete AMI message exceeds {self._max} bytes")
        # Message boundaries are ASCII, so decoding all complete messages at once is safe for
        # multi-byte characters. Invalid UTF-8 (a Latin-1 caller name from a badly configured
        # trunk) must not kill the link: it becomes U+FFFD.
        text = buf[:cut].decode("utf-8", "replace")
        ready = self._ready
        if self._pos:
            del ready[: self._pos]
            self._pos = 0
        new, setattr_, cls = _new, _set, AmiMessage
        check = len(text) > self._max  # only then can one block be too big
        for block in text.split("\n\n"):
            if not block:
                continue  # stray blank lines between messages
            if block[0] == "\n":
                block = block.lstrip("\n")
                if not block:
                    continue
            if check and len(block) > self._max:
                self._fail(f"AMI message exceeds {self._max} bytes")
            msg = new(cls)
            setattr_(msg, "raw", f"\n{block}\n")  # AmiMessage.from_text, inlined: hot path
            ready.append(msg)
        self._buf = rest

    def _fail(self, text: str) -> None:
        self._failed = AmiProtocolError(text)
        raise self._failed

    def next_message(self) -> AmiMessage | None:
        """The next complete message, or None when more bytes are needed."""
        if self._pos < len(self._ready):
            msg = self._ready[self._pos]
            self._pos += 1
            return msg
        return None

    def messages(self) -> list[AmiMessage]:
        """Every complete message buffered so far (drains them); the fast path for readers."""
        out = self._ready[self._pos :] if self._pos else self._ready
        self._ready = []
        self._pos = 0
        return out

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message."""
        return len(self._buf) + (1 if self._held_cr else 0)


_FORBIDDEN = ("\r", "\n", "\x00")


def check_value(value: str, what: str = "value") -> str:
    """Return ``value`` if it is a str free of CR, LF and NUL; else raise AmiUnsafeValueError."""
    if not isinstance(value, str):
        raise AmiUnsafeValueError(f"AMI {what} must be str, not {type(value).__name__}")
    if "\r" in value or "\n" in value or "\x00" in value:
        raise AmiUnsafeValueError(f"AMI {what} contains CR, LF or NUL: {value[:40]!r}")
    return value


def _check_key(key: str) -> None:
    check_value(key, "header name")
    if not key or ":" in key or key.strip() != key or " " in key or "\t" in key:
        raise AmiUnsafeValueError(f"bad AMI header name: {key[:40]!r}")


def serialize(headers: Iterable[tuple[str, str]]) -> bytes:
    """Encode header pairs as one AMI message (``K: V\\r\\n``... then ``\\r\\n``)."""
    parts = []
    for key, value in headers:
        _check_key(key)
        check_value(value, f"value of {key}")
        parts.append(f"{key}: {value}\r\n")
    parts.append("\r\n")
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot go on the wire
        raise AmiUnsafeValueError(f"AMI message is not encodable as UTF-8: {exc}") from None
