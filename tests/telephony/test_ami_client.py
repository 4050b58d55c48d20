"""AmiClient and PbxLink over real localhost sockets, against a small scripted Asterisk.

The scripted server below plays Asterisk's side of the wire with the exact texts of the
2026-11-23 transcripts (banner, Login replies, Ping, list actions, errors). It exists so the
client can be tested before and independently of the full simulator (test_ami_client_sim.py).
"""

from __future__ import annotations

import asyncio
import collections
import itertools

import pytest

from contactcenter.domain.clock import Clock
from contactcenter.telephony import events as ev
from contactcenter.telephony.agi.api import UnsafeValueError
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.client import (
    AmiActionError,
    AmiClient,
    AmiEndpoint,
)
from contactcenter.telephony.ami.link import AmiPool, PbxLink
from contactcenter.telephony.ami.protocol import AmiParser, serialize

pytestmark = pytest.mark.timeout(60)


class ScriptedAsterisk:
    """Just enough Asterisk for client tests: sessions, Login, Ping, lists, channel events."""

    def __init__(self, secret: str = "ccsecret") -> None:
        self.secret = secret
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.logins = 0
        self.silent = False
        self.channels: dict[str, dict[str, str]] = {}
        self._seq = itertools.count(1)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.close_all()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def close_all(self) -> None:
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()

    def cut(self, mid_message: bool = True) -> None:
        """Close every session, after writing half an event."""
        for w in self.writers:
            if mid_message:
                w.write(b"Event: Newstate\r\nPrivilege: call,all\r\nChannel: Local/1")
        self.close_all()

    def broadcast(self, *pairs: tuple[str, str]) -> None:
        data = serialize(pairs)
        for w in self.writers:
            if not self.silent:
                w.write(data)

    def new_call(self) -> str:
        """One channel, one call; returns its uniqueid."""
        n = next(self._seq)
        uid = f"1795457000.{n}"
        chan = {"Channel": f"PJSIP/caller-{n:08x}", "Uniqueid": uid, "Linkedid": uid,
                "ChannelState": "6", "ChannelStateDesc": "Up", "CallerIDNum": f"555{n:04d}"}
        self.channels[uid] = chan
        self.broadcast(("Event", "Newchannel"), ("Privilege", "call,all"), *chan.items())
        return uid

    def hangup(self, uid: str, silently: bool = False) -> None:
        chan = self.channels.pop(uid)
        if not silently:
            self.broadcast(("Event", "Hangup"), ("Privilege", "call,all"), *chan.items(),
                           ("Cause", "16"), ("Cause-txt", "Normal Clearing"))

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        self.writers.append(writer)
        parser = AmiParser(expect_banner=False)
        authed = False
        try:
            while data := await reader.read(65536):
                parser.receive_data(data)
                while (msg := parser.next_message()) is not None:
                    if self.silent:
                        continue  # half-open: read and drop, answer nothing
                    authed = self._answer(writer, msg, authed)
        except (ConnectionError, OSError):
            pass
        finally:
            if writer in self.writers:
                self.writers.remove(writer)
            writer.close()

    def _answer(self, writer: asyncio.StreamWriter, msg, authed: bool) -> bool:
        aid = [("ActionID", msg.action_id)] if msg.action_id else []
        action = (msg.get("Action") or "").lower()

        def reply(*pairs):
            writer.write(serialize([pairs[0], *aid, *pairs[1:]]))

        if action == "login":
            if msg.get("Secret") != self.secret:
                reply(("Response", "Error"), ("Message", "Authentication failed"))
                writer.close()
                return False
            self.logins += 1
            reply(("Response", "Success"), ("Message", "Authentication accepted"))
            writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 223\r\n"
                         b"LastReload: 223\r\nStatus: Fully Booted\r\n\r\n")
            return True
        if not authed:
            reply(("Response", "Error"), ("Message", "Permission denied"))
            return False
        if action == "ping":
            reply(("Response", "Success"), ("Ping", "Pong"), ("Timestamp", "1795457073.495686"))
        elif action == "coreshowchannels":
            reply(("Response", "Success"), ("EventList", "start"),
                  ("Message", "Channels will follow"))
            for chan in self.channels.values():
                writer.write(serialize([("Event", "CoreShowChannel"), *aid, *chan.items(),
                                        ("BridgeId", "")]))
            writer.write(serialize([("Event", "CoreShowChannelsComplete"), *aid,
                                    ("EventList", "Complete"),
                                    ("ListItems", str(len(self.channels)))]))
        elif action == "bridgelist":
            reply(("Response", "Success"), ("EventList", "start"),
                  ("Message", "Bridge listing will follow"))
            writer.write(serialize([("Event", "BridgeListComplete"), *aid,
                                    ("EventList", "Complete"), ("ListItems", "0")]))
        elif action == "logoff":
            reply(("Response", "Goodbye"), ("Message", "Thanks for all the fish."))
            writer.close()
        elif action == "noreply":
            pass
        elif action == "hangup" and not msg.get("Channel"):
            reply(("Response", "Error"), ("Message", "No channel specified"))
        else:
            text = (f"Invalid/unknown command: {msg.action}. "
                    "Use Action: ListCommands to show available commands.")
            reply(("Response", "Error"), ("Message", text))
        return True


@pytest.fixture
async def pbx():
    server = ScriptedAsterisk()
    await server.start()
    yield server
    await server.stop()


def endpoint(server: ScriptedAsterisk, name: str = "pbx1", **kw) -> AmiEndpoint:
    return AmiEndpoint(name=name, host="127.0.0.1", port=server.port, username="cc",
                       secret=kw.pop("secret", "ccsecret"), **kw)


async def wait_for(predicate, timeout: float = 10.0) -> None:
    """Poll until ``predicate()`` is true; a generous timeout only catches hangs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def test_login_ping_correlation_and_list(pbx):
    got: list = []
    client = AmiClient(endpoint(pbx), clock=Clock(), on_event=lambda n, m: got.append((n, m)))
    await client.start()
    await client.wait_connected(timeout=5.0)
    assert client.banner == "Asterisk Call Manager/11.0.0"
    assert client.link.state == "connected" and client.link.last_error is None
    replies = await asyncio.gather(*(client.send_action(actions.Ping()) for _ in range(25)))
    ids = [r.action_id for r in replies]
    assert len(set(ids)) == 25 and all(r.get("Ping") == "Pong" for r in replies)
    mine = await client.send_action(actions.Ping(action_id="my-own-id"))
    assert mine.action_id == "my-own-id"
    uids = [pbx.new_call() for _ in range(3)]
    items = await client.send_list_action(actions.CoreShowChannels())
    assert sorted(m.get("Uniqueid") for m in items) == sorted(uids)
    assert all(m.event == "CoreShowChannel" for m in items)
    await wait_for(lambda: sum(m.event == "Newchannel" for _, m in got) == 3)
    assert {n for n, _ in got} == {"pbx1"}
    assert not any(m.event == "CoreShowChannel" for _, m in got)  # list items are not events
    with pytest.raises(AmiActionError) as err:
        await client.send_action([("Action", "Hangup")])
    assert err.value.message == "No channel specified"
    with pytest.raises(TimeoutError):
        await client.send_action([("Action", "NoReply")], timeout=0.3)
    with pytest.raises(UnsafeValueError):
        await client.send_action(actions.Ping() + [("X", "a\r\nAction: Logoff")])
    assert (await client.send_action(actions.Ping())).get("Ping") == "Pong"  # link still fine
    await client.stop()
    assert client.link.state == "down"
    with pytest.raises(ConnectionError):
        await client.send_action(actions.Ping())


async def test_bad_secret_is_reported_and_retried(pbx):
    states: list = []
    client = AmiClient(endpoint(pbx, secret="wrong", first_retry=0.05), clock=Clock(),
                       on_link_state=states.append)
    await client.start()
    await wait_for(lambda: sum(s.state == "down" for s in states) >= 2)
    assert "Authentication failed" in (client.link.last_error or "")
    assert pbx.logins == 0
    await client.stop()


async def test_cut_mid_message_reconnects_and_resyncs_without_lost_or_ghost_calls(pbx):
    seen: list = []
    link = PbxLink(endpoint(pbx, first_retry=0.05), clock=Clock(), subscribers=[seen.append])
    await link.start()
    await link.wait_ready(timeout=5.0)
    calls = [pbx.new_call() for _ in range(4)]
    await wait_for(lambda: len(link.model.calls) == 4)
    # The link drops mid-event; while it is down one call ends and another starts.
    resyncs = link.resyncs
    pbx.cut(mid_message=True)
    await wait_for(lambda: link.link.state != "connected")
    pbx.hangup(calls[0], silently=True)
    pbx.channels.pop(calls[1])  # ended unseen too
    fresh = pbx.new_call()  # its Newchannel is lost: nobody is connected
    await wait_for(lambda: link.resyncs > resyncs)
    assert set(link.model.channels) == set(pbx.channels) == {calls[2], calls[3], fresh}
    assert link.link.reconnects == 1
    # Now the PBX keeps going: the rest end normally.
    for uid in list(pbx.channels):
        pbx.hangup(uid)
    await wait_for(lambda: not link.model.calls)
    started = collections.Counter(e.linkedid for e in seen if isinstance(e, ev.CallStarted))
    ended = collections.Counter(e.linkedid for e in seen if isinstance(e, ev.CallEnded))
    assert started == ended == collections.Counter({u: 1 for u in calls + [fresh]})
    resync_ended = {e.linkedid for e in seen if isinstance(e, ev.CallEnded) and e.resync}
    assert resync_ended == {calls[0], calls[1]}
    states = [e.state for e in seen if isinstance(e, ev.LinkStateChanged)]
    assert states[:2] == ["connecting", "connected"] and "down" in states
    await link.stop()


async def test_silent_half_open_link_is_detected_and_resynced(pbx):
    clock = Clock(speed=10.0)  # ping every 3 s and dead after 8 s of clock time: 0.8 s real
    link = PbxLink(endpoint(pbx, first_retry=0.1), clock=clock)
    await link.start()
    await link.wait_ready(timeout=5.0)
    uid = pbx.new_call()
    await wait_for(lambda: uid in link.model.channels)
    pbx.silent = True  # sockets stay open, nothing is answered
    await wait_for(lambda: link.link.state != "connected", timeout=15.0)
    assert "half-open" in (link.link.last_error or "")
    pbx.hangup(uid, silently=True)
    pbx.close_all()  # the dead session is gone; new ones are answered again
    pbx.silent = False
    await wait_for(lambda: link.link.state == "connected" and link.resyncs >= 2, timeout=15.0)
    await wait_for(lambda: uid not in link.model.channels)
    await link.stop()


async def test_pool_of_two_pbxs(pbx):
    other = ScriptedAsterisk()
    await other.start()
    try:
        seen: list = []
        pool = AmiPool([
            PbxLink(endpoint(pbx, "pbx-a"), subscribers=[seen.append]),
            PbxLink(endpoint(other, "pbx-b"), subscribers=[seen.append]),
        ])
        await pool.start()
        await asyncio.gather(*(link.wait_ready(5.0) for link in pool))
        pbx.new_call()
        other.new_call()
        other.new_call()
        await wait_for(lambda: len(pool["pbx-a"].model.calls) == 1
                       and len(pool["pbx-b"].model.calls) == 2)
        assert [s.state for s in pool.health()] == ["connected", "connected"]
        assert {e.pbx for e in seen if isinstance(e, ev.CallStarted)} == {"pbx-a", "pbx-b"}
        assert pool.preferred() is pool["pbx-a"]
        await pool["pbx-a"].stop()  # the first PBX goes away: work for any PBX goes to the other
        assert pool.preferred() is pool["pbx-b"]
        await pool.stop()
        assert pool.preferred() is pool["pbx-a"]  # none connected: the first, as before
        assert [s.state for s in pool.health()] == ["down", "down"]
    finally:
        await other.stop()


async def test_a_burst_of_events_is_dispatched_in_order_and_lets_other_work_run(pbx):
    # 300 events in one write arrive in one or a few reads; the client hands them out in
    # order, DISPATCH_PER_TURN per event-loop turn, so a callback that became ready meanwhile
    # (a FastAGI reply, say) runs before the burst is through.
    from contactcenter.telephony.ami.client import DISPATCH_PER_TURN

    got: list[str] = []
    interleaved: list[int] = []
    loop = asyncio.get_running_loop()

    def on_event(_name, msg) -> None:
        if msg.event != "UserEvent":
            return
        got.append(msg.get("Seq") or "")
        if len(got) == 1:  # ready now, behind the rest of this read
            loop.call_soon(lambda: interleaved.append(len(got)))

    client = AmiClient(endpoint(pbx), clock=Clock(), on_event=on_event)
    await client.start()
    await client.wait_connected(timeout=5.0)
    burst = b"".join(serialize([("Event", "UserEvent"), ("Privilege", "user,all"),
                                ("Seq", str(i))]) for i in range(300))
    for w in pbx.writers:
        w.write(burst)
    await wait_for(lambda: len(got) == 300)
    assert got == [str(i) for i in range(300)]
    assert interleaved and interleaved[0] < 300
    assert interleaved[0] <= 2 * DISPATCH_PER_TURN
    # Action replies interleaved with a burst are still matched to their actions.
    for w in pbx.writers:
        w.write(burst)
    reply = await client.send_action(actions.Ping())
    assert reply.get("Ping") == "Pong"
    await wait_for(lambda: len(got) == 600)
    assert got[300:] == [str(i) for i in range(300)]
    await client.stop()
