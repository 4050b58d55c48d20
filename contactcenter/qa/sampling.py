"""Sampling rules: which calls, chats or tickets go to the evaluators' worklist ("10 % of each
agent's calls per week, at least 2"; "2 chats per agent per week": 0 %, at least 2).

Design note: pure logic, no I/O; the store (``worklist.py``) feeds it the week's finished
interactions of the rule's channel (below, "calls" stands for any of them) and the picks
already made, and writes what it returns. Invariants:
* per rule, agent and week the worklist holds ``min(n, max(minimum, ceil(percent * n / 100)))``
  of the agent's ``n`` calls of that week, once the sampler has run after the last of them;
* a pick is never taken back: a run only adds, so re-running (a restart, a second server, the
  next poll) never changes what evaluators already see, and calls that end later in the week
  raise the target and are picked from then on;
* which calls are picked is random but repeatable: calls are taken in the order of a hash of
  (seed, rule, item id), so a seed makes a test (or an audit of the choice) deterministic,
  and no call's chance depends on when in the week it was made once the week is over.
Weeks are ISO weeks (Monday 00:00) in ``qa.sampling_timezone``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contactcenter.common.timestamps import iso

CHANNELS = ("voice", "chat", "ticket")  # qa.tables.CHANNELS: a rule samples one of them
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")
QUEUE_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class RuleError(ValueError):
    """A rule that cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SamplingRule:
    """Pick ``percent`` % of each agent's interactions of ``channel`` per week (of ``queue``,
    or all), at least ``minimum``; suggest ``scorecard_id`` to the evaluator."""

    id: int
    name: str
    queue: str | None
    percent: float
    minimum: int
    scorecard_id: int | None
    active: bool = True
    updated_at: datetime | None = None
    updated_by: str = ""
    channel: str = "voice"

    def as_json(self) -> dict[str, Any]:
        """The rule for the API."""
        return {"id": self.id, "name": self.name, "channel": self.channel,
                "queue": self.queue, "percent": self.percent,
                "minimum": self.minimum, "scorecard_id": self.scorecard_id,
                "active": self.active, "updated_at": iso(self.updated_at),
                "updated_by": self.updated_by}


def check_rule(body: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's fields from an API body, cleaned; ``RuleError`` with every problem."""
    problems = []
    name = body.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name.strip()):
        problems.append("name: letters, digits, spaces, '_', '.', '-', up to 64")
    channel = body.get("channel", "voice")
    if channel not in CHANNELS:
        problems.append("channel: voice, chat or ticket")
    queue = body.get("queue") or None
    if queue is not None and (not isinstance(queue, str) or not QUEUE_RE.fullmatch(queue)):
        problems.append("queue: a queue name, or empty for every queue")
    percent = body.get("percent")
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not (
            0 <= percent <= 100):
        problems.append("percent: a number from 0 to 100")
    minimum = body.get("minimum", 0)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or not 0 <= minimum <= 1000:
        problems.append("minimum: a whole number from 0 to 1000")
    elif isinstance(percent, (int, float)) and not isinstance(percent, bool) and (
            percent == 0 and minimum == 0):
        problems.append("a rule with 0 % and no minimum picks nothing")
    scorecard = body.get("scorecard_id")
    if scorecard is not None and (isinstance(scorecard, bool) or not isinstance(scorecard, int)
                                  or scorecard < 1):
        problems.append("scorecard_id: a scorecard's id, or empty")
    if problems:
        raise RuleError(problems)
    return {"name": name.strip(), "queue": queue, "percent": float(percent),  # type: ignore[union-attr, arg-type]
            "minimum": minimum, "scorecard_id": scorecard,
            "active": bool(body.get("active", True)), "channel": channel}


def week_of(when: datetime, tz: ZoneInfo) -> tuple[str, datetime, datetime]:
    """The ISO week holding ``when`` in ``tz``: its label (``2026-W18``), its start and end."""
    local = when.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).date()
    start = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
    nxt = monday + timedelta(days=7)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", start, end


def target(rule: SamplingRule, calls: int) -> int:
    """How many of an agent's ``calls`` of a week the rule wants picked."""
    share = math.ceil(round(rule.percent * calls / 100, 6))
    return min(calls, max(rule.minimum, share))


def order_key(seed: str, rule_id: int, item_id: str) -> str:
    """The repeatable random rank of a call (chat, ticket) under a rule."""
    return hashlib.sha256(f"{seed}:{rule_id}:{item_id}".encode()).hexdigest()


def choose(rule: SamplingRule, calls: Mapping[str, Sequence[str]],
           picked: AbstractSet[str], seed: str) -> list[tuple[str, str]]:
    """``(agent, item id)`` to add, given each agent's calls of one week and what the rule
    picked already (any week: a pick is never made twice)."""
    out: list[tuple[str, str]] = []
    for agent in sorted(calls):
        mine = calls[agent]
        need = target(rule, len(mine)) - sum(1 for c in mine if c in picked)
        if need <= 0:
            continue
        rest = sorted((c for c in mine if c not in picked),
                      key=lambda c: order_key(seed, rule.id, c))
        out.extend((agent, c) for c in rest[:need])
    return out
