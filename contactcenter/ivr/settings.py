"""The ``ivr:`` section of the server config as a typed dataclass (the lead embeds it).

Example::

    ivr:
      flows_dir: ivr_flows
      default_flow: main
      numbers: {"100": main, "200": support}
      fallback: {prompt: [sorry-technical-difficulties], queue: operator, priority: 5}
      timezone: Europe/Paris
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
from contactcenter.ivr.schema import fallback_from


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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, file: str = "<config>") -> IvrSettings:
        """Build from a (located) YAML mapping; unknown keys and bad values raise ``SourceErrors``."""
        if not data:
            return cls()
        d = data if isinstance(data, LocDict) else _locate(data, file)
        c = Checker(file)
        c.keys(d, {"flows_dir", "default_flow", "numbers", "fallback", "timezone",
                   "reload_interval", "messages_dir", "message_format", "transfer_template",
                   "max_steps", "max_subflow_depth"}, set(), "'ivr'")
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
        if c.errors:
            raise SourceErrors(c.errors)
        return cls(**kw)

    def transfer_dial_string(self, number: str) -> str:
        """The dial string for a transfer to ``number`` (digits, * and # only)."""
        if not re.fullmatch(r"[0-9*#+]{1,32}", number):
            raise ValueError(f"refusing to dial {number!r}")
        return self.transfer_template.format(number=number)


def _locate(data: Mapping[str, Any], file: str) -> LocDict:
    d = LocDict(data)
    d.mark, d.key_marks, d.value_marks = Mark(file, 1, 1), {}, {}
    for k, v in data.items():
        if isinstance(v, Mapping) and not isinstance(v, LocDict):
            d[k] = _locate(v, file)
    return d


__all__ = ["IvrSettings", "SourceError"]
