"""Collision warning: two people with the same ticket open each see the other (and whether
they are writing), told live; a reply written on a view older than the ticket is refused
with 409 and what changed since, and goes through once sent on the fresh view."""

from __future__ import annotations

from test_ticket_followers import _event, _subscribe
from tickets_floor import tickets_floor

from contactcenter.tickets.presence import TTL_S, Presence, Viewer

NEW = {"subject": "Invoice wrong", "text": "The total is off.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}


def test_a_viewer_not_heard_of_goes_away():
    presence = Presence()
    assert presence.see(7, Viewer("alice", "a1", False, False, 100.0))
    assert not presence.see(7, Viewer("alice", "a1", False, False, 110.0))  # nothing new
    assert presence.see(7, Viewer("alice", "a1", False, True, 111.0))  # now writing
    assert [v.username for v in presence.viewers(7, 111.0 + TTL_S)] == ["alice"]
    assert presence.viewers(7, 111.1 + TTL_S) == []
    assert not presence.leave(7, "alice")


async def test_viewers_see_each_other_and_a_stale_reply_is_refused(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        path = f"/api/tickets/{number}"

        ws = await _subscribe(alice, "agent.a1")
        try:
            assert (await alice.call("POST", f"{path}/viewing", {}))["viewers"] == []
            seen = await _event(ws, "ticket-viewers")  # herself
            assert [v["username"] for v in seen["viewers"]] == ["alice"]
            others = (await boss.call("POST", f"{path}/viewing", {"replying": True}))["viewers"]
            assert [v["username"] for v in others] == ["alice"]
            told = await _event(ws, "ticket-viewers")
            assert [(v["username"], v["replying"]) for v in told["viewers"]] == [
                ("alice", False), ("boss", True)]
            # Both loaded the ticket; the supervisor replies first.
            alice_view = (await alice.call("GET", path))["seen"]
            boss_view = (await boss.call("GET", path))["seen"]
            assert alice_view == boss_view
            await boss.call("POST", f"{path}/replies",
                            {"text": "We are on it.", "seen": boss_view}, expect=201)
            stale = await alice.call("POST", f"{path}/replies",
                                     {"text": "Looking into it.", "seen": alice_view},
                                     expect=409)
            assert "changed since you opened it" in stale["error"]
            assert [a["body_text"] for a in stale["changes"]["articles"]] == ["We are on it."]
            assert ("reply", "boss") in {(h["field"], h["actor"])
                                         for h in stale["changes"]["history"]}
            # Sent again on the view the refusal brought, it goes through, once.
            await alice.call("POST", f"{path}/replies", {
                "text": "Looking into it.", "seen": stale["changes"]["seen"]}, expect=201)
            thread = (await boss.call("GET", path))["articles"]
            assert [a["body_text"] for a in thread].count("Looking into it.") == 1

            await boss.call("DELETE", f"{path}/viewing", expect=204)
            told = await _event(ws, "ticket-viewers")
            assert [v["username"] for v in told["viewers"]] == ["alice"]
        finally:
            await ws.close()
        # Bob may not see the ticket: nor who views it.
        bob = await floor.user("bob", "a2", login=False)
        await bob.call("POST", f"{path}/viewing", {}, expect=404)
