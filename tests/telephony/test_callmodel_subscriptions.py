"""Model subscribers that declare their event types get those alone, from the same stream."""

from __future__ import annotations

from test_callmodel import events_of

from contactcenter.domain.clock import Clock
from contactcenter.telephony import events as ev
from contactcenter.telephony.callmodel import CallModel
from contactcenter.telephony.callmodel_core import listens_to


class HangupsOnly:
    def __init__(self) -> None:
        self.seen: list = []

    @listens_to(ev.ChannelHungUp, ev.DialEnded)
    def on_event(self, event: object) -> None:
        self.seen.append(event)


def test_a_declared_subscriber_gets_only_its_types_and_the_same_events_as_everyone():
    everything: list = []
    narrow = HangupsOnly()
    model = CallModel("pbx1", [everything.append, narrow.on_event], Clock())
    model.apply_all(events_of("06-load-sample"))
    wanted = [e for e in everything if isinstance(e, (ev.ChannelHungUp, ev.DialEnded))]
    assert wanted and narrow.seen == wanted
    assert len(everything) > len(wanted)


def test_unwanted_events_are_not_built_but_the_model_state_is_the_same():
    narrow = HangupsOnly()
    lean = CallModel("pbx1", [narrow.on_event], Clock())
    full = CallModel("pbx1", [lambda _e: None], Clock())
    for model in (lean, full):
        model.apply_all(events_of("06-load-sample"))
    assert lean.calls_started == full.calls_started > 0
    assert lean.channels_created == full.channels_created
    assert lean.channels.keys() == full.channels.keys()


def test_subscribers_added_later_are_routed_too():
    narrow = HangupsOnly()
    model = CallModel("pbx1", [], Clock())
    model.subscribe(narrow.on_event)
    model.apply_all(events_of("06-load-sample"))
    assert narrow.seen and all(isinstance(e, (ev.ChannelHungUp, ev.DialEnded))
                               for e in narrow.seen)
