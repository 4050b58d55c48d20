"""Business hours and "leave a message", over real sockets: outside the channel's hours (the
IVR's calendar evaluation) or with nobody logged in, the widget's configuration says so, a
start is refused as offline, and a message left is stored and listed for the queue's agents and
for supervisors, who mark it done."""

from __future__ import annotations

import datetime as dt

import pytest
from chat_floor import SITE, chat_floor, site_channel

from contactcenter.chat.offline import Availability
from contactcenter.chat.settings import ChatHours
from contactcenter.ivr.hours import local_time

ALWAYS_OPEN = {"mon-sun": "00:00-24:00"}
NEVER_OPEN = {"mon-sun": "closed"}


async def config(visitor) -> dict:
    async with visitor.http.get(f"{visitor.base}/config") as r:
        assert r.status == 200
        return await r.json()


async def leave(visitor, message: str, answers: dict | None = None) -> tuple[int, dict]:
    body = {"answers": answers if answers is not None else
            {"name": "Olga", "email": "olga@example.com"}, "message": message,
            "page": "https://shop.example/contact"}
    async with visitor.http.post(f"{visitor.base}/messages", json=body) as r:
        return r.status, await r.json()


async def test_outside_hours_a_start_is_refused_and_a_message_left_reaches_agents(tmp_path):
    channel = site_channel(hours=ChatHours(timezone="Europe/Paris", weekly=NEVER_OPEN))
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        alice = await floor.agent("alice", "a1")  # logged in: the hours alone say offline
        visitor = floor.visitor()
        cfg = await config(visitor)
        assert (cfg["available"], cfg["offline_reason"]) == (False, "closed")
        assert cfg["strings"]["offline_title"] == "Leave us a message"

        status, body = await visitor.start()
        assert (status, body["offline"], body["reason"]) == (409, True, "closed")
        assert await floor.chat.store.open_conversations() == []

        # The form's rules hold for a message too; the text is required.
        status, body = await leave(visitor, "Hello", {"name": "Olga", "email": "nope"})
        assert status == 422 and body["errors"] == {"email": "Please enter a valid email"}
        status, body = await leave(visitor, "   ")
        assert status == 422 and body["errors"] == {"message": "the message is empty"}

        await alice.listen()
        status, body = await leave(visitor, "Please call me back <b>tomorrow</b>")
        assert status == 201
        event = await alice.next_event(lambda e: e["type"] == "chat-offline-message")
        assert event["message"]["id"] == body["id"]

        listed = (await alice.get("/api/chat/offline-messages"))["messages"]
        assert [(m["visitor_name"], m["text"], m["reason"], m["queue"], m["page"])
                for m in listed] == [("Olga", "Please call me back <b>tomorrow</b>", "closed",
                                      "web", "https://shop.example/contact")]
        assert [a["value"] for a in listed[0]["answers"]] == ["Olga", "olga@example.com"]

        await alice.post(f"/api/chat/offline-messages/{body['id']}/done", {})
        assert (await alice.get("/api/chat/offline-messages"))["messages"] == []
        done = (await alice.get("/api/chat/offline-messages?done=1"))["messages"]
        assert [(m["id"], m["done_by"]) for m in done] == [(body["id"], "alice")]
        again = await alice.post(f"/api/chat/offline-messages/{body['id']}/done", {}, expect=409)
        assert again["error"] == "that message is already done"
        audit = await floor.server.audit.list(action_prefix="chat.")
        assert [(a.action, a.outcome) for a in audit
                if a.action == "chat.message.done"] in ([("chat.message.done", "ok"),
                                                         ("chat.message.done", "refused")],
                                                        [("chat.message.done", "refused"),
                                                         ("chat.message.done", "ok")])


async def test_messages_are_listed_for_their_queue_s_agents_and_for_supervisors(tmp_path):
    channel = site_channel(hours=ChatHours(weekly=NEVER_OPEN))
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        bob = await floor.agent("bob", "a2")  # in queue web only
        boss = await floor.agent("boss", "a1", login=False, role="supervisor")
        visitor = floor.visitor()
        status, web_msg = await leave(visitor, "About my order")
        assert status == 201
        status, billing_msg = await leave(visitor, "About my invoice", {
            "name": "Olga", "email": "olga@example.com", "topic": "billing"})
        assert status == 201  # the rules pick the queue: billing, where Bob is not

        assert [m["id"] for m in (await bob.get("/api/chat/offline-messages"))["messages"]] \
            == [web_msg["id"]]
        await bob.post(f"/api/chat/offline-messages/{billing_msg['id']}/done", {}, expect=404)
        everything = (await boss.get("/api/chat/offline-messages"))["messages"]
        assert {m["id"]: m["queue"] for m in everything} == {web_msg["id"]: "web",
                                                              billing_msg["id"]: "billing"}


async def test_within_hours_chat_is_live_and_a_holiday_closes_it(tmp_path):
    async with chat_floor(tmp_path, channels=[
            site_channel(hours=ChatHours(timezone="Asia/Tokyo", weekly=ALWAYS_OPEN))]) as floor:
        await floor.agent("alice", "a1")
        visitor = floor.visitor()
        assert (await config(visitor))["available"] is True
        assert (await visitor.start())[0] == 201

    # Today and tomorrow are holidays (the test may run across midnight in Tokyo).
    today = local_time(floor.clock.time(), "Asia/Tokyo").date()
    days = [today.isoformat(), (today + dt.timedelta(days=1)).isoformat()]
    (tmp_path / "h").mkdir()
    async with chat_floor(tmp_path / "h", channels=[site_channel(hours=ChatHours(
            timezone="Asia/Tokyo", weekly=ALWAYS_OPEN, holidays=days))]) as floor:
        cfg = await config(floor.visitor())
        assert (cfg["available"], cfg["offline_reason"]) == (False, "holiday")


async def test_with_nobody_logged_in_the_widget_offers_a_message(tmp_path):
    channel = site_channel(offline_when_nobody_logged_in=True)
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        visitor = floor.visitor()
        cfg = await config(visitor)
        assert (cfg["available"], cfg["offline_reason"]) == (False, "nobody")
        assert (await visitor.start())[0] == 409
        await floor.agent("alice", "a1")
        assert (await config(visitor))["available"] is True
        assert (await visitor.start())[0] == 201


def test_the_hours_follow_the_ivr_calendar():
    # Monday 2026-12-07 in Paris: open 08:00-12:00 and 14:00-18:00; closed on Saturdays.
    hours = ChatHours(timezone="Europe/Paris",
                      weekly={"mon-fri": "08:00-12:00, 14:00-18:00", "sat": "closed"},
                      holidays=[dt.date(2026, 12, 25)])
    channel = site_channel(hours=hours)
    paris = dt.timezone(dt.timedelta(hours=1))

    def at(day: int, hour: int, minute: int = 0) -> float:
        return dt.datetime(2026, 12, day, hour, minute, tzinfo=paris).timestamp()

    availability = Availability()
    assert availability.offline_reason(channel, at(7, 9), True) is None
    assert availability.offline_reason(channel, at(7, 12, 30), True) == "closed"
    assert availability.offline_reason(channel, at(7, 17, 59), True) is None
    assert availability.offline_reason(channel, at(12, 10), True) == "closed"  # Saturday
    assert availability.offline_reason(channel, at(25, 10), True) == "holiday"


@pytest.mark.parametrize(("weekly", "holidays", "error"), [
    ({"mon-fry": "08:00-18:00"}, [], "day 'mon-fry' must be mon..sun"),
    ({"mon": "8-18"}, [], "must look like"),
    ({"mon": "18:00-08:00"}, [], "bad time range"),
    ({}, ["25/12/2026"], "is not a date"),
])
def test_bad_hours_are_refused_at_start(weekly, holidays, error):
    with pytest.raises(ValueError, match=error):
        ChatHours(weekly=weekly, holidays=holidays)
    with pytest.raises(ValueError, match="unknown time zone"):
        ChatHours(timezone="Mars/Olympus")


async def test_a_site_not_allowed_may_not_leave_a_message(tmp_path):
    async with chat_floor(tmp_path, channels=[site_channel(hours=ChatHours())]) as floor:
        stranger = floor.visitor(origin="https://evil.example")
        assert stranger.origin != SITE
        status, _body = await leave(stranger, "spam")
        assert status == 403
        assert await floor.chat.offline.listing(None, True) == []
