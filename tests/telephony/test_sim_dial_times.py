"""What Dial leaves in ``ANSWEREDTIME``/``DIALEDTIME`` (and their ``_MS``): the *caller's*
up time and age when the Dial ends (app_dial's end_bridge_callback), not the agent's talk.
Every call in the real Asterisk 22 transcripts shows it (the IVR answered each caller long
before its Dial), and the simulator must say the same: a server that took ANSWEREDTIME for the
talk of a call answered while it was away would log the IVR and the queue wait as talk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agi_call import run_call

from contactcenter.sim import Phone
from contactcenter.telephony.agi.session import AgiSession
from contactcenter.telephony.ami.protocol import AmiMessage, AmiParser
from contactcenter.voice.dial_end import dial_ended_at

TRACES = Path("/work/shared/asterisk-traces")
TOLERANCE_MS = 60  # the events' own timestamps are taken a few calls apart
# The simulator runs 25 times faster: a busy machine's few real milliseconds between the
# variable and its event are a hundred on its clock.
SIM_TOLERANCE_MS = 500


def _times(events: list[dict[str, str]]) -> list[dict[str, float]]:
    """Per caller channel that ran a Dial: (Timestamp) when it was created, went Up, dialled,
    was answered, ended the Dial, and the four variables' values."""
    seen: dict[str, dict[str, float]] = {}
    for e in events:
        uid, ts = e.get("Uniqueid"), e.get("Timestamp")
        if not uid or not ts:
            continue
        at, t = float(ts), seen.setdefault(uid, {})
        kind = e.get("Event")
        if kind == "Newchannel":
            t["created"] = at
        elif kind == "Newstate" and e.get("ChannelStateDesc") == "Up":
            t.setdefault("up", at)
        elif kind == "DialBegin":
            t["dial"] = at
        elif kind == "DialEnd" and e.get("DialStatus") == "ANSWER":
            t["answer"] = at
        elif kind == "VarSet" and e.get("Variable", "").endswith("TIME_MS") and e.get("Value"):
            t[e["Variable"]], t["end"] = float(e["Value"]), at
    return [t for t in seen.values() if "ANSWEREDTIME_MS" in t and "answer" in t]


def _check(calls: list[dict[str, float]], tolerance_ms: float = TOLERANCE_MS) -> None:
    assert calls
    for t in calls:
        assert abs(t["ANSWEREDTIME_MS"] - (t["end"] - t["up"]) * 1000) <= tolerance_ms, t
        assert abs(t["DIALEDTIME_MS"] - (t["end"] - t["created"]) * 1000) <= tolerance_ms, t
        assert t["up"] < t["dial"] - 1  # answered by the IVR well before the Dial...
        talk_ms = (t["end"] - t["answer"]) * 1000  # ...so the variables are not the talk
        assert t["ANSWEREDTIME_MS"] - talk_ms > 1000, t


@pytest.mark.parametrize("name", ["02-ivr-dtmf-dial-hangup", "04-originate-chanspy",
                                  "06-load-sample"])
def test_the_real_asterisk_measures_dial_times_from_the_caller_channel(name):
    records = [json.loads(line) for line in
               (TRACES / f"{name}.ami.jsonl").read_text().splitlines() if line.strip()]
    events = [dict(line.split(": ", 1) for line in r["data"].split("\r\n") if ": " in line)
              for r in records if r["dir"] == "in"]
    _check(_times(events))


async def test_the_simulator_measures_them_the_same_way():
    async def handler(s: AgiSession) -> None:
        await s.exec("Wait", "2")  # the IVR's time: the caller is up, nobody is dialled yet
        await s.dial("PJSIP/3001", 20, "g")

    _commands, sim = await run_call(handler, [Phone("PJSIP/3001", answer_after=1.0,
                                                    talk_for=2.0)])
    _check(_times([dict(h) for h in sim.events.history]), SIM_TOLERANCE_MS)


def test_a_status_item_dates_the_dial_end_to_within_a_second():
    # The Status item of trace 05 (asked with Variables), with the DIALEDTIME_MS Dial leaves.
    records = [json.loads(line) for line in
               (TRACES / "05-ami-actions.ami.jsonl").read_text().splitlines() if line.strip()]
    [text] = [r["data"] for r in records if r["dir"] == "in"
              and "Event: Status\r\n" in r["data"] and "Variable: " in r["data"]]
    item = _parse(text.replace("Variable: DIALSTATUS=ANSWER", "Variable: DIALEDTIME_MS=1250"))
    assert item.get("Seconds") == "3"
    assert dial_ended_at(item, 1000.0) == 998.25  # created ~997, the Dial ended 1.25 s later
    assert dial_ended_at(_parse(text), 1000.0) is None  # no DIALEDTIME_MS


def _parse(text: str) -> AmiMessage:
    parser = AmiParser(expect_banner=False)
    parser.receive_data(text.encode())
    msg = parser.next_message()
    assert msg is not None
    return msg
