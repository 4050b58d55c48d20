"""Load ``config/queues.yaml`` and ``config/agents.yaml`` into a checked ``RoutingConfig``.

Every problem is reported as ``file:line:col: message`` (``SourceErrors`` collects them all),
using the positions ``common.yamlfile`` keeps for each key and value. Database overrides (the
panel's edits) are plain mappings of the same shape, merged over the files and passed through
the same checks by ``routing.config_merge``.
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
from contactcenter.domain.skills import check_level, check_skill_name
from contactcenter.routing.config import RoutingConfig

_QUEUE_KEYS = {
    "strategy", "skills", "wrapup_s", "ring_timeout_s", "service_level_s", "max_wait_s", "exit",
    "leave", "overflow", "relaxation", "announce", "callback", "aht_default_s", "description",
    "recording",  # owned by recording/ (policy per queue); validated there, ignored here
}
_AGENT_KEYS = {"id", "name", "dial_string", "skills", "capacity", "queues"}
# Types of the keys of nested blocks whose dataclasses do not check them (the panel can send
# any JSON, and a string where a number belongs would only fail later, inside a timer).
_NUMBER, _INT, _BOOL, _TEXT, _NAMES = "a number >= 0", "an integer >= 0", "true or false", \
    "text", "a list of names"
_SUBKEY_TYPES = {
    "overflow": {"after_s": _NUMBER, "queue": _TEXT},
    "relaxation": {"after_s": _NUMBER, "lower_by": _INT, "drop": _NAMES},
    "announce": {"interval_s": _NUMBER, "position": _BOOL, "expected_wait": _BOOL,
                 "moh_class": _TEXT},
    "callback": {"max_attempts": _INT, "retry_after_s": _NUMBER},
}


class ErrorList:
    """Problems collected in one pass (each a ``SourceError``), so all are reported at once."""

    def __init__(self) -> None:
        self.items: list[SourceError] = []

    def add(self, mark: Mark, message: str) -> None:
        """Record one problem at ``mark``."""
        self.items.append(SourceError(mark, message))

    def check(self, mark: Mark, fn: Callable[..., Any]) -> Any:
        """``fn()``, or None with its ValueError/TypeError recorded at ``mark``."""
        # Callable[..., Any], not [[], Any]: callers bind loop variables as lambda defaults,
        # and mypy cannot infer a lambda with parameters against a zero-argument Callable.
        try:
            return fn()
        except (ValueError, TypeError) as exc:
            self.add(mark, str(exc))
            return None


def _mark(node: Any, default: Mark) -> Mark:
    return getattr(node, "mark", default)


def _number(errors: ErrorList, node: LocDict, key: str, default: Any, minimum: float = 0) -> Any:
    if key not in node:
        return default
    value = node[key]
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        errors.add(node.value_mark(key), f"{key} must be a number >= {minimum}")
        return default
    return float(value)


def mapping_or_error(errors: ErrorList, node: Any, where: Mark, what: str) -> LocDict | None:
    """``node`` if it is a mapping, else None with an error at ``where``."""
    if not isinstance(node, dict):
        errors.add(_mark(node, where), f"{what} must be a mapping")
        return None
    return node  # type: ignore[return-value]


def unknown_keys(errors: ErrorList, node: LocDict, allowed: set[str], what: str) -> None:
    """An error at each key of ``node`` not in ``allowed``."""
    for key in node:
        if key not in allowed:
            errors.add(node.key_mark(key), f"unknown {what} key {key!r}")


def _typed(errors: ErrorList, node: LocDict, block: str) -> bool:
    """Check the value types of a nested block; True when all are right."""
    ok = True
    for key, kind in _SUBKEY_TYPES[block].items():
        if key not in node:
            continue
        v = node[key]
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        good = {
            _NUMBER: number and v >= 0,
            _INT: number and isinstance(v, int) and v >= 0,
            _BOOL: isinstance(v, bool),
            _TEXT: isinstance(v, str),
            _NAMES: v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
        }[kind]
        if not good:
            errors.add(node.value_mark(key), f"{block} {key} must be {kind}")
            ok = False
    return ok


def _skills(errors: ErrorList, node: Any, where: Mark) -> dict | None:
    """A ``{skill: level}`` block, each name and level checked where it is written."""
    m = mapping_or_error(errors, node, where, "skills")
    if m is None:
        return None
    ok = True
    for skill, level in m.items():
        ok = errors.check(m.key_mark(skill), lambda s=skill: check_skill_name(s)) is not None and ok
        ok = errors.check(m.value_mark(skill), lambda v=level: check_level(v)) is not None and ok
    return dict(m) if ok else None


def _destination(errors: ErrorList, node: Any, where: Mark) -> Destination | None:
    m = mapping_or_error(errors, node, where, "destination")
    if m is None:
        return None
    unknown_keys(errors, m, {"type", "target"}, "destination")
    return errors.check(m.mark, lambda: Destination(
        m.get("type"),  # type: ignore[arg-type]  # text: __post_init__ converts it or raises
        m.get("target"),
    ))


def _queue(errors: ErrorList, name: Any, node: Any, where: Mark) -> QueueConfig | None:
    q = mapping_or_error(errors, node, where, f"queue {name!r}")
    if q is None:
        return None
    unknown_keys(errors, q, _QUEUE_KEYS, "queue")
    kw: dict[str, Any] = {"name": name}
    if "strategy" in q:
        kw["strategy"] = errors.check(q.value_mark("strategy"), lambda: Strategy(q["strategy"]))
    if "skills" in q:
        kw["skills"] = _skills(errors, q["skills"], q.value_mark("skills")) or {}
    for key in ("wrapup_s", "ring_timeout_s", "service_level_s", "aht_default_s"):
        if key in q:
            kw[key] = _number(errors, q, key, None)  # None: dropped, the default applies
    kw["max_wait_s"] = _number(errors, q, "max_wait_s", None, minimum=1)
    if "exit" in q:
        kw["exit"] = _destination(errors, q["exit"], q.value_mark("exit"))
    if "leave" in q:
        leave = mapping_or_error(errors, q["leave"], q.value_mark("leave"), "leave")
        if leave is not None:
            unknown_keys(errors, leave, {"digit", "destination"}, "leave")
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
            m = mapping_or_error(errors, item, at, f"{key} item")
            if m is None:
                continue
            unknown_keys(errors, m, allowed, key)
            if not _typed(errors, m, key):
                continue
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
    for key, block_cls in (("announce", Announcements), ("callback", CallbackPolicy)):
        if key in q:
            m = mapping_or_error(errors, q[key], q.value_mark(key), key)
            if m is not None and _typed(errors, m, key):
                kw[key] = errors.check(m.mark, lambda m=m, c=block_cls: c(**dict(m)))
                if kw[key] is None:
                    del kw[key]
    kw = {k: v for k, v in kw.items() if v is not None or k == "max_wait_s"}
    return errors.check(where, lambda: QueueConfig(**kw))


def _agent(errors: ErrorList, node: Any, where: Mark) -> AgentConfig | None:
    a = mapping_or_error(errors, node, where, "agent")
    if a is None:
        return None
    unknown_keys(errors, a, _AGENT_KEYS, "agent")
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
    if "skills" in a and _skills(errors, a["skills"], a.value_mark("skills")) is None:
        return None
    if "capacity" in a and mapping_or_error(errors, a["capacity"], a.value_mark("capacity"),
                                            "capacity") is None:
        return None
    if "name" in a and not isinstance(a["name"], str):
        errors.add(a.value_mark("name"), "name must be text")
        return None
    if "queues" in kw:
        names = kw["queues"] or ()
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            errors.add(a.value_mark("queues"), "queues must be a list of queue names")
            return None
        kw["queues"] = tuple(names)
    return errors.check(a.mark, lambda: AgentConfig(**kw))


def check_queue_entry(errors: ErrorList, name: str, node: Any, where: Mark) -> None:
    """One queue's own checks, without cross-references (a stored entry kept disabled)."""
    _queue(errors, name, node, where)


def check_agent_entry(errors: ErrorList, node: Any, where: Mark) -> None:
    """One agent's own checks, without cross-references (a stored entry kept disabled)."""
    _agent(errors, node, where)


def parse_queues(doc: Any, file: str) -> dict[str, QueueConfig]:
    """Queues from a loaded queues document (``{"queues": {name: {...}}}``)."""
    errors = ErrorList()
    out = _parse_queues(errors, doc, file)
    if errors.items:
        raise SourceErrors(errors.items)
    return out


def _parse_queues(errors: ErrorList, doc: Any, file: str) -> dict[str, QueueConfig]:
    top = Mark(file, 1, 1)
    root = mapping_or_error(errors, doc, top, "the queues file")
    if root is None or "queues" not in root:
        errors.add(_mark(doc, top), "missing 'queues' mapping")
        return {}
    queues = mapping_or_error(errors, root["queues"], root.value_mark("queues"), "queues")
    out: dict[str, QueueConfig] = {}
    for name, node in (queues or {}).items():
        q = _queue(errors, name, node, queues.key_mark(name))  # type: ignore[union-attr]
        if q is not None:
            out[q.name] = q
    return out


def _parse_agents(errors: ErrorList, doc: Any, file: str) -> dict[str, AgentConfig]:
    top = Mark(file, 1, 1)
    root = mapping_or_error(errors, doc, top, "the agents file")
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
    errors = ErrorList()
    config = build_into(errors, queues_doc, queues_file, agents_doc, agents_file, None)
    if errors.items:
        raise SourceErrors(errors.items)
    return config


def build_into(
    errors: ErrorList, queues_doc: Any, queues_file: str, agents_doc: Any, agents_file: str,
    skills: Mapping[str, str] | None,
) -> RoutingConfig:
    """Parse and cross-check into ``errors``; ``skills`` (a catalogue) also checks skill names."""
    queues = _parse_queues(errors, queues_doc, queues_file)
    agents = _parse_agents(errors, agents_doc, agents_file)
    if not errors.items:
        config = RoutingConfig(queues=queues, agents=agents)
        for problem in config.reference_problems():
            errors.add(Mark(queues_file if "queue " in problem.split(":")[0] else agents_file,
                            1, 1), problem)
        _cross_marks(errors, queues_doc, agents_doc, queues, agents)
        if skills is not None:
            _skill_marks(errors, queues_doc, agents_doc, queues, agents, skills)
    return RoutingConfig(queues=queues, agents=agents, skills=skills)


def _cross_marks(
    errors: ErrorList, queues_doc: Any, agents_doc: Any,
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


def _skill_marks(
    errors: ErrorList, queues_doc: Any, agents_doc: Any,
    queues: Mapping[str, QueueConfig], agents: Mapping[str, AgentConfig], known: Mapping[str, str],
) -> None:
    # A skill nobody catalogued is most often a typo ("englsh"): refuse it where it is written.
    def unknown(skill: str) -> str:
        return f"unknown skill {skill!r}: add it to the skills catalogue first"

    qnodes = queues_doc["queues"]
    for name, q in queues.items():
        node = qnodes[name]
        for skill in q.skills:
            if skill not in known:
                errors.add(node["skills"].key_mark(skill), unknown(skill))
        for i, st in enumerate(q.relaxation):
            for skill in sorted(st.drop - set(known)):
                errors.add(_mark(node["relaxation"][i], node.mark), unknown(skill))
    for node in agents_doc["agents"]:
        for skill in agents[str(node["id"])].skills:
            if skill not in known:
                errors.add(node["skills"].key_mark(skill), unknown(skill))


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
