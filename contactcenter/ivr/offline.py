"""An offline ``CallControl``: a scripted caller on virtual time, for ``flows test``.

Design: nothing sleeps. A ``VirtualClock`` holds the call's current epoch; each command moves it
forward by how long it would take on a real channel (a prompt lasts ``prompt_seconds`` unless
``durations`` says otherwise; waits last their timeout unless a key arrives). Keypresses follow
the simulator's rules so a test case means the same thing offline and over real sockets: each
digit-reading command consumes the next script step; ``Press(d, after=s)`` queues the digits of
``d``, the first ``s`` seconds after the command starts and the others 0.15 s apart;
``Silence()`` queues nothing. Keys of a step that its command did not read are dropped, and a
playback discards keys that are not among its escape digits, as Asterisk does. The caller hangs
up ``hangup_after`` seconds after the call starts: the command running then, or the next one,
raises ``CallHangup``, and every command sent is recorded, AGI-style, in ``commands``.
Speech (``say`` with ``text``) is not synthesised offline: ``OfflineSynthesizer`` names the
file the server would play (same cache key), remembers the texts, and can be told to fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from contactcenter.ivr.tts import Rendered, SpeechFailed, cache_key
from contactcenter.telephony.agi.api import (
    AgiEnvironment,
    CallHangup,
    RecordResult,
    UnsafeValueError,
)

DIGIT_GAP_S = 0.15
ALL_DIGITS = "0123456789*#"


@dataclass(frozen=True, slots=True)
class Press:
    """Press the keys of ``digits``; the first ``after`` seconds after the command starts."""

    digits: str
    after: float = 0.5


@dataclass(frozen=True, slots=True)
class Silence:
    """Let one digit-reading command play out or time out."""


class VirtualClock:
    """Clock whose time only moves when the offline call says so."""

    def __init__(self, epoch: float) -> None:
        self.now = epoch

    def time(self) -> float:
        """Current virtual epoch seconds."""
        return self.now

    def monotonic(self) -> float:
        """Same as ``time``: virtual time never jumps back."""
        return self.now

    def real(self, seconds: float) -> float:
        """Real seconds for a timeout (virtual time does not scale real waits)."""
        return seconds

    async def sleep(self, seconds: float) -> None:
        """Advance virtual time."""
        self.now += max(0.0, seconds)


class OfflineSynthesizer:
    """A ``Synthesizer`` that makes no audio: the sound is the name the server's cache would use."""

    WORD_S = 0.4  # how long one spoken word lasts offline

    def __init__(self, cache_dir: Path, fail: str | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.fail = fail  # a reason: every rendering raises ``SpeechFailed`` with it
        self.said: list[str] = []
        self._seen: set[str] = set()

    async def render(self, text: str, voice: str, rate: int) -> Rendered:
        """The would-be sound for ``text``; raises ``SpeechFailed`` when told to."""
        if self.fail:
            raise SpeechFailed(self.fail)
        self.said.append(text)
        key = cache_key(text, voice, rate)
        cached = key in self._seen
        self._seen.add(key)
        return Rendered(str(self.cache_dir / key), cached, self.WORD_S * len(text.split()))


def _check(*values: str) -> None:
    for v in values:
        if any(c in v for c in "\r\n\x00"):
            raise UnsafeValueError(f"refusing CR/LF/NUL in {v!r}")


@dataclass
class ScriptedCall:
    """A caller following a script of keypresses; implements ``CallControl``."""

    env: AgiEnvironment
    clock: VirtualClock
    steps: list[Press | Silence] = field(default_factory=list)
    hangup_after: float | None = None
    prompt_seconds: float = 2.0
    durations: dict[str, float] = field(default_factory=dict)
    dial_status: str = "ANSWER"
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._start = self.clock.now
        self._dtmf: list[tuple[float, str]] = []
        self._gone = False
        self._music = False

    # --- time, keys and hangup ------------------------------------------------------------

    def _hangup_at(self) -> float | None:
        return None if self.hangup_after is None else self._start + self.hangup_after

    def _send(self, line: str) -> None:
        self.commands.append(line)
        at = self._hangup_at()
        if self._gone or (at is not None and self.clock.now >= at):
            self._gone = True
            raise CallHangup(line)

    def _arm(self) -> None:
        # Like the simulator, a command only hears its own step: keys of an earlier step that
        # no command read are gone.
        self._dtmf = []
        step = self.steps.pop(0) if self.steps else Silence()
        if isinstance(step, Press):
            t = self.clock.now + step.after
            for d in step.digits:
                self._dtmf.append((t, d))
                t += DIGIT_GAP_S

    def _read(self, window_s: float, escape: str) -> str | None:
        """Advance through ``window_s`` seconds; return the first escape key pressed in it."""
        end = self.clock.now + max(0.0, window_s)
        at = self._hangup_at()
        while self._dtmf and self._dtmf[0][0] <= end:
            t, d = self._dtmf[0]
            if at is not None and at <= t:
                break
            self._dtmf.pop(0)
            if d in escape:
                self.clock.now = max(self.clock.now, t)
                return d
        if at is not None and at <= end:
            self.clock.now = max(self.clock.now, at)
            self._gone = True
            raise CallHangup("caller hung up")
        self.clock.now = end
        return None

    def _duration(self, name: str) -> float:
        return self.durations.get(name, self.prompt_seconds)

    # --- CallControl ------------------------------------------------------------------------

    async def answer(self) -> None:
        """Answer (a no-op on an answered channel, as in Asterisk)."""
        self._send("ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play ``name``; stop on an escape digit."""
        _check(name, escape_digits)
        self._send(f'STREAM FILE {name} "{escape_digits}"')
        if escape_digits:
            self._arm()
        return self._read(self._duration(name), escape_digits)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play ``prompt`` and collect digits until '#', ``max_digits`` or a timeout."""
        _check(prompt)
        self._send(f"GET DATA {prompt} {timeout_ms} {max_digits}")
        self._arm()
        got = ""
        d = self._read(self._duration(prompt), ALL_DIGITS)
        if d is None:
            d = self._read(timeout_ms / 1000, ALL_DIGITS)
        while d is not None and d != "#":
            got += d
            if len(got) >= max_digits:
                break
            d = self._read(timeout_ms / 1000, ALL_DIGITS)
        return got or None

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """Wait up to ``timeout_ms`` for one key."""
        self._send(f"WAIT FOR DIGIT {timeout_ms}")
        self._arm()
        return self._read(timeout_ms / 1000, ALL_DIGITS)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        """Say ``digits`` one by one."""
        _check(digits, escape_digits)
        self._send(f'SAY DIGITS {digits} "{escape_digits}"')
        if escape_digits:
            self._arm()
        return self._read(0.6 * len(digits), escape_digits)

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        """Say ``number``."""
        _check(escape_digits)
        self._send(f'SAY NUMBER {int(number)} "{escape_digits}"')
        if escape_digits:
            self._arm()
        return self._read(1.5, escape_digits)

    async def say_datetime(self, epoch: int, escape_digits: str = "", fmt: str = "",
                           tz: str = "") -> str | None:
        """Say a date and time."""
        _check(escape_digits, fmt, tz)
        self._send(f'SAY DATETIME {int(epoch)} "{escape_digits}" "{fmt}" {tz}'.rstrip())
        if escape_digits:
            self._arm()
        return self._read(3.0, escape_digits)

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable."""
        _check(name, value)
        self._send(f'SET VARIABLE {name} "{value}"')
        self.variables[name] = value

    async def get_variable(self, name: str) -> str | None:
        """Read a channel variable (works on a hung-up channel, as in Asterisk)."""
        _check(name)
        self.commands.append(f"GET VARIABLE {name}")
        return self.variables.get(name)

    async def get_full_variable(self, expression: str) -> str | None:
        """Read a variable expression (only plain ``${NAME}`` offline)."""
        _check(expression)
        self.commands.append(f"GET FULL VARIABLE {expression}")
        return self.variables.get(expression.removeprefix("${").removesuffix("}"))

    async def exec(self, application: str, data: str = "") -> int:
        """Run an application; ``Dial`` ends with ``dial_status``."""
        _check(application, data)
        self._send(f'EXEC {application} "{data}"')
        if application.lower() == "dial":
            self.variables["DIALSTATUS"] = self.dial_status
        return 0

    async def record_file(self, filename: str, fmt: str, escape_digits: str, timeout_ms: int,
                          beep: bool = True, silence_s: int | None = None) -> RecordResult:
        """Record until an escape digit, the time limit or a hangup."""
        _check(filename, fmt, escape_digits)
        extra = (" BEEP" if beep else "") + (f" s={silence_s}" if silence_s else "")
        self._send(f'RECORD FILE {filename} {fmt} "{escape_digits}" {timeout_ms}{extra}')
        self._arm()
        start = self.clock.now
        d = self._read(timeout_ms / 1000, escape_digits)
        return RecordResult(d, d is None, int((self.clock.now - start) * 8000))

    async def set_music(self, on: bool, moh_class: str = "") -> None:
        """Music on hold on or off."""
        _check(moh_class)
        self._send(f"SET MUSIC {'on' if on else 'off'} {moh_class}".rstrip())
        self._music = on

    async def verbose(self, message: str, level: int = 1) -> None:
        """Log to the Asterisk console."""
        _check(message)
        self._send(f'VERBOSE "{message}" {level}')

    async def hangup(self) -> None:
        """Hang up the call; later commands raise ``CallHangup``."""
        self._send("HANGUP")
        self._gone = True
