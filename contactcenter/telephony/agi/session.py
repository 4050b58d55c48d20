"""One FastAGI call: typed call-control commands (implements ``api.CallControl``).

``AgiSession`` adds the typed commands a flow uses (answer, prompts, digits, variables, exec,
dial, record, music, hangup) on top of ``AgiLink``, which owns the wire rules: one command in
flight, per-command deadlines on the Clock, and when the caller counts as gone (511, a pushed
HANGUP, a -1 followed by HANGUP, EOF). Results are interpreted here from the Asterisk 22 traces:
digits come back as ASCII codes, GET DATA returns the digits themselves, "(timeout)" marks a
timeout, and -1 without a HANGUP is a plain failure (e.g. STREAM FILE of a missing file).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping

from contactcenter.telephony.agi.api import (
    AgiCommandError,
    CallHangup,
    RecordResult,
    Subroutine,
)
from contactcenter.telephony.agi.command import Quoted, check_safe, render_arg, render_quoted
from contactcenter.telephony.agi.link import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_HANGUP_GRACE,
    AgiLink,
    AgiReplyError,
    AgiTimeoutError,
    AgiTransport,
)

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_HANGUP_GRACE",
    "AgiReplyError",
    "AgiSession",
    "AgiTimeoutError",
    "AgiTransport",
]

log = logging.getLogger(__name__)

_APP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ID_VALUE = re.compile(r"[A-Za-z0-9_.:@+-]*")
_ANSWER = b"ANSWER\n"
_SAY_DEFAULT_FORMAT = "ABdY 'digits/at' IMp"


def _digit(code: int) -> str | None:
    """ASCII code from WAIT FOR DIGIT / STREAM FILE -> the digit; 0 -> None."""
    if code <= 0:
        return None
    return chr(code)


class AgiSession(AgiLink):
    """Typed AGI commands on one live call, over one FastAGI connection."""

    __slots__ = ()

    async def answer(self) -> None:
        """Answer the channel (200 result=0 even when already answered)."""
        reply = await self._roundtrip("ANSWER", _ANSWER, None, False)
        if reply.result == "-1":
            raise AgiCommandError("ANSWER failed")

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play a sound; return the escape digit pressed, or None when it played out."""
        # The typed commands encode their line directly (same rendering and checks as
        # build_command, without the generic argument loop and the AgiCommand tuple).
        wire = f"STREAM FILE {render_arg(name)} {render_quoted(escape_digits)}\n".encode()
        reply = await self._roundtrip("STREAM FILE", wire, None, False)
        code = reply.number or 0
        if code < 0:
            log.warning("STREAM FILE %s failed on %s (missing file?)", name, self.env.channel)
        return _digit(code)

    async def get_option(self, name: str, escape_digits: str, timeout_ms: int) -> str | None:
        """Play a sound, then wait ``timeout_ms`` for one of ``escape_digits``; None if none."""
        reply = await self.command("GET OPTION", name, Quoted(escape_digits), int(timeout_ms))
        return _digit(reply.number or 0)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play ``prompt`` and collect up to ``max_digits``; None on timeout with no digits."""
        # Asterisk's timeout is per digit (after the prompt), so allow one per digit and then some.
        wait = self._command_timeout + max(0, timeout_ms) / 1000 * (max(0, max_digits) + 1)
        wire = f"GET DATA {render_arg(prompt)} {int(timeout_ms)} {int(max_digits)}\n".encode()
        reply = await self._roundtrip("GET DATA", wire, wait, False)
        if reply.result in ("", "-1"):
            return None
        return reply.result

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """Wait for one DTMF digit; None when ``timeout_ms`` passes with none."""
        wait = 24 * 3600.0 if timeout_ms < 0 else self._command_timeout + timeout_ms / 1000
        wire = f"WAIT FOR DIGIT {int(timeout_ms)}\n".encode()
        reply = await self._roundtrip("WAIT FOR DIGIT", wire, wait, False)
        code = reply.number or 0
        if code < 0:
            # -1 only means channel failure here; treat it like the caller leaving.
            self._mark_hung_up()
            raise CallHangup("WAIT FOR DIGIT returned -1")
        return _digit(code)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        """Say ``digits`` one by one; return the escape digit pressed, if any."""
        reply = await self.command("SAY DIGITS", digits, Quoted(escape_digits))
        return _digit(reply.number or 0)

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        """Say an integer; return the escape digit pressed, if any."""
        reply = await self.command("SAY NUMBER", int(number), Quoted(escape_digits))
        return _digit(reply.number or 0)

    async def say_datetime(
        self, epoch: int, escape_digits: str = "", fmt: str = "", tz: str = ""
    ) -> str | None:
        """Say a date/time (Asterisk's say.conf format codes); return the escape digit, if any."""
        args: list[str | int | Quoted] = [int(epoch), Quoted(escape_digits)]
        if fmt or tz:
            args.append(Quoted(fmt or _SAY_DEFAULT_FORMAT))
        if tz:
            args.append(tz)
        reply = await self.command("SAY DATETIME", *args)
        return _digit(reply.number or 0)

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable."""
        wire = f"SET VARIABLE {render_arg(name)} {render_arg(value)}\n".encode()
        await self._roundtrip("SET VARIABLE", wire, None, False)

    async def set_variables(self, values: Mapping[str, str]) -> None:
        """Set several channel variables in one round trip (``EXEC MSet``; Asterisk 22).

        Only plain names and id-like values (letters, digits, ``_.:@+-``) are accepted, so
        nothing needs quoting for AGI nor for MSet's own parser (``,``, ``=``, quotes, ``\\``,
        brackets and ``${`` would all change what gets set); anything else raises ValueError.
        """
        if not values:
            return
        for name, value in values.items():
            if not _VAR_NAME.fullmatch(name):
                raise ValueError(f"invalid variable name {name!r}")
            if not _ID_VALUE.fullmatch(value):
                raise ValueError(f"MSet takes id-like values only: {name}={value!r}")
        data = ",".join(f"{name}={value}" for name, value in values.items())
        reply = await self._roundtrip("EXEC", f"EXEC MSet {data}\n".encode(), None, False)
        if reply.number == -2:  # no MSet (an Asterisk older than 1.6): one command each
            for name, value in values.items():
                await self.set_variable(name, value)

    async def get_variable(self, name: str, *, allow_dead: bool = False) -> str | None:
        """Read a channel variable; None when unset. ``allow_dead`` works after a hangup."""
        wire = f"GET VARIABLE {render_arg(name)}\n".encode()
        reply = await self._roundtrip("GET VARIABLE", wire, None, allow_dead)
        return reply.data if reply.result == "1" else None

    async def get_full_variable(
        self, expression: str, channel: str | None = None, *, allow_dead: bool = False
    ) -> str | None:
        """Evaluate ``${...}`` expressions on this (or another) channel; None if no channel."""
        args: list[str | int | Quoted] = [expression]
        if channel is not None:
            args.append(channel)
        reply = await self.command("GET FULL VARIABLE", *args, allow_dead=allow_dead)
        return reply.data if reply.result == "1" else None

    async def exec(self, application: str, data: str = "", *, timeout: float | None = None) -> int:
        """Run a dialplan application; return its result code (``timeout`` in clock seconds)."""
        check_safe(application, "application")
        if not _APP_NAME.fullmatch(application):
            raise ValueError(f"invalid application name {application!r}")
        args: tuple[str, ...] = (application, data) if data else (application,)
        reply = await self.command("EXEC", *args, timeout=timeout)
        code = reply.number
        if code is None:
            raise AgiCommandError(f"EXEC {application}: non-numeric result {reply.result!r}")
        if code == -2:
            log.warning("EXEC: application %s not found in Asterisk", application)
        return code

    async def dial(
        self,
        destination: str,
        ring_timeout_s: int | None = None,
        options: str = "",
        *,
        timeout: float = 12 * 3600.0,
        known_status: Callable[[], str | None] | None = None,
        before: Subroutine | None = None,
        answered: Subroutine | None = None,
    ) -> str:
        """Dial(destination[,ring[,options]]) and return DIALSTATUS (ANSWER, NOANSWER, BUSY...).

        ``timeout`` bounds the whole call (ringing plus talk time), in clock seconds.
        ``known_status``, asked when Dial returns, may give the status already learnt some
        other way (AMI saw the answer): it then saves the round trip that reads DIALSTATUS.
        ``before`` runs on this channel once Dial has started, before it calls anyone (option
        ``B``, Asterisk 11 and later): what must be set on the channel exactly when the dial
        begins goes there instead of costing a round trip of its own.
        ``answered`` runs on the called channel once it answered, before the bridge (option
        ``U``): the one moment nothing else records when no AMI link listens.
        """
        for what, value in (("destination", destination), ("options", options)):
            check_safe(value, what)
            if "," in value:
                raise ValueError(f"dial {what} must not contain ',': {value!r}")
        if before is not None:
            if "B" in options:
                raise ValueError(f"dial options already hold a B(): {options!r}")
            options = f"{options}B({before.dial_option()})"
        if answered is not None:
            if "U" in options:
                raise ValueError(f"dial options already hold a U(): {options!r}")
            options = f"{options}U({answered.callee_option()})"
        parts = [destination]
        if ring_timeout_s is not None or options:
            parts.append("" if ring_timeout_s is None else str(int(ring_timeout_s)))
        if options:
            parts.append(options)
        await self.exec("Dial", ",".join(parts), timeout=timeout)
        status = known_status() if known_status is not None else None
        if status is None:
            status = await self.get_variable("DIALSTATUS")
        return status or ""

    async def bridge(
        self, channel: str, options: str = "x", *, timeout: float = 12 * 3600.0
    ) -> str:
        """Bridge(channel[,options]) and return BRIDGERESULT (SUCCESS, FAILURE, NONEXISTENT...).

        Bridge() takes the other channel from wherever it is (yanking it out of its dialplan)
        and returns 0 when either side leaves. The default option ``x`` hangs the other
        channel up then instead of sending it back to its dialplan (main/features.c).
        """
        for what, value in (("channel", channel), ("options", options)):
            check_safe(value, what)
            if "," in value:
                raise ValueError(f"bridge {what} must not contain ',': {value!r}")
        if not channel:
            raise ValueError("bridge needs a channel")
        await self.exec("Bridge", f"{channel},{options}" if options else channel, timeout=timeout)
        return await self.get_variable("BRIDGERESULT", allow_dead=True) or ""

    async def record_file(
        self,
        filename: str,
        fmt: str,
        escape_digits: str,
        timeout_ms: int,
        beep: bool = True,
        silence_s: int | None = None,
    ) -> RecordResult:
        """Record to ``filename.fmt`` until a digit, silence or ``timeout_ms`` (-1: no limit)."""
        args: list[str | int | Quoted] = [filename, fmt, Quoted(escape_digits), int(timeout_ms)]
        if beep:
            args.append("BEEP")
        if silence_s is not None:
            args.append(f"s={int(silence_s)}")
        wait = 24 * 3600.0 if timeout_ms < 0 else self._command_timeout + timeout_ms / 1000
        reply = await self.command("RECORD FILE", *args, timeout=wait)
        endpos = reply.endpos or 0
        if reply.data == "hangup":
            self._mark_hung_up()
            raise CallHangup("caller hung up during RECORD FILE")
        if reply.data == "dtmf":
            return RecordResult(digit=_digit(reply.number or 0), timed_out=False, endpos=endpos)
        if reply.data in ("timeout", None) and (reply.number or 0) >= 0:
            return RecordResult(digit=None, timed_out=reply.data == "timeout", endpos=endpos)
        raise AgiCommandError(f"RECORD FILE failed: result={reply.result} ({reply.data})")

    async def set_music(self, on: bool, moh_class: str = "") -> None:
        """Start (with an optional class) or stop music on hold."""
        if on:
            await self.command("SET MUSIC", "ON", *((moh_class,) if moh_class else ()))
        else:
            await self.command("SET MUSIC OFF")

    async def verbose(self, message: str, level: int = 1) -> None:
        """Write a line to the Asterisk console/log."""
        await self.command("VERBOSE", Quoted(message), int(level))

    async def noop(self) -> None:
        """Round trip without effect (a liveness check)."""
        await self.command("NOOP")

    async def channel_status(self) -> int:
        """Asterisk channel state (6 = up)."""
        reply = await self.command("CHANNEL STATUS")
        return reply.number if reply.number is not None else -1

    async def hangup(self) -> None:
        """Hang up the channel; a no-op when the caller is already gone."""
        if self.hung_up or self.closed:
            return
        try:
            await self.command("HANGUP")
        except CallHangup:
            pass
        self._mark_hung_up()
