"""The ids we choose for a leg we originate, so its AMI events can be told apart from any other.

Asterisk takes ``ChannelId`` (and ``OtherChannelId`` for the ``;2`` half of a Local channel) as
the new channels' Uniqueids and echoes ``ActionID`` in the OriginateResponse: naming all three
from one leg id lets a service recognise its own leg from the first event on.
"""

from __future__ import annotations


def leg_channel_id(leg_id: str) -> str:
    """Uniqueid we ask Asterisk to give the originated channel."""
    return f"{leg_id}-1"


class OriginatedLeg:
    """Mixin for a leg record with a ``leg_id``: the ids of its Originate."""

    leg_id: str

    @property
    def channel_id(self) -> str:
        """Uniqueid we ask Asterisk to give the originated channel."""
        return leg_channel_id(self.leg_id)

    @property
    def other_channel_id(self) -> str:
        """Uniqueid for the ``;2`` half when the dial string is a Local channel."""
        return f"{self.leg_id}-2"

    @property
    def action_id(self) -> str:
        """ActionID of the Originate (and of its OriginateResponse)."""
        return f"{self.leg_id}-orig"
