"""ChanSpy arguments: exact channel only, the right options per mode, nothing that splits args."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.monitoring.chanspy import BadChannelError, SpyMode, chanspy_data, spy_options


def test_mode_options_keep_exact_match_and_exit_on_hangup():
    assert spy_options(SpyMode.LISTEN) == "qEu"
    assert spy_options(SpyMode.WHISPER) == "qwEu"
    assert spy_options(SpyMode.BARGE) == "qBEu"
    assert chanspy_data("PJSIP/1001-0000001a", SpyMode.WHISPER) == "PJSIP/1001-0000001a,qwEu"
    assert chanspy_data("Local/1001@agents-00000025;1", "listen") == "Local/1001@agents-00000025;1,qEu"


@pytest.mark.parametrize("bad", [
    "PJSIP/1001",  # a device prefix: would also match PJSIP/10011-...
    "PJSIP/",
    "PJSIP/1001-0000001a,qB",  # smuggled options
    "PJSIP/1001-0000001a\r\nAction: Hangup",
    "PJSIP/1001-0000001a\n",
    "PJSIP/1001-000000zz",
    "",
    "/1001-0000001a",
    "PJSIP/1001|x-0000001a",
])
def test_incomplete_or_unsafe_names_refused(bad):
    with pytest.raises(BadChannelError):
        chanspy_data(bad, SpyMode.LISTEN)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_accepted_name_is_one_argument_without_wire_breakers(name):
    try:
        data = chanspy_data(name, SpyMode.BARGE)
    except BadChannelError:
        return
    assert data.count(",") == 1 and not any(c in data for c in "\r\n\x00")
    assert data.split(",")[0] == name
