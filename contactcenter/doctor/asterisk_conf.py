"""Read Asterisk ``.conf`` files with pyst2, following ``#include`` as Asterisk does.

pyst2's ``asterisk.config.Config`` parses one file and stops at directives and template
suffixes it does not know (``#include``, ``[name](template)``). ``AsteriskConf`` blanks those
lines before pyst2 parses (so line numbers stay true), follows the includes itself, and keeps
each item's file and line for the report.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

from asterisk.config import Config, ParseError

_INCLUDE = re.compile(r"^\s*#(try)?include\s+[\"<]?([^\">]+?)[\">]?\s*$")
_TEMPLATE = re.compile(r"^(\s*\[[^\]]+\])\s*\(.*\)\s*(;.*)?$")


@dataclass(frozen=True, slots=True)
class ConfItem:
    """One ``name = value`` (or ``name => value``) line, with where it was written."""

    section: str
    name: str
    value: str
    file: str
    line: int


@dataclass
class AsteriskConf:
    """All sections of a ``.conf`` file and the files it includes, in order."""

    items: list[ConfItem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def sections(self) -> list[str]:
        """Section names in first-seen order."""
        seen: dict[str, None] = {}
        for item in self.items:
            seen.setdefault(item.section, None)
        return list(seen)

    def section(self, name: str) -> list[ConfItem]:
        """Every item of the named section (sections may be repeated across files)."""
        return [i for i in self.items if i.section == name]

    def get(self, section: str, name: str) -> ConfItem | None:
        """The last value of ``name`` in ``section`` (later lines win, as in Asterisk)."""
        found = [i for i in self.section(section) if i.name.lower() == name.lower()]
        return found[-1] if found else None


class _FilteredConfig(Config):
    """pyst2 Config over pre-filtered lines instead of the raw file."""

    def __init__(self, filename: str, lines: list[str]) -> None:
        self._filtered = lines
        super().__init__(filename)

    def load(self) -> None:
        self.raw_lines = self._filtered


def read_conf(path: str | Path, _depth: int = 0, _into: AsteriskConf | None = None) -> AsteriskConf:
    """Parse ``path`` and its includes; problems are collected in ``.errors``, never raised."""
    conf = _into if _into is not None else AsteriskConf()
    path = Path(path)
    if _depth > 10:
        conf.errors.append(f"{path}: includes nested too deeply")
        return conf
    try:
        raw = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    except OSError as exc:
        conf.errors.append(f"{path}: cannot read ({exc.strerror})")
        return conf
    conf.files.append(str(path))
    includes: list[tuple[int, str, bool]] = []
    lines: list[str] = []
    for no, line in enumerate(raw, start=1):
        m = _INCLUDE.match(line)
        if m:
            includes.append((no, m.group(2), bool(m.group(1))))
            lines.append("\n")
            continue
        t = _TEMPLATE.match(line)
        lines.append(t.group(1) + "\n" if t else line.replace("\\;", "\x00"))
    try:
        parsed = _FilteredConfig(str(path), lines)
    except ParseError as exc:
        conf.errors.append(f"{path}:{exc.args[0]}: {exc.args[1]}")
        return conf
    pending = sorted(includes)
    for cat in parsed.categories:
        for item in cat.items:
            while pending and pending[0][0] < item.number:
                _follow(conf, path, pending.pop(0), _depth)
            value = item.value.strip().replace("\x00", ";")
            conf.items.append(ConfItem(cat.name, item.name, value, str(path), item.number))
    for inc in pending:
        _follow(conf, path, inc, _depth)
    return conf


def _follow(conf: AsteriskConf, parent: Path, inc: tuple[int, str, bool], depth: int) -> None:
    no, target, optional = inc
    pattern = Path(target) if Path(target).is_absolute() else parent.parent / target
    matches = sorted(glob.glob(str(pattern)))
    if not matches and not optional:
        conf.errors.append(f"{parent}:{no}: #include {target}: no such file")
    for match in matches:
        read_conf(match, depth + 1, conf)
