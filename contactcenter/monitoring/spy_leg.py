"""One supervisor spy leg as a sans-IO state machine: AMI events in, AMI actions out.

Rules (state, input -> next state, actions):

    NEW         start()                           -> ORIGINATING  [Originate ChanSpy]
    ORIGINATING OriginateResponse Success         -> RINGING      (spyer channel now known)
    ORIGINATING OriginateResponse Failure         -> ENDED        reason "originate-failed"
    ORIGINATING/RINGING  ChanSpyStart (our spyer) -> SPYING
    any live    ChanSpyStop / Hangup (our spyer)  -> ENDED        reason "spy-ended" / "hangup"
    any live    stop()                            -> STOPPING     [Hangup spyer, Hangup its ;2]
    STOPPING    ChanSpyStop / Hangup (spyer)      -> ENDED        confirmed
    STOPPING    deadline()                        -> ENDED        [Hangup again, by name and id]
                                                                  confirmed = False

Why the deadline: on a silent call ChanSpy does not notice the hangup of its own leg
(04b transcript). Its thread sits in ``ast_audiohook_detach``, which only returns after the
spied-on channel passes an audio frame. Hanging up the ``;2`` half of a Local spy leg still
releases the supervisor's phone at once. The stop is therefore: hang up both halves, wait
for ChanSpyStop or Hangup, and at the deadline send the hangups again and declare the leg
ended anyway. Then the server never waits on Asterisk, and a late ChanSpyStop is only noted.
Which channel is ours: ``ChannelId``/``OtherChannelId`` set on the Originate (our uniqueids),
the ActionID of the OriginateResponse, and then the spyer channel name it reports.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from contactcenter.monitoring import ports
from contactcenter.monitoring.chanspy import SpyMode, chanspy_data
from contactcenter.telephony.originated_leg import OriginatedLeg


class LegState(str, enum.Enum):
    """Where a spy leg is."""

    NEW = "new"
    ORIGINATING = "originating"
    RINGING = "ringing"
    SPYING = "spying"
    STOPPING = "stopping"
    ENDED = "ended"


_LIVE = {LegState.ORIGINATING, LegState.RINGING, LegState.SPYING, LegState.STOPPING}


@dataclass
class SpyLeg(OriginatedLeg):
    """A ChanSpy leg from the supervisor's dial string onto ``target`` (the exact agent channel)."""

    leg_id: str
    dial_string: str
    target: str
    mode: SpyMode
    caller_id: str = '"Supervisor" <monitor>'
    state: LegState = LegState.NEW
    spyer: str | None = None
    spyer_uniqueid: str | None = None
    action_ids: set[str] = field(default_factory=set)
    end_reason: str | None = None
    confirmed: bool = True

    @property
    def live(self) -> bool:
        """True until the leg has ended."""
        return self.state in _LIVE

    def start(self) -> list[ports.Headers]:
        """The Originate that places the leg."""
        if self.state is not LegState.NEW:
            raise RuntimeError("leg already started")
        self.state = LegState.ORIGINATING
        action_id = self.action_id
        self.action_ids.add(action_id)
        return [
            ports.originate_application(
                self.dial_string, "ChanSpy", chanspy_data(self.target, self.mode),
                caller_id=self.caller_id, channel_id=self.channel_id,
                other_channel_id=self.other_channel_id, action_id=action_id,
            )
        ]

    def note_action_id(self, action_id: str | None) -> None:
        """Remember the ActionID the AMI client actually used for our Originate."""
        if action_id:
            self.action_ids.add(action_id)

    def _is_spyer(self, name: str | None, uniqueid: str | None) -> bool:
        if uniqueid and uniqueid in (self.channel_id, self.spyer_uniqueid):
            return True
        return bool(name) and name == self.spyer

    def _sibling(self) -> str | None:
        if self.spyer and self.spyer.startswith("Local/") and self.spyer.endswith(";1"):
            return self.spyer[:-2] + ";2"
        return None

    def on_event(self, msg: Any) -> list[ports.Headers]:
        """Feed one AMI event; returns actions to send (late hangups once the spyer is named)."""
        if not self.live:
            return []
        event = msg.event
        if event == "OriginateResponse":
            if msg.get("ActionID") not in self.action_ids and msg.get("Uniqueid") != self.channel_id:
                return []
            if msg.get("Response") != "Success":
                self._end("stopped" if self.state is LegState.STOPPING else "originate-failed")
                return []
            first = self.spyer is None
            self.spyer = self.spyer or msg.get("Channel")
            self.spyer_uniqueid = msg.get("Uniqueid")
            if self.state is LegState.ORIGINATING:
                self.state = LegState.RINGING
            elif self.state is LegState.STOPPING and first:
                # stop() came before we knew the channel's name: hang it up by name now.
                return self._hangups(by_id_too=False)
        elif event == "ChanSpyStart":
            if self._is_spyer(msg.get("SpyerChannel"), msg.get("SpyerUniqueid")):
                first = self.spyer is None
                self.spyer = self.spyer or msg.get("SpyerChannel")
                if self.state in (LegState.ORIGINATING, LegState.RINGING):
                    self.state = LegState.SPYING
                elif self.state is LegState.STOPPING and first:
                    return self._hangups(by_id_too=False)
        elif event == "ChanSpyStop":
            if self._is_spyer(msg.get("SpyerChannel"), msg.get("SpyerUniqueid")):
                self._end("stopped" if self.state is LegState.STOPPING else "spy-ended")
        elif event == "Hangup":
            name, uid = msg.get("Channel"), msg.get("Uniqueid")
            if self._is_spyer(name, uid) or uid == self.other_channel_id or (
                name is not None and name == self._sibling()
            ):
                self._end("stopped" if self.state is LegState.STOPPING else "hangup")
        return []

    def _end(self, reason: str) -> None:
        self.state = LegState.ENDED
        self.end_reason = reason

    def stop(self) -> list[ports.Headers]:
        """Hang up the spy leg: the spyer channel and, for a Local leg, its ``;2`` half."""
        if not self.live:
            return []
        self.state = LegState.STOPPING
        return self._hangups(by_id_too=self.spyer is None)

    def deadline(self) -> list[ports.Headers]:
        """No confirmation in time: hang up again by name and id, and consider the leg ended."""
        if self.state is not LegState.STOPPING:
            return []
        actions = self._hangups(by_id_too=True)
        self.confirmed = False
        self._end("stopped-unconfirmed")
        return actions

    def _hangups(self, by_id_too: bool) -> list[ports.Headers]:
        targets: list[str] = []
        if self.spyer:
            targets.append(self.spyer)
        sibling = self._sibling()
        if sibling:
            targets.append(sibling)
        if by_id_too or not targets:
            targets += [self.channel_id]
            if self.dial_string.startswith("Local/"):
                targets.append(self.other_channel_id)
        return [ports.hangup(name) for name in dict.fromkeys(targets)]
