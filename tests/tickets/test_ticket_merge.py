"""Merging a ticket into another and splitting messages off into a new one, over the API and
real SMTP: threads move with their times, mail to the merged ticket's thread lands in the
ticket it went into, the requester is told when asked, both are in the histories, and
closed, merged or unseen tickets are refused."""

from __future__ import annotations

from tickets_floor import mail, tickets_floor

NEW = {"subject": "Invoice wrong", "text": "The total is off by 10.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}


def number_of(subject: str) -> int:
    return int(subject.split("#", 1)[1].split("]", 1)[0])


async def test_merge_moves_the_thread_and_mail_to_the_merged_ticket_lands_in_the_other(
        tmp_path):
    async with tickets_floor(tmp_path) as floor:
        alice = await floor.user("alice", "a1")
        bob = await floor.user("bob", "a2", login=False)
        await floor.send_mail(mail("Order 17 late", "Where is order 17?",
                                   message_id="<a1@customer.test>"))
        target = number_of((await floor.relay.next())[1]["Subject"])
        await floor.send_mail(mail("Order 17 still late", "Any news on order 17?",
                                   message_id="<b1@customer.test>"))
        source = number_of((await floor.relay.next())[1]["Subject"])
        await floor.send_mail(mail("Re: Order 17 late", "I need it by Friday.",
                                   in_reply_to="<a1@customer.test>",
                                   message_id="<a2@customer.test>"))
        await floor.settled()
        await alice.call("POST", f"/api/tickets/{source}/notes", {"text": "Duplicate."})

        merged = await alice.call("POST", f"/api/tickets/{source}/merge",
                                  {"into": target, "notify": True}, expect=200)
        assert merged["id"] == target
        # The thread reads by time: the merged messages fall in where they were written.
        shown = await alice.call("GET", f"/api/tickets/{target}")
        assert [a["body_text"] for a in shown["articles"]][:4] == [
            "Where is order 17?", "Any news on order 17?", "I need it by Friday.",
            "Duplicate."]
        notice = shown["articles"][4]
        assert notice["visibility"] == "public" and f"#{source}" in notice["body_text"]
        assert shown["links"] == {"merged_into": None, "split_from": None,
                                  "merged_from": [source], "split_into": []}
        merged_entry = [h for h in shown["history"] if h["field"] == "merged"]
        assert merged_entry[0]["new"]["ticket"] == source
        assert merged_entry[0]["new"]["requester_told"] == "ann@customer.test"
        old = await alice.call("GET", f"/api/tickets/{source}")
        assert old["ticket"]["status"] == "closed" and old["articles"] == []
        assert old["links"]["merged_into"] == target
        assert [(h["field"], h["new"]) for h in old["history"][-2:]] == [
            ("status", "closed"), ("merged_into", target)]
        # The merged ticket gave back its place in the engine (no survey: it was not solved).
        assert floor.server.routing.state_of(f"ticket-{source}-1") is None

        # The requester is told in the merged ticket's own thread.
        envelope, told = await floor.relay.next()
        assert envelope.rcpt_tos == ["ann@customer.test"]
        assert told["In-Reply-To"] == "<b1@customer.test>"
        assert f"#{target}" in told.get_content()

        # Mail to the merged ticket's thread, by header or by number, lands in the other.
        await floor.send_mail(mail("Re: notice", "Thanks.", in_reply_to=told["Message-ID"]))
        await floor.send_mail(mail(f"[Ticket#{source}] one more thing", "Gift wrap it."))
        bodies = [a["body_text"] for a in
                  (await alice.call("GET", f"/api/tickets/{target}"))["articles"]]
        assert bodies[-2:] == ["Thanks.", "Gift wrap it."]
        assert (await alice.call("GET", f"/api/tickets/{source}"))["articles"] == []

        # Refusals: merged, closed, itself, or a ticket the agent cannot see.
        refused = await alice.call("POST", f"/api/tickets/{source}/merge",
                                   {"into": target}, expect=409)
        assert refused["error"] == f"ticket #{source} was merged into #{target}"
        await alice.call("POST", f"/api/tickets/{target}/merge", {"into": source},
                         expect=409)
        await alice.call("POST", f"/api/tickets/{target}/merge", {"into": target},
                         expect=409)
        await bob.call("POST", f"/api/tickets/{target}/merge", {"into": source},
                       expect=404)
        await alice.call("POST", f"/api/tickets/{target}/merge", {"into": 999999},
                         expect=404)
        await alice.call("POST", f"/api/tickets/{target}/merge", {"into": "x"}, expect=400)


async def test_split_moves_chosen_messages_to_a_new_linked_ticket(tmp_path):
    async with tickets_floor(tmp_path) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        bob = await floor.user("bob", "a2", login=False)
        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        await alice.call("POST", f"/api/tickets/{number}/notes", {"text": "Also the VAT."})
        await alice.call("POST", f"/api/tickets/{number}/replies",
                         {"text": "The VAT is separate."})
        articles = (await alice.call("GET", f"/api/tickets/{number}"))["articles"]
        moving = [a["id"] for a in articles[1:]]

        await alice.call("POST", f"/api/tickets/{number}/split",
                         {"articles": [a["id"] for a in articles]}, expect=409)
        await alice.call("POST", f"/api/tickets/{number}/split", {"articles": [999999]},
                         expect=422)
        await alice.call("POST", f"/api/tickets/{number}/split", {"articles": []},
                         expect=400)
        await bob.call("POST", f"/api/tickets/{number}/split", {"articles": moving},
                       expect=404)

        new = await alice.call("POST", f"/api/tickets/{number}/split",
                               {"articles": moving, "subject": "VAT question"}, expect=201)
        assert (new["subject"], new["assignee"], new["requester"]["email"]) == (
            "VAT question", "a1", "zoe@customer.test")
        split = await alice.call("GET", f"/api/tickets/{new['id']}")
        assert [a["body_text"] for a in split["articles"]] == [
            "Also the VAT.", "The VAT is separate."]
        assert split["links"]["split_from"] == number
        assert split["history"][-1]["field"] == "split_from"
        original = await alice.call("GET", f"/api/tickets/{number}")
        assert [a["body_text"] for a in original["articles"]] == ["The total is off by 10."]
        assert original["links"]["split_into"] == [new["id"]]
        assert original["history"][-1] == {**original["history"][-1], "field": "split",
                                           "new": {"ticket": new["id"], "articles": moving}}

        # A closed ticket is split no more.
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "solved"})
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "closed"})
        refused = await boss.call("POST", f"/api/tickets/{number}/split",
                                  {"articles": [articles[0]["id"]]}, expect=409)
        assert refused["error"] == f"ticket #{number} is closed"
