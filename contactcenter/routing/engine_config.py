"""Applying a new configuration to the running engine, without a restart and losing nobody.

Design note. ``check_config`` says what the engine cannot do now (an empty list: it can);
``apply_config`` refuses with the same reasons (``ConfigRefused``) or applies everything:

* queues: a new queue is usable at once. A changed queue governs new decisions: interactions
  waiting in it keep their place (their sort key never changes) but get the new requirement and
  new timers, counted from when they entered the queue as always, so a relaxation, overflow or
  max wait that is already due under the new rules acts at once. Offers ringing and calls
  connected keep going; their timers (ring, wrap-up) keep the values they started with.
  A queue cannot be removed while an interaction is in it (waiting, offered, connected or
  waiting for a callback retry) or an agent is logged in to it: the refusal names them.
* agents: a new agent can log in. A changed agent's skills, capacity, dial string and name
  apply to the next offer (work in progress is untouched; a capacity lowered below the work in
  hand simply means no new offer until enough is finished). An agent logged in to exactly
  their configured queue list follows a change of that list; one who chose queues keeps them.
  A removed (disabled) agent who is idle is logged out; one with work (reserved, ringing,
  busy or in wrap-up) makes the change refused.
* the ready index, staffed capacity and each agent's "groups I can serve" cache are rebuilt
  for every agent that changed, then matching runs in line order and every free agent is
  filled, so the engine's invariants (engine.py) hold after the change as after any call.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

from contactcenter.domain.agent import AgentConfig, AgentState
from contactcenter.domain.interaction import InteractionState as IS
from contactcenter.domain.routing_events import AgentLoggedOut, RoutingEvent
from contactcenter.domain.routing_records import AgentRecord, InteractionRecord
from contactcenter.domain.skills import relax, requirement
from contactcenter.routing.agent_state import AgentRuntime
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.engine_moves import EngineMoves
from contactcenter.routing.engine_state import Live, QueueStats
from contactcenter.routing.errors import Conflict
from contactcenter.routing.ewt import HandleTimes

MAX_NAMED = 5  # ids listed in a refusal; the count says how many more


class ConfigRefused(Conflict):
    """The engine cannot take this configuration now; ``problems`` says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ConfigApplied(RoutingEvent):
    """A new configuration is in force (not stored: the audit log records who changed what)."""

    queues_added: tuple[str, ...] = ()
    queues_changed: tuple[str, ...] = ()
    queues_removed: tuple[str, ...] = ()
    agents_added: tuple[str, ...] = ()
    agents_changed: tuple[str, ...] = ()
    agents_removed: tuple[str, ...] = ()
    kind: ClassVar[str] = "config"
    persist: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class AgentReconfigured(RoutingEvent):
    """One agent's configuration changed (their panel view should be refreshed)."""

    agent_id: str
    kind: ClassVar[str] = "agent-config"
    persist: ClassVar[bool] = False


def _named(ids: list[str]) -> str:
    more = len(ids) - MAX_NAMED
    return ", ".join(ids[:MAX_NAMED]) + (f" and {more} more" if more > 0 else "")


class EngineConfig(EngineMoves):
    """``check_config`` / ``apply_config`` over the engine's state (see the design note)."""

    def __init__(self, config: RoutingConfig, rng_seed: int | None = None) -> None:
        super().__init__(config, rng_seed)
        self._retired: list[AgentRecord] = []  # rows of removed agents, not yet taken

    def has_changes(self) -> bool:
        """True when ``take_changes`` would return rows."""
        return bool(self._retired) or super().has_changes()

    def take_changes(self) -> tuple[list[InteractionRecord], list[AgentRecord]]:
        """Rows changed since the last call, including agents removed by a new config."""
        rows, agents = super().take_changes()
        if self._retired:
            agents.extend(self._retired)
            self._retired = []
        return rows, agents

    def check_config(self, config: RoutingConfig, released: Collection[str] = ()
                     ) -> list[str]:
        """Why ``config`` cannot be applied now (cross-references, work in progress; work on
        a ``released`` channel is not counted: its channel hands it back first)."""
        problems = config.problems()
        for name in sorted(set(self.queues) - set(config.queues)):
            open_ids = sorted(r.id for r in self.live.values() if r.queue == name)
            if open_ids:
                problems.append(f"queue {name}: {len(open_ids)} interaction(s) still in it "
                                f"({_named(open_ids)}); remove it when it is empty")
            agents = [a.id for a in self.agents.values()
                      if name in a.queues and a.presence is not AgentState.LOGGED_OUT]
            if agents:
                problems.append(f"queue {name}: agent(s) {_named(agents)} logged in to it; "
                                "they must log out of it first")
        for aid in sorted(set(self.agents) - set(config.agents)):
            work = [f"{s.state.value} on {s.channel}" for s in self.agents[aid].slots.values()
                    if s.channel not in released]
            if work:
                problems.append(f"agent {aid}: has work in progress ({_named(work)}); "
                                "disable them when they are done")
        return problems

    def apply_config(self, config: RoutingConfig, now: float) -> list[RoutingEvent]:
        """Run on ``config`` from now on; ``ConfigRefused`` (nothing changed) if it cannot."""
        self._begin(now)
        problems = self.check_config(config)
        if problems:
            raise ConfigRefused(problems)
        old_queues = self.queues
        changed_q = [n for n, q in config.queues.items() if n in old_queues and old_queues[n] != q]
        for name, q in config.queues.items():
            self.handle.setdefault(name, HandleTimes(q.aht_default_s)).default_s = q.aht_default_s
            self.stats.setdefault(name, QueueStats())
        self.queues = dict(config.queues)
        self.config = config
        removed_a = [a for a in self.agents if a not in config.agents]
        for aid in removed_a:
            self._retire(self.agents[aid])
        added_a, changed_a = [], []
        order = max((a.order for a in self.agents.values()), default=-1)
        runtimes: dict[str, AgentRuntime] = {}
        for aid, cfg in config.agents.items():
            agent = self.agents.get(aid)
            if agent is None:
                order += 1
                agent = AgentRuntime(cfg, order)
                added_a.append(aid)
            elif agent.config != cfg:
                self._reconfigure(agent, cfg)
                changed_a.append(aid)
            runtimes[aid] = agent
        self.agents = runtimes  # configuration order: listings and restore follow it
        self._rekey(set(changed_q))
        for agent in self.agents.values():
            self._fill(agent)
        self._emit(ConfigApplied(
            self._now, tuple(n for n in config.queues if n not in old_queues), tuple(changed_q),
            tuple(n for n in old_queues if n not in config.queues), tuple(added_a),
            tuple(changed_a), tuple(removed_a)))
        for aid in changed_a:
            self._emit(AgentReconfigured(self._now, aid))
        return self._end()

    def _retire(self, agent: AgentRuntime) -> None:
        if agent.presence is not AgentState.LOGGED_OUT:
            self._detach(agent)
            agent.presence = AgentState.LOGGED_OUT
            agent.pause_reason = None
            agent.queues = ()
            self._emit(AgentLoggedOut(self._now, agent.id))
            self._agent_changed(agent)
        self._dirty_agents.discard(agent.id)
        self._retired.append(self._agent_record(agent))

    def _reconfigure(self, agent: AgentRuntime, cfg: AgentConfig) -> None:
        follows = agent.presence is not AgentState.LOGGED_OUT and agent.queues == agent.config.queues
        self._detach(agent)  # with the old queues and capacity, so staffed counts stay right
        agent.config = cfg
        if follows:
            agent.queues = tuple(dict.fromkeys(cfg.queues))
        agent.eligible_cache.clear()
        self._attach(agent)
        self._agent_changed(agent)

    def _rekey(self, queues: set[str]) -> None:
        """New requirement and timers for the open interactions of changed queues."""
        # Recently exited ones may be re-opened as callbacks (engine_moves._reopen): they must
        # come back with the new rules, or not at all when their queue is gone.
        exited = getattr(self, "_exited", {})
        for iid, (_when, rec) in list(exited.items()):
            if rec.queue not in self.queues:
                del exited[iid]
            elif rec.queue in queues:
                self._new_requirement(rec)
        waiting: list[Live] = []
        for rec in self.live.values():
            if rec.queue not in queues:
                continue
            if rec.state is IS.WAITING:
                self.line.remove(rec.id)
                self._new_requirement(rec)
                self.line.add(rec.id, rec.queue, (rec.channel, rec.req),
                              (-rec.priority, rec.arrived_at, rec.seq))
                rec.gen += 1  # the old queue's timers are void; arm the new ones
                self._arm_queue_timers(rec, announce=True)
                waiting.append(rec)
            else:  # offered, connected, or waiting for a callback retry: used when back in line
                self._new_requirement(rec)
            self._touch(rec)
        # Match in line order so that, within a group, the oldest is offered first.
        for rec in sorted(waiting, key=lambda r: (-r.priority, r.arrived_at, r.seq)):
            if rec.state is IS.WAITING:
                self._match(rec)

    def _new_requirement(self, rec: Live) -> None:
        """The queue's skills merged with the interaction's, relaxed as far as now says."""
        queue = self.queues[rec.queue]
        base = requirement(queue.skills, rec.skills)
        waited = self._now - rec.queue_entered_at
        due = [i for i, st in enumerate(queue.relaxation) if st.after_s <= waited]
        rec.base_req, rec.relax_step, rec.req = base, -1, base
        if due:
            step = queue.relaxation[due[-1]]
            rec.relax_step, rec.req = due[-1], relax(base, step.lower_by, step.drop)
