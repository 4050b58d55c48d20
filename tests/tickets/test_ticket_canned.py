"""Canned answers for ticket replies: shared ones kept by staff, each user's own, placeholders
checked at save and filled by the server for the ticket at hand. The text rules are the chat's
too (``common/canned_text.py``)."""

from __future__ import annotations

from tickets_floor import tickets_floor

from contactcenter.common.canned_text import check_text, clean_shortcut, fill

NEW = {"subject": "Invoice wrong", "text": "The total is off.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe Brown"}}


def test_the_shared_text_rules():
    assert clean_shortcut("/thanks") == "thanks" and clean_shortcut("Thanks") is None
    assert check_text("  Hi {name}  ", ["name"]) == ("Hi {name}", None)
    assert check_text("Hi {nmae}", ["name"])[1] == "unknown placeholder(s) {nmae}; known: {name}"
    assert check_text(" ", ["name"])[1] == "the text is empty"
    # One pass: a value that looks like a placeholder stays as it is.
    assert fill("{a} {b} {c}", {"a": "{b}", "b": "B"}) == "{b} B {c}"


async def test_shared_and_personal_answers_filled_for_a_ticket(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        bob = await floor.user("bob", "a2", login=False)
        shared = await boss.call("POST", "/api/tickets/canned", {
            "shortcut": "/thanks", "shared": True,
            "text": "Hello {requester_name}, ticket #{ticket_number} is solved. {agent_name}"},
            expect=201)
        await boss.call("POST", "/api/tickets/canned",
                        {"shortcut": "bye", "shared": True, "text": "Bye"}, expect=201)
        # Agents keep their own, not shared ones; a typo in a placeholder is refused.
        await alice.call("POST", "/api/tickets/canned",
                         {"shortcut": "x", "shared": True, "text": "x"}, expect=403)
        refused = await alice.call("POST", "/api/tickets/canned",
                                   {"shortcut": "hi", "text": "Hi {requester}"}, expect=422)
        assert "unknown placeholder(s) {requester}" in refused["error"]
        mine = await alice.call("POST", "/api/tickets/canned",
                                {"shortcut": "bye", "text": "Cheers, {agent_name}"}, expect=201)
        await alice.call("POST", "/api/tickets/canned",
                         {"shortcut": "bye", "text": "again"}, expect=409)
        # Her own /bye shadows the shared one in her list; Bob sees the shared ones only.
        listed = (await alice.call("GET", "/api/tickets/canned"))["answers"]
        assert [(a["shortcut"], a["shared"]) for a in listed] == [("bye", False),
                                                                 ("thanks", True)]
        listed = (await bob.call("GET", "/api/tickets/canned"))["answers"]
        assert [(a["shortcut"], a["shared"]) for a in listed] == [("bye", True),
                                                                 ("thanks", True)]
        # Nobody changes another's answer; staff change the shared ones.
        await bob.call("PUT", f"/api/tickets/canned/{mine['id']}",
                       {"shortcut": "bye", "text": "mine now"}, expect=404)
        await alice.call("DELETE", f"/api/tickets/canned/{shared['id']}", expect=404)

        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        filled = {a["shortcut"]: a["filled"] for a in
                  (await alice.call("GET", f"/api/tickets/{number}/canned"))["answers"]}
        assert filled == {"bye": "Cheers, Alice",
                          "thanks": f"Hello Zoe Brown, ticket #{number} is solved. Alice"}
        await bob.call("GET", f"/api/tickets/{number}/canned", expect=404)
        await boss.call("DELETE", f"/api/tickets/canned/{shared['id']}", expect=204)
