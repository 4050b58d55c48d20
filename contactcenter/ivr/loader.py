"""Load flow files: safe YAML -> schema check -> graph check, all errors as file:line:col.

A flow's name is its file name without ``.yaml``; ``<name>.test.yaml`` files next to a flow hold
its test cases and are not flows. Subflow names are checked across a whole set of flows
(``check_subflows``) because one file cannot know what else is deployed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contactcenter.common.yamlfile import Mark, SourceError, SourceErrors, load_yaml_text
from contactcenter.ivr.checker import ID_RE
from contactcenter.ivr.graph import check_graph
from contactcenter.ivr.model import Flow, QueueNode, SubflowNode
from contactcenter.ivr.schema import build_flow

FLOW_SUFFIX = ".yaml"
TEST_SUFFIX = ".test.yaml"


def flow_name(path: str | Path) -> str:
    """The flow name a file defines (``ivr_flows/main.yaml`` -> ``main``)."""
    name = Path(path).name
    return name.removesuffix(FLOW_SUFFIX)


def is_flow_file(path: Path) -> bool:
    """True for ``*.yaml`` flow files (not test files, not hidden or editor temp files)."""
    n = path.name
    return (n.endswith(FLOW_SUFFIX) and not n.endswith(TEST_SUFFIX) and not n.startswith(".")
            and ID_RE.fullmatch(flow_name(n)) is not None)


def load_flow_text(text: str, file: str, name: str | None = None) -> Flow:
    """Validate ``text`` as the flow file ``file``; raises ``SourceErrors`` listing every problem."""
    name = name or flow_name(file)
    try:
        doc = load_yaml_text(text, file)
    except SourceError as exc:
        raise SourceErrors([exc]) from None
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    flow, checker = build_flow(doc, file, name, digest)
    if flow is None:
        raise SourceErrors(checker.errors)
    errors = check_graph(flow, checker.refs)
    if errors:
        raise SourceErrors(errors)
    object.__setattr__(flow, "loaded_at", time.time())
    return flow


def read_flow_file(path: str | Path) -> tuple[str, str]:
    """Read a flow file as text (UTF-8); returns (text, display path). Raises ``SourceErrors``."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SourceErrors([SourceError(Mark(str(p), 1, 1), f"cannot read: {exc.strerror}")]) from None
    try:
        return raw.decode("utf-8"), str(p)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceErrors([SourceError(Mark(str(p), line, 1), "file is not valid UTF-8")]) from None


def load_flow(path: str | Path) -> Flow:
    """Load and validate one flow file; raises ``SourceErrors``."""
    text, file = read_flow_file(path)
    return load_flow_text(text, file)


def check_subflows(flows: Mapping[str, Flow]) -> dict[str, list[SourceError]]:
    """Subflow nodes naming a flow not in ``flows``, grouped by the referring flow's name."""
    out: dict[str, list[SourceError]] = {}
    for flow in flows.values():
        for node in flow.nodes.values():
            if isinstance(node, SubflowNode) and node.flow not in flows:
                out.setdefault(flow.name, []).append(
                    SourceError(node.mark, f"subflow node {node.id!r} runs flow {node.flow!r}, "
                                           "which is not loaded"))
    return out


@dataclass(frozen=True, slots=True)
class RoutingNames:
    """What the queue engine is configured with, as far as flows can name it."""

    queues: frozenset[str]
    skills: frozenset[str]


def check_routing_refs(flows: Mapping[str, Flow],
                       names: RoutingNames) -> dict[str, list[SourceError]]:
    """Queue nodes naming a queue or a skill the queue engine does not know, by flow name.

    Warnings, not refusals: the routing configuration changes at run time (admins edit it),
    and a call reaching such a node still ends at the flow's ``on_failed`` or fallback; but a
    caller required to have an agent with a skill nobody has would wait until the max wait.
    """
    out: dict[str, list[SourceError]] = {}
    for flow in flows.values():
        for node in flow.nodes.values():
            if not isinstance(node, QueueNode):
                continue
            problems = []
            if node.queue not in names.queues:
                problems.append(f"queue node {node.id!r} sends callers to queue {node.queue!r}, "
                                "which the queue engine does not have")
            problems += [f"queue node {node.id!r} requires skill {skill!r}, which no queue, "
                         "agent or skills catalogue entry names"
                         for skill in sorted(set(node.skills) - names.skills)]
            out.setdefault(flow.name, []).extend(SourceError(node.mark, p) for p in problems)
    return {name: errs for name, errs in out.items() if errs}


def flow_files(paths: list[str | Path]) -> list[Path]:
    """Expand files and directories into the flow files they contain, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and is_flow_file(f)))
        else:
            out.append(p)
    return out

