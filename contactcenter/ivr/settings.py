"""The ``ivr:`` section of the server config as a typed dataclass (the lead embeds it).

Example::

    ivr:
      flows_dir: ivr_flows
      default_flow: main
      numbers: {"100": main, "200": support}
      fallback: {prompt: [sorry-technical-difficulties], queue: operator, priority: 5}
      timezone: Europe/Paris
      tts: {cache_dir: /var/spool/asterisk/contactcenter/tts, voice: en-us, rate: 160,
            fallback_prompt: [sorry-technical-difficulties],
            cache_max_mb: 500, cache_max_age_days: 30, cache_keep: 600}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contactcenter.common.yamlfile import LocDict, Mark, SourceError, SourceErrors
from contactcenter.ivr.checker import Checker
from contactcenter.ivr.model import Fallback
from contactcenter.ivr.schema import VOICE_RE, fallback_from
from contactcenter.ivr.tts import TtsSettings


@dataclass(frozen=True, slots=True)
class IvrSettings:
    """Where flows live, which flow a call runs, and the global fallback."""

    flows_dir: Path = Path("ivr_flows")
    default_flow: str = "main"
    numbers: Mapping[str, str] = field(default_factory=dict)  # dialled number -> flow name
    # "an-error-has-occured" is the Asterisk core sound's real (misspelt) name.
    fallback: Fallback = field(
        default_factory=lambda: Fallback(("an-error-has-occured",), "operator", 0))
    timezone: str = "UTC"
    reload_interval_s: float = 1.0
    messages_dir: str = "/var/spool/asterisk/contactcenter/messages"
    message_format: str = "wav"
    transfer_template: str = "Local/{number}@cc-outbound"
    max_steps: int = 500
    max_subflow_depth: int = 8
    tts: TtsSettings = field(default_factory=TtsSettings)  # the ``say`` node's ``text``

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, file: str = "<config>") -> IvrSettings:
        """Build from a (located) YAML mapping; unknown keys and bad values raise ``SourceErrors``."""
        if not data:
            return cls()
        d = data if isinstance(data, LocDict) else _locate(data, file)
        c = Checker(file)
        c.keys(d, {"flows_dir", "default_flow", "numbers", "fallback", "timezone",
                   "reload_interval", "messages_dir", "message_format", "transfer_template",
                   "max_steps", "max_subflow_depth", "tts"}, set(), "'ivr'")
        kw: dict[str, Any] = {}
        if "flows_dir" in d:
            kw["flows_dir"] = Path(c.text(d, "flows_dir", "ivr_flows"))
        for key in ("default_flow", "messages_dir", "message_format", "transfer_template"):
            if key in d:
                kw[key] = c.text(d, key, getattr(cls(), key))
        if "transfer_template" in kw and "{number}" not in kw["transfer_template"]:
            c.error(d.value_mark("transfer_template"), "'transfer_template' needs '{number}'")
        if "numbers" in d:
            numbers: Mapping[Any, Any] = (
                c.mapping(d["numbers"], d.value_mark("numbers"), "'numbers'") or {}
            )
            kw["numbers"] = {str(k): str(v) for k, v in numbers.items()}
        if "fallback" in d:
            kw["fallback"] = fallback_from(c, d["fallback"], d.value_mark("fallback")) or cls().fallback
        if "timezone" in d:
            kw["timezone"] = c.timezone(d, "timezone") or "UTC"
        if "reload_interval" in d:
            kw["reload_interval_s"] = c.seconds(d, "reload_interval", 1.0, 0.05, 3600)
        if "max_steps" in d:
            kw["max_steps"] = c.integer(d, "max_steps", 500, 10, 100_000)
        if "max_subflow_depth" in d:
            kw["max_subflow_depth"] = c.integer(d, "max_subflow_depth", 8, 1, 64)
        if "tts" in d:
            tts = c.mapping(d["tts"], d.value_mark("tts"), "'tts'")
            if tts is not None:
                kw["tts"] = _tts(c, tts)
        if c.errors:
            raise SourceErrors(c.errors)
        return cls(**kw)

    def transfer_dial_string(self, number: str) -> str:
        """The dial string for a transfer to ``number`` (digits, * and # only)."""
        if not re.fullmatch(r"[0-9*#+]{1,32}", number):
            raise ValueError(f"refusing to dial {number!r}")
        return self.transfer_template.format(number=number)


def _tts(c: Checker, d: LocDict) -> TtsSettings:
    c.keys(d, {"engine", "cache_dir", "voice", "rate", "timeout", "fallback_prompt",
               "max_chars", "cache_max_mb", "cache_max_age_days", "cache_keep"}, set(),
           "'ivr.tts'")
    base = TtsSettings()
    return TtsSettings(
        engine=c.text(d, "engine", base.engine) or base.engine,
        cache_dir=Path(c.text(d, "cache_dir", str(base.cache_dir)) or base.cache_dir),
        voice=c.text(d, "voice", base.voice, VOICE_RE, "an espeak-ng voice") or base.voice,
        rate=c.integer(d, "rate", base.rate, 80, 450),
        timeout_s=c.seconds(d, "timeout", base.timeout_s, 0.5, 120),
        fallback_prompt=c.prompts(d, "fallback_prompt"),
        max_chars=c.integer(d, "max_chars", base.max_chars, 20, 2000),
        cache_max_mb=c.integer(d, "cache_max_mb", base.cache_max_mb, 0, 1_000_000),
        cache_max_age_days=c.integer(d, "cache_max_age_days", base.cache_max_age_days, 0, 3650),
        cache_keep_s=c.seconds(d, "cache_keep", base.cache_keep_s, 60, 86400))


def _locate(data: Mapping[str, Any], file: str) -> LocDict:
    d = LocDict(data)
    d.mark, d.key_marks, d.value_marks = Mark(file, 1, 1), {}, {}
    for k, v in data.items():
        if isinstance(v, Mapping) and not isinstance(v, LocDict):
            d[k] = _locate(v, file)
    return d


__all__ = ["IvrSettings", "SourceError"]
