"""Followers: an agent follows a ticket and is told of its public replies and the customer's
messages on their live topic; the addresses a customer's mail was CC'd to follow it and are
copied (Cc) on each public reply mailed to the requester (real SMTP both ways)."""

from __future__ import annotations

from tickets_floor import SUPPORT, T, mail, tickets_floor


async def _subscribe(client, topic: str):
    ws = await client.http.ws_connect(f"{client.floor.url}/api/live")
    assert (await ws.receive_json(timeout=T))["type"] == "hello"
    await ws.send_json({"type": "subscribe", "topics": [topic]})
    assert (await ws.receive_json(timeout=T))["topics"] == [topic]
    return ws


async def _event(ws, kind: str) -> dict:
    while True:
        msg = await ws.receive_json(timeout=T)
        if msg["type"] == "event" and msg["data"]["type"] == kind:
            return msg["data"]


async def test_cc_addresses_and_agents_follow_and_hear_of_public_replies(tmp_path):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        boss = await floor.user("boss", "a2", "supervisor", login=False)
        alice = await floor.user("alice", "a1")
        await floor.send_mail(mail("Broken login", "I cannot log in.", headers={
            "Cc": f"Carl <carl@customer.test>, {SUPPORT}, ann@customer.test"}))
        await floor.settled()
        number = (await alice.call("GET", "/api/tickets?view=mine"))["tickets"][0]["id"]
        followers = (await alice.call("GET", f"/api/tickets/{number}/followers"))["followers"]
        # Not our own mailbox, not the requester: only Carl.
        assert [(f["kind"], f["follower"], f["added_by"]) for f in followers] == [
            ("email", "carl@customer.test", "mail:ann@customer.test")]

        # The supervisor follows it (for themselves: no body field) and hears of replies.
        ws = await _subscribe(boss, "agent.a2")
        try:
            await boss.call("POST", f"/api/tickets/{number}/followers", None)
            # An agent follows for themselves only.
            await alice.call("POST", f"/api/tickets/{number}/followers", {"agent": "a2"},
                             expect=403)
            await alice.call("POST", f"/api/tickets/{number}/followers",
                             {"email": "not an address"}, expect=422)
            await alice.call("POST", f"/api/tickets/{number}/replies",
                             {"text": "Please try the reset link."}, expect=201)
            told = await _event(ws, "ticket-followed-reply")
            assert told["ticket"]["id"] == number
            assert told["article"]["body_text"] == "Please try the reset link."
            # One mail to the requester, Carl copied (Cc), threaded on the ticket; the agent
            # followers (no address) are not copied, the requester is not copied twice.
            envelope, message = await floor.relay.next()
            assert envelope.rcpt_tos == ["ann@customer.test", "carl@customer.test"]
            assert message["To"].addresses[0].addr_spec == "ann@customer.test"
            assert [a.addr_spec for a in message["Cc"].addresses] == ["carl@customer.test"]
            assert f"[Ticket#{number}]" in message["Subject"]
            assert "Please try the reset link." in message.get_content()
            assert message["Auto-Submitted"] is None

            # The customer's answer is told to the agent followers too.
            await floor.send_mail(mail(f"Re: Broken login [Ticket#{number}]", "It worked!"))
            told = await _event(ws, "ticket-followed-reply")
            assert told["article"]["body_text"] == "It worked!"
        finally:
            await ws.close()

        # Unfollow: Carl by staff, the supervisor himself; a note never goes to followers.
        await boss.call("DELETE", f"/api/tickets/{number}/followers/email/carl@customer.test")
        after = await boss.call("DELETE", f"/api/tickets/{number}/followers/agent/a2")
        assert after["followers"] == []
        await alice.call("POST", f"/api/tickets/{number}/notes", {"text": "internal"})
        history = (await boss.call("GET", f"/api/tickets/{number}"))["history"]
        assert [(h["field"], h["old"], h["new"]) for h in history
                if h["field"] == "follower"] == [
            ("follower", None, "email:carl@customer.test"),
            ("follower", None, "agent:a2"),
            ("follower", "email:carl@customer.test", None),
            ("follower", "agent:a2", None)]
        assert floor.relay.mails.empty()
