"""An agent answers while the AMI link is down: the call is still logged as answered.

Found by the AMI drop storm (``ami_storm.py``). With no ``DialEnd ANSWER`` seen, the voice glue
learns of the answer only when ``EXEC Dial`` returns, after the talk. Two things went wrong
meanwhile (contactcenter/voice/queue.py, ``_QueuedCall._dial``):

* the caller hangs up during the talk: Dial ends in a hangup, and the call was logged as
  abandoned while ringing (enter, offer, ringing, abandon), the agent never counted as busy;
* the talk outlasts the ring time + grace: the engine's ring safety timer took the agent for
  "no answer" (paused them, put the caller back in line), then the Dial's ANSWER hit
  ``NotFound: no pending offer`` and the caller's flow failed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))  # floor.py

from floor import running_floor, until

from contactcenter.sim import CallerScript, Phone, Press


async def test_a_call_answered_while_ami_is_silent_is_logged_answered_not_abandoned(tmp_path):
    async with running_floor(tmp_path, speed=20.0) as floor:
        server, sim = floor.server, floor.sim
        for agent_id in server.routing_config.agents:
            if agent_id != "1001":
                await server.routing.agent_logout(agent_id)
        sim.add_phone(Phone("PJSIP/1001", answer_after=2.0, talk_for=None))  # talks on
        call = await sim.place_call(CallerScript(
            caller_id="5556001", exten="200", steps=[Press("0", after=0.3)],
            hangup_after=100_000))
        iid = sim.channels[call.agi_channel].uniqueid
        await until(lambda: any(c.startswith("EXEC Dial") for c in call.agi_commands))
        sim.silence_ami(True)  # half-open from here: the answer is not seen on AMI
        await until(lambda: call.connected_to == "PJSIP/1001")  # the agent answered
        await floor.clock.sleep(1.0)
        await sim.hangup_channel(call.caller_channel)  # the caller leaves mid-conversation
        await asyncio.wait_for(call.ended(), timeout=30)
        await until(lambda: server.routing.state_of(iid) is None)
        sim.silence_ami(False)
        await server.routing.flush()
        kinds = [r["kind"] for r in await server.routing.log.events(interaction_id=iid)]
        assert "connect" in kinds and kinds[-1] == "complete", kinds
        assert "abandon" not in kinds and "ring-no-answer" not in kinds, kinds


async def test_a_talk_longer_than_the_ring_time_while_ami_is_silent_is_not_a_no_answer(tmp_path):
    # The engine's ring safety timer (ring time + grace) must not take the agent for "no
    # answer" while the caller's own Dial is still running (answered, unseen by AMI).
    async with running_floor(tmp_path, speed=20.0) as floor:
        server, sim = floor.server, floor.sim
        for agent_id in server.routing_config.agents:
            if agent_id != "1001":
                await server.routing.agent_logout(agent_id)
        sim.add_phone(Phone("PJSIP/1001", answer_after=2.0, talk_for=60.0))  # > 20 s + 5 s
        call = await sim.place_call(CallerScript(
            caller_id="5556002", exten="200", steps=[Press("0", after=0.3)],
            hangup_after=100_000))
        iid = sim.channels[call.agi_channel].uniqueid
        await until(lambda: any(c.startswith("EXEC Dial") for c in call.agi_commands))
        sim.silence_ami(True)
        await until(lambda: call.connected_to == "PJSIP/1001")
        await until(lambda: server.routing.state_of(iid) is None, timeout_s=60)
        sim.silence_ami(False)
        await server.routing.flush()
        kinds = [r["kind"] for r in await server.routing.log.events(interaction_id=iid)]
        assert "connect" in kinds and kinds[-1] == "complete", kinds
        assert "ring-no-answer" not in kinds, kinds
        assert server.routing.agent("1001").state != "paused"
        await sim.hangup_channel(call.caller_channel)
        await asyncio.wait_for(call.ended(), timeout=30)
