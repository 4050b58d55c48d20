"""A chat through the real server (widget socket, queue engine, agent panel API), then
evaluated: the disclosure the agent wrote answers the scorecard by itself with that message's
number and time, the chat is picked by a per-chat sampling rule, and the agent acknowledges
the evaluation after reading it with its chat."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chat"))

from chat_floor import chat_floor

CARD = {"name": "Chats", "form": {"sections": [{"title": "Chat", "questions": [
    {"id": "disclosure", "text": "Says the chat is recorded", "weight": 10, "critical": True,
     "allow_na": False, "auto": {"phrase": "this chat may be recorded", "to_s": 120}},
    {"id": "tone", "text": "Friendly tone", "kind": "scale", "scale_max": 5, "weight": 5}]}]}}


async def test_a_real_chat_is_sampled_evaluated_and_acknowledged(tmp_path):
    async with chat_floor(tmp_path) as floor:
        alice = await floor.agent("alice", "a1")
        await alice.listen()
        admin = await floor.agent("boss", "a2", login=False, role="admin")
        v = floor.visitor()
        status, body = await v.start({"name": "Vera", "email": "vera@example.com"})
        assert status == 201, body
        cid = v.conversation_id
        await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
        await v.connect()
        await alice.post(f"/api/chat/conversations/{cid}/accept", {})
        sent = await alice.post(f"/api/chat/conversations/{cid}/messages",
                                {"text": "Hello Vera, this chat may be recorded."})
        said = sent["message"]
        await v.say("fine, my order is late")
        await v.frame(lambda f: f["type"] == "ack")
        await alice.post(f"/api/chat/conversations/{cid}/close", {"disposition": "resolved"})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")

        card = await admin.post("/api/qa/scorecards", CARD)
        rule = await admin.post("/api/qa/sampling/rules", {
            "name": "a chat a week", "channel": "chat", "percent": 0, "minimum": 1,
            "scorecard_id": card["id"]})
        assert rule["channel"] == "chat"
        assert (await admin.post("/api/qa/sampling/run", {})) == {"picked": 1}
        [item] = (await admin.get("/api/qa/worklist?channel=chat"))["items"]
        assert (item["item_id"], item["agent_id"], item["queue"], item["label"],
                item["status"]) == (cid, "a1", "web", "Vera", "open")

        draft = await admin.post("/api/qa/evaluations", {
            "channel": "chat", "item_id": cid, "scorecard_id": item["scorecard_id"]})
        auto = draft["answers"]["disclosure"]["auto"]
        assert draft["answers"]["disclosure"]["value"] == "yes"
        assert auto["evidence"]["message"] == said["seq"]
        assert datetime.fromisoformat(auto["evidence"]["at"]).timestamp() == \
            pytest.approx(said["at"], abs=0.001)
        async with admin.http.put(f"{floor.url}/api/qa/evaluations/{draft['id']}",
                                  json={"answers": {"tone": {"value": 4}}, "submit": True},
                                  headers={"X-CSRF-Token": admin.csrf}) as r:
            assert r.status == 200
            assert (await r.json())["score"]["percent"] == 93.3
        [item] = (await admin.get("/api/qa/worklist?channel=chat"))["items"]
        assert item["status"] == "submitted"

        thread = await alice.get(f"/api/qa/interactions/chat/{cid}")
        assert [ln["text"] for ln in thread["lines"] if ln["author"] == "agent"] == [
            "Hello Vera, this chat may be recorded."]
        done = await alice.post(f"/api/qa/evaluations/{draft['id']}/response",
                                {"response": "acknowledge", "comment": "thanks"})
        assert done["status"] == "acknowledged" and done["responded_by"] == "alice"
        report = await admin.get("/api/qa/report?channel=chat")
        assert report["agents"]["totals"]["evaluations"] == 1
        assert report["agents"]["rows"][0]["average_percent"] == 93.33
        await alice.close()
