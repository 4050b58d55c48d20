"""An agent's tickets go back to the line when the agent logs out (new and open ones, at the
place their priority and age give them) or is removed from routing (every unsolved one), and
the history says why."""

from __future__ import annotations

from dataclasses import replace

from tickets_floor import tickets_floor

from contactcenter.domain.interaction import Interaction

NEW = {"subject": "Question", "text": "Hello.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}


def why(history: list[dict]) -> list[tuple]:
    return [(h["actor"], h["field"], h["old"], h["new"]) for h in history
            if h["field"] in ("reassigned", "assignee")]


async def test_logout_hands_tickets_back_in_their_place_and_removal_hands_back_the_rest(
        tmp_path):
    async with tickets_floor(tmp_path, capacity=2) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        bob = await floor.user("bob", "a2", login=False)
        older = (await boss.call("POST", "/api/tickets", {**NEW, "subject": "older"},
                                 expect=201))["id"]
        high = (await boss.call("POST", "/api/tickets",
                                {**NEW, "subject": "high", "priority": "high"},
                                expect=201))["id"]
        await floor.settled()
        younger = (await boss.call("POST", "/api/tickets", {**NEW, "subject": "younger"},
                                   expect=201))["id"]  # alice is full: it waits
        pending = (await boss.call("POST", "/api/tickets",
                                   {**NEW, "subject": "pending", "assignee": "a1"},
                                   expect=201))["id"]
        await alice.call("PATCH", f"/api/tickets/{pending}", {"status": "pending"})
        await floor.settled()

        # Alice logs out holding two open tickets: they go back, the pending one stays hers.
        await alice.call("POST", "/api/agents/a1/logout", {}, expect=200)
        assert (await alice.call("GET", "/api/agents/a1"))["state"] == "logged_out"
        for number in (older, high):
            shown = await boss.call("GET", f"/api/tickets/{number}")
            assert shown["ticket"]["assignee"] is None and shown["ticket"]["routing"]
            assert why(shown["history"])[-2:] == [
                ("routing", "reassigned", "a1", "agent a1 logged out"),
                ("routing", "assignee", "a1", None)]
        assert (await boss.call("GET", f"/api/tickets/{pending}"))["ticket"]["assignee"] \
            == "a1"

        # Bob takes two: the high one, then the older one ahead of the younger one that
        # waited meanwhile (its place is its priority and age, not its return).
        await bob.call("POST", "/api/agents/a2/login", {})
        await floor.settled()
        mine = (await bob.call("GET", "/api/tickets?view=mine"))["tickets"]
        assert sorted(t["id"] for t in mine) == sorted([older, high])
        waiting = await boss.call("GET", f"/api/tickets/{younger}")
        assert waiting["ticket"]["assignee"] is None

        # Alice is removed from routing: every unsolved ticket of hers goes back, with why.
        # (As the admin console does: the check first, which counts no ticket as work.)
        routing = floor.server.routing
        without = replace(routing.config, agents={
            k: v for k, v in routing.config.agents.items() if k != "a1"})
        without_bob = replace(without, agents={
            k: v for k, v in without.agents.items() if k != "a2"})
        assert routing.check_config(without_bob) == []  # bob's busy slots are tickets
        await routing.apply_config(without)
        shown = await boss.call("GET", f"/api/tickets/{pending}")
        assert shown["ticket"]["assignee"] is None
        assert why(shown["history"])[-2:] == [
            ("routing", "reassigned", "a1", "agent a1 removed from routing"),
            ("routing", "assignee", "a1", None)]


async def test_a_logout_refused_for_a_call_in_progress_changes_no_ticket(tmp_path):
    async with tickets_floor(tmp_path, capacity=2) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        routing = floor.server.routing
        await routing.enqueue(Interaction(channel="voice", queue="email", id="call-1"))
        await routing.offer_answered(routing.offer_of("call-1"))
        await alice.call("POST", "/api/agents/a1/logout", {}, expect=409)
        shown = await boss.call("GET", f"/api/tickets/{number}")
        assert shown["ticket"]["assignee"] == "a1"
        assert why(shown["history"]) == [("routing", "assignee", None, "a1")]
