"""Tickets over the JSON API and the queue engine: statuses and their rules, the history,
who may see and change what, assignment with capacity per agent, offers and "next ticket"."""

from __future__ import annotations

from tickets_floor import tickets_floor

from contactcenter.domain.interaction import InteractionState

NEW = {"subject": "Invoice wrong", "text": "The total is off by 10.",
       "requester": {"email": "Zoe@Customer.test", "name": "Zoe"}}


async def test_status_rules_history_and_who_may_do_what(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        bob = await floor.user("bob", "a2", login=False)  # not taking work: nothing routed to him

        ticket = await boss.call("POST", "/api/tickets", {**NEW, "tags": ["Billing"]},
                                 expect=201)
        number = ticket["id"]
        assert ticket["requester"]["email"] == "zoe@customer.test"
        assert ticket["tags"] == ["billing"]
        await floor.settled()
        shown = await alice.call("GET", f"/api/tickets/{number}")
        assert (shown["ticket"]["assignee"], shown["ticket"]["status"]) == ("a1", "open")

        # Bob is not its agent: for him it does not exist, in lists or by number.
        await bob.call("GET", f"/api/tickets/{number}", expect=404)
        await bob.call("PATCH", f"/api/tickets/{number}", {"status": "solved"}, expect=404)
        assert (await bob.call("GET", "/api/tickets?view=all"))["tickets"] == []
        mine = await alice.call("GET", "/api/tickets?view=mine")
        assert [t["id"] for t in mine["tickets"]] == [number]

        # An agent works their ticket but does not hand it to somebody else or move it.
        await alice.call("PATCH", f"/api/tickets/{number}", {"assignee": "a2"}, expect=403)
        await alice.call("PATCH", f"/api/tickets/{number}", {"queue": "email"}, expect=200)
        await alice.call("POST", f"/api/tickets/{number}/notes", {"text": "Checking ERP."},
                         expect=201)
        # Status rules: open cannot be closed directly; solved can; closed is final.
        refused = await alice.call("PATCH", f"/api/tickets/{number}", {"status": "closed"},
                                   expect=409)
        assert "open ticket cannot become closed" in refused["error"]
        await alice.call("PATCH", f"/api/tickets/{number}",
                         {"status": "solved", "priority": "high", "tags": ["billing", "erp"]})
        # Solved: it left alice's hands in the engine but stays hers; staff closes it.
        assert floor.server.routing.state_of(f"ticket-{number}-1") is None
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "closed"})
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "open"}, expect=409)
        await boss.call("POST", f"/api/tickets/{number}/replies", {"text": "x"}, expect=409)

        history = (await boss.call("GET", f"/api/tickets/{number}"))["history"]
        changes = [(h["actor"], h["field"], h["old"], h["new"]) for h in history[1:]]
        assert changes == [
            ("routing", "assignee", None, "a1"),
            ("routing", "status", "new", "open"),
            ("alice", "note", None, changes[2][3]),
            ("alice", "status", "open", "solved"),
            ("alice", "priority", "normal", "high"),
            ("alice", "tags", ["billing"], ["billing", "erp"]),
            ("boss", "status", "solved", "closed"),
        ]
        assert all(h["at"] > 0 for h in history)
        thread = (await boss.call("GET", f"/api/tickets/{number}"))["articles"]
        assert [(a["visibility"], a["body_text"]) for a in thread] == [
            ("public", "The total is off by 10."), ("internal", "Checking ERP.")]
        # An agent cannot create assigned tickets; bad bodies are 400 with a reason.
        await alice.call("POST", "/api/tickets", {**NEW, "assignee": "a1"}, expect=422)
        bad = await boss.call("POST", "/api/tickets", {**NEW, "priority": "asap"}, expect=400)
        assert "priority" in bad["error"]


async def test_capacity_per_agent_holds_the_next_ticket_until_one_is_done(tmp_path):
    async with tickets_floor(tmp_path, capacity=1) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        first = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        second = (await boss.call("POST", "/api/tickets",
                                  {**NEW, "subject": "Second"}, expect=201))["id"]
        await floor.settled()
        routing = floor.server.routing
        assert routing.state_of(f"ticket-{first}-1") is InteractionState.CONNECTED
        assert routing.state_of(f"ticket-{second}-1") is InteractionState.WAITING
        unassigned = await boss.call("GET", "/api/tickets?view=unassigned")
        assert [t["id"] for t in unassigned["tickets"]] == [second]
        # Pending on the customer: alice's ticket slot is free, the next ticket is hers.
        await alice.call("POST", f"/api/tickets/{first}/replies",
                         {"text": "Which invoice?", "status": "pending"}, expect=201)
        await floor.settled()
        assert (await alice.call("GET", f"/api/tickets/{second}"))["ticket"]["assignee"] == "a1"
        # Given back to the queue, it waits again (a new round) and comes back to her.
        await alice.call("PATCH", f"/api/tickets/{second}", {"assignee": None})
        await floor.settled()
        again = await boss.call("GET", f"/api/tickets/{second}")
        assert again["ticket"]["assignee"] == "a1"
        assert routing.state_of(f"ticket-{second}-2") is InteractionState.CONNECTED
        # A supervisor's assignment by hand takes it out of the engine.
        await boss.call("PATCH", f"/api/tickets/{second}", {"assignee": "a2"})
        assert routing.state_of(f"ticket-{second}-2") is None
        assert routing.agent("a1").work == []


async def test_offers_are_accepted_with_next_ticket(tmp_path):
    async with tickets_floor(tmp_path, assignment="offer") as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        await alice.call("POST", "/api/tickets/next", expect=404)  # nothing yet
        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        offers = await alice.call("GET", "/api/tickets/offers")
        assert [o["ticket"]["id"] for o in offers["offers"]] == [number]
        await alice.call("GET", f"/api/tickets/{number}", expect=404)  # offered, not hers yet
        taken = await alice.call("POST", "/api/tickets/next", expect=200)
        assert (taken["id"], taken["assignee"], taken["status"]) == (number, "a1", "open")
        assert (await alice.call("GET", "/api/tickets/offers"))["offers"] == []
        # With nothing offered, "next" is her most urgent ticket.
        assert (await alice.call("POST", "/api/tickets/next"))["id"] == number
