"""Stateful property tests of the engine's invariants over thousands of random steps.

Invariants (checked after every step): each open interaction is in exactly one place; no
agent exceeds its capacity on any channel; no free agent is left beside a waiting interaction
it could take; offers within one (queue, channel, requirement) group follow priority then
arrival order; relaxation, overflow and max wait have fired for everything that is due.
Random ``apply_config`` steps (queues and agents added, changed, removed) run among the others,
and the ready index, staffed capacity and per-agent caches are checked against a recomputation
from scratch, so the invariants are known to hold across reconfiguration too.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from routing_helpers import agent, make_config

from contactcenter.domain.agent import AgentState
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.interaction import InteractionState as IS
from contactcenter.domain.queue import (
    CallbackPolicy,
    Destination,
    OverflowRule,
    QueueConfig,
    RelaxStep,
    Strategy,
)
from contactcenter.domain.routing_events import Offered
from contactcenter.domain.skills import satisfies
from contactcenter.routing.engine import Engine
from contactcenter.routing.engine_config import ConfigRefused
from contactcenter.routing.errors import RoutingError

QUEUES = [
    QueueConfig("q1", strategy=Strategy.LONGEST_IDLE, skills={"en": 1}, wrapup_s=5,
                ring_timeout_s=10, relaxation=(RelaxStep(20, lower_by=1), RelaxStep(40, 2)),
                overflow=(OverflowRule(90, "q2"),), callback=CallbackPolicy(2, 15)),
    QueueConfig("q2", strategy=Strategy.ROUND_ROBIN, wrapup_s=0, ring_timeout_s=10,
                max_wait_s=120, exit=Destination("message", "cc/bye")),
    QueueConfig("q3", strategy=Strategy.MOST_SKILLED, skills={"fr": 1}, wrapup_s=3,
                ring_timeout_s=8, relaxation=(RelaxStep(15, drop=frozenset({"fr"})),),
                max_wait_s=60, exit=Destination("queue", "q2")),
]
AGENTS = [
    agent("a1", {"en": 3}, ("q1", "q2"), voice=1, chat=2),
    agent("a2", {"en": 1, "fr": 2}, ("q1", "q3"), voice=1, chat=1),
    agent("a3", {"fr": 3}, ("q3",), voice=1, chat=0, ticket=2),
    agent("a4", {"en": 2, "fr": 1}, ("q2", "q3", "q1"), voice=1, chat=3),
    agent("a5", {}, ("q2",), voice=1, chat=1, ticket=1),
]
A6 = agent("a6", {"fr": 2, "en": 1}, ("q4", "q1"), voice=1, chat=2)
Q4 = QueueConfig("q4", strategy=Strategy.FEWEST_TODAY, skills={"fr": 1}, wrapup_s=2,
                 ring_timeout_s=6, overflow=(OverflowRule(30, "q1"),))
_Q = {q.name: q for q in QUEUES}
_A = {a.id: a for a in AGENTS}
# Configurations the machine switches between: each changes strategies, skills, timers,
# capacity, dial strings or queue lists, adds q4 / a6, or removes q3 / a5 (refused while busy).
VARIANTS = [
    make_config(QUEUES, AGENTS),
    make_config([replace(_Q["q1"], skills={"en": 2}, strategy=Strategy.MOST_SKILLED,
                         relaxation=(RelaxStep(10, lower_by=1),),
                         overflow=(OverflowRule(60, "q3"),)),
                 _Q["q2"], replace(_Q["q3"], max_wait_s=30)],
                [replace(_A["a1"], skills={"en": 1}), *AGENTS[1:]]),
    make_config([*QUEUES, Q4],
                [*AGENTS[:1], replace(_A["a2"], skills={"en": 3, "fr": 2},
                                      capacity={"voice": 1, "chat": 0, "ticket": 0}),
                 _A["a3"], replace(_A["a4"], queues=("q4", "q2")), _A["a5"], A6]),
    make_config([replace(_Q["q1"], relaxation=()), _Q["q2"], Q4],
                [_A["a1"], replace(_A["a2"], queues=("q1",)), replace(_A["a3"], queues=("q4",)),
                 replace(_A["a4"], queues=("q2", "q1")), A6]),
    make_config([_Q["q1"], replace(_Q["q2"], strategy=Strategy.RANDOM, wrapup_s=10), _Q["q3"]],
                [replace(_A["a1"], capacity={"voice": 0, "chat": 1, "ticket": 0},
                         dial_string="PJSIP/a1b"), *AGENTS[1:]]),
]
AGENT_IDS = [*(a.id for a in AGENTS), "a6"]


class EngineMachine(RuleBasedStateMachine):
    """Random arrivals, agent actions, offer outcomes and time steps."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(make_config(QUEUES, AGENTS), rng_seed=7)
        self.now = 1000.0
        self.n = 0
        self.closed: set[str] = set()
        self.used: dict[tuple[str, str], int] = {}  # slots per (agent, channel) after last step

    # ------------------------------------------------------------ helpers
    def _do(self, fn, *args) -> None:
        before = {
            iid: (r.queue, r.channel, r.req, (-r.priority, r.arrived_at, r.seq))
            for iid, r in self.engine.live.items() if r.state is IS.WAITING
        }
        try:
            events = fn(*args, self.now)
        except RoutingError:  # refused, or names a queue / agent the config no longer has
            return
        self._check_fifo(before, events)
        for e in events:
            if e.terminal:
                self.closed.add(e.interaction_id)

    def _check_fifo(self, before, events) -> None:
        live = self.engine.live
        for ev in events:
            if not isinstance(ev, Offered):
                continue
            rec = live.get(ev.interaction_id)
            if rec is None or rec.state is IS.WAITING:
                continue
            if rec.state is IS.OFFERED and rec.offer_id == ev.offer_id:
                assert satisfies(self.engine.agents[ev.agent_id].config.skills, rec.req), ev
            group = (rec.queue, rec.channel, rec.req)
            key = (-rec.priority, rec.arrived_at, rec.seq)
            for iid, (q, ch, req, k) in before.items():
                other = live.get(iid)
                if other is None or other.state is not IS.WAITING:
                    continue
                if (q, ch, req) == group == (other.queue, other.channel, other.req):
                    assert k > key, f"{ev.interaction_id} offered before older {iid}"

    def _pick(self, data, states):
        ids = sorted(i for i, r in self.engine.live.items() if r.state in states)
        return data.draw(st.sampled_from(ids)) if ids else None

    # ------------------------------------------------------------ rules
    @rule(queue=st.sampled_from(["q1", "q2", "q3", "q4"]), priority=st.integers(0, 2),
          skills=st.dictionaries(st.sampled_from(["en", "fr"]), st.integers(1, 3), max_size=2),
          channel=st.sampled_from(["voice", "voice", "chat", "ticket"]))
    def arrive(self, queue, priority, skills, channel):
        self.n += 1
        self._do(self.engine.enqueue,
                 Interaction(channel, queue, priority, skills, id=f"i{self.n}"))

    @rule(dt=st.sampled_from([0.5, 1, 3, 7, 12, 25, 50]))
    def advance(self, dt):
        self.now += dt
        self._do(self.engine.tick)

    @rule(aid=st.sampled_from(AGENT_IDS), data=st.data())
    def login(self, aid, data):
        queues = data.draw(st.sampled_from([None, ["q1"], ["q2", "q3"], ["q3", "q1", "q2"]]))
        self._do(self.engine.agent_login, aid, queues)

    @rule(aid=st.sampled_from(AGENT_IDS))
    def logout(self, aid):
        self._do(self.engine.agent_logout, aid)

    @rule(aid=st.sampled_from(AGENT_IDS), reason=st.sampled_from(["break", "lunch"]))
    def pause(self, aid, reason):
        self._do(self.engine.agent_pause, aid, reason)

    @rule(aid=st.sampled_from(AGENT_IDS))
    def unpause(self, aid):
        self._do(self.engine.agent_unpause, aid)

    @rule(data=st.data())
    def answer(self, data):
        iid = self._pick(data, {IS.OFFERED})
        if iid:
            self._do(self.engine.offer_answered, self.engine.live[iid].offer_id)

    @rule(data=st.data(), reason=st.sampled_from(["no-answer", "busy", "callback-no-answer"]))
    def fail(self, data, reason):
        iid = self._pick(data, {IS.OFFERED})
        if iid:
            self._do(self.engine.offer_failed, self.engine.live[iid].offer_id, reason)

    @rule(data=st.data())
    def ringing(self, data):
        iid = self._pick(data, {IS.OFFERED})
        if iid:
            self._do(self.engine.offer_ringing, self.engine.live[iid].offer_id)

    @rule(data=st.data())
    def complete(self, data):
        iid = self._pick(data, {IS.CONNECTED})
        if iid:
            self._do(self.engine.complete, iid)

    @rule(data=st.data())
    def transfer(self, data):
        iid = self._pick(data, {IS.CONNECTED})
        if iid:
            self._do(self.engine.transfer, iid, data.draw(st.sampled_from(["q1", "q2", "q3"])))

    @rule(data=st.data())
    def abandon(self, data):
        iid = self._pick(data, {IS.WAITING, IS.OFFERED, IS.SCHEDULED})
        if iid:
            self._do(self.engine.abandon, iid)

    @rule(data=st.data())
    def callback(self, data):
        iid = self._pick(data, {IS.WAITING})
        if iid:
            self._do(self.engine.request_callback, iid, "5551234")

    @rule(aid=st.sampled_from(AGENT_IDS), disposition=st.sampled_from(["ok", "sale"]))
    def wrapup(self, aid, disposition):
        self._do(self.engine.wrapup_done, aid, disposition, None)

    @rule(variant=st.sampled_from(range(len(VARIANTS))))
    def reconfigure(self, variant):
        before = self._fingerprint()
        try:
            self._do_config(VARIANTS[variant])
        except ConfigRefused as exc:
            assert exc.problems
            assert self._fingerprint() == before  # refused: nothing changed

    def _do_config(self, config):
        waiting = {iid: (r.queue, r.channel, r.req, (-r.priority, r.arrived_at, r.seq))
                   for iid, r in self.engine.live.items() if r.state is IS.WAITING}
        events = self.engine.apply_config(config, self.now)
        assert self.engine.config is config
        assert set(self.engine.queues) == set(config.queues)
        assert {a: r.config for a, r in self.engine.agents.items()} == dict(config.agents)
        self._check_fifo(waiting, events)
        for e in events:
            if e.terminal:
                self.closed.add(e.interaction_id)

    def _fingerprint(self):
        e = self.engine
        return (
            e.config, sorted((i, r.state, r.queue, r.req, r.agent_id) for i, r in e.live.items()),
            {a: (r.config, r.presence, r.queues, sorted(r.slots)) for a, r in e.agents.items()},
            sorted(e.line.ids()), dict(e.staffed),
        )

    # ------------------------------------------------------------ invariants
    @invariant()
    def one_place_each(self):
        e = self.engine
        holders: dict[str, int] = {}
        for a in e.agents.values():
            for s in a.slots.values():
                if s.state is not AgentState.WRAPUP:
                    holders[s.interaction_id] = holders.get(s.interaction_id, 0) + 1
        for iid, rec in e.live.items():
            in_line = iid in e.line
            held = holders.get(iid, 0)
            if rec.state is IS.WAITING:
                assert in_line and held == 0 and e.line.queue_of(iid) == rec.queue
            elif rec.state in (IS.OFFERED, IS.CONNECTED):
                assert not in_line and held == 1
                assert e.agents[rec.agent_id].slots[rec.offer_id].interaction_id == iid
            else:
                assert rec.state is IS.SCHEDULED and not in_line and held == 0
        assert len(e.line) == sum(1 for r in e.live.values() if r.state is IS.WAITING)
        for iid in self.closed:
            assert iid not in e.live and iid not in e.line and iid not in holders

    @invariant()
    def capacity_respected(self):
        # A capacity lowered by a new config may be below the work in hand: then no new slot
        # may be taken until the agent is back under it.
        used = {}
        for a in self.engine.agents.values():
            for ch in ("voice", "chat", "ticket"):
                n = sum(1 for s in a.slots.values() if s.channel == ch)
                assert n == a.used.get(ch, 0)
                assert n <= a.config.capacity.get(ch, 0) or n <= self.used.get((a.id, ch), 0)
                used[(a.id, ch)] = n
        self.used = used

    @invariant()
    def indexes_match_a_recomputation(self):
        e = self.engine
        skills = {s for a in e.agents.values() for s in a.config.skills}
        for q in e.queues:
            for ch in ("voice", "chat", "ticket"):
                ready = {a.id for a in e.agents.values() if q in a.queues and a.ready_for(ch)}
                assert set(e.ready.candidates(q, ch, ())) == ready, (q, ch)
                for s in skills:
                    assert set(e.ready.candidates(q, ch, ((s, 1),))) == {
                        a for a in ready if s in e.agents[a].config.skills}, (q, ch, s)
                staffed = sum(a.config.capacity.get(ch, 0) for a in e.agents.values()
                              if q in a.queues and a.presence is AgentState.AVAILABLE)
                assert e.staffed.get((q, ch), 0) == staffed, (q, ch)
        for a in e.agents.values():
            for ch in ("voice", "chat", "ticket"):
                assert e.ready.is_indexed(a.id, ch) == a.ready_for(ch)
            assert set(a.queues) <= set(e.queues)
            for q, (version, groups) in a.eligible_cache.items():
                if version == e.line.version.get(q, 0):
                    assert groups == [g for g in e.line.groups(q)
                                      if satisfies(a.config.skills, g[1])], (a.id, q)

    @invariant()
    def no_idle_agent_beside_a_match(self):
        e = self.engine
        for rec in e.live.values():
            if rec.state is not IS.WAITING:
                continue
            for a in e.agents.values():
                if rec.queue in a.queues and a.ready_for(rec.channel):
                    assert not satisfies(a.config.skills, rec.req), (rec.id, a.id)

    @invariant()
    def timers_fired_on_time(self):
        e = self.engine
        for rec in e.live.values():
            if rec.state is not IS.WAITING:
                continue
            q = e.queues[rec.queue]
            waited = self.now - rec.queue_entered_at
            due = [i for i, s in enumerate(q.relaxation) if s.after_s <= waited]
            assert rec.relax_step == (due[-1] if due else -1)
            assert all(r.after_s > waited for r in q.overflow)
            if q.max_wait_s is not None and rec.callback is None:
                assert waited < q.max_wait_s


EngineMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestEngineInvariants = EngineMachine.TestCase
