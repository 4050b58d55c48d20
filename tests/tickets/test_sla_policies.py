"""SLA policies chosen by conditions (queue, priority, type, tags, origin, custom fields; first
match wins; targets per priority; the old flat form), chosen again when those facts change;
the next-response target on the real server (a customer's mail after our answer starts it,
the sweep warns and breaches once, our reply meets it); the SLA timeline's JSON and its page in
Chromium, with its text list.

Targets are a few real seconds long on a round-the-clock calendar (business time has its
golden cases in test_sla_clock.py and test_sla_next_response.py); tests wait for what
happens, never for how long.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect
from tickets_floor import T, logged_in_page, mail, tickets_floor

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.config.loader import load_settings
from contactcenter.tickets.settings import (
    SlaPolicy,
    SlaSettings,
    SlaSubject,
    SlaTargets,
)

NEW = {"subject": "Printer on fire", "text": "Smoke everywhere.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}
H = 3600.0
POLICIES = [
    SlaPolicy(name="vip", tags=["VIP"], targets={
        "urgent": SlaTargets(first_response_s=600, resolution_s=H),
        "normal": SlaTargets(first_response_s=1800, resolution_s=4 * H)}),
    SlaPolicy(name="calls", origin="call", first_response_s=900),
    SlaPolicy(name="gold-incident", type="incident", fields={"plan": "gold"},
              first_response_s=300, resolution_s=2 * H),
    SlaPolicy(name="std", first_response_s=4 * H, resolution_s=48 * H),
]


def subject(**facts: object) -> SlaSubject:
    base: dict = {"queue": "email", "priority": "normal"}
    return SlaSubject(**{**base, **facts})  # type: ignore[arg-type]


def test_conditions_pick_the_first_matching_policy():
    settings = SlaSettings(policies=POLICIES)
    assert settings.policy_for(subject()).name == "std"
    assert settings.policy_for(subject(tags=("billing", "vip"))).name == "vip"  # any of
    assert settings.policy_for(subject(origin="call")).name == "calls"
    # vip comes first: a vip call is vip's.
    assert settings.policy_for(subject(origin="call", tags=("vip",))).name == "vip"
    # Type and field together; either alone is not enough.
    assert settings.policy_for(subject(type="incident", fields={"plan": "gold"})).name == \
        "gold-incident"
    assert settings.policy_for(subject(type="incident")).name == "std"
    assert settings.policy_for(subject(fields={"plan": "gold"})).name == "std"
    # Targets per priority; a priority the policy does not list takes the flat ones (none).
    vip = settings.policy("vip")
    assert vip is not None
    assert vip.targets_for("urgent").first_response_s == 600
    assert vip.targets_for("normal").resolution_s == 4 * H
    assert vip.targets_for("low") == SlaTargets()
    # A field condition compares as the field's text: a number, true/false.
    assert SlaPolicy(name="n", fields={"seats": 10.0, "beta": True}).matches(
        subject(fields={"seats": "10", "beta": "true"}))


def test_the_settings_file_takes_both_forms_and_errors_name_the_policy(tmp_path):
    path = tmp_path / "cc.yaml"
    path.write_text("""
tickets:
  sla:
    policies:
      - {name: old, queue: support, priority: urgent, first_response_s: 3600,
         resolution_s: 14400}
      - name: vip
        tags: [vip]
        origin: email
        targets:
          urgent: {first_response_s: 900, next_response_s: 1800}
          normal: {first_response_s: 3600}
""")
    policies = load_settings(path, environ={}).tickets.sla.policies
    assert [p.name for p in policies] == ["old", "vip"]
    assert policies[0].targets_for("urgent") == SlaTargets(3600, 0, 14400)
    assert policies[1].targets_for("urgent").next_response_s == 1800
    for bad, words in [
        ("{name: vip, targets: {soon: {first_response_s: 1}}}", "policies[vip]: targets"),
        ("{name: vip, targets: {urgent: {first_response_s: -1}}}",
         "policies[vip]: targets.urgent: first_response_s"),
        ("{name: calls, origin: pigeon}", "policies[calls]: origin"),
        ("{name: std, priority: soon}", "policies[std]: priority"),
        ("{name: std, next_response_s: 99999999999}", "policies[std]: next_response_s"),
    ]:
        path.write_text(f"tickets:\n  sla:\n    policies:\n      - {bad}\n")
        with pytest.raises(SourceErrors) as caught:
            load_settings(path, environ={})
        assert words in str(caught.value), str(caught.value)
        assert "cc.yaml:4" in str(caught.value)


async def _history(client, number: int) -> list[dict]:
    return (await client.call("GET", f"/api/tickets/{number}"))["history"]


async def test_a_change_of_type_or_fields_chooses_the_policy_again(tmp_path):
    async with tickets_floor(tmp_path, sla=SlaSettings(policies=POLICIES)) as floor:
        admin = await floor.user("root", None, "admin")
        await admin.call("PUT", "/api/tickets/fields/types", {"types": ["incident"]})
        await admin.call("POST", "/api/tickets/fields", {
            "key": "plan", "label": "Plan", "kind": "dropdown",
            "options": ["gold", "basic"]}, expect=201)
        vip = await admin.call("POST", "/api/tickets", {**NEW, "tags": ["vip"],
                                                        "priority": "urgent"}, expect=201)
        assert vip["sla"]["policy"] == "vip"
        assert vip["sla"]["first_response"]["due"] - vip["created_at"] == pytest.approx(600)
        plain = await admin.call("POST", "/api/tickets", NEW, expect=201)
        number = plain["id"]
        assert plain["sla"]["policy"] == "std"
        await admin.call("PATCH", f"/api/tickets/{number}/fields",
                         {"type": "incident", "values": {"plan": "gold"}})
        shown = (await admin.call("GET", f"/api/tickets/{number}"))
        sla = shown["ticket"]["sla"]
        assert sla["policy"] == "gold-incident"
        # Re-targeted from the ticket's creation, not from the change.
        assert sla["first_response"]["due"] - plain["created_at"] == pytest.approx(300, abs=1)
        assert [(h["field"], h["old"], h["new"]) for h in shown["history"]
                if h["field"] == "sla_policy"] == [("sla_policy", "std", "gold-incident")]
        # Tagged vip later: vip is first in order; urgent now: vip's urgent targets.
        await admin.call("PATCH", f"/api/tickets/{number}", {"tags": ["vip"],
                                                             "priority": "urgent"})
        sla = (await admin.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
        assert sla["policy"] == "vip"
        assert sla["resolution"]["due"] - plain["created_at"] == pytest.approx(H, abs=1)


async def _until(condition, what: str) -> None:
    try:
        async with asyncio.timeout(T):
            while not await condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


def replies(next_response_s: float) -> SlaSettings:
    return SlaSettings(policies=[SlaPolicy(name="chatty", first_response_s=H,
                                           next_response_s=next_response_s,
                                           resolution_s=48 * H)],
                       warn_at=0.5, check_s=30)


async def _answered_then_customer_wrote(floor, boss) -> int:
    """A ticket by mail, our answer, then the customer's reply by mail; its number."""
    await floor.send_mail(mail("Printer on fire", "It smokes."))
    _env, _ack = await floor.relay.next()
    number = (await boss.call("GET", "/api/tickets?view=all"))["tickets"][0]["id"]
    await boss.call("POST", f"/api/tickets/{number}/replies", {"text": "Unplug it."},
                    expect=201)
    _env, answer = await floor.relay.next()
    shown = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
    assert shown["first_response"]["state"] == "met" and shown["next_response"] is None
    await floor.send_mail(mail(f"Re: [Ticket#{number}] Printer on fire", "Still smoking.",
                               in_reply_to=answer["Message-ID"]))
    return number


async def test_next_response_starts_with_the_customer_and_fires_once(tmp_path):
    async with tickets_floor(tmp_path, sla=replies(3.0)) as floor:
        boss = await floor.user("boss", None, "supervisor")
        number = await _answered_then_customer_wrote(floor, boss)
        sla = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
        running = sla["next_response"]
        assert running["state"] in ("ok", "warning", "breached") and running["met_at"] is None
        assert running["due"] - running["warn"] == pytest.approx(1.5)

        async def stages() -> list[str]:
            return [h["new"]["stage"] for h in await _history(boss, number)
                    if h["field"] == "sla"]
        await _until(lambda: _has(stages, "next_response:breach"), "the breach")
        assert await stages() == ["next_response:warning", "next_response:breach"]
        overdue = await boss.call("GET", "/api/tickets?view=overdue")
        assert [t["id"] for t in overdue["tickets"]] == [number]
        assert await floor.tickets.sla.sweep() == 0  # nothing fires twice
        # Our reply meets it, late; the first response stays met.
        await boss.call("POST", f"/api/tickets/{number}/replies", {"text": "Coming."},
                        expect=201)
        sla = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
        assert sla["next_response"]["state"] == "breached"
        assert sla["next_response"]["met_at"] is not None and sla["overdue"] is False
        assert sla["first_response"]["state"] == "met"

        # The timeline: created, the targets, the marks fired, now.
        tl = await boss.call("GET", f"/api/tickets/{number}/sla-timeline")
        assert tl["policy"] == "chatty" and tl["now"] >= tl["created_at"]
        by_target = {t["target"]: t for t in tl["targets"] if t["current"]}
        assert set(by_target) == {"first_response", "next_response", "resolution"}
        assert by_target["next_response"]["met_at"] == sla["next_response"]["met_at"]
        assert by_target["next_response"]["start"] > tl["created_at"]
        assert [m["stage"] for m in tl["marks"]] == ["next_response:warning",
                                                     "next_response:breach"]
        assert tl["pauses"] == []
        other = await floor.user("bob", "a2", login=False)  # does not hold it: 404
        await other.call("GET", f"/api/tickets/{number}/sla-timeline", expect=404)


async def _has(stages, stage: str) -> bool:
    return stage in await stages()


async def test_the_timeline_on_the_ticket_page(tmp_path, browser):
    async with tickets_floor(tmp_path, sla=replies(3.0)) as floor:
        boss = await floor.user("boss", None, "supervisor")
        number = await _answered_then_customer_wrote(floor, boss)

        async def breached() -> bool:
            return any(h["field"] == "sla" and h["new"]["stage"] == "next_response:breach"
                       for h in await _history(boss, number))
        await _until(breached, "the breach")
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "pending"})

        page = await logged_in_page(browser, floor, "boss")
        await page.select_option("#view", "all")
        ms = T * 1000
        await page.locator("#tickets tbody tr", has_text="Printer on fire").click()
        box = page.locator("#t-sla-timeline")
        await expect(box.locator("h3")).to_contain_text("SLA timeline (chatty)", timeout=ms)
        # The drawing: one lane per target, the breach fired, a pause shaded, now.
        await expect(box.locator(".tl-lane")).to_have_count(3)
        await expect(box.locator("[data-target=next_response] .tl-fired-breach")).to_have_count(1)
        await expect(box.locator(".tl-pause")).to_have_count(1)
        await expect(box.locator(".tl-now")).to_have_count(1)
        # The same facts as text, for everyone.
        facts = box.locator(".tl-facts li")
        await expect(facts.first).to_contain_text("Created")
        await expect(box.locator(".tl-facts")).to_contain_text("Now")  # in time order
        await expect(box.locator(".tl-facts")).to_contain_text("Next response breach fired")
        await expect(box.locator(".tl-facts")).to_contain_text("First response met")
        await expect(box.locator(".tl-facts")).to_contain_text("Paused since")
        await expect(box.locator("svg")).to_have_attribute("aria-hidden", "true")
