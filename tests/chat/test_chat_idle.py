"""Idle timeouts over real sockets, on an accelerated clock (one clock minute is one real
second): a silent visitor is warned, then the chat closes; a visitor who answers the warning
keeps it; a visitor whose sockets are all gone and who does not come back within the grace is
abandoned, one who comes back is not."""

from __future__ import annotations

import asyncio

from chat_floor import T, chat_floor, site_channel

from contactcenter.chat.model import ConversationState
from contactcenter.domain.interaction import InteractionState

SPEED = 60.0


async def closed(floor, conversation_id: str):
    """The conversation once it is closed (waits for it: only catches hangs)."""
    async with asyncio.timeout(T):
        while True:
            record = await floor.chat.record(conversation_id)
            if record.state is ConversationState.CLOSED:
                return record
            await asyncio.sleep(0.05)


async def test_a_silent_visitor_is_warned_then_the_chat_closes(tmp_path):
    channel = site_channel(auto_accept=True, idle_warning_s=120, idle_close_s=120)
    async with chat_floor(tmp_path, speed=SPEED, channels=[channel]) as floor:
        alice = await floor.agent("alice", "a1")
        v = floor.visitor()
        await v.start()
        cid = v.conversation_id
        await v.connect()
        await v.frame(lambda f: f["type"] == "message" and f["from"] == "system")  # joined
        await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": "Hi, how can I help?"})

        warning = await v.frame(lambda f: f["type"] == "message" and f["from"] == "system")
        assert warning["text"] == ("Are you still there? This chat will close in 2 min "
                                   "without a reply.")
        await v.say("still here", client_id="r1")  # the answer stops the countdown
        await v.frame(lambda f: f["type"] == "ack")
        await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": "Great, one moment"})
        # Silence again: a new warning (not the close), then the close.
        again = await v.frame(lambda f: f["type"] == "message" and f["from"] == "system")
        assert again["text"] == warning["text"]
        end = await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        assert end["agent"] == "Alice"
        system = [m["text"] for m in v.messages() if m["from"] == "system"]
        assert system == ["Alice joined the chat.", warning["text"], warning["text"],
                          "The chat was closed after a period of inactivity.",
                          "The chat has ended."]
        record = await closed(floor, cid)
        assert record.closed_by == "idle"
        assert floor.chat.metrics()["counters"] == {"started": 1, "idle_closed": 1}
        await floor.server.routing.flush()
        kinds = [r["kind"] for r in await floor.server.routing.log.events(interaction_id=cid)]
        assert "complete" in kinds


async def test_a_visitor_who_does_not_come_back_is_abandoned(tmp_path):
    channel = site_channel(visitor_gone_s=60)
    async with chat_floor(tmp_path, speed=SPEED, channels=[channel]) as floor:
        # Nobody logged in: both wait in line.
        back, gone = floor.visitor(), floor.visitor()
        await back.start()
        await gone.start()
        await back.connect()
        await back.ws.close()  # a page reload: the socket goes...
        await back.connect(after=0)  # ...and comes back within the grace
        await gone.connect()
        await gone.ws.close()  # this one closed the tab for good

        record = await closed(floor, gone.conversation_id)
        assert record.closed_by == "gone"
        assert floor.server.routing.state_of(gone.conversation_id) is None
        await floor.server.routing.flush()
        kinds = [r["kind"] for r in
                 await floor.server.routing.log.events(interaction_id=gone.conversation_id)]
        assert "abandon" in kinds, kinds
        # The one who came back (gone earlier, so its grace would have ended first) still waits.
        assert (await floor.chat.record(back.conversation_id)).state is ConversationState.WAITING
        assert floor.server.routing.state_of(back.conversation_id) is InteractionState.WAITING
        # What /metrics would read (docs/chat.md): the one waiting, and the one gone.
        assert floor.chat.metrics() == {
            "conversations": [{"channel": "site", "queue": "web", "state": "waiting",
                               "count": 1}],
            "counters": {"started": 2, "visitor_gone": 1}}
