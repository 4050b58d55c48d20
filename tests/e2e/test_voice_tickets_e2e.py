"""End to end over real sockets: a caller leaves a voice message in the IVR (simulated PBX ->
FastAGI -> ``message`` node) and it becomes a ticket whose audio plays for those who may see
it (audited, refused to others); an agent files a ticket from a call they took; the customer's
page lists the calls and tickets. SQLite, and PostgreSQL with CC_TEST_POSTGRES_URL."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import soundfile
from floor import REPO, Floor, floor_settings, login, running_floor
from throwaway_pg import throwaway_database

from contactcenter.config.schema import Settings
from contactcenter.sim import CallerScript, Press
from contactcenter.storage.customers import CustomerRecord, CustomerStore

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")
VM_FLOW = """
entry: vm
nodes:
  vm: {type: message, purpose: voicemail, max_seconds: 20, next: bye}
  bye: {type: hangup, prompt: vm-goodbye}
"""


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
async def database_url(request, tmp_path) -> AsyncIterator[str | None]:
    """None (the floor's SQLite file), or a new PostgreSQL database dropped after the test."""
    if request.param == "sqlite":
        yield None
        return
    async with throwaway_database(POSTGRES_URL, "cc_vt") as url:
        yield url


def voice_settings(tmp_path: Path, database_url: str | None) -> Settings:
    """The repository's config and flows, plus ``vm`` (a voice message) on number 300; the
    messages folder is in the folder the simulated PBX shares with the server."""
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "ivr_flows", flows)
    (flows / "vm.yaml").write_text(VM_FLOW)
    messages = tmp_path / "recordings" / "messages"
    messages.mkdir(parents=True)
    settings = floor_settings(tmp_path, 20.0, flows_dir=str(flows))
    settings = replace(settings, ivr=replace(
        settings.ivr, numbers={**settings.ivr.numbers, "300": "vm"},
        messages_dir=str(messages)))
    if database_url is not None:
        settings = replace(settings, database=replace(settings.database, url=database_url))
    return settings


async def voicemail_tickets(http, floor: Floor) -> list[dict]:
    async with http.get(f"{floor.web_url}/api/tickets?view=all") as r:
        assert r.status == 200, await r.text()
        return [t for t in (await r.json())["tickets"] if t["origin"] == "voicemail"]


async def test_a_voice_message_becomes_a_ticket_with_playable_audio(tmp_path, database_url):
    async with running_floor(tmp_path, settings=voice_settings(tmp_path, database_url)) as floor:
        await CustomerStore(floor.server.db).upsert(CustomerRecord("5551234", "Ann Lee"))
        call = await floor.sim.place_call(CallerScript(
            caller_id="5551234", exten="300", steps=[Press("#", after=2.0)], hangup_after=600))
        await asyncio.wait_for(call.ended(), 30)  # only catches hangs
        # The message was filed before the flow went on to its goodbye.
        assert any(c.startswith("RECORD FILE ") for c in call.agi_commands)

        boss = await login(floor, "sue", "supervisor")
        alice = await login(floor, "alice", "agent", "1001")
        bob = await login(floor, "bob", "agent", "1002")
        try:
            (ticket,) = await voicemail_tickets(boss, floor)
            assert ticket["subject"] == "Voice message from Ann Lee (vm)"
            assert ticket["requester"]["phone"] == "5551234"
            assert ticket["requester"]["customer_id"] is not None
            tid = ticket["id"]
            async with boss.get(f"{floor.web_url}/api/tickets/{tid}") as r:
                body = await r.json()
            note = next(a for a in body["articles"] if a["visibility"] == "internal")
            assert "flow 'vm' (node 'vm')" in note["body_text"] and "IVR data:" in note["body_text"]

            async with boss.get(f"{floor.web_url}/api/tickets/{tid}/calls") as r:
                (link,) = (await r.json())["calls"]
            assert link["kind"] == "voicemail" and link["caller_id"] == "5551234"
            async with boss.get(floor.web_url + link["audio_url"]) as r:
                assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
                audio, rate = soundfile.read(io.BytesIO(await r.read()), dtype="int16")
            assert rate == 8000 and len(audio) > 8000  # the two seconds before '#'

            # Given to Bob: Bob hears it, Alice (not hers) is refused; every request audited.
            async with boss.patch(f"{floor.web_url}/api/tickets/{tid}",
                                  json={"assignee": "1002"}) as r:
                assert r.status == 200, await r.text()
            async with bob.get(floor.web_url + link["audio_url"]) as r:
                assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
            async with alice.get(floor.web_url + link["audio_url"]) as r:
                assert r.status == 403
            entries = await floor.server.audit.list(action_prefix="ticket.voicemail.")
            assert sorted((e.actor, e.outcome) for e in entries) == [
                ("alice", "denied"), ("bob", "ok"), ("sue", "ok")]
            assert {e.target for e in entries} == {f"ticket:{tid}"}

            # Told the same message again (a retry, a replay): still one ticket.
            (msg,) = floor.server.voice.ivr_activity.messages
            again = await floor.server.voice_tickets.message_left(msg)
            assert again is not None and again.id == tid
            assert [t["id"] for t in await voicemail_tickets(boss, floor)] == [tid]
        finally:
            for http in (boss, alice, bob):
                await http.close()


async def test_an_agent_files_a_ticket_from_a_call_and_the_customer_page_lists_it(
        tmp_path, database_url):
    settings = floor_settings(tmp_path, 20.0)
    if database_url is not None:
        settings = replace(settings, database=replace(settings.database, url=database_url))
    async with running_floor(tmp_path, settings=settings) as floor:
        store = CustomerStore(floor.server.db)
        await store.upsert(CustomerRecord("5550199", "Carl Diaz", account="A-7"))
        call = await floor.sim.place_call(CallerScript(
            caller_id="5550199", exten="200", steps=[Press("1", after=0.5)], hangup_after=30))
        await asyncio.wait_for(call.ended(), 60)
        await floor.server.routing.flush()
        (connect,) = [e for e in await floor.server.routing.log.events(limit=1000)
                      if e["kind"] == "connect"]
        iid, agent = connect["interaction_id"], connect["agent_id"]
        other = next(a for a in floor.server.routing_config.agents if a != agent)

        mine = await login(floor, "taker", "agent", agent)
        stranger = await login(floor, "stranger", "agent", other)
        boss = await login(floor, "sue", "supervisor")
        try:
            ask = {"interaction_id": iid, "subject": "Wants a quote", "text": "Call back Monday"}
            async with stranger.post(f"{floor.web_url}/api/tickets/from-call", json=ask) as r:
                assert r.status == 404  # not their call
            async with mine.post(f"{floor.web_url}/api/tickets/from-call", json=ask) as r:
                assert r.status == 201, await r.text()
                ticket = await r.json()
            assert ticket["origin"] == "call" and ticket["assignee"] == agent
            assert ticket["requester"]["phone"] == "5550199"
            customer_id = ticket["requester"]["customer_id"]
            assert customer_id is not None

            async with boss.get(f"{floor.web_url}/api/tickets/{ticket['id']}/calls") as r:
                (link,) = (await r.json())["calls"]
            assert link["kind"] == "call" and link["interaction_id"] == iid
            assert link["audio_url"] is None
            # Sales records every call: staff get the recording, the agent (no agent_access) not.
            recs = await floor.server.recording.index.for_interaction(iid)
            assert [r["id"] for r in link["recordings"]] == [rec.id for rec in recs] != []
            async with mine.get(f"{floor.web_url}/api/tickets/{ticket['id']}/calls") as r:
                assert (await r.json())["calls"][0]["recordings"] == []

            # The customer's page: the call and the ticket, for staff and for the call's agent.
            for http in (boss, mine):
                async with http.get(f"{floor.web_url}/api/customers/{customer_id}/history") as r:
                    assert r.status == 200, await r.text()
                    history = await r.json()
                assert history["customer"]["name"] == "Carl Diaz"
                assert [c["interaction_id"] for c in history["calls"]] == [iid]
                assert [t["id"] for t in history["tickets"]] == [ticket["id"]]
            async with stranger.get(f"{floor.web_url}/api/customers/{customer_id}/history") as r:
                assert r.status == 404  # none of their interactions
            async with mine.get(f"{floor.web_url}/api/customers/by-phone/5550199") as r:
                assert (await r.json())["url"] == f"/customers/{customer_id}"
            async with stranger.get(f"{floor.web_url}/api/customers/by-phone/5550199") as r:
                assert r.status == 404
        finally:
            for http in (mine, stranger, boss):
                await http.close()
