"""Safe YAML loading that remembers where every key and value came from.

Flows and config files are written by people; their errors must point at ``file:line:col``.
``load_yaml`` uses only PyYAML's safe constructors, refuses tags, aliases, duplicate keys and tab
indentation, caps size and nesting, and returns ``LocDict``/``LocList`` containers that carry
the position of each key and item. Positions are 1-based, as editors show them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1_000_000
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a source file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SourceError(Exception):
    """One problem in a source file, printed as ``file:line:col: message``."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(f"{mark}: {message}")
        self.mark = mark
        self.message = message


class SourceErrors(Exception):
    """Several problems found in one pass; each is a ``SourceError``."""

    def __init__(self, errors: list[SourceError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class LocDict(dict):
    """A mapping that knows the position of itself, of each key and of each value."""

    mark: Mark
    key_marks: dict[Any, Mark]
    value_marks: dict[Any, Mark]

    def key_mark(self, key: Any) -> Mark:
        """Where ``key`` was written, or where the mapping starts if it was not."""
        return self.key_marks.get(key, self.mark)

    def value_mark(self, key: Any) -> Mark:
        """Where the value of ``key`` was written, or where the mapping starts."""
        return self.value_marks.get(key, self.mark)


class LocList(list):
    """A sequence that knows the position of itself and of each item."""

    mark: Mark
    item_marks: list[Mark]


def mark_of(value: Any, default: Mark) -> Mark:
    """The position of a loaded container, or ``default`` for scalars."""
    return getattr(value, "mark", default)


class _NoTagLoader(yaml.SafeLoader):
    """SafeLoader that refuses every explicit tag (``!!python/object``, ``!foo``, ``!!str``)
    and every alias (``*name``)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        # An alias shares a node, so a few hundred bytes of nested aliases expand into
        # billions of nodes on conversion (a 415-byte flow froze the server for 27 s).
        # Nobody needs them in a flow or a queue file: refuse them where they are written.
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed; write the value out",
                event.start_mark)
        return super().compose_node(parent, index)


def _mark(file: str, m: yaml.Mark) -> Mark:
    return Mark(file, m.line + 1, m.column + 1)


_IMPLICIT_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}


# YAML's own line breaks: str.splitlines() also breaks at \x0b, \x0c and \x1c-\x1e, which
# would number lines differently from every other error the loader reports.
_YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _check_tabs(text: str, file: str) -> None:
    for no, line in enumerate(_YAML_LINE_BREAK.split(text), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            raise SourceError(
                Mark(file, no, len(line) - len(stripped) + 1),
                "tab character used for indentation; indent with spaces",
            )


def _convert(node: yaml.Node, file: str, loader: _NoTagLoader, depth: int) -> Any:
    mark = _mark(file, node.start_mark)
    if depth > MAX_DEPTH:
        raise SourceError(mark, f"nesting deeper than {MAX_DEPTH} levels")
    # "!!str 5" resolves to a standard tag and is harmless; anything else (python/object,
    # binary, set, local "!tags") could construct more than plain data, so it is refused.
    if node.tag not in _IMPLICIT_TAGS:
        raise SourceError(mark, f"YAML tag {node.tag!r} is not allowed")
    if isinstance(node, yaml.MappingNode):
        result = LocDict()
        result.mark, result.key_marks, result.value_marks = mark, {}, {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SourceError(_mark(file, key_node.start_mark), "YAML merge keys are not allowed")
            key = _convert(key_node, file, loader, depth + 1)
            if isinstance(key, (dict, list)):
                raise SourceError(_mark(file, key_node.start_mark), "mapping keys must be scalars")
            if key in result:
                first = result.key_marks[key]
                raise SourceError(
                    _mark(file, key_node.start_mark),
                    f"duplicate key {key!r} (first defined at line {first.line})",
                )
            result[key] = _convert(value_node, file, loader, depth + 1)
            result.key_marks[key] = _mark(file, key_node.start_mark)
            result.value_marks[key] = _mark(file, value_node.start_mark)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = LocList()
        items.mark, items.item_marks = mark, []
        for item in node.value:
            items.append(_convert(item, file, loader, depth + 1))
            items.item_marks.append(_mark(file, item.start_mark))
        return items
    return loader.construct_object(node, deep=True)


def load_yaml_text(text: str, file: str) -> Any:
    """Parse ``text`` (named ``file`` in errors) into LocDict/LocList/scalars."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise SourceError(Mark(file, 1, 1), f"file larger than {MAX_BYTES} bytes")
    _check_tabs(text, file)
    try:
        loader = _NoTagLoader(text)  # the reader checks every character here
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _convert(node, file, loader, 0)
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        line, col = (where.line + 1, where.column + 1) if where else (1, 1)
        raise SourceError(Mark(file, line, col), str(exc.problem or exc.context)) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    except yaml.YAMLError as exc:
        raise SourceError(Mark(file, 1, 1), str(exc)) from None
    finally:
        loader.dispose()


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> SourceError:
    """A character YAML does not allow (a control character, say), where it is."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    col = exc.position - (before.rfind("\n") + 1) + 1
    char = exc.character
    shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
    return SourceError(Mark(file, line, col), f"character {shown} is not allowed in YAML")


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file; errors name the path as given."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(Mark(str(path), 1, 1), f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise SourceError(Mark(str(path), 1, 1), f"file larger than {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(Mark(str(path), line, 1), "file is not valid UTF-8") from None
    return load_yaml_text(text, str(path))
