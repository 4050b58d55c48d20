"""The reports context's tables: 15-minute interval figures, and where the aggregation stands.

Every figure table is keyed by the interval's start (UTC epoch seconds) and carries the local
hour's start and the local date (``reports/intervals.py``), so a report groups by interval,
hour or day in plain SQL. Their columns are sums (seconds, counts) and one maximum
(``max_wait_s``): any range, queue set or agent set is a ``SUM``/``MAX`` over rows, and the
ratios of docs/reports.md are computed from those sums, never averaged from averages.

``report_queue_intervals`` holds every interaction figure per queue and channel (and
``report_queue_days`` the same per local day);
``report_agent_intervals`` the ones an agent did (answered, handled, talk...) per agent, queue
and channel; ``report_agent_states`` seconds per agent in each state (pause reason included);
``report_dispositions`` wrap-ups per disposition. ``report_cursor`` (one row) is the last
interaction-log row folded in and the time open agent states are counted up to;
``report_agent_open`` each logged-in agent's state since when, so a restart carries on.
"""

from __future__ import annotations

import sqlalchemy as sa

from contactcenter.storage.base import Base

# Counters and sums of the queue table, in the order the aggregator keeps them.
QUEUE_COUNTS = (
    "arrived", "overflowed_in", "transferred_in", "answered", "answered_in_sl",
    "callbacks_answered", "abandoned", "abandoned_short", "abandoned_in_sl", "exited",
    "overflowed_out", "transferred_out", "transferred_external", "callbacks_requested",
    "offers", "rona", "holds", "handled",
)
QUEUE_SECONDS = ("wait_answered_s", "wait_abandoned_s", "talk_s", "hold_s", "wrapup_s",
                 "handle_s")
QUEUE_MAX = "max_wait_s"
QUEUE_FIGURES = (*QUEUE_COUNTS, *QUEUE_SECONDS, QUEUE_MAX)
# What an agent does: the agent table keeps these only.
AGENT_COUNTS = ("answered", "answered_in_sl", "callbacks_answered", "transferred_out",
                "transferred_external", "offers", "rona", "holds", "handled")
AGENT_SECONDS = ("wait_answered_s", "talk_s", "hold_s", "wrapup_s", "handle_s")
AGENT_FIGURES = (*AGENT_COUNTS, *AGENT_SECONDS)

NAME = 64  # queue, agent id, pause reason, disposition (routing's MAX_REASON)


def _when() -> list[sa.Column]:
    return [sa.Column("start", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("hour", sa.BigInteger, nullable=False),
            sa.Column("day", sa.String(10), nullable=False)]


def _figures(counts: tuple[str, ...], seconds: tuple[str, ...],
             maximum: str | None = None) -> list[sa.Column]:
    cols = [sa.Column(n, sa.Integer, nullable=False, server_default="0") for n in counts]
    cols += [sa.Column(n, sa.Float, nullable=False, server_default="0") for n in seconds]
    if maximum:
        cols.append(sa.Column(maximum, sa.Float, nullable=False, server_default="0"))
    return cols


queue_intervals = sa.Table(
    "report_queue_intervals", Base.metadata,
    *_when(),
    sa.Column("queue", sa.String(NAME), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    *_figures(QUEUE_COUNTS, QUEUE_SECONDS, QUEUE_MAX),
)

# The same figures summed per local day: a report by day or in total over months reads a row
# per queue and day instead of 96 (the live aggregation and the rebuild keep both).
queue_days = sa.Table(
    "report_queue_days", Base.metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("queue", sa.String(NAME), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    *_figures(QUEUE_COUNTS, QUEUE_SECONDS, QUEUE_MAX),
)

agent_intervals = sa.Table(
    "report_agent_intervals", Base.metadata,
    *_when(),
    sa.Column("agent_id", sa.String(NAME), primary_key=True),
    sa.Column("queue", sa.String(NAME), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    *_figures(AGENT_COUNTS, AGENT_SECONDS),
)

agent_states = sa.Table(
    "report_agent_states", Base.metadata,
    *_when(),
    sa.Column("agent_id", sa.String(NAME), primary_key=True),
    sa.Column("state", sa.String(16), primary_key=True),
    sa.Column("reason", sa.String(NAME), primary_key=True),  # "" unless paused
    sa.Column("seconds", sa.Float, nullable=False, server_default="0"),
)

dispositions = sa.Table(
    "report_dispositions", Base.metadata,
    *_when(),
    sa.Column("queue", sa.String(NAME), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("agent_id", sa.String(NAME), primary_key=True),
    sa.Column("disposition", sa.String(NAME), primary_key=True),  # "" when none was given
    sa.Column("count", sa.Integer, nullable=False, server_default="0"),
)

cursor = sa.Table(
    "report_cursor", Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_event_id", sa.BigInteger, nullable=False),
    sa.Column("credited_to", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

agent_open = sa.Table(
    "report_agent_open", Base.metadata,
    sa.Column("agent_id", sa.String(NAME), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(NAME), nullable=False),
    sa.Column("since", sa.Float, nullable=False),
)

FIGURE_TABLES = (queue_intervals, agent_intervals, agent_states, dispositions)

# IVR sessions (docs/reports.md, IVR), written by ``reports/ivr_recorder.py`` off the call
# path and counted when a report is read (``reports/ivr_report.py``). ``slot`` is the UTC start
# of the 15-minute interval the session started in: every time zone in use is a whole number
# of quarter hours from UTC, so it is the local interval too and SQL groups by it in any zone.
ivr_sessions = sa.Table(
    "ivr_sessions", Base.metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # uuid4 hex, made by the recorder
    sa.Column("call_id", sa.String(NAME), nullable=False),  # the AGI channel's uniqueid
    sa.Column("flow", sa.String(NAME), nullable=False),
    sa.Column("version", sa.String(NAME), nullable=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=False),
    sa.Column("slot", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.String(NAME), nullable=False),  # as the runner said it
    sa.Column("ending", sa.String(16), nullable=False),  # queued, transferred, ... (the doc's)
    sa.Column("last_node", sa.String(2 * NAME + 1), nullable=False),  # "" when none ran
    sa.Column("nodes", sa.Integer, nullable=False),  # nodes entered, repeats included
    sa.Column("interaction_id", sa.String(NAME), nullable=True),  # set when it was queued
    sa.Index("ix_ivr_sessions_slot_flow", "slot", "flow"),
)

ivr_session_nodes = sa.Table(
    "ivr_session_nodes", Base.metadata,
    sa.Column("session_id", sa.String(32), sa.ForeignKey("ivr_sessions.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # 0, 1, ... in order
    sa.Column("node", sa.String(2 * NAME + 1), nullable=False),  # subflow nodes: "flow:node"
    sa.Column("entered_at", sa.Float, nullable=False),
)

# What the IVR sessions' retention (``reports/ivr_retention.py``) keeps of the sessions it
# deletes: the sums the IVR report reads, per 15-minute slot. Rows are only added (a purge adds
# the slots it folds, a late session of a folded slot is folded by the next purge), so a slot
# may have several rows per key: the report sums them, as it sums sessions.
ivr_flow_intervals = sa.Table(
    "ivr_flow_intervals", Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slot", sa.BigInteger, nullable=False),
    sa.Column("flow", sa.String(NAME), nullable=False),
    sa.Column("ending", sa.String(16), nullable=False),
    sa.Column("last_node", sa.String(2 * NAME + 1), nullable=False),
    sa.Column("sessions", sa.Integer, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),  # sum of the sessions' durations
    sa.Index("ix_ivr_flow_intervals_slot_flow", "slot", "flow"),
)

ivr_node_intervals = sa.Table(
    "ivr_node_intervals", Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slot", sa.BigInteger, nullable=False),
    sa.Column("flow", sa.String(NAME), nullable=False),
    sa.Column("node", sa.String(2 * NAME + 1), nullable=False),
    sa.Column("reached", sa.Integer, nullable=False),  # sessions that entered it
    sa.Column("first_seq", sa.Integer, nullable=False),  # earliest place in a path (the order)
    sa.Index("ix_ivr_node_intervals_slot_flow", "slot", "flow"),
)
