"""The routing service: the engine plus a Clock, timers, persistence and notifications.

Design note. ``Engine`` is synchronous and pure; this thin async layer
* stamps every call with ``clock.time()`` and runs one timer task that sleeps (on the Clock)
  until the engine's next deadline;
* hands each batch of events to every subscriber and to the update stream of each interaction
  concerned (a stream ends with its interaction's terminal event);
* persists events and changed rows through a writer task that groups whatever accumulated into
  one transaction (group commit). Calls do not wait for the write (``flush()`` does; ``stop()``
  flushes), which keeps queue entry -> offer well under a millisecond. With
  ``durable_enqueue=True`` ``enqueue`` waits for its batch to commit, so even a crash cannot lose
  a caller who was told "you are in line" (costs a commit, ~20-70 ms p99 on SQLite);
* on ``start()`` rebuilds waiting lines and agents' presence from the log.
All engine calls run on the event loop thread, so they never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from dataclasses import replace
from typing import Any

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction, InteractionState
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import Connected, Offered, Position, RoutingEvent
from contactcenter.routing.agent_state import AgentState
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.engine import HOLD_KEY, Engine
from contactcenter.routing.engine_config import ConfigRefused
from contactcenter.routing.engine_state import REOPEN_KEPT, REOPEN_WINDOW_S
from contactcenter.routing.engine_state import screen_pop as pop_of
from contactcenter.routing.errors import Conflict, NotFound
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.snapshot import AgentView, Snapshot, agent_view, snapshot

log = logging.getLogger(__name__)
MAX_BUFFERED_POSITIONS = 16
FINISHED_STREAMS_KEPT = 1000

Subscriber = Callable[[RoutingEvent], Any]


class _Stream:
    """One interaction's pending updates (single consumer)."""

    def __init__(self) -> None:
        self.items: deque[RoutingEvent] = deque()
        self.ready = asyncio.Event()

    def put(self, event: RoutingEvent) -> None:
        # Nobody may be listening (a chat, a callback): drop stale positions, keep the rest.
        if isinstance(event, Position) and len(self.items) >= MAX_BUFFERED_POSITIONS:
            return
        self.items.append(event)
        self.ready.set()

    async def get(self) -> RoutingEvent:
        while not self.items:
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()


WRITE_GATHER_S = 0.05  # how far the interaction log may lag behind the engine


class RoutingService:
    """The queue engine as an asyncio service (see docs/routing.md for the contract)."""

    def __init__(
        self,
        config: RoutingConfig,
        clock: Clock,
        log: InteractionLog | None = None,
        rng_seed: int | None = None,
        durable_enqueue: bool = False,
    ) -> None:
        self.config = config
        self.clock = clock
        self.log = log
        self.durable_enqueue = durable_enqueue and log is not None
        self.engine = Engine(config, rng_seed)
        self._streams: dict[str, _Stream] = {}
        self._finished: OrderedDict[str, _Stream] = OrderedDict()
        self._subscribers: list[Subscriber] = []
        # Events to store, each dispatch's with whoever waits for its commit. The current-state
        # rows are taken from the engine when the writer runs: an interaction or agent that
        # changed several times within one batch is built and written once, off the path of
        # the dispatch (an offer at entry is dialled without building any row).
        self._pending: list[tuple[list[RoutingEvent], asyncio.Future | None]] = []
        self._writer_wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None
        self._tasks: list[asyncio.Task] = []
        self._started = False
        # Channels whose work outlives a sitting (tickets) hand an agent's work back to the
        # line before the agent logs out or leaves the configuration: channel -> fn(agent, why).
        self.release_work: dict[str, Callable[[str, str], Awaitable[None]]] = {}

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Rebuild from the log (if any), then start the timer and writer tasks."""
        if self._started:
            return
        self._started = True
        if self.log is not None:
            agents = await self.log.agents()
            rows = await self.log.open_interactions()
            now = self.clock.time()
            exited = await self.log.recently_exited(now - REOPEN_WINDOW_S, REOPEN_KEPT)
            for row in rows:
                self._streams[row.id] = _Stream()
            events = self.engine.restore(agents, rows, now, exited)
            for row in rows:
                pos = self.engine.position(row.id, self.clock.time())
                if pos is not None and row.callback is None:
                    self._streams[row.id].put(pos)
            self._tasks.append(asyncio.create_task(self._writer_loop(), name="routing-writer"))
            self._dispatch(events)
        self._rearm()

    async def stop(self) -> None:
        """Stop timers, store everything pending, stop the writer."""
        if not self._started:
            return
        self._started = False
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._armed_for = None
        if self.log is not None:
            await self.flush()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def flush(self) -> None:
        """Wait until every event so far is stored."""
        if self.log is None:
            return
        fut = asyncio.get_running_loop().create_future()
        self._pending.append(([], fut))
        self._writer_wake.set()
        await fut

    # ----------------------------------------------------------------- interactions
    async def enqueue(self, interaction: Interaction) -> str:
        """Put an interaction in line; return its id. An id that is already open re-attaches
        (after a restart the voice side calls this again with the call's id)."""
        iid = interaction.id or uuid.uuid4().hex
        now = self.clock.time()
        if iid in self.engine.live:
            stream = self._streams.setdefault(iid, _Stream())
            rec = self.engine.live[iid]
            if rec.state is InteractionState.OFFERED and rec.offer_id:
                # The re-attaching party dials the offer now (it may have been made before it
                # came back, e.g. at the restore): its ring safety timer counts from now.
                await self.renew_offer(rec.offer_id)
                if iid not in self.engine.live:
                    return iid
            pos = self.engine.position(iid, now)
            if pos is not None:
                stream.put(pos)
            else:
                self._replay_state(iid, stream, now)
            return iid
        stream = _Stream()
        self._streams[iid] = stream
        try:
            # (replace() runs every check of the interaction again: only when an id was made)
            item = interaction if interaction.id == iid else replace(interaction, id=iid)
            events = self.engine.enqueue(item, now)
        except Exception:
            del self._streams[iid]
            raise
        fut = self._dispatch(events, durable=self.durable_enqueue)
        if fut is not None:
            await fut
        return iid

    def _replay_state(self, iid: str, stream: _Stream, now: float) -> None:
        """Tell a re-attaching party where a non-waiting interaction stands (after a restart
        it may have missed the Offered/Connected that was sent to its previous stream)."""
        rec = self.engine.live[iid]
        if rec.state is InteractionState.CONNECTED and rec.agent_id and rec.offer_id:
            wait = (rec.connected_at or now) - rec.arrived_at
            stream.put(Connected(now, iid, rec.offer_id, rec.agent_id, rec.queue, wait,
                                 pop_of(rec)))
        elif rec.state is InteractionState.OFFERED and rec.agent_id and rec.offer_id:
            agent = self.engine.agents.get(rec.agent_id)
            ring = self.engine.queues[rec.queue].ring_timeout_s
            dial = agent.config.dial_string if agent is not None else None
            number = rec.callback.number if rec.callback is not None else None
            stream.put(Offered(now, iid, rec.offer_id, rec.agent_id, rec.queue, rec.channel,
                               dial, ring, number, rec.attempts))

    def callback_offers(self) -> list[Offered]:
        """Callbacks being offered right now, as ``Offered`` again: for a dialer that starts
        after routing (the restore offers due callbacks before anyone subscribed)."""
        now = self.clock.time()
        out: list[Offered] = []
        for rec in self.engine.live.values():
            if rec.callback is not None and rec.state is InteractionState.OFFERED:
                stream = _Stream()
                self._replay_state(rec.id, stream, now)
                out.extend(e for e in stream.items if isinstance(e, Offered))
        return out

    def connected_callbacks(self) -> list[tuple[str, str]]:
        """(interaction id, offer id) of every connected callback: after a restart the dialer
        finds their agent legs by the offer id (``CallbackDialer.reconcile``)."""
        return [(rec.id, rec.offer_id) for rec in self.engine.live.values()
                if rec.callback is not None and rec.state is InteractionState.CONNECTED
                and rec.offer_id]

    async def updates(self, iid: str) -> AsyncIterator[RoutingEvent]:
        """Events about ``iid`` (Entered, Position, Offered, Connected, Overflowed, ...),
        ending with its terminal one (Completed, Abandoned or Exited)."""
        stream = self._streams.get(iid) or self._finished.get(iid)
        if stream is None:
            raise NotFound(f"no interaction {iid!r}")
        while True:
            event = await stream.get()
            yield event
            if event.terminal:
                self._finished.pop(iid, None)
                return

    def take_update(self, iid: str) -> RoutingEvent | None:
        """The next event ``updates(iid)`` would give, if one is already waiting; else None.

        For a consumer that can act at once without a task switch (an offer made by the
        enqueue call itself); ``updates`` then goes on after it.
        """
        stream = self._streams.get(iid) or self._finished.get(iid)
        if stream is None or not stream.items:
            return None
        event = stream.items.popleft()
        if event.terminal:
            self._finished.pop(iid, None)
        return event

    def position(self, iid: str) -> Position | None:
        """Current place and EWT of a waiting interaction (None when not waiting)."""
        return self.engine.position(iid, self.clock.time())

    def state_of(self, iid: str) -> InteractionState | None:
        """The state of an open interaction; None when unknown or finished."""
        rec = self.engine.live.get(iid)
        return rec.state if rec else None

    def offer_of(self, iid: str) -> str | None:
        """The id of the offer an open interaction is in (offered or connected); else None."""
        rec = self.engine.live.get(iid)
        return rec.offer_id if rec else None

    def queue_of(self, iid: str) -> str | None:
        """The queue an open interaction is in (waiting, offered or connected); None if none."""
        rec = self.engine.live.get(iid)
        return rec.queue if rec else None

    def on_hold_since(self, iid: str) -> float | None:
        """Since when a connected interaction's customer is on hold; None when not held."""
        rec = self.engine.live.get(iid)
        value = rec.data.get(HOLD_KEY) if rec is not None else None
        return float(value) if isinstance(value, (int, float)) else None

    def screen_pop(self, iid: str) -> dict[str, Any] | None:
        """What the agent's screen pops for an open interaction (a copy of ``Connected.data``:
        caller id, flow, IVR path, the caller's inputs, lookups); None when it is not open."""
        rec = self.engine.live.get(iid)
        return pop_of(rec) if rec is not None else None

    def queue_config(self, name: str) -> QueueConfig:
        """A queue's configuration (announcements, MOH class, leave key, ...)."""
        try:
            return self.engine.queues[name]
        except KeyError:
            raise NotFound(f"no queue {name!r}") from None

    async def offer_ringing(self, offer_id: str) -> None:
        """The agent's device is ringing (optional; Offered already reserved the agent)."""
        self._call(self.engine.offer_ringing, offer_id)

    async def offer_answered(self, offer_id: str, at: float | None = None) -> None:
        """Connected: the agent (and, for a callback, the customer) answered; ``at``: when,
        if the telephony side learned it late (clock time, not after now)."""
        self._dispatch(self.engine.offer_answered(offer_id, self.clock.time(), at=at))

    async def renew_offer(self, offer_id: str) -> None:
        """The offer is still ringing as far as the telephony side can see: its ring safety
        timer counts from now (ring time + grace)."""
        self._call(self.engine.renew_offer, offer_id)

    async def offer_failed(self, offer_id: str, reason: str = "no-answer") -> None:
        """The offer did not connect: "no-answer" / "busy" / ... pause the agent and put the
        interaction back at its place; "callback-no-answer" schedules a callback retry."""
        self._call(self.engine.offer_failed, offer_id, reason)

    async def abandon(self, iid: str, at: float | None = None) -> None:
        """The customer left (a connected interaction is completed instead); ``at``: when,
        if learned late."""
        self._dispatch(self.engine.abandon(iid, self.clock.time(), at=at))

    async def complete(self, iid: str, at: float | None = None) -> None:
        """The conversation ended (``at``: when, if learned late); the agent goes to
        wrap-up."""
        self._dispatch(self.engine.complete(iid, self.clock.time(), at=at))

    async def transfer(self, iid: str, queue: str) -> None:
        """Send a connected interaction to another queue; the agent goes to wrap-up."""
        self._call(self.engine.transfer, iid, queue)

    async def transfer_to_agent(self, iid: str, agent_id: str) -> None:
        """Hand a connected interaction to one named colleague (offered at once; refused
        unless they have a free slot); the first agent goes to wrap-up."""
        self._call(self.engine.transfer_to_agent, iid, agent_id)

    async def transfer_out(self, iid: str, number: str) -> None:
        """Blind transfer of a connected interaction to an outside number: it ends (logged
        as ``transfer`` with ``to_number``, then ``complete``); the agent goes to wrap-up."""
        self._call(self.engine.transfer_out, iid, number)

    async def hold(self, iid: str) -> None:
        """The agent put a connected interaction on hold (logged ``hold``)."""
        self._call(self.engine.hold, iid)

    async def unhold(self, iid: str) -> None:
        """The hold is over (logged ``unhold`` with ``held_s``; ending the call does it too)."""
        self._call(self.engine.unhold, iid)

    async def leave(self, iid: str) -> None:
        """The caller pressed the queue's leave key (an Exited or Overflowed update follows)."""
        self._call(self.engine.leave, iid)

    async def withdraw(self, iid: str, reason: str) -> None:
        """Take a waiting interaction out of line; an ``Exited(reason, None)`` update follows."""
        self._call(self.engine.withdraw, iid, reason)

    async def request_callback(
        self, iid: str, number: str, data: dict[str, Any] | None = None
    ) -> None:
        """A caller wants a callback at ``number``; they keep their place. Also right after
        the interaction exited (it is re-opened with its original key); ``data`` joins the
        screen pop. NotFound when there is nothing open or recently exited under ``iid``."""
        fresh = iid not in self._streams  # a re-opened interaction gets a new update stream
        if fresh:
            self._streams[iid] = _Stream()
        try:
            events = self.engine.request_callback(iid, number, self.clock.time(), data)
        except Exception:
            if fresh:
                del self._streams[iid]
            raise
        self._dispatch(events)

    async def reconcile(self, live_ids: Collection[str], channel: str = "voice") -> list[str]:
        """After a restart or AMI reconnect: end ``channel`` interactions whose customer is
        gone (not in ``live_ids``). Scheduled callbacks are kept. Returns the ids ended."""
        gone = [
            rec.id for rec in list(self.engine.live.values())
            if rec.channel == channel and rec.id not in live_ids
            and rec.state is not InteractionState.SCHEDULED and rec.callback is None
        ]
        for iid in gone:
            self._call(self.engine.abandon, iid)
        return gone

    # ----------------------------------------------------------------- agents
    async def agent_login(self, agent_id: str, queues: Iterable[str] | None = None) -> None:
        """Log in to ``queues`` (None: the agent's configured queues)."""
        self._call(self.engine.agent_login, agent_id, None if queues is None else list(queues))

    async def agent_logout(self, agent_id: str) -> None:
        """Log out (refused with Conflict while an interaction is in progress, once the
        ``release_work`` hooks gave back what they hold)."""
        self.agent(agent_id)  # NotFound before any hook acts
        for release in list(self.release_work.values()):
            await release(agent_id, "logged out")
        self._call(self.engine.agent_logout, agent_id)

    async def agent_leave(self, agent_id: str, reason: str) -> str:
        """The agent's user may no longer work (disabled, or linked to another agent): log the
        agent out, handing back what the ``release_work`` hooks hold, so no call, chat or ticket
        is offered to a phone nobody answers for. While an interaction is in progress the
        logout is refused; the agent is paused with ``reason`` instead (no new offers, the work
        in hand finishes). What happened, in words for the audit log."""
        if self.agent(agent_id).presence == AgentState.LOGGED_OUT.value:
            return "was logged out"
        try:
            await self.agent_logout(agent_id)
        except Conflict:
            await self.agent_pause(agent_id, reason)
            return f"paused ({reason}): an interaction is in progress"
        return "logged out"

    async def pull(self, agent_id: str, channel: str) -> str | None:
        """The agent asks for its next interaction on ``channel`` (also while paused; Conflict
        when logged out or at capacity): the id of the one offered to it, None if none waits."""
        events = self.engine.pull(agent_id, channel, self.clock.time())
        self._dispatch(events)
        return next((e.interaction_id for e in events if isinstance(e, Offered)), None)

    async def agent_pause(self, agent_id: str, reason: str) -> None:
        """No new offers until unpaused."""
        self._call(self.engine.agent_pause, agent_id, reason)

    async def agent_unpause(self, agent_id: str) -> None:
        """Take offers again."""
        self._call(self.engine.agent_unpause, agent_id)

    async def wrapup_done(
        self, agent_id: str, disposition: str | None = None, notes: str | None = None,
        interaction_id: str | None = None,
    ) -> None:
        """End wrap-up with a disposition code."""
        events = self.engine.wrapup_done(
            agent_id, disposition, notes, self.clock.time(), interaction_id=interaction_id
        )
        self._dispatch(events)

    def agent(self, agent_id: str) -> AgentView:
        """One agent's live view."""
        if agent_id not in self.engine.agents:
            raise NotFound(f"no agent {agent_id!r}")
        return agent_view(self.engine, agent_id)

    def snapshot(self) -> Snapshot:
        """Per-queue and per-agent figures now."""
        return snapshot(self.engine, self.clock.time())

    # ----------------------------------------------------------------- configuration
    def check_config(self, config: RoutingConfig) -> list[str]:
        """Why ``config`` cannot be applied now (empty: it can); see routing/engine_config.py."""
        return self.engine.check_config(config, released=set(self.release_work))

    async def apply_config(self, config: RoutingConfig) -> None:
        """Run on ``config`` from now on, without a restart (``ConfigRefused``: nothing changed).
        Stores no configuration: the caller saves it first (the admin API does). Agents it
        removes have their work handed back first (``release_work``), once nothing else
        refuses it."""
        problems = self.check_config(config)
        if problems:
            raise ConfigRefused(problems)
        for agent_id in [a for a in self.config.agents if a not in config.agents]:
            for release in list(self.release_work.values()):
                await release(agent_id, "removed from routing")
        self._call(self.engine.apply_config, config)
        self.config = config

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn(event)`` for every event (synchronously; keep it short). Returns an
        unsubscribe function."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    # ----------------------------------------------------------------- internals
    def _call(self, method: Callable[..., list[RoutingEvent]], *args: Any) -> None:
        self._dispatch(method(*args, self.clock.time()))

    def _dispatch(self, events: list[RoutingEvent], durable: bool = False) -> asyncio.Future | None:
        for event in events:
            iid = getattr(event, "interaction_id", None)
            if iid is not None:
                stream = self._streams.get(iid)
                if stream is not None:
                    stream.put(event)
                    if event.terminal:
                        del self._streams[iid]
                        self._finished[iid] = stream
                        if len(self._finished) > FINISHED_STREAMS_KEPT:
                            self._finished.popitem(last=False)
            for fn in list(self._subscribers):
                try:
                    fn(event)
                except Exception:  # a broken subscriber must not break routing
                    log.exception("routing subscriber failed")
        fut = None
        if self.log is None:
            self.engine.take_changes()  # nothing stores them: do not let them pile up
        elif events or self.engine.has_changes():
            if durable:
                fut = asyncio.get_running_loop().create_future()
            self._pending.append((events, fut))
            self._writer_wake.set()
        self._rearm()
        return fut

    def _rearm(self) -> None:
        """Schedule one loop callback at the engine's next deadline (replacing the old one)."""
        if not self._started:
            return
        deadline = self.engine.next_deadline()
        if deadline == self._armed_for:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_for = deadline
        if deadline is not None:
            delay = self.clock.real(max(0.0, deadline - self.clock.time()))
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._armed_for = None
        deadline = self.engine.next_deadline()
        if deadline is not None and deadline > self.clock.time():
            self._rearm()  # woke a little early (clock rounding): sleep the rest
            return
        self._dispatch(self.engine.tick(self.clock.time()))

    async def _writer_loop(self) -> None:
        assert self.log is not None
        # One connection kept while there is work: a pool checkout per batch cost more CPU
        # than the batch's rows. Given back whenever the writer goes idle, and on stop().
        writer = self.log.writer()
        try:
            while True:
                if not self._writer_wake.is_set():
                    await writer.release()
                await self._writer_wake.wait()
                self._writer_wake.clear()
                # Gather 50 ms of dispatches: a transaction costs CPU whatever its size (the
                # connection, a hop to aiosqlite's thread, the commit). With 10 ms the writer
                # took a fifth of a core at 100 calls/s. flush() and durable enqueues still
                # wait for it.
                await asyncio.sleep(WRITE_GATHER_S)
                while self._pending:
                    batch, self._pending = self._pending, []
                    events = [e for item in batch for e in item[0]]
                    rows, agents = self.engine.take_changes()
                    try:
                        await writer.append(events, rows, agents)
                    except Exception as exc:  # keep routing; report to whoever waits
                        log.exception("interaction log write failed")
                        for _, waiter in batch:
                            if waiter is not None and not waiter.done():
                                waiter.set_exception(exc)
                        continue
                    for _, waiter in batch:
                        if waiter is not None and not waiter.done():
                            waiter.set_result(None)
        finally:
            await writer.release()
