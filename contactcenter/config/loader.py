"""Settings from three layers: typed defaults in code, then a YAML file, then ``CC_*`` variables.

Environment variables name a path with double underscores: ``CC_WEB__PORT=8081``,
``CC_DATABASE__URL=postgresql+asyncpg://...``, ``CC_ASTERISK__0__SECRET=...`` (list index).
Their values are read as YAML scalars, so ``8081`` is an integer and ``true`` a boolean. Errors
from the environment are reported as ``env:CC_WEB__PORT:1:1: ...``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from contactcenter.common.yamlfile import (
    LocDict,
    LocList,
    Mark,
    SourceError,
    SourceErrors,
    load_yaml,
)
from contactcenter.config.binder import Binder
from contactcenter.config.schema import Settings

ENV_PREFIX = "CC_"


def _new_dict(mark: Mark) -> LocDict:
    d = LocDict()
    d.mark, d.key_marks, d.value_marks = mark, {}, {}
    return d


def _new_list(mark: Mark) -> LocList:
    items = LocList()
    items.mark, items.item_marks = mark, []
    return items


def _apply_env(root: LocDict, name: str, raw: str, errors: list[SourceError]) -> None:
    mark = Mark(f"env:{name}", 1, 1)
    path = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, (dict, list)):
        value = raw  # a variable sets one scalar; structure belongs in the file
    node: Any = root
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, LocList):  # every container here is a LocList or a LocDict
            if not part.isdigit() or int(part) > len(node):
                errors.append(SourceError(mark, f"{part!r} is not a valid list index here"))
                return
            index = int(part)
            if index == len(node):
                node.append(_new_dict(mark))
                node.item_marks.append(mark)
            if last:
                node[index] = value
                return
            node = node[index]
            continue
        if not isinstance(node, LocDict):
            errors.append(SourceError(mark, f"cannot set {part!r} inside a scalar"))
            return
        if last:
            node[part] = value
            node.key_marks[part] = node.value_marks[part] = mark
            return
        if part not in node:
            nxt = path[depth + 1]
            node[part] = _new_list(mark) if nxt.isdigit() else _new_dict(mark)
            node.key_marks[part] = node.value_marks[part] = mark
        node = node[part]


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from defaults, the YAML file at ``path`` (if any) and ``environ``."""
    environ = os.environ if environ is None else environ
    errors: list[SourceError] = []
    if path is not None:
        data = load_yaml(path)
        if data is None:
            data = _new_dict(Mark(str(path), 1, 1))
        if not isinstance(data, LocDict):
            raise SourceError(Mark(str(path), 1, 1), "the settings file must be a mapping")
        # config/contactcenter.yaml in a checkout -> paths are relative to the checkout
        folder = Path(path).resolve().parent
        base_dir = str(folder.parent if folder.name == "config" else folder)
    else:
        data = _new_dict(Mark("<defaults>", 1, 1))
        base_dir = str(Path.cwd())
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and "__" in name:
            _apply_env(data, name, environ[name], errors)
    binder = Binder()
    settings = binder.bind(Settings, data, data.mark)
    binder.errors[:0] = errors
    binder.raise_if_errors()
    if "base_dir" not in data:
        settings = replace(settings, base_dir=base_dir)
    return settings


def resolve(settings: Settings, relative: str) -> Path:
    """An absolute path for a setting that may be relative to the install's base directory."""
    p = Path(relative)
    return p if p.is_absolute() else Path(settings.base_dir) / p


def database_url(settings: Settings) -> str:
    """The database URL with a relative SQLite path made absolute under ``base_dir``."""
    url = settings.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url[len(prefix):].startswith("/") and ":memory:" not in url:
        return prefix + str(resolve(settings, url[len(prefix):]))
    return url


__all__ = ["SourceError", "SourceErrors", "database_url", "load_settings", "resolve"]
