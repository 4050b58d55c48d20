"""Triggers as pure rules (contactcenter/tickets/triggers.py): definitions checked, conditions
matched, actions planned, cascades in order and loop-safe, time automations' due moments,
webhook URLs refused, the signature; with hypothesis properties."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.tickets.model import TRANSITIONS, Status, TicketError
from contactcenter.tickets.triggers import (
    Facts,
    after,
    cascade,
    check_webhook_url,
    due_at,
    matches,
    parse_trigger,
    plan,
)
from contactcenter.tickets.webhooks import outcome, signature, verify

NOW = 1_800_000_000.0
DAY = 86400.0


def facts(**kw) -> Facts:
    base = {"status": "new", "priority": "normal", "queue": "email", "origin": "email",
            "assignee": None, "requester": "ann@customer.test", "tags": (),
            "subject": "Printer on fire", "created_at": NOW - 100, "updated_at": NOW - 50,
            "status_since": NOW - 100}
    return Facts(**{**base, **kw})


def rule(event="created", conditions=(), actions=({"type": "add_tag", "value": "x"},),
         name="r", **kw):
    return parse_trigger({"name": name, "event": event, "conditions": list(conditions),
                          "actions": list(actions)}, **kw)


def test_conditions_on_every_field():
    f = facts(tags=("vip",), assignee="a1")
    yes = [("status", "is", "new"), ("status", "in", ["open", "new"]),
           ("priority", "is_not", "urgent"), ("queue", "not_in", ["sales"]),
           ("origin", "is", "email"), ("assignee", "is_set", None),
           ("assignee", "is", "a1"), ("requester", "contains", "@CUSTOMER.test"),
           ("tags", "contains", "vip"), ("tags", "not_contains", "spam"),
           ("subject", "contains", "FIRE"), ("hours_since_created", "less_than", 1),
           ("hours_in_status", "at_least", 0.02)]
    for field, op, value in yes:
        assert matches(rule(conditions=[{"field": field, "op": op, "value": value}]), f, NOW), \
            (field, op, value)
    no = [("status", "is", "open"), ("assignee", "not_set", None),
          ("subject", "not_contains", "printer"), ("hours_since_updated", "at_least", 1)]
    for field, op, value in no:
        assert not matches(rule(conditions=[{"field": field, "op": op, "value": value}]), f,
                           NOW), (field, op, value)
    changed = rule("updated", [{"field": "changed", "op": "contains", "value": "status"}])
    assert matches(changed, facts(changed=frozenset({"status"})), NOW)
    assert not matches(changed, facts(changed=frozenset({"tags"})), NOW)


@pytest.mark.parametrize("bad, why", [
    ({"event": "sometimes"}, "event"),
    ({"conditions": [{"field": "colour", "op": "is", "value": "red"}]}, "field"),
    ({"conditions": [{"field": "status", "op": "contains", "value": "new"}]}, "op for status"),
    ({"conditions": [{"field": "status", "op": "is", "value": "lost"}]}, "among"),
    ({"event": "created", "conditions": [{"field": "changed", "op": "contains",
                                          "value": "status"}]}, "only for updated"),
    ({"event": "time", "conditions": [{"field": "status", "op": "is", "value": "pending"}]},
     "at_least"),
    ({"actions": []}, "actions"),
    ({"actions": [{"type": "set_status", "value": "lost"}]}, "status"),
    ({"actions": [{"type": "email", "to": "nobody", "subject": "s", "text": "t"}]},
     "not an email"),
    ({"actions": [{"type": "webhook", "url": "ftp://x.test/", "secret": "s" * 16}]}, "http"),
    ({"actions": [{"type": "webhook", "url": "http://x.test/", "secret": "short"}]}, "secret"),
    ({"name": "a\nb"}, "name"),
])
def test_definitions_are_checked(bad, why):
    data = {"name": "r", "event": "created", "conditions": [],
            "actions": [{"type": "add_tag", "value": "x"}], **bad}
    with pytest.raises(TicketError, match=why):
        parse_trigger(data)


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0/",
    "http://metadata.google.internal/", "http://[::ffff:169.254.169.254]/",
    "http://user:pw@hooks.example.com/", "javascript:alert(1)", "file:///etc/passwd",
])
def test_webhook_urls_refused(url):
    with pytest.raises(TicketError):
        check_webhook_url(url)


def test_webhook_urls_allowed():
    for url in ("https://hooks.example.com/x?y=1", "http://127.0.0.1:8080/hook",
                "http://10.1.2.3/hook"):
        assert check_webhook_url(url) == url


def test_a_webhook_saved_again_without_its_secret_keeps_it():
    old = rule(actions=[{"type": "webhook", "url": "https://h.test/", "secret": "s" * 20}])
    again = rule(actions=[{"type": "webhook", "url": "https://h.test/"}], old=old)
    assert again.actions[0].secret == "s" * 20
    assert again.as_json()["actions"][0] == {"type": "webhook", "url": "https://h.test/",
                                             "secret": None, "secret_set": True}
    with pytest.raises(TicketError, match="secret"):
        rule(actions=[{"type": "webhook", "url": "https://other.test/"}], old=old)


def test_plan_sets_fields_tags_and_skips_what_is_not_allowed():
    r = rule(actions=[{"type": "set_status", "value": "open"}, {"type": "assign",
                                                                 "value": "a1"},
                      {"type": "add_tag", "value": "vip"}, {"type": "remove_tag",
                                                            "value": "old"},
                      {"type": "set_queue", "value": "nowhere"},
                      {"type": "set_priority", "value": "high"}])
    p = plan(r, facts(tags=("old",)), agents=["a1"], queues=["email"])
    assert (p.changes.status, p.changes.assignee, p.changes.tags, p.changes.priority,
            p.changes.queue) == (Status.OPEN, "a1", ("vip",), "high", None)
    assert p.skipped == ("no queue 'nowhere'",)
    closed = plan(rule(actions=[{"type": "set_status", "value": "open"}]),
                  facts(status="closed"))
    assert closed.changes.is_empty() and "not allowed" in closed.skipped[0]
    # Already so: nothing to change (no history row, no re-fire material).
    assert plan(rule(actions=[{"type": "set_priority", "value": "normal"}]),
                facts()).changes.is_empty()


def test_cascade_runs_in_order_each_once_on_what_the_earlier_left():
    first = rule(name="a", position=1, conditions=[
        {"field": "subject", "op": "contains", "value": "fire"}],
        actions=[{"type": "add_tag", "value": "fire"}])
    second = rule(name="b", position=2, conditions=[
        {"field": "tags", "op": "contains", "value": "fire"}],
        actions=[{"type": "set_priority", "value": "urgent"}])
    # Would undo the first one's tag, and the first would re-add it: each runs once only.
    third = rule(name="c", position=3, conditions=[
        {"field": "tags", "op": "contains", "value": "fire"}],
        actions=[{"type": "remove_tag", "value": "fire"}])
    out = cascade([third, second, first], "created", facts(), NOW)
    assert [p.trigger.name for p in out.plans] == ["a", "b", "c"]
    assert out.facts is not None and out.facts.tags == () and out.facts.priority == "urgent"
    disabled = parse_trigger({**first.as_json(), "enabled": False})
    assert cascade([disabled], "created", facts(), NOW).plans == []
    assert cascade([first], "updated", facts(), NOW).plans == []


def test_time_automation_due_moment():
    pending = rule("time", [{"field": "status", "op": "is", "value": "pending"},
                            {"field": "hours_in_status", "op": "at_least", "value": 72}],
                   [{"type": "set_status", "value": "solved"}])
    f = facts(status="pending", status_since=NOW)
    assert due_at(pending, f) == NOW + 3 * DAY
    assert not matches(pending, f, NOW + 3 * DAY - 1)
    assert matches(pending, f, NOW + 3 * DAY)
    # A window that closes before it opens is never due.
    never = rule("time", [{"field": "hours_since_created", "op": "at_least", "value": 10},
                          {"field": "hours_since_created", "op": "less_than", "value": 5}])
    assert due_at(never, f) is None


def test_signature_is_the_hmac_of_the_body_and_retries_are_bounded():
    body = b'{"a":1}'
    expected = hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert signature("k" * 16, body) == f"sha256={expected}"
    assert verify("k" * 16, body, f"sha256={expected}")
    assert not verify("k" * 16, body + b" ", f"sha256={expected}")
    assert [outcome(c, 1, 3) for c in (200, 204, 500, 503, 429, 408, None, 404, 301)] == [
        "delivered", "delivered", "queued", "queued", "queued", "queued", "queued", "failed",
        "failed"]
    assert outcome(500, 3, 3) == "failed"


_STATUSES = [s.value for s in Status]
_ACTION = st.one_of(
    st.builds(lambda v: {"type": "set_status", "value": v}, st.sampled_from(_STATUSES)),
    st.builds(lambda v: {"type": "set_priority", "value": v},
              st.sampled_from(["low", "normal", "high", "urgent"])),
    st.builds(lambda v: {"type": "add_tag", "value": v}, st.sampled_from(["a", "b", "c"])),
    st.builds(lambda v: {"type": "remove_tag", "value": v}, st.sampled_from(["a", "b", "c"])),
    st.builds(lambda v: {"type": "assign", "value": v}, st.sampled_from(["a1", "a2"])),
    st.just({"type": "unassign"}))
_CONDITION = st.one_of(
    st.builds(lambda v: {"field": "status", "op": "is", "value": v},
              st.sampled_from(_STATUSES)),
    st.builds(lambda v: {"field": "tags", "op": "contains", "value": v},
              st.sampled_from(["a", "b", "c"])),
    st.builds(lambda v: {"field": "tags", "op": "not_contains", "value": v},
              st.sampled_from(["a", "b", "c"])),
    st.builds(lambda v: {"field": "assignee", "op": "is", "value": v},
              st.sampled_from(["a1", "a2"])))
_RULES = st.lists(st.tuples(st.lists(_CONDITION, max_size=3),
                            st.lists(_ACTION, min_size=1, max_size=4)), max_size=6)


@settings(max_examples=100, deadline=None)
@given(_RULES, st.sampled_from(_STATUSES), st.sets(st.sampled_from(["a", "b", "c"])))
def test_any_cascade_ends_each_trigger_at_most_once_and_keeps_the_status_table(
        rules, status, tags):
    triggers = [rule(conditions=c, actions=a, name=f"t{i}", position=i + 1)
                for i, (c, a) in enumerate(rules)]
    start = facts(status=status, tags=tuple(sorted(tags)))
    out = cascade(triggers, "created", start, NOW)
    names = [p.trigger.name for p in out.plans]
    assert len(names) == len(set(names)) <= len(triggers)
    assert names == sorted(names, key=lambda n: int(n[1:]))
    current = start
    for step in out.plans:
        if step.changes.status is not None:
            assert step.changes.status in TRANSITIONS[Status(current.status)]
        current = after(current, step.changes, NOW)
    assert current == out.facts
