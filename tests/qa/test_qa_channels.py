"""Evaluating chats and tickets: automatic answers from the agent's own messages (the message
and its time as evidence), the thread shown to the evaluator and to the evaluated agent, the
agent's acknowledgement or dispute, and sampling rules per channel; over real HTTP and a real
database (SQLite, and PostgreSQL with CC_TEST_POSTGRES_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from qa_written import add_chat, add_ticket

from contactcenter.qa.sampling import order_key, week_of
from contactcenter.qa.scorecards import parse_form
from contactcenter.qa.thread import Line, auto_answers_from_lines
from contactcenter.tickets.model import Status
from contactcenter.web.roles import Actor

ADMIN = Actor(0, "admin", "admin")
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CHAT_CARD = {"sections": [{"title": "Chat", "questions": [
    {"id": "disclosure", "text": "Says the chat is recorded in the first 30 s", "weight": 10,
     "critical": True, "allow_na": False,
     "auto": {"phrase": "this chat may be recorded", "from_s": 0, "to_s": 30}},
    {"id": "rude", "text": "No 'calm down'", "weight": 5,
     "auto": {"phrase": "calm down", "expect": "absent"}},
    {"id": "tone", "text": "Friendly tone", "kind": "scale", "scale_max": 5, "weight": 5}]}]}


def _line(n: int, offset: float, author: str, text: str, internal: bool = False) -> Line:
    return Line(n, T0 + timedelta(seconds=offset), offset, author, author, text, internal)


def test_written_answers_read_the_agents_public_lines_in_the_window():
    form = parse_form(CHAT_CARD)
    lines = [_line(1, 2, "visitor", "this chat may be recorded? calm down"),
             _line(2, 10, "agent", "note: this chat may be recorded", internal=True),
             _line(3, 12, "agent", "Hello! This chat may be recorded."),
             _line(4, 20, "agent", "this chat may be recorded, again"),
             _line(5, 45, "agent", "thanks, bye")]
    found = auto_answers_from_lines(form, lines)
    disclosure = found["disclosure"].as_json()
    assert disclosure == {"value": "yes", "phrase": "this chat may be recorded", "evidence": {
        "start": 12.0, "end": 12.0, "heard": "this chat may be recorded", "score": 1.0,
        "message": 3, "at": (T0 + timedelta(seconds=12)).isoformat()}}
    assert found["rude"].value == "yes" and found["rude"].evidence is None  # the visitor's
    late = auto_answers_from_lines(form, [_line(1, 31, "agent", "this chat may be recorded")])
    assert late["disclosure"].value == "no"  # after the window
    rude = auto_answers_from_lines(form, [_line(7, 3, "agent", "please calm down")])
    assert rude["rude"].value == "no" and rude["rude"].message == 7


async def _card(env, form=CHAT_CARD, name="Chats") -> int:
    return (await env.qa.service.save_scorecard(ADMIN, name, form, True)).id


async def test_a_chat_is_evaluated_from_its_messages_and_the_agent_disputes_it(qa_env):
    env = qa_env
    await add_chat(env.qa.service.db, "chat-1", "1001", T0, [
        (1, "visitor", "hi, is this chat may be recorded thing on?"),
        (5, "system", "Alice joined the chat."),
        (12, "agent", "Hello Vera, this chat may be recorded. How can I help?"),
        (30, "visitor", "my parcel is late"),
        (40, "agent", "Sorry about that, it leaves today.")], queue="web")
    card = await _card(env)
    sup = await env.client("sup")
    async with sup.post(env.url("/api/qa/evaluations"), json={
            "channel": "chat", "item_id": "chat-1", "scorecard_id": card}) as r:
        assert r.status == 201, await r.text()
        draft = await r.json()
    assert (draft["channel"], draft["item_id"], draft["recording_id"], draft["agent_id"],
            draft["queue"], draft["interaction_id"]) == (
        "chat", "chat-1", None, "1001", "web", "chat-1")
    auto = draft["answers"]["disclosure"]["auto"]
    # accepted 5 s after the start: the agent's line at 12 s is 7 s into their part
    assert draft["answers"]["disclosure"]["value"] == "yes"
    assert auto["evidence"] == {"start": 7.0, "end": 7.0, "heard": "this chat may be recorded",
                                "score": 1.0, "message": 3,
                                "at": (T0 + timedelta(seconds=12)).isoformat()}
    assert draft["answers"]["rude"]["value"] == "yes"

    async with sup.get(env.url("/api/qa/interactions/chat/chat-1")) as r:
        thread = await r.json()
    assert [(ln["number"], ln["author"], ln["text"][:9]) for ln in thread["lines"]] == [
        (1, "visitor", "hi, is th"), (2, "system", "Alice joi"), (3, "agent", "Hello Ver"),
        (4, "visitor", "my parcel"), (5, "agent", "Sorry abo")]
    assert thread["label"] == "Vera" and thread["finished"] is True

    agent1, agent2 = await env.client("agent1"), await env.client("agent2")
    async with agent1.get(env.url("/api/qa/interactions/chat/chat-1")) as r:
        assert r.status == 404  # not before the evaluation is submitted to them
    async with sup.put(env.url(f"/api/qa/evaluations/{draft['id']}"), json={
            "answers": {"tone": {"value": 3}}, "submit": True}) as r:
        assert r.status == 200, await r.text()
        done = await r.json()
    assert done["score"] == {"points": 18.0, "possible": 20.0, "percent": 90.0, "failed": False,
                             "failed_by": []}
    async with agent1.get(env.url("/api/qa/evaluations?channel=chat")) as r:
        assert [e["id"] for e in (await r.json())["evaluations"]] == [draft["id"]]
    async with agent1.get(env.url("/api/qa/interactions/chat/chat-1")) as r:
        assert r.status == 200 and len((await r.json())["lines"]) == 5
    async with agent2.get(env.url("/api/qa/interactions/chat/chat-1")) as r:
        assert r.status == 404
    async with agent2.post(env.url(f"/api/qa/evaluations/{draft['id']}/response"),
                           json={"response": "dispute"}) as r:
        assert r.status == 404
    async with agent1.post(env.url(f"/api/qa/evaluations/{draft['id']}/response"),
                           json={"response": "dispute", "comment": "I was friendly"}) as r:
        assert r.status == 200
        assert (await r.json())["status"] == "disputed"
    async with agent1.post(env.url(f"/api/qa/evaluations/{draft['id']}/response"),
                           json={"response": "acknowledge"}) as r:
        assert r.status == 409  # once
    [row] = await env.audit.list(action_prefix="qa.evaluation.dispute")
    assert row.actor == "agent1" and row.detail["comment"] == "I was friendly"
    [submit] = await env.audit.list(action_prefix="qa.evaluation.submit")
    assert submit.detail["channel"] == "chat" and submit.detail["item_id"] == "chat-1"

    # nobody evaluates what does not exist, and an agent evaluates nothing
    async with sup.post(env.url("/api/qa/evaluations"), json={
            "channel": "chat", "item_id": "nope", "scorecard_id": card}) as r:
        assert r.status == 404
    async with sup.post(env.url("/api/qa/evaluations"), json={"scorecard_id": card}) as r:
        assert r.status == 400
    async with agent1.post(env.url("/api/qa/evaluations"), json={
            "channel": "chat", "item_id": "chat-1", "scorecard_id": card}) as r:
        assert r.status == 403


async def test_a_ticket_is_evaluated_from_its_public_replies(qa_env):
    env = qa_env
    form = {"sections": [{"title": "Mail", "questions": [
        {"id": "thanks", "text": "Thanks the customer", "weight": 1,
         "auto": {"phrase": "thank you for contacting us", "to_s": 86400}},
        {"id": "apology", "text": "Apologises", "weight": 1,
         "auto": {"phrase": "we are sorry"}}]}]}
    number = await add_ticket(env.qa.service.db, "1002", T0, [
        (0, "customer", "Where is my parcel? thank you for contacting us is what you say", False),
        (600, "agent", "we are sorry, internal: customer is upset", True),
        (3600, "agent", "Hello Carl, thank you for contacting us. It ships today.", False)])
    card = await _card(env, form, "Mail")
    sup = await env.client("sup")
    async with sup.post(env.url("/api/qa/evaluations"), json={
            "channel": "ticket", "item_id": str(number), "scorecard_id": card}) as r:
        assert r.status == 201, await r.text()
        draft = await r.json()
    assert (draft["agent_id"], draft["queue"], draft["item_id"]) == ("1002", "support",
                                                                     str(number))
    thanks = draft["answers"]["thanks"]
    assert thanks["value"] == "yes" and thanks["auto"]["evidence"]["start"] == 3600.0
    assert thanks["auto"]["evidence"]["at"] == (T0 + timedelta(hours=1)).isoformat()
    assert draft["answers"]["apology"]["value"] == "no"  # only in an internal note
    async with sup.get(env.url(f"/api/qa/interactions/ticket/{number}")) as r:
        lines = (await r.json())["lines"]
    assert [(ln["author"], ln["internal"]) for ln in lines] == [
        ("customer", False), ("agent", True), ("agent", False)]
    assert thanks["auto"]["evidence"]["message"] == lines[2]["number"]
    async with sup.get(env.url(f"/api/qa/evaluations?channel=ticket&item_id={number}")) as r:
        assert [e["id"] for e in (await r.json())["evaluations"]] == [draft["id"]]


async def test_sampling_rules_pick_per_channel(qa_env):
    env = qa_env
    db = env.qa.service.db
    _, monday, _ = week_of(env.qa.service.now(), ZoneInfo("UTC"))
    last = monday - timedelta(days=7)
    label = week_of(last, ZoneInfo("UTC"))[0]
    for i in range(3):
        await add_chat(db, f"c1-{i}", "1001", last + timedelta(hours=i), [], visitor=f"V{i}")
    await add_chat(db, "c1-open", "1001", last, [], closed=False)  # not finished
    await add_chat(db, "c1-other", "1001", last, [], queue="billing")  # not the rule's queue
    for i in range(2):
        await add_chat(db, f"c2-{i}", "1002", last + timedelta(hours=i), [])
    tickets = [await add_ticket(db, "1001", last + timedelta(hours=i), [],
                                subject=f"T{i}") for i in range(4)]
    await add_ticket(db, "1001", last, [], status=Status.OPEN)  # not solved
    await env.add_recording("a" * 32, None, agent_id="1001", started=last + timedelta(hours=1))
    sup = await env.client("sup")
    for body in ({"name": "chats", "channel": "chat", "queue": "web", "percent": 0,
                  "minimum": 1},
                 {"name": "tickets", "channel": "ticket", "percent": 50, "minimum": 0},
                 {"name": "calls", "percent": 100, "minimum": 0}):
        async with sup.post(env.url("/api/qa/sampling/rules"), json=body) as r:
            assert r.status == 201, await r.text()
            assert (await r.json())["channel"] == body.get("channel", "voice")
    async with sup.post(env.url("/api/qa/sampling/rules"), json={
            "name": "bad", "channel": "fax", "percent": 1}) as r:
        assert r.status == 400
    async with sup.post(env.url("/api/qa/sampling/run")) as r:
        assert (await r.json()) == {"picked": 5}  # 1 + 1 chats, 2 of 4 tickets, 1 call
    rules = {r.name: r.id for r in await env.qa.worklist.rules()}

    async with sup.get(env.url("/api/qa/worklist?channel=chat")) as r:
        chats = (await r.json())["items"]
    first = min(("c1-0", "c1-1", "c1-2"), key=lambda c: order_key("qa-tests", rules["chats"], c))
    second = min(("c2-0", "c2-1"), key=lambda c: order_key("qa-tests", rules["chats"], c))
    assert sorted((i["agent_id"], i["item_id"]) for i in chats) == [("1001", first),
                                                                    ("1002", second)]
    assert {(i["week"], i["queue"], i["recording_id"], i["status"]) for i in chats} == {
        (label, "web", None, "open")}
    assert {i["label"] for i in chats} <= {"V0", "V1", "V2", "Vera"}
    async with sup.get(env.url("/api/qa/worklist?channel=ticket")) as r:
        picked = [i["item_id"] for i in (await r.json())["items"]]
    ranked = sorted((str(n) for n in tickets),
                    key=lambda c: order_key("qa-tests", rules["tickets"], c))
    assert sorted(picked) == sorted(ranked[:2])
    async with sup.get(env.url("/api/qa/worklist?channel=voice")) as r:
        [call] = (await r.json())["items"]
    assert call["recording_id"] == call["item_id"] == "a" * 32 and call["caller_id"] == "5551234"

    # evaluating a picked chat ticks it off; a second run adds nothing
    card = await _card(env)
    async with sup.post(env.url("/api/qa/evaluations"), json={
            "channel": "chat", "item_id": first, "scorecard_id": card}) as r:
        assert r.status == 201
    async with sup.get(env.url("/api/qa/worklist?status=draft")) as r:
        assert [(i["channel"], i["item_id"]) for i in (await r.json())["items"]] == [
            ("chat", first)]
    async with sup.post(env.url("/api/qa/sampling/run")) as r:
        assert (await r.json()) == {"picked": 0}
