"""Interaction-log rows -> interval figures: the definitions of docs/reports.md, in code.

Design note. ``Aggregator`` is synchronous and does no I/O: the live service (tailing the log
by id) and the rebuild command (a date range) feed it the same rows in the same order, so the
two cannot disagree. Each row adds to the interval of its own time (``Deltas``), with two
exceptions that need history:

* a conversation's talk, hold and wrap-up are counted when its wrap-up ends, in one interval
  with ``handled``, so an interval's AHT is the mean of what ended in it; the parts come from
  the conversation's earlier rows (connect, unhold, complete/transfer). When those rows were
  not seen here (a restart, a rebuild starting mid-call), the caller looks them up in the log
  (``needs_history``) and replays them (``learn``) before feeding the batch.
* agent states are time: each state is credited second by second across the intervals it
  spans, up to ``credited_to``; ``credit_open`` moves that point forward for every agent still
  in a state. A row that arrives later than a point already credited (the log is written in
  batches) takes the excess back with negative seconds, so the sums end up exact.

Queue thresholds (service level, short abandon) are applied as rows are folded in; a change of
threshold applies from then on, and ``contactcenter reports rebuild`` re-applies it to the past.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contactcenter.reports.intervals import Calendar
from contactcenter.reports.tables import AGENT_FIGURES, QUEUE_FIGURES, QUEUE_MAX

LOGGED_OUT = "logged_out"
TICKET = "ticket"  # the ticket channel (routing's CHANNELS)
PAUSED = "paused"
# Reasons of ring-no-answer that are the customer's, not the agent's (routing CUSTOMER_FAILURES).
CUSTOMER_FAILURE_PREFIX = "callback-"
# Kinds that build a conversation's history (what ``learn`` needs of the past).
CONVERSATION_KINDS = ("offer", "connect", "unhold", "complete", "transfer", "wrapup-done")
# Kinds that continue what earlier rows began (they need those rows to be counted right).
CONTINUING_KINDS = frozenset({"ring-no-answer", "unhold", "complete", "transfer", "wrapup-done"})
# An interaction is forgotten once it ended and its wrap-ups are counted, or after this long
# without a row (a wrap-up nobody ends); if a row of it comes later, its history is looked up.
TRACK_KEPT_S = 6 * 3600.0
ENDING_KINDS = frozenset({"complete", "abandon", "exit"})

_Q = {name: i for i, name in enumerate(QUEUE_FIGURES)}
_A = {name: i for i, name in enumerate(AGENT_FIGURES)}
_QMAX = _Q[QUEUE_MAX]

QueueKey = tuple[int, str, str]  # interval start, queue, channel
AgentKey = tuple[int, str, str, str]  # interval start, agent, queue, channel
StateKey = tuple[int, str, str, str]  # interval start, agent, state, reason
DispositionKey = tuple[int, str, str, str, str]  # start, queue, channel, agent, disposition


@dataclass(frozen=True, slots=True)
class LogRow:
    """One ``routing_events`` row with its interaction's channel."""

    id: int
    at: float
    kind: str
    interaction_id: str | None
    agent_id: str | None
    queue: str | None
    payload: Mapping[str, Any]
    channel: str = "voice"


@dataclass(frozen=True, slots=True)
class QueueRules:
    """The thresholds a queue's figures are counted with."""

    service_level_s: float
    short_abandon_s: float


@dataclass(slots=True)
class AgentOpen:
    """The state an agent shows since ``since`` (``reason`` only when paused)."""

    state: str
    reason: str
    since: float


@dataclass(slots=True)
class Conversation:
    """One agent's part of one interaction, from connect to the end of wrap-up."""

    connect_at: float
    hold_s: float = 0.0
    talk_end: float | None = None
    talk_total: float | None = None  # connect -> end of conversation, hold included


@dataclass(slots=True)
class _Track:
    """What is known of one interaction; ``full`` when seen from its first row."""

    full: bool = False
    convs: dict[str, list[Conversation]] = field(default_factory=dict)  # by agent
    offered: dict[str, str] = field(default_factory=dict)  # agent -> queue of the last offer
    last_at: float = 0.0
    ended: bool = False


@dataclass(slots=True)
class Deltas:
    """What a batch of rows adds to the figure tables (signed; sums, one maximum)."""

    queue: dict[QueueKey, list[float]] = field(default_factory=dict)
    agent: dict[AgentKey, list[float]] = field(default_factory=dict)
    states: dict[StateKey, float] = field(default_factory=dict)
    dispositions: dict[DispositionKey, int] = field(default_factory=dict)
    buckets: dict[int, tuple[int, str]] = field(default_factory=dict)  # start -> (hour, day)

    def __bool__(self) -> bool:
        return bool(self.queue or self.agent or self.states or self.dispositions)

    def q(self, key: QueueKey) -> list[float]:
        row = self.queue.get(key)
        if row is None:
            row = self.queue[key] = [0.0] * len(QUEUE_FIGURES)
        return row

    def a(self, key: AgentKey) -> list[float]:
        row = self.agent.get(key)
        if row is None:
            row = self.agent[key] = [0.0] * len(AGENT_FIGURES)
        return row

    def within(self, start: int, end: int) -> Deltas:
        """Only the intervals starting in ``[start, end)`` (a rebuild writes its range only)."""
        return Deltas(
            {k: v for k, v in self.queue.items() if start <= k[0] < end},
            {k: v for k, v in self.agent.items() if start <= k[0] < end},
            {k: v for k, v in self.states.items() if start <= k[0] < end},
            {k: v for k, v in self.dispositions.items() if start <= k[0] < end},
            {k: v for k, v in self.buckets.items() if start <= k < end},
        )


class Aggregator:
    """Folds log rows into ``Deltas`` (see the design note)."""

    def __init__(self, calendar: Calendar, rules: Callable[[str], QueueRules]) -> None:
        self.calendar = calendar
        self.rules = rules
        self.opens: dict[str, AgentOpen] = {}
        self.credited_to = 0.0
        self.changed_agents: set[str] = set()  # opens changed since the caller last saved them
        self._tracks: dict[str, _Track] = {}
        self._rules_cache: dict[str, QueueRules] = {}
        self._count: dict[str, Callable[[LogRow, Deltas, int], None]] = {
            "enter": self._enter, "overflow": self._overflow, "transfer": self._transfer,
            "connect": self._connect, "abandon": self._abandon, "exit": self._exit,
            "callback-request": self._callback_request, "offer": self._offer,
            "ring-no-answer": self._ring_no_answer, "hold": self._hold,
            "wrapup-done": self._wrapup_done,
        }
        self._pruned_at = 0.0

    # ------------------------------------------------------------------ history
    def needs_history(self, rows: Iterable[LogRow]) -> set[str]:
        """Interactions whose conversations these rows continue but this aggregator has not
        seen start: the caller fetches their earlier rows and ``learn``s them first."""
        need: set[str] = set()
        fresh: set[str] = set()  # interactions entering in these rows: seen from the start
        for row in rows:
            iid = row.interaction_id
            if iid is None:
                continue
            if row.kind == "enter":
                fresh.add(iid)
            elif row.kind in CONTINUING_KINDS and iid not in fresh:
                track = self._tracks.get(iid)
                if track is None or not track.full:
                    need.add(iid)
        return need

    def learn(self, rows: Iterable[LogRow], iids: Iterable[str]) -> None:
        """Replay all earlier rows of ``iids`` (in log order) without counting anything."""
        for iid in iids:
            self._tracks[iid] = _Track(full=True)
        for row in rows:
            self._conversation(row)
            if row.kind == "wrapup-done":
                self._take_conversation(row)

    # ------------------------------------------------------------------ feeding
    def rules_for(self, queue: str) -> QueueRules:
        rules = self._rules_cache.get(queue)
        if rules is None:
            rules = self._rules_cache[queue] = self.rules(queue)
        return rules

    def forget_rules(self) -> None:
        """Thresholds may have changed (a queue edited): ask ``rules`` again."""
        self._rules_cache.clear()

    def feed(self, rows: Sequence[LogRow], out: Deltas) -> None:
        """Count ``rows`` (log order) into ``out``."""
        for row in rows:
            kind = row.kind
            if kind == "agent-state":
                self._agent_state(row, out)
                continue
            if kind == "agent-pause":
                self._agent_pause(row, out)
                continue
            if row.interaction_id is not None:
                if kind == "enter":
                    self._tracks[row.interaction_id] = _Track(full=True, last_at=row.at)
                self._conversation(row)
            count = self._count.get(kind)
            if count is not None:
                count(row, out, self._start(row.at, out))
            if kind in ENDING_KINDS or kind == "wrapup-done":
                self._forget_if_done(row.interaction_id or "", kind in ENDING_KINDS)
        if rows and self._pruned_at + 600 < rows[-1].at:
            self._prune(rows[-1].at)

    def _start(self, at: float, out: Deltas) -> int:
        b = self.calendar.bucket(at)
        if b.start not in out.buckets:
            out.buckets[b.start] = (b.hour, b.day)
        return b.start

    def _forget_if_done(self, iid: str, ended: bool) -> None:
        track = self._tracks.get(iid)
        if track is None:
            return
        track.ended = track.ended or ended
        if track.ended and not any(track.convs.values()):
            del self._tracks[iid]

    def _prune(self, now: float) -> None:
        self._pruned_at = now
        old = [iid for iid, t in self._tracks.items() if t.last_at < now - TRACK_KEPT_S]
        for iid in old:
            del self._tracks[iid]

    # ------------------------------------------------------------------ interactions
    def _conversation(self, row: LogRow) -> None:
        kind = row.kind
        if kind not in CONVERSATION_KINDS:
            return
        track = self._tracks.get(row.interaction_id or "")
        if track is None:
            track = self._tracks[row.interaction_id or ""] = _Track()
        track.last_at = max(track.last_at, row.at)
        agent = row.agent_id or ""
        if kind == "offer":
            track.offered[agent] = row.queue or ""
            return
        convs = track.convs.setdefault(agent, [])
        if kind == "connect":
            convs.append(Conversation(row.at))
            return
        if kind == "wrapup-done":
            return  # consumed by _wrapup_done, after counting
        # unhold, complete, transfer: the agent's conversation still talking, if any
        conv = next((c for c in convs if c.talk_end is None), None)
        if conv is None:
            return
        if kind == "unhold":
            conv.hold_s += float(row.payload.get("held_s") or 0.0)
        elif kind == "complete":
            conv.talk_end = row.at
            conv.talk_total = float(row.payload.get("talk_s") or 0.0)
        elif kind == "transfer" and row.payload.get("to_queue"):
            conv.talk_end = row.at
            conv.talk_total = row.at - conv.connect_at
        # A transfer to a number is followed by ``complete``, which closes the talk.

    def _take_conversation(self, row: LogRow) -> Conversation | None:
        """The agent's oldest conversation of this interaction, which a wrap-up just ended."""
        track = self._tracks.get(row.interaction_id or "")
        convs = track.convs.get(row.agent_id or "") if track is not None else None
        return convs.pop(0) if convs else None

    def _qkey(self, start: int, queue: str | None, row: LogRow) -> QueueKey:
        return (start, queue or "", row.channel)

    def _enter(self, row: LogRow, out: Deltas, start: int) -> None:
        q = out.q(self._qkey(start, row.queue, row))
        q[_Q["arrived"]] += 1
        if row.payload.get("callback_number"):
            q[_Q["callbacks_requested"]] += 1

    def _overflow(self, row: LogRow, out: Deltas, start: int) -> None:
        out.q(self._qkey(start, row.queue, row))[_Q["overflowed_out"]] += 1
        out.q(self._qkey(start, str(row.payload.get("to_queue") or ""), row))[
            _Q["overflowed_in"]] += 1

    def _transfer(self, row: LogRow, out: Deltas, start: int) -> None:
        to_queue = row.payload.get("to_queue")
        name = "transferred_out" if to_queue else "transferred_external"
        out.q(self._qkey(start, row.queue, row))[_Q[name]] += 1
        if row.agent_id:
            out.a((start, row.agent_id, row.queue or "", row.channel))[_A[name]] += 1
        if to_queue:
            out.q(self._qkey(start, str(to_queue), row))[_Q["transferred_in"]] += 1

    def _connect(self, row: LogRow, out: Deltas, start: int) -> None:
        queue = row.queue or ""
        q = out.q(self._qkey(start, queue, row))
        a = out.a((start, row.agent_id or "", queue, row.channel))
        q[_Q["answered"]] += 1
        a[_A["answered"]] += 1
        data = row.payload.get("data")
        if isinstance(data, Mapping) and data.get("callback_number"):
            # Nobody held the line: a callback counts apart from speed of answer.
            q[_Q["callbacks_answered"]] += 1
            a[_A["callbacks_answered"]] += 1
            return
        wait = float(row.payload.get("wait_s") or 0.0)
        q[_Q["wait_answered_s"]] += wait
        a[_A["wait_answered_s"]] += wait
        q[_QMAX] = max(q[_QMAX], wait)
        if wait <= self.rules_for(queue).service_level_s:
            q[_Q["answered_in_sl"]] += 1
            a[_A["answered_in_sl"]] += 1

    def _abandon(self, row: LogRow, out: Deltas, start: int) -> None:
        queue = row.queue or ""
        q = out.q(self._qkey(start, queue, row))
        if row.channel == TICKET:
            # Nobody hangs up on a ticket: its interaction is taken out of the engine because
            # the ticket changed (solved, moved, assigned by hand) while it was offered.
            q[_Q["exited"]] += 1
            return
        wait = float(row.payload.get("wait_s") or 0.0)
        rules = self.rules_for(queue)
        q[_Q["abandoned"]] += 1
        q[_Q["wait_abandoned_s"]] += wait
        q[_QMAX] = max(q[_QMAX], wait)
        if wait < rules.short_abandon_s:
            q[_Q["abandoned_short"]] += 1
        elif wait <= rules.service_level_s:
            q[_Q["abandoned_in_sl"]] += 1

    def _exit(self, row: LogRow, out: Deltas, start: int) -> None:
        out.q(self._qkey(start, row.queue, row))[_Q["exited"]] += 1

    def _callback_request(self, row: LogRow, out: Deltas, start: int) -> None:
        out.q(self._qkey(start, row.queue, row))[_Q["callbacks_requested"]] += 1

    def _offer(self, row: LogRow, out: Deltas, start: int) -> None:
        out.q(self._qkey(start, row.queue, row))[_Q["offers"]] += 1
        out.a((start, row.agent_id or "", row.queue or "", row.channel))[_A["offers"]] += 1

    def _ring_no_answer(self, row: LogRow, out: Deltas, start: int) -> None:
        if str(row.payload.get("reason") or "").startswith(CUSTOMER_FAILURE_PREFIX):
            return  # the customer of a callback did not answer: not the agent's miss
        track = self._tracks.get(row.interaction_id or "")
        # RingNoAnswer names no queue: the offer it ends does.
        queue = track.offered.get(row.agent_id or "", "") if track is not None else ""
        out.q(self._qkey(start, queue, row))[_Q["rona"]] += 1
        out.a((start, row.agent_id or "", queue, row.channel))[_A["rona"]] += 1

    def _hold(self, row: LogRow, out: Deltas, start: int) -> None:
        out.q(self._qkey(start, row.queue, row))[_Q["holds"]] += 1
        out.a((start, row.agent_id or "", row.queue or "", row.channel))[_A["holds"]] += 1

    def _wrapup_done(self, row: LogRow, out: Deltas, start: int) -> None:
        queue, agent = row.queue or "", row.agent_id or ""
        handle = float(row.payload.get("handle_s") or 0.0)
        talk_total, hold = handle, 0.0  # no history at all: all of it counts as talk
        conv = self._take_conversation(row)
        if conv is not None:
            hold = conv.hold_s
            if conv.talk_total is not None:
                talk_total = conv.talk_total
            elif conv.talk_end is not None:
                talk_total = conv.talk_end - conv.connect_at
        wrapup = max(0.0, handle - talk_total)
        talk = max(0.0, talk_total - hold)
        q = out.q(self._qkey(start, queue, row))
        a = out.a((start, agent, queue, row.channel))
        for name, value in (("handled", 1.0), ("handle_s", handle), ("talk_s", talk),
                            ("hold_s", hold), ("wrapup_s", wrapup)):
            q[_Q[name]] += value
            a[_A[name]] += value
        disposition = str(row.payload.get("disposition") or "")
        key = (start, queue, row.channel, agent, disposition)
        out.dispositions[key] = out.dispositions.get(key, 0) + 1

    # ------------------------------------------------------------------ agent states
    def _agent_state(self, row: LogRow, out: Deltas) -> None:
        state = str(row.payload.get("state") or LOGGED_OUT)
        reason = str(row.payload.get("reason") or "") if state == PAUSED else ""
        self._change(row.agent_id or "", row.at, state, reason, out)

    def _agent_pause(self, row: LogRow, out: Deltas) -> None:
        # A new reason while already paused changes no shown state, so no agent-state row.
        cur = self.opens.get(row.agent_id or "")
        reason = str(row.payload.get("reason") or "")
        if cur is not None and cur.state == PAUSED and cur.reason != reason:
            self._change(row.agent_id or "", row.at, PAUSED, reason, out)

    def _change(self, agent: str, at: float, state: str, reason: str, out: Deltas) -> None:
        cur = self.opens.get(agent)
        if cur is not None:
            # ``cur`` is credited up to max(since, credited_to); it really ended at ``at``.
            self._credit(agent, cur, max(cur.since, self.credited_to), at, out)
        self.changed_agents.add(agent)
        if state == LOGGED_OUT:
            self.opens.pop(agent, None)
            return
        new = self.opens[agent] = AgentOpen(state, reason, at)
        if at < self.credited_to:  # late: catch up with the time already credited to others
            self._credit(agent, new, at, self.credited_to, out)

    def _credit(self, agent: str, st: AgentOpen, t0: float, t1: float, out: Deltas) -> None:
        """Add ``[t0, t1)`` to ``st`` (or take ``[t1, t0)`` back when t1 < t0)."""
        sign = 1.0
        if t1 < t0:
            t0, t1, sign = t1, t0, -1.0
        for b, seconds in self.calendar.split(t0, t1):
            if b.start not in out.buckets:
                out.buckets[b.start] = (b.hour, b.day)
            key = (b.start, agent, st.state, st.reason)
            out.states[key] = out.states.get(key, 0.0) + sign * seconds

    def credit_open(self, upto: float, out: Deltas) -> None:
        """Count every open state up to ``upto`` (never backwards)."""
        if upto <= self.credited_to:
            return
        for agent, st in self.opens.items():
            t0 = max(st.since, self.credited_to)
            if upto > t0:
                self._credit(agent, st, t0, upto, out)
        self.credited_to = upto
