"""The "Next ticket" button pulls from the queue engine: the best ticket waiting for the
agent's queues and skills (priority, then age), also while paused, within their capacity."""

from __future__ import annotations

from tickets_floor import tickets_floor

NEW = {"subject": "Question", "text": "Hello.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}


async def test_next_pulls_the_best_waiting_ticket_within_capacity(tmp_path):
    async with tickets_floor(tmp_path, capacity=2) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        bob = await floor.user("bob", "a2", login=False)
        # Paused, alice is pushed nothing: every ticket waits in line.
        await alice.call("POST", "/api/agents/a1/pause", {"reason": "tickets"})
        made = {}
        for name, extra in (("low", {"priority": "low"}), ("urgent", {"priority": "urgent"}),
                            ("french", {"priority": "urgent", "skills": {"french": 5}}),
                            ("normal", {})):
            made[name] = (await boss.call("POST", "/api/tickets",
                                          {**NEW, "subject": name, **extra}, expect=201))["id"]
        await floor.settled()
        assert all(t["assignee"] is None for t in
                   (await boss.call("GET", "/api/tickets?view=unassigned"))["tickets"])

        # The most urgent she has the skills for, then the next; she stays paused.
        first = await alice.call("POST", "/api/tickets/next", expect=200)
        assert (first["id"], first["next"], first["assignee"], first["status"]) == (
            made["urgent"], "queue", "a1", "open")
        second = await alice.call("POST", "/api/tickets/next", expect=200)
        assert (second["id"], second["next"]) == (made["normal"], "queue")
        agent = await alice.call("GET", "/api/agents/a1")
        assert agent["presence"] == "paused"
        # Both ticket slots taken: "next" is her own most urgent ticket, nothing is pulled.
        third = await alice.call("POST", "/api/tickets/next", expect=200)
        assert (third["id"], third["next"]) == (made["urgent"], "mine")
        history = (await alice.call("GET", f"/api/tickets/{made['urgent']}"))["history"]
        assert ("routing", "assignee", "a1") in [(h["actor"], h["field"], h["new"])
                                                for h in history]

        # A slot freed: the low one is next; the French one waits for someone who speaks it.
        await alice.call("PATCH", f"/api/tickets/{made['urgent']}", {"status": "solved"})
        fourth = await alice.call("POST", "/api/tickets/next", expect=200)
        assert (fourth["id"], fourth["next"]) == (made["low"], "queue")
        french = await boss.call("GET", f"/api/tickets/{made['french']}")
        assert french["ticket"]["assignee"] is None and french["ticket"]["routing"]

        # Logged out, bob pulls nothing and has nothing of his own.
        await bob.call("POST", "/api/tickets/next", expect=404)


async def test_a_pulled_ticket_is_taken_at_once_in_offer_mode(tmp_path):
    async with tickets_floor(tmp_path, assignment="offer") as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        await alice.call("POST", "/api/agents/a1/pause", {"reason": "tickets"})
        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        assert (await alice.call("GET", "/api/tickets/offers"))["offers"] == []
        taken = await alice.call("POST", "/api/tickets/next", expect=200)
        assert (taken["id"], taken["next"], taken["assignee"]) == (number, "queue", "a1")
        assert (await alice.call("GET", "/api/tickets/offers"))["offers"] == []
