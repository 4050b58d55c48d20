"""What AMI says about a channel the IVR holds: when its Dial rang and was answered, which keys
it sent.

A FastAGI session cannot learn that the agent answered until ``EXEC Dial`` returns at the end of
the conversation, and while a caller waits on hold no AGI command is in flight to read keys. The
call model's typed events fill those gaps: ``DialEnded(ANSWER)`` for the caller's channel marks
the moment of connection (agent channel included), ``DtmfReceived`` carries keys pressed on
hold, and the agent's phone ringing is the ``Newstate`` Ringing of the channel the caller's
``DialBegin`` named (chan_pjsip sets it on a 180; a Local ``;1`` gets it when its ``;2`` side
rings, core_unreal.c). The watch is fed by every PBX link and keyed by the caller channel's
uniqueid. Once the agent answered, the agent's leg is watched too: while the agent has the
caller on hold their leg sits in the dialplan, not in the caller's Dial, so only AMI can tell
that it ended.

After a restart, agent legs parked in the hold context come from the call model (``ParkedLeg``,
listed by the composition root); ``unclaimed`` leaves out those a caller's session watches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from contactcenter.telephony import events as ev
from contactcenter.telephony.callmodel_core import listens_to

STATE_RINGING = 5  # Newstate ChannelState of a dialled channel whose phone rings


@dataclass(frozen=True, slots=True)
class DialAnswer:
    """The agent leg of an answered Dial."""

    pbx: str
    agent_uniqueid: str
    agent_channel: str


@dataclass(frozen=True, slots=True)
class ParkedLeg:
    """A channel in ``[contactcenter-hold] agent``: an agent's leg put on hold."""

    pbx: str
    uniqueid: str
    name: str
    linkedid: str


@dataclass
class ChannelFeed:
    """Per-channel mailbox: the next Dial answer and the keys pressed."""

    uniqueid: str
    answers: asyncio.Queue[DialAnswer] = field(default_factory=asyncio.Queue)
    digits: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    leg_gone: asyncio.Event = field(default_factory=asyncio.Event)  # the watched agent leg
    leg_uniqueid: str = ""
    # The DialString (``1001`` for PJSIP/1001) of each Dial whose callee rings, in order.
    rings: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    dialled_uniqueid: str = ""  # the callee channel of the Dial in progress, until it rings
    dialled_string: str = ""


class ChannelWatch:
    """Routes telephony events to the feeds of the channels someone is watching."""

    def __init__(self) -> None:
        self._feeds: dict[str, ChannelFeed] = {}
        self._legs: dict[str, ChannelFeed] = {}  # agent leg uniqueid -> the caller's feed
        self._dialled: dict[str, ChannelFeed] = {}  # callee not yet ringing -> caller's feed

    def watch(self, uniqueid: str) -> ChannelFeed:
        """Start watching one channel (idempotent)."""
        feed = self._feeds.get(uniqueid)
        if feed is None:  # (not setdefault: a feed is three queues and an event to build)
            feed = self._feeds[uniqueid] = ChannelFeed(uniqueid)
        return feed

    def watching(self, uniqueid: str) -> bool:
        """True while a session watches ``uniqueid`` (it then sees the channel's hangup)."""
        return uniqueid in self._feeds

    def forget(self, uniqueid: str) -> None:
        """Stop watching; late events for it are dropped."""
        feed = self._feeds.pop(uniqueid, None)
        if feed is not None:
            self._legs.pop(feed.leg_uniqueid, None)
            self._dialled.pop(feed.dialled_uniqueid, None)

    def watch_leg(self, uniqueid: str, leg_uniqueid: str) -> asyncio.Event:
        """Watch the agent leg connected to caller ``uniqueid`` (replacing an earlier one);
        the returned event is set when that leg hangs up."""
        feed = self.watch(uniqueid)
        self._legs.pop(feed.leg_uniqueid, None)
        feed.leg_uniqueid = leg_uniqueid
        feed.leg_gone = asyncio.Event()
        if leg_uniqueid:
            self._legs[leg_uniqueid] = feed
        return feed.leg_gone

    def unclaimed(self, legs: Iterable[ParkedLeg]) -> list[ParkedLeg]:
        """The ``legs`` no caller's session has taken back (none watches them)."""
        return [leg for leg in legs if leg.uniqueid not in self._legs]

    @listens_to(ev.DialEnded, ev.DialStarted, ev.ChannelStateChanged, ev.ChannelHungUp,
                ev.DtmfReceived)
    def on_event(self, event: object) -> None:
        """Subscriber for ``PbxLink.subscribe``: deliver the events a watcher waits for."""
        if isinstance(event, ev.ChannelStateChanged):
            if event.state == STATE_RINGING and event.uniqueid in self._dialled:
                self._rang(self._dialled.pop(event.uniqueid))
        elif isinstance(event, ev.DialEnded) and event.caller_uniqueid:
            feed = self._feeds.get(event.caller_uniqueid)
            if feed is not None and feed.dialled_uniqueid == event.dest_uniqueid:
                self._dialled.pop(event.dest_uniqueid, None)  # it never rang
            if feed is not None and event.dial_status == "ANSWER":
                feed.answers.put_nowait(DialAnswer(event.pbx, event.dest_uniqueid, event.dest_name))
        elif isinstance(event, ev.DialStarted) and event.caller_uniqueid:
            feed = self._feeds.get(event.caller_uniqueid)
            if feed is not None:
                self._dialled.pop(feed.dialled_uniqueid, None)
                feed.dialled_uniqueid, feed.dialled_string = event.dest_uniqueid, event.dial_string
                # Dial publishes DialBegin only once it placed the call (app_dial.c; transcript
                # 02 shows the callee's ;2 Up before it), so a callee that rings at once may
                # have shown Ringing already.
                if event.dest_state == STATE_RINGING:
                    self._rang(feed)
                else:
                    self._dialled[event.dest_uniqueid] = feed
        elif isinstance(event, ev.ChannelHungUp):
            self._dialled.pop(event.uniqueid, None)
            if event.uniqueid in self._legs:
                self._legs.pop(event.uniqueid).leg_gone.set()
        elif isinstance(event, ev.DtmfReceived) and event.direction == "Received":
            feed = self._feeds.get(event.uniqueid)
            if feed is not None:
                feed.digits.put_nowait(event.digit)

    @staticmethod
    def _rang(feed: ChannelFeed) -> None:
        feed.rings.put_nowait(feed.dialled_string)
        feed.dialled_uniqueid = ""
