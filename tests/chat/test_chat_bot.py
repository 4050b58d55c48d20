"""The chat bot (``chat/bot.py``) over real sockets: the real server on a real database, the
shipped bot flow (``ivr_flows/help_bot.yaml``, pointed at the test floor's queue), articles
written through the knowledge base's service, the visitor's widget protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chat_floor import ChatFloor, Visitor, chat_floor, site_channel
from test_chat_faq import KB, write_articles

from contactcenter.chat.bot import outcomes
from contactcenter.domain.interaction import InteractionState

REPO = Path(__file__).resolve().parents[2]
HANDOVER = "Connecting you to a person; they will see this conversation."
GREETING = ("Hi Vera! I am the help bot. What is it about? (Type agent at any time to reach "
            "a person.)")


def bot_floor(tmp_path: Path, **kwargs: Any) -> Any:
    """A chat floor whose channel runs the shipped bot flow (queue ``web``, no holiday)."""
    (tmp_path / "flows").mkdir(exist_ok=True)
    text = (REPO / "ivr_flows/help_bot.yaml").read_text()
    text = text.replace("queue: support", "queue: web").replace('["2026-12-25"]', "[]")
    (tmp_path / "flows" / "help_bot.yaml").write_text(text)
    return chat_floor(tmp_path, channels=[site_channel(bot="help_bot")], kb=KB, **kwargs)


def bot_said(text: str) -> Any:
    return lambda f: f["type"] == "message" and f["from"] == "bot" and f["text"] == text


async def start_with_bot(floor: ChatFloor) -> Visitor:
    visitor = floor.visitor()
    status, body = await visitor.start()
    assert status == 201, body
    welcome = await visitor.connect()
    assert welcome["state"] == "bot"
    await visitor.frame(bot_said(GREETING))
    buttons = await visitor.frame(lambda f: f["type"] == "bot")
    assert buttons["buttons"] == ["A question", "My order", "Talk to a person"]
    return visitor


async def test_an_article_that_helped_closes_the_chat_as_a_deflection(tmp_path):
    async with bot_floor(tmp_path) as floor:
        await write_articles(floor)
        visitor = await start_with_bot(floor)
        await visitor.say("A question")
        await visitor.frame(bot_said("What is your question?"))
        await visitor.say("How do I reset my password?")
        offer = await visitor.frame(lambda f: f["type"] == "bot" and f["articles"])
        assert offer["articles"][0]["title"] == "Reset your password"
        assert offer["articles"][0]["url"] == "/help/en/reset-your-password"
        assert len(offer["articles"]) <= 3
        await visitor.frame(lambda f: f["type"] == "bot" and f["buttons"] == ["Yes", "No"])
        await visitor.say("yes")
        await visitor.frame(bot_said("Glad I could help. Goodbye!"))
        await visitor.frame(lambda f: f["type"] == "state" and f["state"] == "closed")

        record = await floor.chat.record(visitor.conversation_id)
        assert (record.state.value, record.closed_by) == ("closed", "bot")
        assert (record.bot_flow, record.bot_outcome) == ("help_bot", "deflected")
        assert floor.server.routing.state_of(visitor.conversation_id) is None  # never queued
        (stats,) = await outcomes(floor.server.db)
        assert (stats["flow"], stats["deflected"], stats["handover"]) == ("help_bot", 1, 0)
        assert stats["deflection_rate"] == 1.0
        sup = await floor.agent("sup", None, login=False, role="supervisor")
        assert (await sup.get("/api/chat/bots"))["flows"] == [stats]


async def test_agent_hands_over_with_the_transcript_and_the_original_arrival_time(tmp_path):
    async with bot_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        await alice.listen()
        visitor = await start_with_bot(floor)
        iid = visitor.conversation_id
        created = (await floor.chat.record(iid)).created_at
        await visitor.say("Agent")
        await visitor.frame(lambda f: f["type"] == "state" and f["state"] in ("waiting",
                                                                               "offered"))
        offer = await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
        assert offer["conversation"]["id"] == iid
        await alice.post(f"/api/chat/conversations/{iid}/accept", {})
        await visitor.active()

        transcript = (await alice.get(f"/api/chat/conversations/{iid}/messages"))["messages"]
        said = [(m["from"], m["text"]) for m in transcript]
        assert said[:3] == [("bot", GREETING), ("visitor", "Agent"), ("system", HANDOVER)]
        live = floor.server.routing.engine.live[iid]
        assert live.arrived_at == created  # the wait counts from the start, bot included
        assert live.queue_entered_at > created
        record = await floor.chat.record(iid)
        assert (record.bot_outcome, record.state.value) == ("handover", "active")
        (stats,) = await outcomes(floor.server.db)
        assert (stats["handover"], stats["deflected"]) == (1, 0)
        await alice.close()


async def test_a_restart_while_the_bot_talks_hands_the_chat_over(tmp_path):
    async with bot_floor(tmp_path) as floor:
        visitor = await start_with_bot(floor)
        iid = visitor.conversation_id
        created = (await floor.chat.record(iid)).created_at
        await visitor.ws.close()
        await floor.restart()
        assert floor.server.routing.state_of(iid) is InteractionState.WAITING
        assert floor.server.routing.engine.live[iid].arrived_at == created
        record = await floor.chat.record(iid)
        assert (record.state.value, record.bot_outcome) == ("waiting", "handover")
        welcome = await visitor.connect()
        assert welcome["state"] == "waiting"
        await visitor.frame(lambda f: f["type"] == "message" and f["from"] == "system")
        texts = [m["text"] for m in visitor.messages()]
        assert texts == [GREETING, HANDOVER]


async def test_a_visitor_who_leaves_the_bot_abandons_and_nothing_is_queued(tmp_path):
    async with bot_floor(tmp_path) as floor:
        visitor = await start_with_bot(floor)
        await visitor.ws.send_json({"type": "close"})
        await visitor.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        record = await floor.chat.record(visitor.conversation_id)
        assert (record.bot_outcome, record.closed_by) == ("abandoned", "visitor")
        assert floor.server.routing.state_of(visitor.conversation_id) is None
        assert floor.chat.metrics()["counters"]["bot_abandoned"] == 1
