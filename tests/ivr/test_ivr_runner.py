"""The runner over the offline scripted caller: type-ahead, hangups, fallbacks, every node kind."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from contactcenter.ivr.flowtest import StubLookups, StubQueue
from contactcenter.ivr.loader import load_flow_text
from contactcenter.ivr.model import Fallback
from contactcenter.ivr.offline import Press, ScriptedCall, Silence, VirtualClock
from contactcenter.ivr.ports import CollectingEvents, QueueOutcome
from contactcenter.ivr.runner import FlowRunner
from contactcenter.ivr.settings import IvrSettings
from contactcenter.telephony.agi.api import AgiEnvironment

MONDAY_10H = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC).timestamp()


class Harness:
    """One offline call through the real runner."""

    def __init__(self, *texts, steps=(), hangup_after=None, queue=(), lookups=None,
                 settings=None, dial_status="ANSWER", callerid="5551234"):
        self.flows = {}
        for i, text in enumerate(texts):
            name = "main" if i == 0 else f"sub{i}"
            self.flows[name] = load_flow_text(text, f"{name}.yaml")
        self.clock = VirtualClock(MONDAY_10H)
        env = AgiEnvironment(channel="Local/100@cc-inbound-00000001;2", uniqueid="1795457073.7",
                             callerid=callerid, calleridname=None, dnid="100", extension="100",
                             context="cc-inbound", language="en", script="ivr",
                             query={"flow": "main"})
        self.call = ScriptedCall(env, self.clock, list(steps), hangup_after,
                                 dial_status=dial_status)
        self.queue = StubQueue(list(queue))
        self.lookups = StubLookups(lookups or {})
        self.events = CollectingEvents()
        self.settings = settings or IvrSettings()

    async def run(self):
        runner = FlowRunner(self.call, self.flows, queue=self.queue, lookups=self.lookups,
                            events=self.events, clock=self.clock, settings=self.settings)
        return await runner.run(self.flows["main"])


MENU = """
entry: welcome
fallback: {prompt: sorry, queue: operator, priority: 7}
nodes:
  welcome:
    type: play
    prompt: welcome
    interrupt: "12"
    next: menu
  menu:
    type: menu
    prompt: [menu-a, menu-b]
    choices: {1: sales, 2: support}
    timeout: 4
    retries: 2
    on_timeout: bye
  sales: {type: queue, queue: sales}
  support: {type: queue, queue: support, priority: 3}
  bye: {type: hangup, prompt: vm-goodbye}
"""


async def test_digit_pressed_during_prompt_is_kept_for_the_menu():
    h = Harness(MENU, steps=[Press("2", after=0.5)])
    result = await h.run()
    assert result.outcome == "queue:connected"
    assert result.path == ("welcome", "menu", "support")
    # The menu did not play its prompt again: the caller had already answered.
    assert h.call.commands == ["ANSWER", 'STREAM FILE welcome "12"']
    assert h.queue.requests[0].queue == "support" and h.queue.requests[0].priority == 3


async def test_second_prompt_of_a_menu_can_be_interrupted():
    h = Harness(MENU, steps=[Silence(), Silence(), Press("1", after=0.3)])
    result = await h.run()
    assert result.path[-1] == "sales"
    assert h.call.commands[-1] == 'STREAM FILE menu-b "0123456789*#"'


async def test_silent_caller_hears_menu_retries_times_then_timeout_destination():
    h = Harness(MENU)
    result = await h.run()
    assert result.outcome == "hangup" and result.path[-1] == "bye"
    assert h.call.commands.count('STREAM FILE menu-a "0123456789*#"') == 2
    assert h.call.commands.count("WAIT FOR DIGIT 4000") == 2
    assert h.call.commands[-2:] == ['STREAM FILE vm-goodbye ""', "HANGUP"]


async def test_hangup_mid_prompt_stops_at_once():
    h = Harness(MENU, hangup_after=1.0)
    result = await h.run()
    assert result.outcome == "caller-hangup"
    assert h.call.commands == ["ANSWER", 'STREAM FILE welcome "12"']
    assert not h.queue.requests
    assert h.events.steps[-1][1].detail.get("hangup") is True
    assert h.events.results == [result]


async def test_runtime_error_goes_to_the_flow_fallback_queue():
    text = MENU.replace("support: {type: queue, queue: support, priority: 3}",
                        "support: {type: set, vars: {n: int('oops')}, next: bye}")
    h = Harness(text, steps=[Press("2")])
    result = await h.run()
    assert result.outcome == "fallback:queue:connected"
    assert "not a whole number" in (result.error or "")
    req = h.queue.requests[-1]
    assert (req.queue, req.priority) == ("operator", 7)
    assert "ivr.error" in req.data
    assert 'STREAM FILE sorry ""' in h.call.commands


async def test_global_fallback_apologises_then_hangs_up():
    text = MENU.replace("fallback: {prompt: sorry, queue: operator, priority: 7}\n", "")
    text = text.replace("support: {type: queue, queue: support, priority: 3}",
                        "support: {type: say, number: \"'abc'\", next: bye}")
    settings = IvrSettings(fallback=Fallback(("an-error-has-occured",), None))
    h = Harness(text, steps=[Press("2")], settings=settings)
    result = await h.run()
    assert result.outcome == "fallback:hangup"
    assert h.call.commands[-2:] == ['STREAM FILE an-error-has-occured ""', "HANGUP"]


async def test_failing_queue_with_no_on_failed_uses_fallback():
    h = Harness(MENU, steps=[Press("1")], queue=[QueueOutcome("failed", detail="down")])
    result = await h.run()
    assert result.outcome == "fallback:queue:connected"
    assert [r.queue for r in h.queue.requests] == ["sales", "operator"]


async def test_unsafe_caller_data_never_reaches_the_wire():
    text = """
entry: find
nodes:
  find: {type: lookup, source: crm, found: xfer, not_found: bye}
  xfer: {type: transfer, number: customer.agent}
  bye: {type: hangup}
"""
    h = Harness(text, lookups={"crm": {"agent": "1001\r\nAction: Originate"}},
                settings=IvrSettings(fallback=Fallback((), None)))
    result = await h.run()
    assert result.outcome == "fallback:hangup"
    assert not any(c.startswith("EXEC") for c in h.call.commands)


INPUT = """
entry: acct
nodes:
  acct:
    type: input
    prompt: [enter-account]
    var: account
    min_length: 3
    max_length: 6
    terminator: "*"
    pattern: "[0-9]+"
    retries: 2
    invalid_prompt: invalid
    next: say
    on_failure: bye
  say: {type: say, digits: account, next: num}
  num: {type: say, number: len(account), next: when}
  when: {type: say, datetime: now, format: "ABdY", timezone: Europe/Paris, next: q}
  q: {type: queue, queue: support, data: {acct: account}}
  bye: {type: hangup}
"""


async def test_input_with_star_terminator_collects_digit_by_digit():
    h = Harness(INPUT, steps=[Press("4", after=0.5), Press("2"), Press("7"), Press("*")])
    result = await h.run()
    assert result.variables["account"] == "427"
    assert h.call.commands[1:6] == [
        'STREAM FILE enter-account "0123456789*#"', "WAIT FOR DIGIT 5000", "WAIT FOR DIGIT 5000",
        "WAIT FOR DIGIT 5000", 'SAY DIGITS 427 ""']
    assert 'SAY NUMBER 3 ""' in h.call.commands
    assert any(c.startswith('SAY DATETIME') and c.endswith("Europe/Paris")
               for c in h.call.commands)
    assert h.queue.requests[0].data["acct"] == "427"


async def test_input_rejected_until_retries_run_out():
    h = Harness(INPUT, steps=[Press("1"), Press("*"), Press("x".replace("x", "9")), Press("*")])
    result = await h.run()
    assert result.path == ("acct", "bye")
    step = h.events.steps[0][1]
    assert step.detail["rejected"] == ["1", "9"]


async def test_subflow_runs_and_returns():
    main = """
entry: go
nodes:
  go: {type: subflow, flow: sub1, next: done}
  done: {type: queue, queue: after-sub}
"""
    sub = """
entry: hello
nodes:
  hello: {type: set, vars: {visited: true}, next: back}
  back: {type: return}
"""
    h = Harness(main, sub)
    result = await h.run()
    assert result.path == ("go", "sub1:hello", "sub1:back", "done")
    assert result.variables["visited"] is True


async def test_transfer_failure_goes_on():
    text = """
entry: xfer
nodes:
  xfer: {type: transfer, number: "'2001'", timeout: 15, on_failure: bye}
  bye: {type: hangup}
"""
    h = Harness(text, dial_status="NOANSWER")
    result = await h.run()
    assert 'EXEC Dial "Local/2001@cc-outbound,15,g"' in h.call.commands
    assert result.path == ("xfer", "bye")


async def test_runaway_loop_is_cut_by_max_steps():
    text = """
entry: m
nodes:
  m: {type: menu, prompt: p, choices: {1: m, 2: bye}, on_timeout: bye}
  bye: {type: hangup}
"""
    h = Harness(text, steps=[Press("1")] * 40,
                settings=replace(IvrSettings(), max_steps=10, fallback=Fallback((), None)))
    result = await h.run()
    assert result.outcome == "fallback:hangup"
    assert "more than 10 steps" in (result.error or "")


async def test_message_is_kept_when_the_caller_hangs_up_to_end_it():
    text = """
entry: rec
nodes:
  rec: {type: message, prompt: leave-message, purpose: voicemail, max_seconds: 60, next: bye}
  bye: {type: hangup}
"""
    h = Harness(text, hangup_after=10)
    result = await h.run()
    assert result.outcome == "caller-hangup"
    (msg,) = h.events.messages
    assert msg.ended_by == "hangup" and msg.purpose == "voicemail"
    assert msg.filename.endswith("/1795457073.7-rec")


async def test_queue_exit_continues_and_trace_has_lookup_result():
    text = """
entry: who
nodes:
  who: {type: lookup, source: customers, found: q, not_found: q}
  q:
    type: queue
    queue: support
    priority: if(customer.tier == "vip", 10, 1)
    on_exit: bye
  bye: {type: hangup}
"""
    h = Harness(text, lookups={"customers": {"name": "Ada", "tier": "vip"}},
                queue=[QueueOutcome("exit")])
    result = await h.run()
    assert result.path == ("who", "q", "bye")
    req = h.queue.requests[0]
    assert req.priority == 10 and req.data["customer.name"] == "Ada"
    assert req.trace[0].kind == "lookup" and req.trace[0].detail["found"] is True
    assert h.lookups.keys == [("customers", "5551234")]


async def test_language_from_flow_and_set_node():
    text = """
entry: fr
language: fr
nodes:
  fr: {type: set, vars: {language: "'de'"}, next: bye}
  bye: {type: hangup}
"""
    h = Harness(text)
    await h.run()
    assert h.call.commands[1:3] == ['SET VARIABLE CHANNEL(language) "fr"',
                                    'SET VARIABLE CHANNEL(language) "de"']


async def test_hours_node_uses_the_clock():
    text = """
entry: h
nodes:
  h:
    type: hours
    timezone: America/New_York
    weekly: {mon-fri: "09:00-17:00"}
    holidays: [2026-11-26]
    open: o
    closed: c
    holiday: hol
  o: {type: hangup}
  c: {type: hangup}
  hol: {type: hangup}
"""
    h = Harness(text)  # 10:00 UTC is 05:00 in New York
    assert (await h.run()).path[-1] == "c"
    h = Harness(text)
    h.clock.now += 6 * 3600
    assert (await h.run()).path[-1] == "o"
    h = Harness(text)
    h.clock.now += 3 * 86400 + 6 * 3600  # Thanksgiving
    assert (await h.run()).path[-1] == "hol"
