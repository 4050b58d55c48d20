"""Graph check of a schema-valid flow: references exist, all nodes reachable, loops can exit.

Design: checks run in order and stop at the first family that finds something, so one mistake
gives one error (a typo in a ``next`` would otherwise also make its intended target look
unreachable). Loops are found as strongly connected components (iterative Tarjan); a loop
"has an exit" when one of its nodes can leave the component or can end the call (hangup,
return, queue, transfer). A loop without one would keep a caller inside forever.
"""

from __future__ import annotations

from contactcenter.common.yamlfile import SourceError
from contactcenter.ivr.checker import Ref
from contactcenter.ivr.model import Flow, can_end, successors


def check_graph(flow: Flow, refs: list[Ref]) -> list[SourceError]:
    """Every graph problem of ``flow``; empty when the flow is sound."""
    errors = _dangling(flow, refs)
    if errors:
        return errors
    errors = _unreachable(flow)
    if errors:
        return errors
    return _closed_loops(flow)


def _dangling(flow: Flow, refs: list[Ref]) -> list[SourceError]:
    out = []
    for ref in refs:
        if ref.target not in flow.nodes:
            what = "entry node" if not ref.source else f"node {ref.source!r} refers to"
            out.append(SourceError(ref.mark, f"{what} {ref.target!r}, which does not exist"))
    return out


def _unreachable(flow: Flow) -> list[SourceError]:
    seen = {flow.entry}
    todo = [flow.entry]
    while todo:
        for nxt in successors(flow.nodes[todo.pop()]):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return [
        SourceError(node.mark, f"node {nid!r} is unreachable from entry {flow.entry!r}")
        for nid, node in flow.nodes.items()
        if nid not in seen
    ]


def strongly_connected(flow: Flow) -> list[list[str]]:
    """Strongly connected components of the node graph (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    counter = 0
    for root in flow.nodes:
        if root in index:
            continue
        work = [(root, iter(successors(flow.nodes[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(successors(flow.nodes[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(comp)
    return comps


def _closed_loops(flow: Flow) -> list[SourceError]:
    order = {nid: i for i, nid in enumerate(flow.nodes)}
    out = []
    for comp in strongly_connected(flow):
        members = set(comp)
        first = min(comp, key=order.__getitem__)
        cyclic = len(comp) > 1 or first in successors(flow.nodes[first])
        if not cyclic:
            continue
        exits = any(
            can_end(flow.nodes[n]) or any(s not in members for s in successors(flow.nodes[n]))
            for n in comp
        )
        if not exits:
            path = " -> ".join(sorted(comp, key=order.__getitem__) + [first])
            out.append(SourceError(flow.nodes[first].mark, f"loop with no exit: {path}"))
    return out
