"""The simulator refuses AMI actions by write class, like manager.c, for our least-privilege user.

The default write classes are the ones dialplan/manager_contactcenter.conf grants (read here with
the doctor's pyst2-based reader), so what passes against the simulator passes against Asterisk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sim_agi_helpers import AgiConn, AgiServer
from sim_conformance import RawAmi

from contactcenter.doctor.asterisk_conf import read_conf
from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Phone, SimConfig, Simulator
from contactcenter.sim.ami_actions import ACTION_CLASSES, may_run
from contactcenter.sim.model import (
    CONTACTCENTER_EVENT_FILTERS,
    CONTACTCENTER_READ,
    CONTACTCENTER_WRITE,
    parse_event_filters,
    parse_write_classes,
)

REPO = Path(__file__).resolve().parents[2]


def test_default_write_classes_are_those_of_manager_contactcenter_conf():
    conf = read_conf(REPO / "dialplan/manager_contactcenter.conf")
    write = conf.get("contactcenter", "write")
    assert write is not None
    assert parse_write_classes(write.value) == parse_write_classes(CONTACTCENTER_WRITE)
    assert parse_write_classes(SimConfig().default_write) == parse_write_classes(write.value)
    assert "system" not in parse_write_classes(write.value)


def test_default_read_classes_are_those_of_manager_contactcenter_conf():
    conf = read_conf(REPO / "dialplan/manager_contactcenter.conf")
    read = conf.get("contactcenter", "read")
    assert read is not None
    assert parse_write_classes(read.value) == parse_write_classes(CONTACTCENTER_READ)
    assert SimConfig().read_classes("anyone") == parse_write_classes(read.value)
    with pytest.raises(ValueError, match="unknown AMI class"):
        SimConfig(ami_read={"cc": "call,dialpaln"})


def test_default_event_filters_are_those_of_manager_contactcenter_conf():
    conf = read_conf(REPO / "dialplan/manager_contactcenter.conf")
    lines = [f"{i.name} = {i.value}" for i in conf.section("contactcenter")
             if i.name.startswith("eventfilter")]
    assert parse_event_filters(lines) == parse_event_filters(CONTACTCENTER_EVENT_FILTERS)
    assert "DeviceStateChange" in parse_event_filters(lines).exclude
    # What the simulator cannot simulate is refused, not ignored.
    for bad in ("eventfilter = !Event: Newexten",
                "eventfilter(action(exclude),header(Channel),method(starts_with)) = Local/",
                "eventfilter(action(drop),name(Hangup)) ="):
        with pytest.raises(ValueError, match="eventfilter"):
            parse_event_filters([bad])
    only = parse_event_filters(["eventfilter(action(include),name(Hangup)) =",
                                "eventfilter(name(Newchannel)) ="])
    assert only.passes("Hangup") and only.passes("Newchannel") and not only.passes("Newstate")


async def _events_until_hangup(ami: RawAmi, channel: str) -> list[str]:
    names: list[str] = []
    while True:
        msg = await ami.next(10)
        assert msg is not None
        name = msg.get("Event")
        if name is not None:
            names.append(name)
            if name == "Hangup" and msg.get("Channel") == channel:
                return names


async def test_sessions_get_only_the_events_of_their_read_classes():
    # manager.c process_events: an event goes to a session only when all of its classes are in
    # the session's read classes. Our user (call,dtmf) gets no VarSet/Newexten (dialplan) nor
    # AGIExec* (agi); a user reading "all" gets every one of them.
    async def ivr(c: AgiConn):
        await c.cmd("SET VARIABLE CC_SEEN 1")
        await c.cmd("HANGUP")

    async with AgiServer(ivr) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=20), agi_url=agi.url(),
                                  ami_users={"cc": "ccsecret", "root": "rootsecret"},
                                  ami_read={"root": "all"}, ami_event_filters={"root": ()}))
        await sim.start()
        sessions: dict[str, RawAmi] = {}
        try:
            for user in ("cc", "root"):
                ami = sessions[user] = await RawAmi.connect(sim.ami_port)
                await ami.banner()
                login = await _ask(ami, "l", f"Action: Login\r\nUsername: {user}\r\n"
                                   f"Secret: {user}secret\r\n")
                assert login["Response"] == "Success"
            call = await sim.place_call(CallerScript(hangup_after=None))
            await asyncio.wait_for(call.ended(), 10)
            seen = {user: await _events_until_hangup(ami, call.agi_channel)
                    for user, ami in sessions.items()}
        finally:
            for ami in sessions.values():
                ami.close()
            await sim.stop()
    for name in ("VarSet", "Newexten", "AGIExecStart", "AGIExecEnd",
                  "HangupRequest", "DeviceStateChange"):  # the last two: our eventfilters
        assert name in seen["root"] and name not in seen["cc"], name
    for name in ("Newchannel", "Newstate", "Hangup"):
        assert name in seen["cc"], name


def test_every_simulated_action_has_its_asterisk_class():
    sim = Simulator(SimConfig())
    missing = sorted(set(sim.actions.handlers) - set(ACTION_CLASSES))
    assert missing == [], f"add these to ACTION_CLASSES: {missing}"
    least = parse_write_classes(CONTACTCENTER_WRITE)
    assert not may_run("MixMonitor", least) and not may_run("Command", least)
    assert may_run("MixMonitor", frozenset({"system"})) and may_run("Command", frozenset({"all"}))
    assert not may_run("NoSuchAction", frozenset({"all"}))


def test_unknown_class_names_are_refused_in_the_config():
    with pytest.raises(ValueError, match="unknown AMI class"):
        SimConfig(ami_write={"cc": "call,sytem"})
    with pytest.raises(ValueError, match="unknown AMI class"):
        SimConfig(default_write="everything")


async def _ask(ami: RawAmi, action_id: str, text: str):
    ami.send_raw(text + f"ActionID: {action_id}\r\n\r\n")
    while True:
        msg = await ami.next_reply()
        assert msg is not None
        if msg.get("Response") is not None and msg.get("ActionID") == action_id:
            return msg


async def test_least_privilege_user_is_refused_mixmonitor_and_command_and_allowed_the_rest(tmp_path):
    async def ivr(c: AgiConn):
        await c.cmd("EXEC MixMonitor calls/perm.wav,b")  # in the call: needs no AMI class
        return await c.cmd("EXEC Dial PJSIP/1001,60", timeout=60)

    async with AgiServer(ivr) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=20), agi_url=agi.url(), recordings_dir=tmp_path,
                                  ami_users={"cc": "ccsecret", "root": "rootsecret"},
                                  ami_write={"root": "all"}))
        sim.add_phone(Phone("PJSIP/1001", answer_after=0.0, talk_for=None))
        await sim.start()
        ami = root = None
        try:
            call = await sim.place_call(CallerScript(hangup_after=None))
            for _ in range(500):
                if sim.pbx.bridges:
                    break
                await asyncio.sleep(0.02)
            caller = call.agi_channel
            ami = await RawAmi.connect(sim.ami_port)
            await ami.banner()
            assert (await _ask(ami, "l", "Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\n"))[
                "Message"] == "Authentication accepted"

            denied = {
                "mixmonitor": f"Action: MixMonitor\r\nChannel: {caller}\r\nFile: x.wav\r\nOptions: b\r\n",
                "command": "Action: Command\r\nCommand: core show version\r\n",
            }
            for aid, text in denied.items():
                msg = await _ask(ami, aid, text)
                # manager.c: astman_send_error -> Response, ActionID (echoed), Message.
                assert [k for k, _ in msg.headers] == ["Response", "ActionID", "Message"]
                assert (msg["Response"], msg["Message"]) == ("Error", "Permission denied")
            assert not (tmp_path / "x.wav").exists()

            forbidden = await _ask(ami, "o-mm", "Action: Originate\r\nChannel: Local/2001@sim-agent\r\n"
                                   "Application: MixMonitor\r\nData: y.wav\r\nAsync: true\r\n")
            assert forbidden["Message"] == "Originate Access Forbidden: app or data blacklisted"
            shell = await _ask(ami, "g-sh", f"Action: Getvar\r\nChannel: {caller}\r\n"
                               "Variable: SHELL(id)\r\n")
            assert shell["Message"] == "GetVar Access Forbidden: Variable"

            allowed = {  # what the server sends, and the rest of the call/reporting classes
                "ping": "Action: Ping\r\n",
                "csc": "Action: CoreShowChannels\r\n",
                "bl": "Action: BridgeList\r\n",
                "status": f"Action: Status\r\nChannel: {caller}\r\n",
                "setvar": f"Action: Setvar\r\nChannel: {caller}\r\nVariable: CC_X\r\nValue: 1\r\n",
                "getvar": f"Action: Getvar\r\nChannel: {caller}\r\nVariable: CC_X\r\n",
                "mute": f"Action: MixMonitorMute\r\nChannel: {caller}\r\nDirection: both\r\nState: 1\r\n",
                "unmute": f"Action: MixMonitorMute\r\nChannel: {caller}\r\nDirection: both\r\nState: 0\r\n",
                "dtmf": f"Action: PlayDTMF\r\nChannel: {caller}\r\nDigit: 1\r\n",
                "spy": "Action: Originate\r\nChannel: Local/2001@sim-agent\r\nApplication: ChanSpy\r\n"
                       f"Data: {caller},qEu\r\nAsync: true\r\n",
                "stop": f"Action: StopMixMonitor\r\nChannel: {caller}\r\n",
            }
            for aid, text in allowed.items():
                msg = await _ask(ami, aid, text)
                assert msg["Response"] == "Success", (aid, msg.headers)
            assert (tmp_path / "calls/perm.wav").exists()  # StopMixMonitor closed the file

            # The same refused action works for a user granted "all" (the transcripts' user).
            root = await RawAmi.connect(sim.ami_port)
            await root.banner()
            await _ask(root, "l", "Action: Login\r\nUsername: root\r\nSecret: rootsecret\r\n")
            ok = await _ask(root, "mm", f"Action: MixMonitor\r\nChannel: {caller}\r\nFile: z.wav\r\n")
            assert ok["Response"] == "Success"
            hangup = await _ask(ami, "h", f"Action: Hangup\r\nChannel: {caller}\r\n")
            assert hangup["Response"] == "Success"
            await asyncio.wait_for(call.ended(), 10)
            assert (tmp_path / "z.wav").exists()
        finally:
            for conn in (ami, root):
                if conn is not None:
                    conn.close()
            await sim.stop()
