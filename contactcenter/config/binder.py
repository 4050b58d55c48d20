"""Bind located YAML data onto typed dataclasses, with ``file:line:col`` errors.

Defaults live on the dataclasses; YAML only overrides what it names. Every unknown key, wrong
type or out-of-range value becomes a ``SourceError`` pointing at the offending key or value, and
all errors of one file are reported together.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, get_args, get_origin, get_type_hints

from contactcenter.common.yamlfile import LocDict, LocList, Mark, SourceError, SourceErrors


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false"}.get(
            tp.__name__, tp.__name__
        )
    return str(tp).replace("typing.", "")


class Binder:
    """Collects errors while converting one document into a dataclass instance."""

    def __init__(self) -> None:
        self.errors: list[SourceError] = []

    def bind(self, cls: type, data: Any, mark: Mark, base: Any = None) -> Any:
        """Return ``cls`` built from ``data`` over ``base`` (or the defaults)."""
        if not isinstance(data, dict):
            self.errors.append(SourceError(mark, f"expected a mapping for {cls.__name__}"))
            return base if base is not None else cls()
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            kmark = data.key_mark(key) if isinstance(data, LocDict) else mark
            vmark = data.value_mark(key) if isinstance(data, LocDict) else mark
            if key not in fields:
                known = ", ".join(sorted(fields))
                self.errors.append(SourceError(kmark, f"unknown key {key!r} (known: {known})"))
                continue
            current = getattr(base, key) if base is not None else None
            before = len(self.errors)
            converted = self.convert(hints[key], value, vmark, current, key)
            if len(self.errors) == before:
                # A wrong value keeps the default: ``current`` is None without a base, and
                # a None would fail again, confusingly, in ``__post_init__`` (or crash it).
                values[key] = converted
        try:
            if base is not None:
                return dataclasses.replace(base, **values)
            return cls(**values)
        except TypeError as exc:  # a required field without default
            self.errors.append(SourceError(mark, str(exc)))
            return base
        except ValueError as exc:  # __post_init__ validation
            self.errors.append(SourceError(mark, str(exc)))
            return base

    def convert(self, tp: Any, value: Any, mark: Mark, current: Any, name: str) -> Any:
        """Convert one value to ``tp``; on error record it and keep ``current``."""
        origin = get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in get_args(tp) if a is not type(None)]
            if value is None and type(None) in get_args(tp):
                return None
            return self.convert(options[0], value, mark, current, name)
        if dataclasses.is_dataclass(tp) and hasattr(tp, "from_mapping"):
            # A context that validates its own section (e.g. ivr) keeps its own rules.
            if value is not None and not isinstance(value, dict):  # a list or a scalar there
                self.errors.append(SourceError(mark, f"{name}: expected a mapping"))
                return current  # (found by tests/fuzz: ValueError from the context's loader)
            try:
                return tp.from_mapping(value, mark.file)
            except SourceErrors as exc:
                self.errors.extend(exc.errors)
            except SourceError as exc:
                self.errors.append(exc)
            return current
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):  # tp is a hint: never an instance
            return self.bind(tp, value, mark, current)
        if origin in (list, tuple):
            (item_tp, *_rest) = get_args(tp) or (Any,)
            if not isinstance(value, list):
                self.errors.append(SourceError(mark, f"{name}: expected a list"))
                return current
            marks = value.item_marks if isinstance(value, LocList) else [mark] * len(value)
            items = [self.convert(item_tp, v, m, None, name) for v, m in zip(value, marks)]
            return tuple(items) if origin is tuple else items
        if origin is dict:
            key_tp, val_tp = get_args(tp)
            if not isinstance(value, dict):
                self.errors.append(SourceError(mark, f"{name}: expected a mapping"))
                return current
            out = {}
            for k, v in value.items():
                vm = value.value_mark(k) if isinstance(value, LocDict) else mark
                out[self.convert(key_tp, k, vm, None, name)] = self.convert(val_tp, v, vm, None, name)
            return out
        return self._scalar(tp, value, mark, current, name)

    def _scalar(self, tp: Any, value: Any, mark: Mark, current: Any, name: str) -> Any:
        if tp is Any:
            return value
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # ports and numbers-as-names are common in hand-written YAML
        if tp is bool and not isinstance(value, bool):
            self.errors.append(SourceError(mark, f"{name}: expected true/false, got {value!r}"))
            return current
        if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.errors.append(SourceError(mark, f"{name}: expected an integer, got {value!r}"))
            return current
        if isinstance(tp, type) and not isinstance(value, tp):
            self.errors.append(
                SourceError(mark, f"{name}: expected {_type_name(tp)}, got {value!r}")
            )
            return current
        return value

    def raise_if_errors(self) -> None:
        """Raise ``SourceErrors`` when anything was recorded."""
        if self.errors:
            raise SourceErrors(self.errors)
