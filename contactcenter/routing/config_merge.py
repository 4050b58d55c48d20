"""Files + database: the routing configuration the engine runs, checked as one.

Precedence (docs/routing.md, "Configuration"): ``config/queues.yaml`` and ``config/agents.yaml``
are the baseline; an entry stored in the database (a queue by name, an agent by id) replaces the
file's entry of that name as a whole; a disabled stored entry removes it. Skills are a catalogue
(name, description): the skills the files use are known implicitly, and a queue or agent naming
any other skill is refused. The merged documents go through the file loader's own checks
(``config_loader.build_into``), so a stored entry's error reads like a file's:
``queue sales, field skills.englsh: unknown skill ...`` for a JSON document, and
``queue sales:3:12: ...`` for YAML text typed in the panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
    load_yaml_text,
)
from contactcenter.domain.interaction import check_wire_safe
from contactcenter.domain.skills import check_skill_name
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.config_loader import (
    ErrorList,
    build_into,
    check_agent_entry,
    check_queue_entry,
    mapping_or_error,
    unknown_keys,
)
from contactcenter.routing.config_store import UnreadableDocument

KINDS = ("queues", "agents", "skills")
SINGULAR = {"queues": "queue", "agents": "agent", "skills": "skill"}
MAX_DESCRIPTION = 200


@dataclass(frozen=True, slots=True)
class FieldMark(Mark):
    """A place in a stored (JSON) entry: the entry's label and a dotted field path, no line."""

    field: str = ""

    def __str__(self) -> str:
        return f"{self.file}, field {self.field}" if self.field else self.file


def entry_label(kind: str, name: str) -> str:
    """How errors name a stored entry: ``queue sales``, ``agent 1001``, ``skill french``."""
    return f"{SINGULAR[kind]} {name}"


@dataclass(frozen=True, slots=True)
class Override:
    """A stored entry: its document (the YAML shape of one entry) and whether it is enabled."""

    document: Any
    enabled: bool = True


@dataclass(frozen=True)
class Overrides:
    """Every stored entry by kind, then name (queue name, agent id, skill name)."""

    queues: Mapping[str, Override] = field(default_factory=dict)
    agents: Mapping[str, Override] = field(default_factory=dict)
    skills: Mapping[str, Override] = field(default_factory=dict)

    def of(self, kind: str) -> Mapping[str, Override]:
        """The entries of one kind."""
        return getattr(self, kind)

    def with_entry(self, kind: str, name: str, entry: Override | None) -> Overrides:
        """A copy with one entry set (or dropped when ``entry`` is None)."""
        entries = dict(self.of(kind))
        if entry is None:
            entries.pop(name, None)
        else:
            entries[name] = entry
        return replace(self, **{kind: entries})


@dataclass(frozen=True)
class RoutingSources:
    """The two files as loaded (with positions): the baseline that stored entries override."""

    queues_doc: Any
    queues_file: str
    agents_doc: Any
    agents_file: str

    def file_entries(self, kind: str) -> dict[str, Any]:
        """The files' entries of ``kind`` by name (skills: the implicit ones, no document)."""
        if kind == "queues":
            root = self.queues_doc
            queues = root.get("queues") if isinstance(root, dict) else None
            return dict(queues) if isinstance(queues, dict) else {}
        if kind == "agents":
            root = self.agents_doc
            items = root.get("agents") if isinstance(root, dict) else None
            return {str(a["id"]): a for a in items or () if isinstance(a, dict) and "id" in a}
        return {name: {"description": ""} for name in sorted(self.implicit_skills())}

    def implicit_skills(self) -> set[str]:
        """Every skill name the files use (queue requirements, relaxation drops, agents)."""
        names: set[str] = set()
        for q in self.file_entries("queues").values():
            if not isinstance(q, dict):
                continue
            names.update(_keys(q.get("skills")))
            steps = q.get("relaxation")
            for step in steps if isinstance(steps, list) else ():
                if isinstance(step, dict) and isinstance(step.get("drop"), list):
                    names.update(s for s in step["drop"] if isinstance(s, str))
        for a in self.file_entries("agents").values():
            names.update(_keys(a.get("skills")))
        return names


def _keys(value: Any) -> list[str]:
    return [k for k in value if isinstance(k, str)] if isinstance(value, dict) else []


def load_routing_sources(queues_path: str | Path, agents_path: str | Path) -> RoutingSources:
    """Read both files (syntax only: ``merge_config`` checks the content)."""
    return RoutingSources(load_yaml(queues_path), str(queues_path),
                          load_yaml(agents_path), str(agents_path))


@dataclass(frozen=True)
class MergedConfig:
    """The checked configuration and the effective document of each entry, by kind and name."""

    config: RoutingConfig
    documents: Mapping[str, Mapping[str, Any]]


def merge_config(sources: RoutingSources, overrides: Overrides) -> MergedConfig:
    """Files overridden by stored entries, checked as one; raises ``SourceErrors``."""
    errors = ErrorList()
    known = {name: "" for name in sorted(sources.implicit_skills())}
    known.update(_catalogue(errors, overrides.skills))
    _check_stored(errors, overrides)
    queues_doc = _merged_queues(sources.queues_doc, overrides.queues)
    agents_doc = _merged_agents(errors, sources.agents_doc, overrides.agents)
    config = build_into(errors, queues_doc, sources.queues_file, agents_doc,
                        sources.agents_file, known)
    if errors.items:
        raise SourceErrors(errors.items)
    agent_nodes = {str(a["id"]): a for a in agents_doc["agents"]}
    documents = {
        "queues": {n: lenient_plain(queues_doc["queues"][n]) for n in config.queues},
        "agents": {a: lenient_plain(agent_nodes[a]) for a in config.agents},
        "skills": {n: {"description": d} for n, d in known.items()},
    }
    return MergedConfig(config, documents)


def _check_stored(errors: ErrorList, overrides: Overrides) -> None:
    """Checks of stored entries that the merge below would not make.

    A document that is not JSON any more is named as such. A disabled entry is kept, and one
    click enables it again, so it must be a well-formed entry too: only its references to other
    entries wait until it is enabled.
    """
    for kind in KINDS:
        for name, entry in sorted(overrides.of(kind).items()):
            if isinstance(entry.document, UnreadableDocument):
                errors.add(FieldMark(entry_label(kind, name), 0, 0),
                           f"the stored document is not readable JSON ({entry.document.reason})")
    for name, entry in sorted(overrides.queues.items()):
        if not entry.enabled:
            label = entry_label("queues", name)
            check_queue_entry(errors, name, located(entry.document, label),
                              FieldMark(label, 0, 0))
    for aid, entry in sorted(overrides.agents.items()):
        if not entry.enabled:
            check_agent_entry(errors, _stored_agent(errors, aid, entry.document),
                              FieldMark(entry_label("agents", aid), 0, 0))


def _catalogue(errors: ErrorList, entries: Mapping[str, Override]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in sorted(entries):
        entry = entries[name]
        label = entry_label("skills", name)
        node = located(entry.document, label)
        where = getattr(node, "mark", FieldMark(label, 0, 0))
        if errors.check(where, lambda name=name: check_skill_name(name)) is None:
            continue
        m = mapping_or_error(errors, node, where, f"skill {name!r}")
        if m is None:
            continue
        unknown_keys(errors, m, {"description"}, "skill")
        text = m.get("description") or ""
        if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
            errors.add(m.value_mark("description"),
                       f"description must be text of at most {MAX_DESCRIPTION} characters")
            continue
        if errors.check(m.value_mark("description"),
                        lambda text=text: check_wire_safe(text, "description")) is None:
            continue
        if entry.enabled:
            out[name] = text
    return out


def _merged_queues(root: Any, entries: Mapping[str, Override]) -> Any:
    if not isinstance(root, LocDict) or not isinstance(root.get("queues"), LocDict):
        return root  # the loader reports what is wrong with the file itself
    merged = _copy(root["queues"])
    for name in sorted(entries):
        if not entries[name].enabled:
            merged.pop(name, None)
            continue
        label = entry_label("queues", name)
        merged[name] = located(entries[name].document, label)
        merged.key_marks[name] = merged.value_marks[name] = FieldMark(label, 0, 0)
    out = _copy(root)
    out["queues"] = merged
    return out


def _merged_agents(errors: ErrorList, root: Any, entries: Mapping[str, Override]) -> Any:
    if not isinstance(root, LocDict) or not isinstance(root.get("agents"), LocList):
        return root
    items = LocList()
    items.mark, items.item_marks = root["agents"].mark, []
    done: set[str] = set()
    for node, mark in zip(root["agents"], root["agents"].item_marks, strict=True):
        aid = str(node["id"]) if isinstance(node, dict) and "id" in node else None
        if aid is None or aid not in entries:
            items.append(node)
            items.item_marks.append(mark)
            continue
        done.add(aid)
        if entries[aid].enabled:
            items.append(_stored_agent(errors, aid, entries[aid].document))
            items.item_marks.append(FieldMark(entry_label("agents", aid), 0, 0))
    for aid in sorted(set(entries) - done):
        if entries[aid].enabled:
            items.append(_stored_agent(errors, aid, entries[aid].document))
            items.item_marks.append(FieldMark(entry_label("agents", aid), 0, 0))
    out = _copy(root)
    out["agents"] = items
    return out


def _stored_agent(errors: ErrorList, aid: str, document: Any) -> Any:
    node = located(document, entry_label("agents", aid))
    if not isinstance(node, LocDict):
        return node
    if "id" in node and str(node["id"]) != aid:
        errors.add(node.value_mark("id"), f"id must be {aid!r}, the entry's own id")
    elif "id" not in node:
        node = _copy(node)
        node["id"] = aid
    return node


def _copy(node: LocDict) -> LocDict:
    out = LocDict(node)
    out.mark, out.key_marks, out.value_marks = node.mark, dict(node.key_marks), \
        dict(node.value_marks)
    return out


def located(value: Any, label: str, path: str = "") -> Any:
    """A stored (JSON) document as the loader's located containers: marks carry field paths.

    Containers that already know their positions (YAML typed in the panel) pass unchanged.
    Anything else at the top (a string, an unreadable document) is passed on for the entry's
    checks to refuse as not a mapping.
    """
    if isinstance(value, (LocDict, LocList)):
        return value
    if isinstance(value, Mapping):
        out = LocDict()
        out.mark, out.key_marks, out.value_marks = FieldMark(label, 0, 0, path), {}, {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            out[key] = located(item, label, sub)
            out.key_marks[key] = out.value_marks[key] = FieldMark(label, 0, 0, sub)
        return out
    if isinstance(value, list):
        items = LocList()
        items.mark, items.item_marks = FieldMark(label, 0, 0, path), []
        for i, item in enumerate(value):
            sub = f"{path}.{i}" if path else str(i)
            items.append(located(item, label, sub))
            items.item_marks.append(FieldMark(label, 0, 0, sub))
        return items
    return value


def parse_entry_text(kind: str, name: str, text: str) -> Any:
    """One entry typed as YAML in the panel, with positions; raises ``SourceErrors``."""
    try:
        return load_yaml_text(text, entry_label(kind, name))
    except SourceError as exc:
        raise SourceErrors([exc]) from None


def plain(value: Any, where: Mark | None = None) -> Any:
    """A document as plain JSON values (what the database stores); raises ``SourceErrors``
    for anything else (a YAML date, a non-text key, an infinite number)."""
    where = getattr(value, "mark", where) or Mark("entry", 1, 1)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            at = value.key_marks.get(key, where) if isinstance(value, LocDict) else where
            if not isinstance(key, str):
                raise SourceErrors([SourceError(at, f"key {key!r} must be text")])
            vat = value.value_marks.get(key, where) if isinstance(value, LocDict) else where
            out[key] = plain(item, vat)
        return out
    if isinstance(value, list):
        marks = value.item_marks if isinstance(value, LocList) else [where] * len(value)
        return [plain(item, m) for item, m in zip(value, marks, strict=True)]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise SourceErrors([SourceError(where, f"{value!r} is not text, a number, true/false or null")])


def lenient_plain(value: Any) -> Any:
    """``plain`` for display: anything not plain becomes its text."""
    if isinstance(value, dict):
        return {str(k): lenient_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lenient_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def field_of(node: Any, mark: Mark, path: str = "") -> str | None:
    """The dotted field path of the key or value written at ``mark`` in ``node``, if any."""
    if isinstance(mark, FieldMark):
        return mark.field or None
    if isinstance(node, LocDict):
        for key, item in node.items():
            sub = f"{path}.{key}" if path else str(key)
            found = field_of(item, mark, sub)  # deepest first: a block's first key shares its mark
            if found:
                return found
            if mark in (node.key_marks.get(key), node.value_marks.get(key)):
                return sub
    elif isinstance(node, LocList):
        for i, (item, at) in enumerate(zip(node, node.item_marks, strict=True)):
            sub = f"{path}.{i}" if path else str(i)
            found = field_of(item, mark, sub)
            if found or at == mark:
                return found or sub
    return None


def to_yaml(document: Any) -> str:
    """A plain document as the YAML text the panel's editor shows."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True,
                          default_flow_style=None, width=100)
