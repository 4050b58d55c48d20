"""The waiting line: every waiting interaction of every queue, ordered for positions and matching.

Design note. An entry's sort key is ``(-priority, arrived_at, seq)``: priority first, then the
time the customer first arrived (kept across overflow, transfer, ring-no-answer and restarts),
then a global arrival sequence that makes the order total and deterministic. Each queue keeps
one sorted list (positions: a bisect) and one sorted list per *group* ``(channel, requirement)``
(matching: FIFO within priority and skill is the head of a group). Groups appear and vanish as
requirements do; ``version[queue]`` changes then, so agents' cached "groups I can serve" lists
are refreshed only when needed.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

from contactcenter.domain.skills import Requirement

GroupKey = tuple[str, Requirement]  # (channel, requirement)
SortKey = tuple[int, float, int]  # (-priority, arrived_at, seq)
Entry = tuple[int, float, int, str]  # SortKey + interaction id


class WaitingLine:
    """All waiting interactions, per queue and per (queue, channel, requirement) group."""

    def __init__(self) -> None:
        self._order: dict[str, list[Entry]] = {}
        self._groups: dict[str, dict[GroupKey, list[Entry]]] = {}
        self._where: dict[str, tuple[str, GroupKey, Entry]] = {}
        self.version: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, iid: object) -> bool:
        return iid in self._where

    def add(self, iid: str, queue: str, group: GroupKey, key: SortKey) -> None:
        """Put ``iid`` in line in ``queue`` / ``group`` at the place ``key`` gives it."""
        if iid in self._where:
            raise ValueError(f"{iid} is already waiting")
        entry: Entry = (key[0], key[1], key[2], iid)
        insort(self._order.setdefault(queue, []), entry)
        groups = self._groups.setdefault(queue, {})
        members = groups.get(group)
        if members is None:
            members = groups[group] = []
            self.version[queue] = self.version.get(queue, 0) + 1
        insort(members, entry)
        self._where[iid] = (queue, group, entry)

    def remove(self, iid: str) -> tuple[str, GroupKey, SortKey]:
        """Take ``iid`` out of line; return its queue, group and key."""
        queue, group, entry = self._where.pop(iid)
        order = self._order[queue]
        del order[bisect_left(order, entry)]
        groups = self._groups[queue]
        members = groups[group]
        del members[bisect_left(members, entry)]
        if not members:
            del groups[group]
            self.version[queue] = self.version.get(queue, 0) + 1
        return queue, group, entry[:3]

    def position(self, iid: str) -> int:
        """1-based place of ``iid`` in its queue (1 = next), counting every waiting entry."""
        queue, _group, entry = self._where[iid]
        return bisect_left(self._order[queue], entry) + 1

    def queue_of(self, iid: str) -> str:
        """The queue ``iid`` waits in."""
        return self._where[iid][0]

    def group_of(self, iid: str) -> GroupKey:
        """The group ``iid`` waits in."""
        return self._where[iid][1]

    def groups(self, queue: str) -> dict[GroupKey, list[Entry]]:
        """The non-empty groups of ``queue`` (do not modify)."""
        return self._groups.get(queue, {})

    def entries(self, queue: str) -> list[Entry]:
        """The entries of ``queue`` in order (do not modify)."""
        return self._order.get(queue, [])

    def count(self, queue: str) -> int:
        """How many wait in ``queue``."""
        return len(self._order.get(queue, ()))

    def ids(self) -> Iterator[str]:
        """Every waiting interaction id."""
        return iter(self._where)
