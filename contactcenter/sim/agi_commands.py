"""What the simulated Asterisk does for each AGI command, with Asterisk 22's result lines.

Design note: a digit-reading command takes the caller's next step. ``Press(d, after=s)``
becomes DTMF on the AGI channel: the first digit ``s`` clock seconds into the command, the
next ones ``DIGIT_GAP`` apart, each a DTMFBegin then, 150 ms later, a DTMFEnd. Playback
lengths come from ``sounds.py``. A hangup while a command waits makes it return ``-1``.
Music on hold is a generator on the channel: anything that opens a sound file or bridges the
channel stops it (MusicOnHoldStop), as main/file.c and app_dial.c deactivate the generator.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile

from . import agi_wire as wire
from .bridge_app import bridge
from .channels import SimChannel
from .dial import dial
from .model import Press, Step
from .sounds import say_length, sound_length
from .waits import wait_any

if TYPE_CHECKING:
    from .agi_session import AgiSession

DIGIT_GAP = 0.3
DTMF_MS = 150
_SAY = {("SAY", "DIGITS"), ("SAY", "NUMBER"), ("SAY", "ALPHA"), ("SAY", "DATETIME")}
# Commands that open a sound file (or speak), which stops music on hold.
_PLAYS = _SAY | {("STREAM", "FILE"), ("CONTROL", "STREAM", "FILE"), ("GET", "OPTION"),
                 ("GET", "DATA")}


MSET_MAX = 99  # MSet parses up to 99 pairs (main/pbx_variables.c)
_APP_SPECIAL = frozenset('()[]"\\')  # characters that make app_args more than a split


def app_args(data: str, delim: str, limit: int) -> list[str]:
    """Split application data as ``__ast_app_separate_args`` does (main/app.c), quotes removed.

    Delimiters inside ``()``, ``[]`` or double quotes do not split; a backslash makes the next
    character literal; the ``limit``-th argument is the unparsed rest.
    """
    if data and limit > 0 and not _APP_SPECIAL.intersection(data):  # plain split: no quoting
        return data.split(delim, limit - 1)
    out: list[str] = []
    paren = bracket = 0
    quote = False
    i, n = 0, len(data)
    ended_on_delim = False
    while i < n and len(out) < limit - 1:
        cur: list[str] = []
        ended_on_delim = False
        while i < n:
            c = data[i]
            if c == "(":
                paren += 1
            elif c == ")":
                paren = max(0, paren - 1)
            elif c == "[":
                bracket += 1
            elif c == "]":
                bracket = max(0, bracket - 1)
            elif c == '"' and delim != '"':
                quote = not quote
                i += 1
                continue
            elif c == "\\":
                i += 1
                if i < n:
                    cur.append(data[i])
                    i += 1
                continue
            elif c == delim and not (paren or bracket or quote):
                i += 1
                ended_on_delim = True
                break
            cur.append(c)
            i += 1
        out.append("".join(cur))
    if i < n:
        out.append(data[i:])
    elif ended_on_delim:
        out.append("")
    return out


class Hungup(Exception):
    """The channel hung up while the command was waiting."""


class CommandRunner:
    """Executes command lines for one AGI session."""

    def __init__(self, session: AgiSession) -> None:
        self.s = session
        self.pbx, self.clock, self.ch = session.pbx, session.clock, session.ch
        self.dead_hangup_sent = False
        self._t0 = 0.0
        self.music: str | None = None  # the class playing on the channel, None when silent

    def _music_on(self, moh_class: str) -> None:
        self.pbx.emit_ch("MusicOnHoldStart", self.ch, [("Class", moh_class)])
        self.music = moh_class

    def _music_off(self) -> None:
        if self.music is not None:
            self.music = None
            self.pbx.emit_ch("MusicOnHoldStop", self.ch)

    # -- plumbing ------------------------------------------------------------------------
    def _dead(self) -> bool:
        return self.ch.hangup_requested.is_set()

    async def _until(self, t: float) -> None:
        """Sleep until ``t`` clock seconds after the command started; raise Hungup on hangup."""
        left = self._t0 + t - self.clock.monotonic()
        if self._dead():
            raise Hungup
        if left > 0:
            await wait_any((self.ch.hangup_requested,), self.clock.real(left))
        if self._dead():
            raise Hungup

    def _step(self) -> list[tuple[float, str]]:
        step: Step = self.s.call.next_step() if self.s.call is not None else None  # type: ignore[assignment]
        if isinstance(step, Press):
            return [(step.after + i * DIGIT_GAP, d) for i, d in enumerate(step.digits)]
        return []

    async def _press(self, t: float, digit: str) -> None:
        await self._until(t)
        self.pbx.dtmf(self.ch, digit, True)
        await self._until(t + DTMF_MS / 1000)
        self.pbx.dtmf(self.ch, digit, False, DTMF_MS)
        if self.s.call is not None:
            self.s.call.digits_pressed.append(digit)

    def _sound(self, name: str) -> float | None:
        cfg = self.pbx.config
        if name in cfg.missing_sounds:
            return None
        return sound_length(name, cfg.sound_lengths)

    def _endpos(self, seconds: float) -> int:
        return int(seconds * 8000)

    # -- entry ---------------------------------------------------------------------------
    async def execute(self, line: str) -> None:
        """Run one command line and write its reply (AGIExecStart/End around it)."""
        if self.s.call is not None:
            self.s.call.agi_commands.append(line)
        cmd = wire.parse_command(line)
        shown = line.rstrip("\r")  # a raw CR cannot go through the AMI serializer
        command_id = ""  # made only for an AGIExec event somebody reads
        if self.pbx.bus.wants("AGIExecStart", "agi,all"):
            command_id = str(random.randrange(10**7, 2**31))
            self.pbx.emit_ch(
                "AGIExecStart",
                self.ch,
                [("CommandId", command_id), ("Command", shown)],
                privilege="agi,all",
            )
        self._t0 = self.clock.monotonic()
        code, text, reply = await self._run(cmd)
        if code == "520":
            head, reply = wire.usage_lines(cmd)
            self.s.write(head)
            self._exec_end(command_id, shown, code, text)
            await self.clock.sleep(0.044)
        else:
            self._exec_end(command_id, shown, code, text)
        self.s.write(reply)

    def _exec_end(self, command_id: str, shown: str, code: str, text: str) -> None:
        if self.pbx.bus.wants("AGIExecEnd", "agi,all"):
            command_id = command_id or str(random.randrange(10**7, 2**31))
            self.pbx.emit_ch(
                "AGIExecEnd",
                self.ch,
                [("CommandId", command_id), ("Command", shown), ("ResultCode", code),
                 ("Result", text)],
                privilege="agi,all",
            )

    async def _run(self, cmd: wire.AgiCommand) -> tuple[str, str, str]:
        if cmd.words is None:
            return "510", "Invalid or unknown command", wire.R510
        if wire.needs_usage(cmd):
            return "520", "Usage", ""
        if self._dead() and cmd.words not in wire.DEAD_OK:
            if cmd.words == ("HANGUP",):
                self.dead_hangup_sent = True
            return "511", "Command Not Permitted on a dead channel or intercept routine", wire.R511
        try:
            result = await self._dispatch(cmd)
        except Hungup:
            result = "-1" + (
                " endpos=0" if cmd.words in {("STREAM", "FILE"), ("GET", "OPTION")} else ""
            )
        failed = result.startswith("-1") and cmd.words != ("EXEC",)
        if cmd.words == ("EXEC",):
            text = "Success" if result == "0" else "Unknown Result"
            return "200", text, f"200 result={result}\n"
        if failed:
            return "-1", "Failure", f"200 result={result}\n"
        return "200", "Success", f"200 result={result}\n"

    # -- commands ------------------------------------------------------------------------
    async def _dispatch(self, cmd: wire.AgiCommand) -> str:
        w, a, ch, pbx = cmd.words, cmd.args, self.ch, self.pbx
        if w == ("ANSWER",):
            pbx.answer(ch)
            return "0"
        if w == ("NOOP",):
            return "0"
        if w == ("VERBOSE",):
            return "1"
        if w == ("HANGUP",):
            target = pbx.find(a[0]) if a else ch
            if target is None:
                return "-1"
            if self.s.call is not None and target is ch:
                self.s.call.set_outcome("agi-hangup")
            pbx.request_hangup(target, 16)
            return "1"
        if w == ("CHANNEL", "STATUS"):
            target = pbx.find(a[0]) if a else ch
            return "-1" if target is None else str(target.state)
        if w == ("SET", "VARIABLE"):
            pbx.set_var(ch, a[0], a[1])
            return "1"
        if w == ("GET", "VARIABLE"):
            value = pbx.get_var(ch, a[0])
            return "0" if value is None else f"1 ({value})"
        if w == ("GET", "FULL", "VARIABLE"):
            target = pbx.find(a[1]) if len(a) > 1 else ch
            return "0" if target is None else f"1 ({pbx.expand(target, a[0])})"
        if w in {("SET", "CONTEXT"), ("SET", "EXTENSION"), ("SET", "PRIORITY")}:
            return "0"
        if w == ("SET", "CALLERID"):
            return "1"
        if w == ("SET", "MUSIC"):
            if a[0].lower() == "on":
                self._music_on(a[1] if len(a) > 1 else "default")
            else:
                self.music = None
                pbx.emit_ch("MusicOnHoldStop", ch)
            return "0"
        if w in _PLAYS:
            self._music_off()
        if w in {("STREAM", "FILE"), ("CONTROL", "STREAM", "FILE")}:
            return await self._stream(a[0], a[1], with_endpos=True)
        if w in _SAY:
            return await self._say(cmd)
        if w == ("WAIT", "FOR", "DIGIT"):
            return await self._wait_for_digit(int(a[0]))
        if w == ("GET", "DATA"):
            timeout = (
                int(a[1]) / 1000
                if len(a) > 1 and a[1].lstrip("-").isdigit() and int(a[1]) > 0
                else 6.0
            )
            maxd = int(a[2]) if len(a) > 2 and a[2].isdigit() else 1024
            return await self._get_data(a[0], timeout, maxd)
        if w == ("GET", "OPTION"):
            return await self._get_option(
                a[0], a[1], int(a[2]) / 1000 if len(a) > 2 and a[2].isdigit() else 5.0
            )
        if w == ("RECORD", "FILE"):
            return await self._record(a)
        if w == ("EXEC",):
            data = " ".join(a[1:]) if len(a) > 1 else ""
            return await self._exec(a[0], data)
        return "0"

    async def _stream(self, name: str, escapes: str, with_endpos: bool) -> str:
        length = self._sound(name)
        # A prompt that nobody may interrupt reads no keys, so it does not spend a caller step.
        digits = self._step() if escapes else []
        if length is None:
            return "-1 endpos=0"
        for t, d in digits:
            if t >= length:
                break
            await self._press(t, d)
            if d in escapes:
                self.pbx.set_var(self.ch, "PLAYBACKSTATUS", "SUCCESS")
                return f"{ord(d)} endpos={self._endpos(t)}" if with_endpos else str(ord(d))
        await self._until(length)
        self.pbx.set_var(self.ch, "PLAYBACKSTATUS", "SUCCESS")
        return f"0 endpos={self._endpos(length)}" if with_endpos else "0"

    async def _say(self, cmd: wire.AgiCommand) -> str:
        length = say_length(cmd.name, cmd.args[0])
        for t, d in self._step() if cmd.args[1] else []:
            if t >= length:
                break
            await self._press(t, d)
            if d in cmd.args[1]:
                return str(ord(d))
        await self._until(length)
        return "0"

    async def _wait_for_digit(self, timeout_ms: int) -> str:
        limit = None if timeout_ms < 0 else timeout_ms / 1000
        digits = self._step()
        if digits and (limit is None or digits[0][0] <= limit):
            t, d = digits[0]
            await self._press(t, d)
            return str(ord(d))
        if limit is None:
            await self.ch.hangup_requested.wait()
            raise Hungup
        await self._until(limit)
        return "0"

    async def _get_data(self, prompt: str, timeout: float, max_digits: int) -> str:
        length = self._sound(prompt) or 0.0
        got: list[str] = []
        deadline = length + timeout
        for t, d in self._step():
            if t > deadline:
                break
            await self._press(t, d)
            if d == "#":
                return "".join(got)
            got.append(d)
            if len(got) >= max_digits:
                return "".join(got)
            deadline = t + DTMF_MS / 1000 + timeout
        await self._until(deadline)
        return f"{''.join(got)} (timeout)"

    async def _get_option(self, name: str, escapes: str, timeout: float) -> str:
        length = self._sound(name)
        if length is None:
            return "-1 endpos=0"
        for t, d in self._step():
            if t > length + timeout:
                break
            await self._press(t, d)
            if t < length and d not in escapes:
                continue
            return f"{ord(d)} endpos={self._endpos(min(t, length))}"
        await self._until(length + timeout)
        return f"0 endpos={self._endpos(length)}"

    async def _record(self, a: list[str]) -> str:
        result = await self._record_for(a)
        if "(writefile)" not in result:
            self._write_message(a[0], a[1], result)
        return result

    def _write_message(self, filename: str, fmt: str, result: str) -> None:
        """Write what RECORD FILE heard (a tone as long as its ``endpos``) when the file is in
        the folder the PBX shares with the server, so the server can serve it as Asterisk's."""
        shared = self.pbx.config.recordings_dir
        path = Path(f"{filename}.{fmt}")
        if shared is None or fmt != "wav" or not path.is_absolute() or not (
                path.is_relative_to(shared) or path.is_relative_to(shared.resolve())):
            return
        found = re.search(r"endpos=(\d+)", result)
        samples = int(found.group(1)) if found else 0
        t = np.arange(samples) / 8000.0
        soundfile.write(path, (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16), 8000,
                        subtype="PCM_16")

    async def _record_for(self, a: list[str]) -> str:
        escapes, timeout_ms = a[2], int(a[3]) if a[3].lstrip("-").isdigit() else -1
        silence = next((float(x[2:]) for x in a[4:] if x.startswith("s=")), None)
        beep = any(x.upper() == "BEEP" for x in a[4:])
        start = sound_length("beep", {}) if beep else 0.0
        limit = None if timeout_ms < 0 else start + timeout_ms / 1000
        if silence is not None:
            limit = min(limit, start + silence) if limit is not None else start + silence
        try:
            if not self._can_record(a[0]):
                await self._until(start)  # res_agi.c plays the beep before opening the file
                return "-1 (writefile)"
            for t, d in self._step():
                if limit is not None and t > limit:
                    break
                await self._press(t, d)
                if d in escapes:
                    return f"{ord(d)} (dtmf) endpos={self._endpos(t - start)}"
            if limit is None:
                await self.ch.hangup_requested.wait()
                raise Hungup
            await self._until(limit)
        except Hungup:
            return f"-1 (hangup) endpos={self._endpos(self.clock.monotonic() - self._t0)}"
        return f"0 (timeout) endpos={self._endpos(limit - start)}"

    def _can_record(self, filename: str) -> bool:
        """Whether RECORD FILE can open ``filename``: Asterisk makes no folder for it
        (main/file.c ast_writefile opens the file, nothing more) and answers ``-1 (writefile)``.

        The one disk this simulator shares with the server is its recordings folder, so a
        file there is checked for real; elsewhere (the default /var/spool/asterisk/...) the
        simulated Asterisk's disk is not modelled and the recording succeeds.
        """
        shared = self.pbx.config.recordings_dir
        path = Path(filename)
        if shared is None or not path.is_absolute():
            return True  # relative: under Asterisk's sounds folder, not modelled
        if not path.is_relative_to(shared) and not path.is_relative_to(shared.resolve()):
            return True
        return path.parent.is_dir() and os.access(path.parent, os.W_OK | os.X_OK)

    async def _exec(self, app: str, data: str) -> str:
        ch, pbx, name = self.ch, self.pbx, app.lower()
        dead = self._dead()
        if name == "playback":
            self._music_off()
            files = data.split(",")[0].split("&")
            lengths = [self._sound(f) for f in files]
            if dead or any(x is None for x in lengths):
                pbx.set_var(ch, "PLAYBACKSTATUS", "FAILED")
                return "0"
            await self._until(sum(x or 0.0 for x in lengths))
            pbx.set_var(ch, "PLAYBACKSTATUS", "SUCCESS")
            return "0"
        if name in ("set", "noop", "verbose", "log"):
            if name == "set" and "=" in data:
                key, _, value = data.partition("=")
                pbx.set_var(ch, key, value)
            return "0"
        if name == "mset":  # pbx_builtin_setvar_multiple: entries without '=' are skipped
            for entry in app_args(data, ",", MSET_MAX):
                pair = app_args(entry, "=", 2)
                if len(pair) == 2:
                    pbx.set_var(ch, pair[0], pair[1])
            return "0"
        if dead:
            return "-1"
        if name == "dial":
            return str(await dial(self.s.dp, ch, data, self.s.call, self._music_off))
        if name == "bridge":
            return await bridge(self.s.dp, ch, data, self._music_off)
        if name == "mixmonitor":
            filename, _, rest = data.partition(",")
            return self._mixmonitor(ch, filename, rest.split(",")[0])
        if name == "stopmixmonitor":
            if pbx.recorder.stop(ch.name) is not None:
                pbx.emit_ch("MixMonitorStop", ch)
            return "0"
        if name in ("startmusiconhold", "musiconhold"):
            self._music_on(data.split(",")[0] or "default")
            if name == "startmusiconhold":
                return "0"
            parts = data.split(",")
            try:
                await self._until(float(parts[1]) if len(parts) > 1 and parts[1] else 10**9)
            finally:
                self.music = None
                pbx.emit_ch("MusicOnHoldStop", ch)
            return "0"
        if name == "stopmusiconhold":
            self.music = None
            pbx.emit_ch("MusicOnHoldStop", ch)
            return "0"
        if name == "wait":
            await self._until(float(data or 0))
            return "0"
        if name == "answer":
            pbx.answer(ch)
            return "0"
        if name == "hangup":
            pbx.request_hangup(ch, int(data) if data.isdigit() else 16)
            return "-1"
        if name in ("ringing", "progress", "senddtmf"):
            return "0"
        return "-2"

    def _mixmonitor(self, ch: SimChannel, filename: str, options: str) -> str:
        try:
            self.pbx.recorder.start(ch.name, filename, ch.bridge is not None, options)
        except ValueError:  # a path leaving the recordings directory: nothing is recorded
            return "-1"
        self.pbx.set_var(ch, "MIXMONITOR_FILENAME", filename)
        self.pbx.emit_ch("MixMonitorStart", ch)
        return "0"
