"""Run one flow over one call, through ``CallControl`` only.

Design: the runner is a loop "execute node -> next node id" with one handler per node kind.
Rules it keeps:
* ``CallHangup`` stops everything at once: no further command is sent (not even in fallback).
* Any other exception in a node (bad data, a port failing, Asterisk refusing a command, a
  runaway loop past ``max_steps``) is logged with the call id and sends the caller to the flow's
  fallback or the global one: an apology, then an operator queue or a hangup. Never dead air.
* Digits pressed during an interruptible prompt are kept in ``pending`` (type-ahead) and are
  consumed by the next menu or input before any new prompt is played.
* Every node becomes a ``Step`` (inputs, choices, lookup results) sent to ``IvrEvents`` and kept
  for the ``IvrResult`` and the queue request's screen pop.
A runner object serves one call; the flow objects it runs are immutable versions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contactcenter.ivr import model as m
from contactcenter.ivr.common_nodes import CommonNodes
from contactcenter.ivr.expressions import Expr, ExprError
from contactcenter.ivr.hours import time_variables
from contactcenter.ivr.ports import (
    IvrEvents,
    IvrResult,
    LookupPort,
    QueuePort,
    QueueRequest,
    Step,
    VoiceMessage,
)
from contactcenter.ivr.saytext import fill
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.tts import EspeakSynthesizer, SpeechFailed, Synthesizer
from contactcenter.telephony.agi.api import AgiCommandError, CallControl, CallHangup

log = logging.getLogger("contactcenter.ivr")

ALL_DIGITS = "0123456789*#"
_LANG_RE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_FIELD_RE = re.compile(r"[^A-Za-z0-9_]")


class WallClock(Protocol):
    """What the runner needs of a clock: epoch seconds and a way to scale timeouts."""

    def time(self) -> float: ...

    def real(self, seconds: float) -> float: ...


class FlowRuntimeError(Exception):
    """A flow cannot go on (bad value at call time, unknown destination, runaway loop)."""


@dataclass(frozen=True, slots=True)
class _End:
    outcome: str


_RETURN = object()


class FlowRunner(CommonNodes):
    """Executes a flow (and its subflows) for one call."""

    def __init__(self, call: CallControl, flows: Mapping[str, m.Flow], *, queue: QueuePort,
                 lookups: LookupPort, events: IvrEvents, clock: WallClock,
                 settings: IvrSettings, tts: Synthesizer | None = None) -> None:
        self.call, self.flows, self.queue, self.lookups = call, flows, queue, lookups
        self.events, self.clock, self.settings = events, clock, settings
        self.tts = tts if tts is not None else EspeakSynthesizer(settings.tts)
        self.call_id = call.env.uniqueid
        self.vars: dict[str, Any] = {}
        self.pending = ""
        self.path: list[str] = []
        self.entered_at: list[float] = []
        self.steps: list[Step] = []
        self.lookup_data: dict[str, Any] = {}
        self._count = 0
        self._tz = settings.timezone

    async def run(self, flow: m.Flow) -> IvrResult:
        """Run ``flow`` to its end; never raises except on cancellation."""
        error: str | None = None
        started_at = self.clock.time()
        try:
            if flow.channel != "voice":  # a chat flow's prompts are texts, not sounds
                raise FlowRuntimeError(f"flow {flow.name!r} is a {flow.channel} flow")
            self._init_vars(flow)
            await self.call.answer()
            if flow.language and flow.language != self.call.env.language:
                await self.call.set_variable("CHANNEL(language)", flow.language)
            end = await self._run_flow(flow, 0)
            outcome = end.outcome if isinstance(end, _End) else "return"
        except CallHangup:
            outcome = "caller-hangup"
        except Exception as exc:  # any failure must reach the fallback, never dead air
            node = self.path[-1] if self.path else "-"
            error = f"{type(exc).__name__}: {exc}"
            log.error("ivr call=%s flow=%s@%s node=%s failed: %s", self.call_id, flow.name,
                      flow.version, node, error, exc_info=not isinstance(exc, FlowRuntimeError))
            outcome = await self._fallback(flow, error)
        result = IvrResult(self.call_id, flow.name, flow.version, outcome, tuple(self.path),
                           dict(self.vars), tuple(self.steps), error, started_at,
                           self.clock.time(), tuple(self.entered_at))
        try:
            await self.events.finished(result)
        except Exception:  # reporting must not break the call
            log.exception("ivr call=%s: events.finished failed", self.call_id)
        return result

    # --- plumbing -----------------------------------------------------------------------

    def _init_vars(self, flow: m.Flow) -> None:
        env = self.call.env
        self._tz = flow.timezone or self.settings.timezone
        self.vars.update(
            caller_id=env.callerid or "", caller_name=env.calleridname or "",
            dnid=env.dnid or "", extension=env.extension, channel=env.channel,
            uniqueid=env.uniqueid, flow=flow.name, language=flow.language or env.language)
        self.vars.update({f"query.{k}": v for k, v in env.query.items() if _ok_name(k)})
        self.vars.update({f"arg.{i}": v for i, v in enumerate(env.args, start=1)})
        self._refresh_time()
        for name, expr in flow.variables:
            self.vars[name] = self._eval(expr)

    def _refresh_time(self) -> None:
        self.vars.update(time_variables(self.clock.time(), self._tz))

    def _eval(self, expr: Expr) -> Any:
        return expr.evaluate(self.vars)

    async def _emit(self, flow: m.Flow, node: m.Node, detail: dict[str, Any]) -> None:
        step = Step(flow.name, node.id, type(node).__name__.removesuffix("Node").lower(),
                    self.clock.time(), detail)
        self.steps.append(step)
        try:
            await self.events.step(self.call_id, step)
        except Exception:  # a failing screen pop must not break the call
            log.exception("ivr call=%s: events.step failed", self.call_id)

    async def _run_flow(self, flow: m.Flow, depth: int) -> _End | object:
        node_id = flow.entry
        while True:
            self._count += 1
            if self._count > self.settings.max_steps:
                raise FlowRuntimeError(f"more than {self.settings.max_steps} steps")
            node = flow.nodes.get(node_id)
            if node is None:
                raise FlowRuntimeError(f"flow {flow.name!r} has no node {node_id!r}")
            self.path.append(node_id if depth == 0 else f"{flow.name}:{node_id}")
            self.entered_at.append(self.clock.time())
            self._refresh_time()
            detail: dict[str, Any] = {}
            try:
                if isinstance(node, m.SubflowNode):
                    nxt = await self._subflow(node, depth, detail)
                else:
                    nxt = await getattr(self, "_" + type(node).__name__)(flow, node, detail)
            except CallHangup:
                detail["hangup"] = True
                raise
            finally:
                await self._emit(flow, node, detail)
            if isinstance(nxt, _End) or nxt is _RETURN:
                return nxt
            node_id = nxt

    async def _play_all(self, prompts: tuple[str, ...], escape: str) -> str | None:
        for p in prompts:
            digit = await self.call.stream_file(p, escape)
            if digit:
                return digit
        return None

    def _take_digit(self) -> str | None:
        if not self.pending:
            return None
        d, self.pending = self.pending[0], self.pending[1:]
        return d

    async def _fallback(self, flow: m.Flow, error: str) -> str:
        fb = flow.fallback or self.settings.fallback
        try:
            await self._play_all(fb.prompts, "")
            if fb.queue:
                req = QueueRequest(fb.queue, fb.priority, {}, {"ivr.error": error,
                                   **self.lookup_data}, tuple(self.steps),
                                   str(self.vars.get("language", "")), None, self.call_id,
                                   self.call.env.callerid, flow.name)
                out = await self.queue.run(self.call, req)
                return f"fallback:queue:{out.kind}"
            await self.call.hangup()
            return "fallback:hangup"
        except CallHangup:
            return "caller-hangup"
        except Exception:  # last resort: hang up rather than leave dead air
            log.exception("ivr call=%s: fallback failed", self.call_id)
            try:
                await self.call.hangup()
            except Exception as exc:
                log.warning("ivr call=%s: final hangup failed: %s", self.call_id, exc,
                            exc_info=True)
            return "fallback:failed"

    # --- node kinds ---------------------------------------------------------------------

    async def _PlayNode(self, flow: m.Flow, n: m.PlayNode, detail: dict) -> str:
        if n.interrupt and self.pending:
            detail["skipped"] = "type-ahead"
            return n.next
        digit = await self._play_all(n.prompts, n.interrupt)
        if digit:
            self.pending += digit
            detail["interrupted"] = digit
        return n.next

    async def _MenuNode(self, flow: m.Flow, n: m.MenuNode, detail: dict) -> str:
        last = "timeout"
        for attempt in range(1, n.retries + 1):
            detail["attempts"] = attempt
            digit = self._take_digit()
            if digit is None:
                digit = await self._play_all(n.prompts, ALL_DIGITS)
            if digit is None:
                digit = await self.call.wait_for_digit(int(n.timeout_s * 1000))
            if digit is not None and digit in n.choices:
                detail["choice"] = digit
                if n.var:
                    self.vars[n.var] = digit
                return n.choices[digit]
            last = "timeout" if digit is None else "invalid"
            detail.setdefault("failures", []).append(digit or "timeout")
            self.pending = ""
            await self._play_all(n.timeout_prompts if digit is None else n.invalid_prompts, "")
        detail["result"] = last
        return n.on_timeout if last == "timeout" else n.on_invalid

    async def _collect(self, n: m.InputNode) -> str:
        timeout_ms = int(n.timeout_s * 1000)
        if not self.pending and n.terminator == "#":
            # GET DATA is what Asterisk offers for this case: '#' ends it natively.
            digit = await self._play_all(n.prompts[:-1], ALL_DIGITS)
            if digit is None:
                return await self.call.get_data(n.prompts[-1], timeout_ms, n.max_length) or ""
            self.pending = digit
        buf, self.pending = self.pending, ""
        if not buf:
            buf = await self._play_all(n.prompts, ALL_DIGITS) or ""
        while len(buf) < n.max_length and not (n.terminator and n.terminator in buf):
            digit = await self.call.wait_for_digit(timeout_ms)
            if digit is None:
                break
            buf += digit
        if n.terminator and n.terminator in buf:
            buf = buf[: buf.index(n.terminator)]
        return buf[: n.max_length]

    async def _InputNode(self, flow: m.Flow, n: m.InputNode, detail: dict) -> str:
        for attempt in range(1, n.retries + 1):
            detail["attempts"] = attempt
            value = await self._collect(n)
            ok = n.min_length <= len(value) <= n.max_length and (
                n.pattern is None or re.fullmatch(n.pattern, value) is not None)
            if ok:
                self.vars[n.var] = value
                detail["input"] = value
                return n.next
            detail.setdefault("rejected", []).append(value or "timeout")
            await self._play_all(n.invalid_prompts, "")
        detail["result"] = "failed"
        return n.on_failure

    async def _SayNode(self, flow: m.Flow, n: m.SayNode, detail: dict) -> str:
        if n.mode == "text":
            digit = await self._say_text(n, detail)
            if digit:
                self.pending += digit
                detail["interrupted"] = digit
            return n.next
        value = self._eval(n.value)
        detail["value"] = value
        if value is None or value == "":
            detail["skipped"] = "empty"
            return n.next
        if n.mode == "digits":
            text = str(value)
            if not re.fullmatch(r"[0-9*#]{1,64}", text):
                raise FlowRuntimeError(f"say digits: {text!r} is not digits")
            digit = await self.call.say_digits(text, n.interrupt)
        elif n.mode == "number":
            digit = await self.call.say_number(_int(value, "say number"), n.interrupt)
        else:
            digit = await self.call.say_datetime(_int(value, "say datetime"), n.interrupt,
                                                 n.format, n.timezone or self._tz)
        if digit:
            self.pending += digit
            detail["interrupted"] = digit
        return n.next

    async def _say_text(self, n: m.SayNode, detail: dict) -> str | None:
        """Speak the node's text (rendered or from the cache), or its fallback prompt."""
        tts = self.settings.tts
        try:
            text, cut = fill(n.template, self.vars, tts.max_chars)
        except ExprError as exc:
            raise FlowRuntimeError(f"say text: {exc}") from None
        detail["text"] = text
        if cut:
            detail["truncated"] = True
        if not text:
            detail["skipped"] = "empty"
            return None
        voice, rate = n.voice or tts.voice, n.rate or tts.rate
        try:
            audio = await self.tts.render(text, voice, rate)
        except SpeechFailed as exc:
            prompts = n.fallback_prompts or tts.fallback_prompt
            detail["speech_error"] = str(exc)
            log.warning("ivr call=%s node=%s: speech failed (%s); %s", self.call_id, n.id, exc,
                        f"playing {' '.join(prompts)}" if prompts else "no fallback prompt")
            if not prompts:  # the flow's fallback apologises instead: never dead air
                raise FlowRuntimeError(f"say text: {exc}") from None
            detail["fallback"] = list(prompts)
            return await self._play_all(prompts, n.interrupt)
        detail.update(audio=audio.sound, cached=audio.cached, voice=voice, rate=rate)
        return await self.call.stream_file(audio.sound, n.interrupt)

    async def _SetNode(self, flow: m.Flow, n: m.SetNode, detail: dict) -> str:
        for name, expr in n.assignments:
            value = self._eval(expr)
            if name == "language":
                value = str(value)
                if not _LANG_RE.fullmatch(value):
                    raise FlowRuntimeError(f"bad language {value!r}")
                await self.call.set_variable("CHANNEL(language)", value)
            self.vars[name] = value
            detail[name] = value
        return n.next

    def _lookup_failed(self, source: str, exc: Exception) -> None:
        log.warning("ivr call=%s: lookup %s failed: %s", self.call_id, source, exc)

    async def _LookupNode(self, flow: m.Flow, n: m.LookupNode, detail: dict) -> str:
        key = self._eval(n.key)
        key = "" if key is None else str(key)
        result = await self._lookup_one(n.source, key, n.timeout_s)
        if result.error and n.fallback_source:
            detail["primary_error"] = result.error
            result = await self._lookup_one(n.fallback_source, key, n.timeout_s)
        for k in [k for k in self.vars if k.startswith(n.into + ".")]:
            del self.vars[k]
        fields = {_FIELD_RE.sub("_", str(k))[:40]: str(v) for k, v in result.fields.items()}
        self.vars[f"{n.into}.found"] = result.found
        if result.found:
            self.vars.update({f"{n.into}.{k}": v for k, v in fields.items()})
            self.lookup_data.update({f"{n.into}.{k}": v for k, v in fields.items()})
        detail.update(source=result.source or n.source, key=key, found=result.found,
                      fields=fields, error=result.error)
        if result.found:
            return n.found
        return n.on_error if result.error else n.not_found

    async def _QueueNode(self, flow: m.Flow, n: m.QueueNode, detail: dict) -> str | _End:
        priority = _int(self._eval(n.priority), "queue priority")
        data = dict(self.lookup_data)
        data.update({name: self._eval(e) for name, e in n.data})
        req = QueueRequest(n.queue, priority, dict(n.skills), data, tuple(self.steps),
                           str(self.vars.get("language", "")), n.max_wait_s, self.call_id,
                           self.call.env.callerid, flow.name)
        detail.update(queue=n.queue, priority=priority, data=data)
        out = await self.queue.run(self.call, req)
        detail.update(outcome=out.kind, destination=out.destination)
        if out.kind == "exit":
            dest = out.destination or n.on_exit
            if dest is None:
                return _End("queue:exit")
            if dest not in flow.nodes:
                raise FlowRuntimeError(f"queue exit to unknown node {dest!r}")
            return dest
        if out.kind == "callback" and n.on_callback:
            return n.on_callback
        if out.kind == "failed":
            if n.on_failed:
                return n.on_failed
            raise FlowRuntimeError(f"queue {n.queue!r} failed: {out.detail}")
        return _End(f"queue:{out.kind}")

    async def _TransferNode(self, flow: m.Flow, n: m.TransferNode, detail: dict) -> str | _End:
        if n.dial_string:
            dial = n.dial_string
        else:
            number = self._eval(n.number) if n.number else ""
            try:
                dial = self.settings.transfer_dial_string(str(number or ""))
            except ValueError as exc:
                raise FlowRuntimeError(str(exc)) from None
        detail["dial"] = dial
        # g: when the far side hangs up, Dial returns 0 and the AGI goes on (app_dial.c
        # OPT_GO_ON); without it Dial returns -1 and the link waits for a HANGUP that never
        # comes while the caller's channel is up (docs/panel.md).
        await self.call.exec("Dial", f"{dial},{n.timeout_s},g")
        status = (await self.call.get_variable("DIALSTATUS") or "").upper()
        detail["status"] = status
        if status != "ANSWER" and n.on_failure:
            return n.on_failure
        if status == "ANSWER":  # the transferred call is over: so is this one
            await self.call.hangup()
        return _End(f"transfer:{status.lower() or 'unknown'}")

    async def _MessageNode(self, flow: m.Flow, n: m.MessageNode, detail: dict) -> str:
        await self._play_all(n.prompts, "")
        safe_id = re.sub(r"[^A-Za-z0-9_.-]", "_", self.call_id)
        filename = f"{self.settings.messages_dir}/{safe_id}-{n.id}"
        fmt = self.settings.message_format
        ended_by = "error"
        try:
            res = await self.call.record_file(filename, fmt, "#", n.max_seconds * 1000, n.beep,
                                              n.silence_s)
            ended_by = "digit" if res.digit else ("timeout" if res.timed_out else "silence")
        except CallHangup:
            ended_by = "hangup"
            raise
        except AgiCommandError as exc:
            # Asterisk creates no folder for RECORD FILE (main/file.c ast_writefile): a missing
            # or read-only messages folder fails every message, and only this line says where.
            problem = f"voice message not recorded to {filename}.{fmt} ({exc})"
            log.warning("ivr call=%s node=%s: %s: is that folder there and writable by Asterisk? "
                        "(contactcenter doctor checks it)", self.call_id, n.id, problem)
            # The caller goes on to the fallback as for any failed command (no dead air).
            raise FlowRuntimeError(problem) from None
        finally:
            # Hanging up is how most callers end a message: keep it in that case too.
            detail.update(recording=f"{filename}.{fmt}", purpose=n.purpose, ended_by=ended_by)
            if ended_by != "error":
                status = await self._store_message(flow, n, filename, fmt, ended_by)
                if n.purpose == "callback" and status is not None:
                    # The sink registered the callback or refused it (caller id not dialable,
                    # no place in line to keep); the flow may branch on ``callback``.
                    detail["callback"] = status
                    self.vars["callback"] = "requested" if status == "requested" else "refused"
                    if status != "requested":
                        log.warning("ivr call=%s node=%s: callback %s", self.call_id, n.id,
                                    status)
        return n.next

    async def _store_message(self, flow: m.Flow, n: m.MessageNode, filename: str, fmt: str,
                             ended_by: str) -> str | None:
        msg = VoiceMessage(self.call_id, flow.name, n.id, n.purpose, filename, fmt,
                           self.call.env.callerid, dict(self.vars), self.clock.time(), ended_by)
        try:
            return await self.events.voice_message(msg)
        except Exception:  # logged; the caller still goes on to the next node
            log.exception("ivr call=%s: storing voice message failed", self.call_id)
            return None

    async def _GotoNode(self, flow: m.Flow, n: m.GotoNode, detail: dict) -> str:
        return n.target

    async def _subflow(self, n: m.SubflowNode, depth: int, detail: dict) -> str | _End:
        sub = self.flows.get(n.flow)
        if sub is None:
            raise FlowRuntimeError(f"subflow {n.flow!r} is not loaded")
        if depth + 1 > self.settings.max_subflow_depth:
            raise FlowRuntimeError(f"subflows nested deeper than {self.settings.max_subflow_depth}")
        detail.update(flow=n.flow, version=sub.version)
        end = await self._run_flow(sub, depth + 1)
        return end if isinstance(end, _End) else n.next

    async def _ReturnNode(self, flow: m.Flow, n: m.ReturnNode, detail: dict) -> object:
        return _RETURN

    async def _HangupNode(self, flow: m.Flow, n: m.HangupNode, detail: dict) -> _End:
        await self._play_all(n.prompts, "")
        await self.call.hangup()
        return _End("hangup")


def _int(value: Any, what: str) -> int:
    try:
        return int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except ValueError:
        raise FlowRuntimeError(f"{what}: {value!r} is not a whole number") from None


def _ok_name(k: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", k) is not None
