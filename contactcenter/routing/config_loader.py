"""Load ``config/queues.yaml`` and ``config/agents.yaml`` into a checked ``RoutingConfig``.

Every problem is reported as ``file:line:col: message`` (``SourceErrors`` collects them all),
using the positions ``common.yamlfile`` keeps for each key and value. Database overrides (the
panel's edits) are plain mappings of the same shape, passed through the same checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from contactcenter.common.yamlfile import (
    LocDict,
    LocList,
    Mark,
    SourceError,
    SourceErrors,
    load_yaml,
    load_yaml_text,
)
from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import (
    Announcements,
    CallbackPolicy,
    Destination,
    OverflowRule,
    QueueConfig,
    RelaxStep,
    Strategy,
)
from contactcenter.routing.config import RoutingConfig

_QUEUE_KEYS = {
    "strategy", "skills", "wrapup_s", "ring_timeout_s", "service_level_s", "max_wait_s", "exit",
    "leave", "overflow", "relaxation", "announce", "callback", "aht_default_s", "description",
    "recording",  # owned by recording/ (policy per queue); validated there, ignored here
}
_AGENT_KEYS = {"id", "name", "dial_string", "skills", "capacity", "queues"}


class _Errors:
    def __init__(self) -> None:
        self.items: list[SourceError] = []

    def add(self, mark: Mark, message: str) -> None:
        self.items.append(SourceError(mark, message))

    def check(self, mark: Mark, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (ValueError, TypeError) as exc:
            self.add(mark, str(exc))
            return None


def _mark(node: Any, default: Mark) -> Mark:
    return getattr(node, "mark", default)


def _number(errors: _Errors, node: LocDict, key: str, default: Any, minimum: float = 0) -> Any:
    if key not in node:
        return default
    value = node[key]
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        errors.add(node.value_mark(key), f"{key} must be a number >= {minimum}")
        return default
    return float(value)


def _mapping(errors: _Errors, node: Any, where: Mark, what: str) -> LocDict | None:
    if not isinstance(node, dict):
        errors.add(_mark(node, where), f"{what} must be a mapping")
        return None
    return node  # type: ignore[return-value]


def _unknown_keys(errors: _Errors, node: LocDict, allowed: set[str], what: str) -> None:
    for key in node:
        if key not in allowed:
            errors.add(node.key_mark(key), f"unknown {what} key {key!r}")


def _destination(errors: _Errors, node: Any, where: Mark) -> Destination | None:
    m = _mapping(errors, node, where, "destination")
    if m is None:
        return None
    _unknown_keys(errors, m, {"type", "target"}, "destination")
    return errors.check(m.mark, lambda: Destination(m.get("type"), m.get("target")))


def _queue(errors: _Errors, name: Any, node: Any, where: Mark) -> QueueConfig | None:
    q = _mapping(errors, node, where, f"queue {name!r}")
    if q is None:
        return None
    _unknown_keys(errors, q, _QUEUE_KEYS, "queue")
    kw: dict[str, Any] = {"name": name}
    if "strategy" in q:
        kw["strategy"] = errors.check(q.value_mark("strategy"), lambda: Strategy(q["strategy"]))
    if "skills" in q:
        kw["skills"] = _mapping(errors, q["skills"], q.value_mark("skills"), "skills") or {}
    for key in ("wrapup_s", "ring_timeout_s", "service_level_s", "aht_default_s"):
        if key in q:
            kw[key] = _number(errors, q, key, 0.0)
    kw["max_wait_s"] = _number(errors, q, "max_wait_s", None, minimum=1)
    if "exit" in q:
        kw["exit"] = _destination(errors, q["exit"], q.value_mark("exit"))
    if "leave" in q:
        leave = _mapping(errors, q["leave"], q.value_mark("leave"), "leave")
        if leave is not None:
            _unknown_keys(errors, leave, {"digit", "destination"}, "leave")
            kw["leave_digit"] = str(leave.get("digit")) if leave.get("digit") is not None else None
            kw["leave_destination"] = _destination(
                errors, leave.get("destination"), leave.value_mark("destination")
            )
    for key, cls, allowed in (
        ("overflow", OverflowRule, {"after_s", "queue"}),
        ("relaxation", RelaxStep, {"after_s", "lower_by", "drop"}),
    ):
        if key not in q:
            continue
        items = q[key]
        if not isinstance(items, list):
            errors.add(q.value_mark(key), f"{key} must be a list")
            continue
        rules = []
        for i, item in enumerate(items):
            at = items.item_marks[i] if isinstance(items, LocList) else q.value_mark(key)
            m = _mapping(errors, item, at, f"{key} item")
            if m is None:
                continue
            _unknown_keys(errors, m, allowed, key)
            args = dict(m)
            if "drop" in args:
                args["drop"] = frozenset(args["drop"] or ())
            if not isinstance(args.get("after_s"), (int, float)) or args["after_s"] < 0:
                errors.add(m.mark, f"{key} item needs after_s >= 0")
                continue
            rule = errors.check(m.mark, lambda args=args, cls=cls: cls(**args))
            if rule is not None:
                rules.append(rule)
        kw[key] = tuple(rules)
    for key, cls in (("announce", Announcements), ("callback", CallbackPolicy)):
        if key in q:
            m = _mapping(errors, q[key], q.value_mark(key), key)
            if m is not None:
                kw[key] = errors.check(m.mark, lambda m=m, cls=cls: cls(**dict(m)))
                if kw[key] is None:
                    del kw[key]
    kw = {k: v for k, v in kw.items() if v is not None or k == "max_wait_s"}
    return errors.check(where, lambda: QueueConfig(**kw))


def _agent(errors: _Errors, node: Any, where: Mark) -> AgentConfig | None:
    a = _mapping(errors, node, where, "agent")
    if a is None:
        return None
    _unknown_keys(errors, a, _AGENT_KEYS, "agent")
    if "id" not in a:
        errors.add(a.mark, "agent needs an id")
        return None
    kw = {k: a[k] for k in _AGENT_KEYS if k in a}
    kw["id"] = str(kw["id"])
    if "dial_string" in a:
        ds = a["dial_string"]
        if not isinstance(ds, str):
            errors.add(a.value_mark("dial_string"), "dial_string must be a string")
            return None
    if "queues" in kw:
        kw["queues"] = tuple(kw["queues"] or ())
    return errors.check(a.mark, lambda: AgentConfig(**kw))


def parse_queues(doc: Any, file: str) -> dict[str, QueueConfig]:
    """Queues from a loaded queues document (``{"queues": {name: {...}}}``)."""
    errors = _Errors()
    out = _parse_queues(errors, doc, file)
    if errors.items:
        raise SourceErrors(errors.items)
    return out


def _parse_queues(errors: _Errors, doc: Any, file: str) -> dict[str, QueueConfig]:
    top = Mark(file, 1, 1)
    root = _mapping(errors, doc, top, "the queues file")
    if root is None or "queues" not in root:
        errors.add(_mark(doc, top), "missing 'queues' mapping")
        return {}
    queues = _mapping(errors, root["queues"], root.value_mark("queues"), "queues")
    out: dict[str, QueueConfig] = {}
    for name, node in (queues or {}).items():
        q = _queue(errors, name, node, queues.key_mark(name))  # type: ignore[union-attr]
        if q is not None:
            out[q.name] = q
    return out


def _parse_agents(errors: _Errors, doc: Any, file: str) -> dict[str, AgentConfig]:
    top = Mark(file, 1, 1)
    root = _mapping(errors, doc, top, "the agents file")
    if root is None or not isinstance(root.get("agents"), list):
        errors.add(_mark(doc, top), "missing 'agents' list")
        return {}
    items = root["agents"]
    out: dict[str, AgentConfig] = {}
    for i, node in enumerate(items):
        at = items.item_marks[i] if isinstance(items, LocList) else top
        agent = _agent(errors, node, at)
        if agent is None:
            continue
        if agent.id in out:
            errors.add(at, f"duplicate agent id {agent.id!r}")
            continue
        out[agent.id] = agent
    return out


def build_config(
    queues_doc: Any, queues_file: str, agents_doc: Any, agents_file: str
) -> RoutingConfig:
    """A checked ``RoutingConfig`` from two loaded documents; raises ``SourceErrors``."""
    errors = _Errors()
    queues = _parse_queues(errors, queues_doc, queues_file)
    agents = _parse_agents(errors, agents_doc, agents_file)
    if not errors.items:
        config = RoutingConfig(queues=queues, agents=agents)
        for problem in config.problems():
            errors.add(Mark(queues_file if "queue " in problem.split(":")[0] else agents_file,
                            1, 1), problem)
        _cross_marks(errors, queues_doc, agents_doc, queues, agents)
    if errors.items:
        raise SourceErrors(errors.items)
    return RoutingConfig(queues=queues, agents=agents)


def _cross_marks(
    errors: _Errors, queues_doc: Any, agents_doc: Any,
    queues: Mapping[str, QueueConfig], agents: Mapping[str, AgentConfig],
) -> None:
    # Replace the generic cross-reference messages by ones that point at the offending value.
    generic = [e for e in errors.items if e.mark.line == 1 and e.mark.col == 1]
    if not generic:
        return
    errors.items = [e for e in errors.items if e not in generic]
    qnodes = queues_doc["queues"]
    for name, q in queues.items():
        node = qnodes[name]
        for i, rule in enumerate(q.overflow):
            if rule.queue not in queues:
                errors.add(_mark(node["overflow"][i], node.mark),
                           f"overflow to unknown queue {rule.queue!r}")
        for key in ("exit", "leave"):
            dest = q.exit if key == "exit" else q.leave_destination
            if dest and dest.type.value == "queue" and dest.target not in queues:
                errors.add(node.value_mark(key), f"destination to unknown queue {dest.target!r}")
    for i, node in enumerate(agents_doc["agents"]):
        for name in agents[str(node["id"])].queues:
            if name not in queues:
                errors.add(node.value_mark("queues"), f"agent {node['id']}: unknown queue {name!r}")


def load_routing_config(queues_path: str | Path, agents_path: str | Path) -> RoutingConfig:
    """Read, parse and check both files."""
    return build_config(
        load_yaml(queues_path), str(queues_path), load_yaml(agents_path), str(agents_path)
    )


def load_routing_config_text(queues_text: str, agents_text: str) -> RoutingConfig:
    """The same from strings (tests, the panel's preview)."""
    return build_config(
        load_yaml_text(queues_text, "queues.yaml"), "queues.yaml",
        load_yaml_text(agents_text, "agents.yaml"), "agents.yaml",
    )
