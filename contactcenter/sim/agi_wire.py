"""The FastAGI wire as Asterisk 22 speaks it, without sockets (the client side: Asterisk's).

Design note: pure functions and one small line buffer. ``environment_lines`` builds the 22-line
``agi_*`` block; ``LineBuffer`` splits what the server sends on LF only (a trailing CR stays in
the line, quirk 7); ``parse_command`` finds the command words case-insensitively and splits the
arguments like Asterisk's ``parse_args`` (double quotes group, backslash escapes). Result lines
and the 510/511/520 texts are constants here so the session module never spells them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

R510 = "510 Invalid or unknown command\n"
R511 = "511 Command Not Permitted on a dead channel or intercept routine\n"
R520_HEAD = "520-Invalid command syntax.  Proper usage follows:\n"
R520_TAIL = "520 End of proper usage.\n"
PUSHED_HANGUP = "HANGUP\n"
MAX_LINE = 8192

# Usage texts exactly as Asterisk 22 prints them (from the 03 transcript where we have them).
USAGE: dict[str, str] = {
    "STREAM FILE": (
        "Send the given file, allowing playback to be interrupted by the given digits, if any. "
        "Returns <literal>0</literal> if playback completes without a digit being pressed, or the "
        "ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or "
        "if the channel was disconnected. If musiconhold is playing before calling stream file it "
        "will be automatically stopped and will not be restarted after completion.\n"
        "It sets the following channel variables upon completion:\n"
        "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt as a text string.\n"
        "    <value>SUCCESS</value>\n"
        "    <value>FAILED</value>\n"
    ),
    "WAIT FOR DIGIT": (
        "Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a DTMF "
        "digit. Returns <literal>-1</literal> on channel failure, <literal>0</literal> if no digit "
        "is received in the timeout, or the numerical value of the ascii of the digit if one is "
        "received. Use <literal>-1</literal> for the <replaceable>timeout</replaceable> value if "
        "you desire the call to block indefinitely.\n"
    ),
    "GET DATA": (
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
        "Returns the digits received from the channel at the other end.\n"
    ),
}
_GENERIC_USAGE = (
    "Returns <literal>-1</literal> on hangup or error and <literal>0</literal> otherwise.\n"
)

# command words -> minimum number of arguments after the words
COMMANDS: dict[tuple[str, ...], int] = {
    ("ANSWER",): 0,
    ("NOOP",): 0,
    ("HANGUP",): 0,
    ("VERBOSE",): 1,
    ("CHANNEL", "STATUS"): 0,
    ("STREAM", "FILE"): 2,
    ("CONTROL", "STREAM", "FILE"): 2,
    ("GET", "OPTION"): 2,
    ("GET", "DATA"): 1,
    ("WAIT", "FOR", "DIGIT"): 1,
    ("SAY", "DIGITS"): 2,
    ("SAY", "NUMBER"): 2,
    ("SAY", "ALPHA"): 2,
    ("SAY", "DATETIME"): 2,
    ("SET", "VARIABLE"): 2,
    ("GET", "VARIABLE"): 1,
    ("GET", "FULL", "VARIABLE"): 1,
    ("SET", "MUSIC"): 1,
    ("SET", "CONTEXT"): 1,
    ("SET", "EXTENSION"): 1,
    ("SET", "PRIORITY"): 1,
    ("SET", "CALLERID"): 1,
    ("RECORD", "FILE"): 4,
    ("EXEC",): 1,
}
# commands that still work on a hung-up channel (quirk 5); the rest get 511
DEAD_OK = {
    ("GET", "VARIABLE"),
    ("GET", "FULL", "VARIABLE"),
    ("SET", "VARIABLE"),
    ("EXEC",),
    ("VERBOSE",),
    ("NOOP",),
}


@dataclass(frozen=True, slots=True)
class AgiCommand:
    """One parsed command line: its words (upper case) and its arguments."""

    raw: str
    words: tuple[str, ...] | None  # None: unknown command (510)
    args: list[str]

    @property
    def name(self) -> str:
        """The command words joined, e.g. ``STREAM FILE``."""
        return " ".join(self.words or ())


def split_args(line: str) -> list[str]:
    """Split like Asterisk's ``parse_args``: whitespace, double quotes, backslash escapes."""
    if '"' not in line and "\\" not in line:  # nothing to unquote: split on blanks in C
        return [part for part in line.replace("\t", " ").split(" ") if part]
    args: list[str] = []
    cur: list[str] = []
    quoted = escaped = started = False
    for c in line:
        if escaped:
            cur.append(c)
            escaped = False
        elif c == "\\":
            escaped = started = True
        elif c == '"':
            quoted = not quoted
            started = True
        elif c in " \t" and not quoted:
            if started:
                args.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(c)
            started = True
    if started:
        args.append("".join(cur))
    return args


def parse_command(line: str) -> AgiCommand:
    """Identify the command of ``line`` (without its LF)."""
    parts = split_args(line)
    upper = [p.upper() for p in parts]
    for n in (3, 2, 1):
        words = tuple(upper[:n])
        if len(words) == n and words in COMMANDS:
            return AgiCommand(line, words, parts[n:])
    return AgiCommand(line, None, parts)


def usage_lines(cmd: AgiCommand) -> tuple[str, str]:
    """The two writes of a 520 reply: the head line, then usage text plus the tail line."""
    return R520_HEAD, USAGE.get(cmd.name, _GENERIC_USAGE) + R520_TAIL


def needs_usage(cmd: AgiCommand) -> bool:
    """True when the command has too few arguments (520)."""
    return cmd.words is not None and len(cmd.args) < COMMANDS[cmd.words]


@functools.lru_cache(maxsize=64)  # one or two server URLs, parsed twice per AGI session
def script_of(url: str) -> tuple[str, int, str]:
    """(host, port, ``agi_network_script``) of an ``agi://host:port/script?query`` URL."""
    parts = urlsplit(url)
    if parts.scheme != "agi" or not parts.hostname:
        raise ValueError(f"not an agi:// URL: {url!r}")
    script = parts.path.lstrip("/")
    if parts.query:
        script += "?" + parts.query
    return parts.hostname, parts.port or 4573, script


def environment_lines(
    *,
    url: str,
    channel: str,
    uniqueid: str,
    caller_num: str | None,
    caller_name: str | None,
    dnid: str | None,
    context: str,
    extension: str,
    priority: int,
    threadid: int,
    args: tuple[str, ...] = (),
    language: str = "en",
    accountcode: str = "",
) -> str:
    """The ``agi_*`` environment block (22 lines plus agi_arg_N, then a blank line)."""
    request = url.split(",", 1)[0]
    _, _, script = script_of(request)
    pres = "0" if caller_num else "67"
    extra = "".join([f"agi_arg_{i}: {a}\n" for i, a in enumerate(args, 1)])
    return (
        f"agi_network: yes\nagi_network_script: {script}\nagi_request: {request}\n"
        f"agi_channel: {channel}\nagi_language: {language}\n"
        f"agi_type: {channel.partition('/')[0]}\nagi_uniqueid: {uniqueid}\n"
        f"agi_version: 22.10.1\nagi_callerid: {caller_num or 'unknown'}\n"
        f"agi_calleridname: {caller_name or 'unknown'}\nagi_callingpres: {pres}\n"
        f"agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\n"
        f"agi_dnid: {dnid or 'unknown'}\nagi_rdnis: unknown\nagi_context: {context}\n"
        f"agi_extension: {extension}\nagi_priority: {priority}\nagi_enhanced: 0.0\n"
        f"agi_accountcode: {accountcode}\nagi_threadid: {threadid}\n{extra}\n"
    )


class LineBuffer:
    """Splits the server's bytes into command lines on LF only (a CR stays in the line)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the socket."""
        self._buf += data
        if len(self._buf) > MAX_LINE and b"\n" not in self._buf:
            raise ValueError("AGI command line too long")

    def next_line(self) -> str | None:
        """The next complete line without its LF, or None."""
        idx = self._buf.find(b"\n")
        if idx < 0:
            return None
        line = bytes(self._buf[:idx])
        del self._buf[: idx + 1]
        return line.decode("utf-8", "replace")
