"""A simulated call through the real server whose agent says the compliance phrase: the server
records it (MixMonitor in the simulator, with the agent phone's speech in the file), the
transcript worker transcribes it, and an evaluation answers the disclosure question "yes" by
itself with the time it was said. Then the evaluator's scores (N/A, a critical "no") and the
agent's acknowledgement, all over the REST API with real logins."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from floor import floor_settings, login, running_floor
from qa_audio import silence, spoken, write_wav
from qa_calls import transcribed, transcribing_sales, until

from contactcenter.qa.worker import engine_installed
from contactcenter.sim import CallerScript, Phone, Press

pytestmark = pytest.mark.skipif(not engine_installed(), reason="pocketsphinx is not installed")

LEAD_S = 1.0  # the agent says the phrase this long after answering
FORM = {"sections": [
    {"title": "Compliance", "questions": [
        {"id": "disclosure", "text": "Recording disclosure in the first 30 s", "weight": 10,
         "critical": True, "allow_na": False,
         "auto": {"phrase": "this call may be recorded", "from_s": 0, "to_s": 30}}]},
    {"title": "Manner", "questions": [
        {"id": "tone", "text": "Friendly tone", "kind": "scale", "scale_max": 5, "weight": 5},
        {"id": "upsell", "text": "Offered the upgrade", "weight": 5}]}]}


async def test_compliance_phrase_is_answered_yes_with_its_time_and_scored(tmp_path):
    speech = write_wav(tmp_path / "agent.wav", np.concatenate([
        silence(LEAD_S), spoken("this call may be recorded"), silence(1.0),
        spoken("i would like to cancel my subscription"), silence(0.5)]))
    async with running_floor(tmp_path, settings=transcribing_sales(floor_settings(tmp_path, 20.0), tmp_path / "queues.yaml")) as floor:
        for agent in floor.server.routing_config.agents.values():
            if "sales" in agent.skills:
                floor.sim.add_phone(Phone(agent.dial_string, answer_after=1.0, talk_for=12.0,
                                          speech=str(speech)))
        admin = await login(floor, "admin", "admin")
        sup = await login(floor, "sup", "supervisor")
        clients = [admin, sup]
        try:
            call = await floor.sim.place_call(CallerScript(
                caller_id="5554321", exten="200", steps=[Press("1", after=0.5)],
                hangup_after=600))
            await asyncio.wait_for(call.ended(), 60)
            index = floor.server.recording.index
            [rec] = await until(lambda: _complete(index))
            assert rec.queue == "sales"
            done = await until(lambda: transcribed(floor.server, rec.id), timeout=120)
            assert "subscription" in done.text, done.text

            async with admin.post(f"{floor.web_url}/api/qa/scorecards",
                                  json={"name": "Sales calls", "form": FORM}) as r:
                assert r.status == 201, await r.text()
                card = await r.json()
            async with sup.post(f"{floor.web_url}/api/qa/evaluations",
                                json={"recording_id": rec.id, "scorecard_id": card["id"]}) as r:
                assert r.status == 201, await r.text()
                draft = await r.json()
            disclosure = draft["answers"]["disclosure"]
            assert disclosure["value"] == "yes" and disclosure["auto"]["value"] == "yes"
            evidence = disclosure["auto"]["evidence"]
            # Said LEAD_S after the agent answered, which is the file's time 0 (option b).
            assert LEAD_S - 0.5 <= evidence["start"] <= LEAD_S + 1.5, evidence
            assert "recorded" in evidence["heard"]
            assert draft["answers"]["tone"]["value"] is None  # no rule: the evaluator answers

            url = f"{floor.web_url}/api/qa/evaluations/{draft['id']}"
            async with sup.put(url, json={"answers": {"tone": {"value": 4}},
                                          "submit": True}) as r:
                assert r.status == 400 and "upsell" in (await r.json())["error"]
            async with sup.put(url, json={"answers": {"tone": {"value": 4},
                                                      "upsell": {"value": "na"}},
                                          "comment": "good opening", "submit": True}) as r:
                assert r.status == 200, await r.text()
                scored = await r.json()
            # upsell N/A leaves the denominator: (10 + 5 * 4/5) / (10 + 5).
            assert scored["status"] == "submitted"
            assert scored["score"]["possible"] == 15 and scored["score"]["points"] == 14
            assert scored["score"]["percent"] == pytest.approx(93.3) and not scored["score"]["failed"]

            # A second evaluator hears it differently: a critical "no" fails the evaluation.
            async with sup.post(f"{floor.web_url}/api/qa/evaluations",
                                json={"recording_id": rec.id, "scorecard_id": card["id"]}) as r:
                second = await r.json()
            async with sup.put(f"{floor.web_url}/api/qa/evaluations/{second['id']}", json={
                    "answers": {"disclosure": {"value": "no", "note": "too fast"},
                                "tone": {"value": 5}, "upsell": {"value": "yes"}},
                    "submit": True}) as r:
                failed = await r.json()
            assert failed["score"]["failed"] and failed["score"]["percent"] == 0
            assert failed["score"]["failed_by"] == ["disclosure"]
            assert failed["answers"]["disclosure"]["overridden"] is True
            assert failed["answers"]["disclosure"]["auto"]["value"] == "yes"  # kept beside it

            agent = await login(floor, "agent-qa", "agent", rec.agent_id)
            other = await login(floor, "agent-other", "agent", "1005")
            clients += [agent, other]
            async with other.post(f"{url}/response", json={"response": "acknowledge"}) as r:
                assert r.status == 404  # not theirs: they learn nothing of it
            async with agent.get(f"{floor.web_url}/api/qa/evaluations") as r:
                mine = (await r.json())["evaluations"]
            assert sorted(e["id"] for e in mine) == sorted([draft["id"], second["id"]])
            async with agent.post(f"{url}/response",
                                  json={"response": "acknowledge", "comment": "thanks"}) as r:
                assert r.status == 200, await r.text()
                acked = await r.json()
            assert acked["status"] == "acknowledged" and acked["responded_by"] == "agent-qa"
            async with agent.post(f"{url}/response", json={"response": "dispute"}) as r:
                assert r.status == 409  # answered once
            rows = await floor.server.audit.list(action_prefix="qa.evaluation.")
            assert [(a.action, a.actor) for a in reversed(rows)] == [
                ("qa.evaluation.submit", "sup"), ("qa.evaluation.submit", "sup"),
                ("qa.evaluation.acknowledge", "agent-qa")]
        finally:
            for http in clients:
                await http.close()


async def _complete(index):
    found = await index.search(queue="sales")
    return found if found and all(r.status == "complete" for r in found) else None


