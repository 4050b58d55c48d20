"""A loaded IVR flow as typed, immutable dataclasses.

The schema check (``schema.py``) turns located YAML into these objects; the graph check and the
runner only ever see them. Every node keeps the ``Mark`` of its definition so runtime logs and
graph errors can point back at ``file:line:col``. Expressions are parsed at load time
(``Expr``), so a flow that loaded cannot fail on syntax at call time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from contactcenter.common.yamlfile import Mark
from contactcenter.ivr.expressions import Expr

# Terminal outcomes a flow can end with (see runner.IvrResult.outcome).
NodeId = str


@dataclass(frozen=True, slots=True)
class Node:
    """Fields every node has: its id, where it was written, and its kind."""

    id: NodeId
    mark: Mark


@dataclass(frozen=True, slots=True)
class PlayNode(Node):
    """Play prompts; digits in ``interrupt`` stop playback and are kept for the next node."""

    prompts: tuple[str, ...]
    interrupt: str
    next: NodeId


@dataclass(frozen=True, slots=True)
class MenuNode(Node):
    """A DTMF menu: one key per choice, played up to ``retries`` times."""

    prompts: tuple[str, ...]
    choices: Mapping[str, NodeId]
    timeout_s: float
    retries: int
    invalid_prompts: tuple[str, ...]
    timeout_prompts: tuple[str, ...]
    on_invalid: NodeId
    on_timeout: NodeId
    var: str | None


@dataclass(frozen=True, slots=True)
class InputNode(Node):
    """Collect digits into ``var``; re-prompt when they do not fit length or pattern."""

    prompts: tuple[str, ...]
    var: str
    min_length: int
    max_length: int
    terminator: str
    pattern: str | None
    timeout_s: float
    retries: int
    invalid_prompts: tuple[str, ...]
    next: NodeId
    on_failure: NodeId


@dataclass(frozen=True, slots=True)
class SayNode(Node):
    """Say a value as digits, a number or a date/time, or speak a text (``saytext.py``)."""

    mode: str  # "digits" | "number" | "datetime" | "text"
    value: Expr
    interrupt: str
    format: str
    timezone: str
    next: NodeId
    # mode "text" only: the words and their holes, the engine's voice and rate (empty / 0:
    # the server's ``ivr.tts``), the prompt played instead when speech fails.
    template: tuple[str | Expr, ...] = ()
    voice: str = ""
    rate: int = 0
    fallback_prompts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetNode(Node):
    """Assign variables from expressions, in order."""

    assignments: tuple[tuple[str, Expr], ...]
    next: NodeId


@dataclass(frozen=True, slots=True)
class BranchCase:
    """One ``if`` of a branch node."""

    condition: Expr
    goto: NodeId
    mark: Mark


@dataclass(frozen=True, slots=True)
class BranchNode(Node):
    """Go to the first case whose condition holds, else to ``otherwise``."""

    cases: tuple[BranchCase, ...]
    otherwise: NodeId


@dataclass(frozen=True, slots=True)
class TimeRange:
    """An opening interval within one day, minutes since midnight, end exclusive."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class HoursNode(Node):
    """Business hours in a time zone, with holidays: to ``open`` or ``closed``."""

    timezone: str
    weekly: Mapping[int, tuple[TimeRange, ...]]  # 0 = Monday
    holidays: frozenset[dt.date]
    open: NodeId
    closed: NodeId
    holiday: NodeId  # defaults to ``closed``


@dataclass(frozen=True, slots=True)
class LookupNode(Node):
    """Customer lookup; the result fields become variables ``<into>.<field>``."""

    source: str
    fallback_source: str | None
    key: Expr
    into: str
    timeout_s: float
    found: NodeId
    not_found: NodeId
    on_error: NodeId


@dataclass(frozen=True, slots=True)
class QueueNode(Node):
    """Hand the call to the queue engine; ``on_exit`` continues the flow when the caller leaves."""

    queue: str
    priority: Expr
    skills: Mapping[str, int]
    data: tuple[tuple[str, Expr], ...]
    max_wait_s: float | None
    on_exit: NodeId | None
    on_callback: NodeId | None
    on_failed: NodeId | None


@dataclass(frozen=True, slots=True)
class TransferNode(Node):
    """Dial a fixed dial string or a number (through the configured template)."""

    dial_string: str | None
    number: Expr | None
    timeout_s: int
    on_failure: NodeId | None


@dataclass(frozen=True, slots=True)
class MessageNode(Node):
    """Record a voice message kept as an interaction for later handling."""

    prompts: tuple[str, ...]
    purpose: str
    max_seconds: int
    silence_s: int | None
    beep: bool
    next: NodeId


@dataclass(frozen=True, slots=True)
class GotoNode(Node):
    """Jump to another node."""

    target: NodeId


@dataclass(frozen=True, slots=True)
class SubflowNode(Node):
    """Run another flow from its entry; continue at ``next`` when it returns."""

    flow: str
    next: NodeId


@dataclass(frozen=True, slots=True)
class ReturnNode(Node):
    """End a subflow (back to the caller flow) or, at top level, end the call."""


@dataclass(frozen=True, slots=True)
class HangupNode(Node):
    """Optionally play prompts, then hang up."""

    prompts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KbAnswerNode(Node):
    """Chat only: search the knowledge base, offer the articles scoring at least ``min_score``
    (as strict as ``match``), ask whether they helped; yes -> ``answered``, no ->
    ``not_answered``, nothing confident enough -> ``no_match``."""

    question: Expr
    prompt: tuple[str, ...]  # asked first when given; the answer is the question
    match: str  # all | any | title
    min_score: float
    max_articles: int
    intro: tuple[str, ...]
    helped_prompt: tuple[str, ...]
    yes_label: str
    no_label: str
    answered: NodeId
    not_answered: NodeId
    no_match: NodeId


@dataclass(frozen=True, slots=True)
class Fallback:
    """Where a caller goes when something fails at runtime: apology, then a queue or hangup."""

    prompts: tuple[str, ...]
    queue: str | None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow file, validated; immutable so running calls can keep their version."""

    name: str
    path: str
    entry: NodeId
    nodes: Mapping[NodeId, Node]
    language: str | None
    timezone: str | None
    fallback: Fallback | None
    variables: tuple[tuple[str, Expr], ...]
    digest: str  # sha256 of the file text: identifies the version
    mark: Mark
    description: str = ""
    loaded_at: float = field(default=0.0, compare=False)
    # ``voice`` (an IVR over AGI) or ``chat`` (a bot in the chat widget: prompts are texts).
    channel: str = "voice"
    handover: NodeId | None = None  # chat: where "agent"/"human" typed at any point goes

    @property
    def version(self) -> str:
        """A short id of this version (first 12 hex digits of its digest)."""
        return self.digest[:12]


def successors(node: Node) -> list[NodeId]:
    """Every node id ``node`` may continue to (order: as written)."""
    match node:
        case PlayNode() | SetNode() | SayNode() | MessageNode() | SubflowNode():
            return [node.next]
        case MenuNode():
            return [*node.choices.values(), node.on_invalid, node.on_timeout]
        case InputNode():
            return [node.next, node.on_failure]
        case BranchNode():
            return [*(c.goto for c in node.cases), node.otherwise]
        case HoursNode():
            return [node.open, node.closed, node.holiday]
        case LookupNode():
            return [node.found, node.not_found, node.on_error]
        case KbAnswerNode():
            return [node.answered, node.not_answered, node.no_match]
        case QueueNode():
            return [n for n in (node.on_exit, node.on_callback, node.on_failed) if n]
        case TransferNode():
            return [node.on_failure] if node.on_failure else []
        case GotoNode():
            return [node.target]
    return []


def can_end(node: Node) -> bool:
    """True when the flow may stop at ``node`` (so a loop through it has an exit)."""
    return isinstance(node, (HangupNode, ReturnNode, QueueNode, TransferNode))
