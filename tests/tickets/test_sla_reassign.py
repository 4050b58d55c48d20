"""SLA escalation that reassigns, on the real server: a breach (or, when asked, a warning)
takes an open ticket from the agent who let it run late and the queue engine offers it again
(another ready agent first under ``longest_idle``), recorded as changes by ``sla`` and
announced with the escalation; exactly once across restarts; the settings refuse
``reassign_on_warning`` without ``reassign`` with ``file:line``.

Targets are a few real seconds long; tests wait for what happens, never for how long.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from tickets_floor import T, tickets_floor

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.config.loader import load_settings
from contactcenter.tickets.settings import EscalationSettings, SlaPolicy, SlaSettings

NEW = {"subject": "Printer on fire", "text": "Smoke everywhere.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}


def sla(first_response_s: float = 4.0, **escalation: object) -> SlaSettings:
    return SlaSettings(
        policies=[SlaPolicy(name="fast", first_response_s=first_response_s,
                            resolution_s=36000)],
        warn_at=0.5, check_s=30,
        escalation=EscalationSettings(**{"raise_priority": False, **escalation}))


async def _until(condition, what: str) -> None:
    async with asyncio.timeout(T):
        while not await condition():
            await asyncio.sleep(0.05)


async def _sla_event(ws) -> dict:
    while True:
        msg = await ws.receive_json(timeout=T)
        if msg["type"] == "event" and msg["data"]["type"] == "ticket-sla":
            return msg["data"]


async def _subscribe(client, topic: str):
    ws = await client.http.ws_connect(f"{client.floor.url}/api/live")
    assert (await ws.receive_json(timeout=T))["type"] == "hello"
    await ws.send_json({"type": "subscribe", "topics": [topic]})
    assert (await ws.receive_json(timeout=T))["topics"] == [topic]
    return ws


def _by(history: list[dict], actor: str) -> list[tuple]:
    return [(h["field"], h["old"], h["new"]) for h in history if h["actor"] == actor]


async def test_a_breach_takes_the_ticket_from_its_agent_and_offers_it_to_another(tmp_path):
    async with tickets_floor(tmp_path, sla=sla(reassign=True)) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")  # logged in first: the longest idle
        await floor.user("bob", "a2")
        staff = await _subscribe(boss, "tickets")
        mine = await _subscribe(alice, "agent.a1")
        try:
            number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
            await floor.settled()
            shown = await boss.call("GET", f"/api/tickets/{number}")
            assert shown["ticket"]["assignee"] == "a1"

            # The warning only warns (reassign_on_warning is off): Alice keeps it.
            warning = await _sla_event(staff)
            assert warning["stages"] == ["first_response:warning"]
            assert warning["ticket"]["assignee"] == "a1"
            assert "reassigned_from" not in warning
            breach = await _sla_event(staff)
            assert breach["stages"] == ["first_response:breach"]
            assert breach["reassigned_from"] == "a1"
            assert breach["ticket"]["assignee"] is None
            # Alice heard both, the breach saying it was taken from her.
            assert (await _sla_event(mine))["stages"] == ["first_response:warning"]
            told = await _sla_event(mine)
            assert (told["stages"], told["reassigned_from"]) == (
                ["first_response:breach"], "a1")
        finally:
            await staff.close()
            await mine.close()

        async def bob_has_it() -> bool:
            await floor.settled()
            shown = await boss.call("GET", f"/api/tickets/{number}")
            return shown["ticket"]["assignee"] == "a2"

        await _until(bob_has_it, "Bob to get the ticket")
        history = (await boss.call("GET", f"/api/tickets/{number}"))["history"]
        assert _by(history, "sla")[-2:] == [
            ("reassigned", "a1", "SLA first response breached"),
            ("assignee", "a1", None),
        ]
        assert _by(history, "routing")[-1] == ("assignee", None, "a2")
        # Alice's slot is free again and she sees the ticket no more.
        await alice.call("GET", f"/api/tickets/{number}", expect=404)
        # Nothing fires twice.
        assert await floor.tickets.sla.sweep() == 0
        again = (await boss.call("GET", f"/api/tickets/{number}"))["history"]
        assert sum(h["field"] == "reassigned" for h in again) == 1


async def test_on_warning_the_ticket_is_taken_already(tmp_path):
    settings = sla(first_response_s=6.0, reassign=True, reassign_on_warning=True)
    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss", None, "supervisor")
        await floor.user("alice", "a1")
        staff = await _subscribe(boss, "tickets")
        try:
            number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
            await floor.settled()
            warning = await _sla_event(staff)
            assert warning["stages"] == ["first_response:warning"]
            assert warning["reassigned_from"] == "a1"
            # Alice is the only agent: the engine offers it to her again (the breach, later,
            # takes it once more).
            breach = await _sla_event(staff)
            assert breach["stages"] == ["first_response:breach"]
            assert breach["reassigned_from"] == "a1"
        finally:
            await staff.close()
        history = (await boss.call("GET", f"/api/tickets/{number}"))["history"]
        assert [h["new"] for h in history if h["field"] == "reassigned"] == [
            "SLA first response warning", "SLA first response breached"]


async def test_a_pending_ticket_stays_with_its_agent(tmp_path):
    """Only new and open tickets go back to the line; a resolution breach while on hold keeps
    the agent (nobody else could take it up)."""
    policy = SlaPolicy(name="fast", first_response_s=36000, resolution_s=5)
    settings = SlaSettings(policies=[policy], warn_at=0.5, check_s=30,
                           escalation=EscalationSettings(raise_priority=False, reassign=True))
    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss", None, "supervisor")
        alice = await floor.user("alice", "a1")
        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        await alice.call("PATCH", f"/api/tickets/{number}", {"status": "on-hold"})

        async def breached() -> bool:
            history = (await boss.call("GET", f"/api/tickets/{number}"))["history"]
            return any(h["field"] == "sla" and h["new"]["stage"] == "resolution:breach"
                       for h in history)
        await _until(breached, "the resolution breach")
        shown = await boss.call("GET", f"/api/tickets/{number}")
        assert shown["ticket"]["assignee"] == "a1"
        assert not [h for h in shown["history"] if h["field"] == "reassigned"]


async def test_a_reassignment_fires_once_across_restarts(tmp_path):
    settings = sla(first_response_s=8.0, reassign=True)  # stopped before the warning
    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss", None, "supervisor")
        await floor.user("alice", "a1")
        made = await boss.call("POST", "/api/tickets", NEW, expect=201)
        await floor.settled()
        assert (await boss.call("GET", f"/api/tickets/{made['id']}"))["ticket"][
            "assignee"] == "a1"
    due = made["sla"]["first_response"]["due"]

    async def past() -> bool:
        return time.time() > due
    await _until(past, "the due time")

    async def reassigned(client) -> int:
        history = (await client.call("GET", f"/api/tickets/{made['id']}"))["history"]
        return sum(h["field"] == "reassigned" for h in history)

    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss2", None, "supervisor")

        async def once() -> bool:
            return await reassigned(boss) == 1
        await _until(once, "the reassignment")
    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss3", None, "supervisor")
        assert await floor.tickets.sla.sweep() == 0
        assert await reassigned(boss) == 1
        history = (await boss.call("GET", f"/api/tickets/{made['id']}"))["history"]
        assert _by(history, "sla") == [
            ("sla", None, {"stage": "first_response:breach", "due": due}),
            ("reassigned", "a1", "SLA first response breached"),
            ("assignee", "a1", None),
        ]


def test_reassign_on_warning_needs_reassign_and_errors_say_where(tmp_path):
    path = tmp_path / "cc.yaml"
    path.write_text("tickets:\n  sla:\n    escalation:\n      reassign: true\n"
                    "      reassign_on_warning: true\n")
    esc = load_settings(path, environ={}).tickets.sla.escalation
    assert (esc.reassign, esc.reassign_on_warning) == (True, True)
    for bad, words in [
        ("{reassign_on_warning: true}", "reassign_on_warning needs reassign: true"),
        ("{reassign: sometimes}", "reassign: expected true/false"),
    ]:
        path.write_text(f"tickets:\n  sla:\n    escalation:\n      {bad}\n")
        with pytest.raises(SourceErrors) as caught:
            load_settings(path, environ={})
        assert words in str(caught.value), str(caught.value)
        assert "cc.yaml:4" in str(caught.value), str(caught.value)
