"""No part of the server may listen to an AMI event that our manager conf drops at the PBX."""

from __future__ import annotations

from pathlib import Path

from contactcenter.doctor.asterisk_conf import read_conf
from contactcenter.monitoring.service import MonitorService
from contactcenter.recording.service import RecordingService
from contactcenter.sim.model import parse_event_filters
from contactcenter.telephony.ami.event_filters import UNUSED_EVENTS, exclude_lines
from contactcenter.telephony.callmodel import CallModel


def test_filtered_events_have_no_listener():
    handled = set(CallModel(pbx="x")._event_handlers())
    assert handled, "the call model follows AMI events"
    for listened in (handled, MonitorService.AMI_EVENTS, RecordingService.AMI_EVENTS):
        assert not set(listened) & set(UNUSED_EVENTS), sorted(set(listened) & set(UNUSED_EVENTS))


def test_the_shipped_manager_conf_drops_exactly_these_events():
    conf = read_conf(Path(__file__).resolve().parents[2] / "dialplan/manager_contactcenter.conf")
    lines = [f"{i.name} = {i.value}" for i in conf.section("contactcenter")
             if i.name.startswith("eventfilter")]
    assert parse_event_filters(lines) == parse_event_filters(exclude_lines())
