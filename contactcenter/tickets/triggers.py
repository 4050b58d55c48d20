"""Triggers and automations as values: what a rule is, whether a ticket matches it, and what it
would change. No I/O here: ``triggers_engine.py`` runs these inside the tickets' transactions.

Design note.
* A trigger is ``event`` (``created``, ``updated``, ``time``, ``merged``: on the ticket another
  was merged into, or ``split``: on the new ticket a split made), a list of conditions that
  must all hold, and a list of actions, kept in an admin's ``position`` order. A merged or
  split trigger also sees the *other* ticket (the one merged in, the one split from) through
  the ``other_requester`` and ``other_subject`` conditions. ``parse_trigger`` checks a
  definition from JSON once (every field, operator and value); evaluation then cannot fail on
  its form.
* A cascade (``cascade``) evaluates the enabled triggers of one event in order against the
  ticket *as the earlier triggers of the same cascade left it*, and each trigger at most once:
  the changes triggers make are applied by the actor ``trigger:<name>``, and such changes never
  start a cascade of their own. So no trigger can re-fire on its own change, and no two
  triggers can ping-pong.
* A change the status table would refuse (``closed`` is final) is dropped from the plan, not
  half-applied; the engine records what was skipped.
* Time automations fire at most once per ticket per *status entry* (the moment the ticket
  entered its current status): "pending for 3 days -> solved" fires once, and again only if the
  ticket goes pending anew.
* The ticket's type (``type``) and its custom fields (``fields.<key>``) are facts too, with the
  operators their kind fits (``FIELD_OPS``), and ``set_field`` sets one. A rule is checked
  against the field definitions when an admin saves it (``catalog``: the field exists, the
  operator fits its kind, the value is one it takes); a stored rule is read back without them,
  so a field deleted or changed later never breaks the rules: its conditions just do not hold
  (a value of another kind compares unequal) and a ``set_field`` is skipped, saying why.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from contactcenter.tickets.fields import KEY, FieldDef, FieldRefused, Kind, check_value
from contactcenter.tickets.model import (
    TRANSITIONS,
    Origin,
    Priority,
    Status,
    Ticket,
    TicketChanges,
    TicketError,
    clean_email,
    clean_tags,
)

EVENTS = ("created", "updated", "time", "merged", "split")
RELATED = ("merged", "split")  # events with another ticket: merged in, split from
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
CONDITIONS_MAX = 20
ACTIONS_MAX = 20
HOUR = 3600.0

# field -> the operators it takes. "changed" (updated triggers only) names a field the change
# that started the cascade changed; the hours are counted from creation, the last change and
# the entry into the current status.
_TEXT_OPS = ("is", "is_not", "in", "not_in")
OPERATORS: dict[str, tuple[str, ...]] = {
    "status": _TEXT_OPS, "priority": _TEXT_OPS, "queue": _TEXT_OPS, "origin": _TEXT_OPS,
    "assignee": (*_TEXT_OPS, "is_set", "not_set"),
    "requester": ("is", "is_not", "contains", "not_contains"),
    "tags": ("contains", "not_contains"),
    "subject": ("contains", "not_contains"),
    "changed": ("contains",),
    "other_requester": ("is", "is_not", "contains", "not_contains"),  # merged/split only
    "other_subject": ("contains", "not_contains"),
    "hours_since_created": ("at_least", "less_than"),
    "hours_since_updated": ("at_least", "less_than"),
    "hours_in_status": ("at_least", "less_than"),
    "type": (*_TEXT_OPS, "is_set", "not_set"),
}
FIELD_PREFIX = "fields."  # "fields.<key>": a custom field's value
_SET = ("is_set", "not_set")
FIELD_OPS: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: ("is", "is_not", "contains", "not_contains", *_SET),
    Kind.NUMBER: ("is", "is_not", "at_least", "less_than", *_SET),
    Kind.DATE: ("is", "is_not", "at_least", "less_than", *_SET),  # at_least: on or after
    Kind.DROPDOWN: ("is", "is_not", "in", "not_in", *_SET),
    Kind.CHECKBOX: ("is", *_SET),  # is true / is false (an unticked box is not set)
}
_ANY_FIELD_OPS = tuple(dict.fromkeys(op for ops in FIELD_OPS.values() for op in ops))
HOURS = {"hours_since_created": "created_at", "hours_since_updated": "updated_at",
         "hours_in_status": "status_since"}
ACTIONS = ("set_status", "set_priority", "set_queue", "assign", "unassign", "add_tag",
           "remove_tag", "set_field", "email", "webhook")
# Addresses no webhook may point at: the cloud metadata services (169.254.169.254 and the
# like are link-local) and names that stand for them.
_METADATA_NAMES = frozenset({"metadata", "metadata.google.internal",
                             "metadata.azure.internal", "instance-data"})


@dataclass(frozen=True, slots=True)
class Catalog:
    """The ticket types and custom fields a rule is checked against when it is saved."""

    types: tuple[str, ...] = ()
    fields: Mapping[str, FieldDef] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


@dataclass(frozen=True, slots=True)
class Action:
    """One action; ``value`` is its argument (a status, a tag, an agent...); ``email`` has
    ``to`` (``requester`` or an address), ``subject`` and ``text``; ``webhook`` ``url`` and
    ``secret``; ``set_field`` ``field`` (a key) and ``value`` (as stored; None clears it)."""

    type: str
    value: Any = None
    to: str | None = None
    subject: str | None = None
    text: str | None = None
    url: str | None = None
    secret: str | None = None
    field: str | None = None

    def as_json(self, *, secrets: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for name in ("field", "value", "to", "subject", "text", "url"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.type == "webhook":
            out["secret"] = self.secret if secrets else None
            out["secret_set"] = bool(self.secret)
        return out


@dataclass(frozen=True, slots=True)
class Trigger:
    """A rule; ``id`` 0 is one not stored (a dry run's)."""

    name: str
    event: str
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    enabled: bool = True
    position: int = 0
    id: int = 0

    def as_json(self, *, secrets: bool = False) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "event": self.event, "enabled": self.enabled,
                "position": self.position,
                "conditions": [c.as_json() for c in self.conditions],
                "actions": [a.as_json(secrets=secrets) for a in self.actions]}

    @property
    def actor(self) -> str:
        """The actor of its changes in a ticket's history."""
        return f"trigger:{self.name}"


@dataclass(frozen=True, slots=True)
class Facts:
    """What conditions read of a ticket, at one moment."""

    status: str
    priority: str
    queue: str
    origin: str
    assignee: str | None
    requester: str  # email, else phone, else ""
    tags: tuple[str, ...]
    subject: str
    created_at: float
    updated_at: float
    status_since: float
    changed: frozenset[str] = frozenset()
    # The other ticket of a merge (the one merged in) or a split (the one split from).
    other_requester: str | None = None
    other_subject: str | None = None
    ticket_type: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)  # key -> value as stored


def facts_of(ticket: Ticket, status_since: float, changed: Iterable[str] = (),
             other: Ticket | None = None, *, ticket_type: str | None = None,
             fields: Mapping[str, Any] | None = None) -> Facts:
    return Facts(ticket.status.value, ticket.priority.value, ticket.queue, ticket.origin.value,
                 ticket.assignee, _requester(ticket), tuple(ticket.tags), ticket.subject,
                 ticket.created_at, ticket.updated_at, status_since, frozenset(changed),
                 _requester(other) if other is not None else None,
                 other.subject if other is not None else None, ticket_type,
                 dict(fields or {}))


def _requester(ticket: Ticket) -> str:
    return ticket.requester.email or ticket.requester.phone or ""


@dataclass(frozen=True, slots=True)
class Email:
    to: str  # "requester" or an address
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What one trigger does to one ticket: field changes, mails, webhook calls, and the
    changes it could not make (with why)."""

    trigger: Trigger
    changes: TicketChanges
    emails: tuple[Email, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    skipped: tuple[str, ...] = ()
    fields: tuple[tuple[str, Any], ...] = ()  # (key, value as stored or None) to set

    def as_json(self, facts: Facts) -> dict[str, Any]:
        """The plan as a dry run shows it: field -> [old, new]."""
        out: dict[str, Any] = {}
        for name in ("status", "priority", "queue", "tags", "assignee"):
            new = getattr(self.changes, name)
            if new is not None:
                out[name] = [_plain(getattr(facts, name)), _plain(new)]
        if self.changes.unassign:
            out["assignee"] = [facts.assignee, None]
        for key, value in self.fields:
            out[FIELD_PREFIX + key] = [facts.fields.get(key), value]
        return {"trigger": self.trigger.name, "changes": out,
                "emails": [{"to": e.to, "subject": e.subject} for e in self.emails],
                "webhooks": [w.url for w in self.webhooks], "skipped": list(self.skipped)}


# ---------------------------------------------------------------------- checking definitions
def parse_trigger(data: Mapping[str, Any], *, position: int = 0, trigger_id: int = 0,
                  old: Trigger | None = None, catalog: Catalog | None = None) -> Trigger:
    """A trigger from its JSON definition, every part checked (``TicketError`` says what is
    wrong). A webhook action without a secret keeps the one ``old`` had for the same URL.
    With ``catalog`` (an admin saving it), types and fields must exist and values fit them;
    without (a stored rule read back), only their form is checked."""
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name.strip()):
        raise TicketError("name: 1-64 letters, digits, spaces, '_', '.' or '-'")
    event = data.get("event")
    if event not in EVENTS:
        raise TicketError(f"event must be one of {', '.join(EVENTS)}")
    conds = data.get("conditions", [])
    acts = data.get("actions", [])
    if not isinstance(conds, list) or len(conds) > CONDITIONS_MAX:
        raise TicketError(f"conditions: a list of at most {CONDITIONS_MAX}")
    if not isinstance(acts, list) or not 1 <= len(acts) <= ACTIONS_MAX:
        raise TicketError(f"actions: a list of 1 to {ACTIONS_MAX}")
    conditions = tuple(_condition(c, event, i, catalog) for i, c in enumerate(conds))
    if event == "time" and not any(c.field in HOURS and c.op == "at_least"
                                   for c in conditions):
        raise TicketError("a time trigger needs an 'at_least' condition on hours (when it is due)")
    secrets = {a.url: a.secret for a in (old.actions if old else ())
               if a.type == "webhook" and a.url is not None}
    actions = tuple(_action(a, i, secrets, catalog) for i, a in enumerate(acts))
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise TicketError("enabled must be true or false")
    return Trigger(name.strip(), event, conditions, actions, enabled, position, trigger_id)


def _condition(data: Any, event: str, i: int, catalog: Catalog | None) -> Condition:
    where = f"conditions[{i}]"
    if not isinstance(data, dict) or set(data) - {"field", "op", "value"}:
        raise TicketError(f"{where}: an object {{field, op, value}}")
    name, op, value = data.get("field"), data.get("op"), data.get("value")
    if isinstance(name, str) and name.startswith(FIELD_PREFIX):
        return _field_condition(where, name, op, value, catalog)
    if name not in OPERATORS:
        raise TicketError(f"{where}.field must be one of {', '.join(OPERATORS)}")
    if op not in OPERATORS[name]:
        raise TicketError(f"{where}.op for {name} must be one of {', '.join(OPERATORS[name])}")
    if name == "changed" and event != "updated":
        raise TicketError(f"{where}: 'changed' is only for updated triggers")
    if name.startswith("other_") and event not in RELATED:
        raise TicketError(f"{where}: '{name}' is only for merged and split triggers")
    if op in ("is_set", "not_set"):
        return Condition(name, op, None)
    if name in HOURS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 <= value <= 24 * 3650:
            raise TicketError(f"{where}.value: hours, 0..87600")
        return Condition(name, op, float(value))
    allowed = _ALLOWED.get(name)
    values = value if op in ("in", "not_in") else [value]
    if not isinstance(values, list) or not values or len(values) > 50 \
            or any(not isinstance(v, str) or not v or len(v) > 254 for v in values):
        raise TicketError(f"{where}.value: " + ("a list of 1-50 texts" if op in ("in", "not_in")
                                                else "a text of 1-254 characters"))
    if allowed is not None and any(v not in allowed and not (
            name == "changed" and v.startswith(FIELD_PREFIX)) for v in values):
        raise TicketError(f"{where}.value must be among {', '.join(allowed)}")
    if name == "tags":
        values = list(clean_tags(values))
    if name in _TEXTS:
        values = [str(v).lower() for v in values]
    for v in values:  # all texts by now
        if name == "changed" and str(v).startswith(FIELD_PREFIX):
            _field_of(where, str(v), catalog)
    if name == "type" and catalog is not None and any(v not in catalog.types for v in values):
        raise TicketError(f"{where}.value: no ticket type "
                          f"{next(v for v in values if v not in catalog.types)!r} (types: "
                          f"{', '.join(catalog.types) or 'none defined'})")
    return Condition(name, op, values if op in ("in", "not_in") else values[0])


def _field_of(where: str, name: str, catalog: Catalog | None) -> FieldDef | None:
    """The definition ``fields.<key>`` names (None without a catalog); refused naming it."""
    key = name[len(FIELD_PREFIX):]
    if not KEY.match(key):
        raise TicketError(f"{where}: {name!r} is not fields.<key>")
    if catalog is None:
        return None
    found = catalog.fields.get(key)
    if found is None:
        raise TicketError(f"{where}: no custom field {key!r} (fields: "
                          f"{', '.join(catalog.fields) or 'none defined'})")
    return found


def _field_condition(where: str, name: str, op: Any, value: Any,
                     catalog: Catalog | None) -> Condition:
    """A condition on a custom field: the operators its kind takes, a value it would take."""
    found = _field_of(where, name, catalog)
    ops = FIELD_OPS[found.kind] if found is not None else _ANY_FIELD_OPS
    if op not in ops:
        kind = f" ({found.kind.value})" if found is not None else ""
        raise TicketError(f"{where}.op for {name}{kind} must be one of {', '.join(ops)}")
    if op in _SET:
        return Condition(name, op, None)
    values = value if op in ("in", "not_in") else [value]
    if not isinstance(values, list) or not values or len(values) > 50 or any(
            isinstance(v, list | dict) or v is None or v == "" for v in values):
        raise TicketError(f"{where}.value: " + ("a list of 1-50 values"
                                                if op in ("in", "not_in") else "a value"))
    if found is not None:
        if op in ("contains", "not_contains"):
            if not isinstance(value, str) or len(value) > 254:
                raise TicketError(f"{where}.value: a text of 1-254 characters")
        elif found.kind is Kind.CHECKBOX:
            if not isinstance(value, bool):
                raise TicketError(f"{where}.value: {name} (checkbox) is true or false")
        else:
            try:
                values = [checked[0] for checked in (check_value(found, v) for v in values)
                          if checked is not None]
            except FieldRefused as exc:
                raise TicketError(f"{where}.value: {exc}") from None
            if len(values) != (len(value) if op in ("in", "not_in") else 1):
                raise TicketError(f"{where}.value: a value, not blank")
    elif any(not isinstance(v, str | int | float) for v in values):  # bool is an int
        raise TicketError(f"{where}.value: a text, a number or true/false")
    return Condition(name, op, values if op in ("in", "not_in") else values[0])


_TEXTS = ("requester", "subject", "other_requester", "other_subject")  # compared lowercased
_ALLOWED: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in Status), "priority": tuple(p.value for p in Priority),
    "origin": tuple(o.value for o in Origin),
    "changed": ("status", "priority", "queue", "tags", "assignee", "subject", "type"),
}


def _action(data: Any, i: int, secrets: Mapping[str, str | None],
            catalog: Catalog | None) -> Action:
    where = f"actions[{i}]"
    if not isinstance(data, dict):
        raise TicketError(f"{where}: an object with a type")
    kind = data.get("type")
    if kind not in ACTIONS:
        raise TicketError(f"{where}.type must be one of {', '.join(ACTIONS)}")
    keys = {"set_status": {"value"}, "set_priority": {"value"}, "set_queue": {"value"},
            "assign": {"value"}, "unassign": set(), "add_tag": {"value"},
            "remove_tag": {"value"}, "set_field": {"field", "value"},
            "email": {"to", "subject", "text"},
            "webhook": {"url", "secret", "secret_set"}}[kind]
    extra = set(data) - keys - {"type"}
    if extra:
        raise TicketError(f"{where}: {kind} takes no {min(extra)}")
    if kind == "unassign":
        return Action(kind)
    if kind == "set_field":
        return _set_field(where, data, catalog)
    if kind == "email":
        to = data.get("to")
        if to != "requester":
            to = clean_email(to)
        subject, text = data.get("subject"), data.get("text")
        if not isinstance(subject, str) or not 1 <= len(subject) <= 200 \
                or any(ord(c) < 32 for c in subject):
            raise TicketError(f"{where}.subject: one line of 1-200 characters")
        if not isinstance(text, str) or not 1 <= len(text) <= 10_000 or "\x00" in text:
            raise TicketError(f"{where}.text: 1-10000 characters")
        return Action(kind, to=to, subject=subject, text=text)
    if kind == "webhook":
        url = check_webhook_url(data.get("url"))
        secret = data.get("secret") or secrets.get(url)
        if not isinstance(secret, str) or not 16 <= len(secret) <= 200:
            raise TicketError(f"{where}.secret: 16-200 characters (it signs the body)")
        return Action(kind, url=url, secret=secret)
    value = data.get("value")
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise TicketError(f"{where}.value: a text of 1-64 characters")
    if kind == "set_status" and value not in _ALLOWED["status"]:
        raise TicketError(f"{where}.value must be a status")
    if kind == "set_priority" and value not in _ALLOWED["priority"]:
        raise TicketError(f"{where}.value must be a priority")
    if kind in ("add_tag", "remove_tag"):
        value = clean_tags([value])[0]
    return Action(kind, value=value)


def _set_field(where: str, data: Mapping[str, Any], catalog: Catalog | None) -> Action:
    """``set_field``: a field and a value it takes (None, or no value, clears it)."""
    name = data.get("field")
    if not isinstance(name, str):
        raise TicketError(f"{where}.field: a custom field's key")
    found = _field_of(where, FIELD_PREFIX + name, catalog)
    value = data.get("value")
    if found is not None:
        try:
            checked = check_value(found, value)
        except FieldRefused as exc:
            raise TicketError(f"{where}.value: {exc}") from None
        value = checked[0] if checked is not None else None
    elif value is not None and not isinstance(value, str | int | float):
        raise TicketError(f"{where}.value: a text, a number, true/false or null")
    return Action("set_field", value=value, field=name)


def check_webhook_url(url: Any) -> str:
    """``url`` if a webhook may call it: http(s) with a host, no credentials, and not a
    link-local, unspecified or multicast address or a cloud metadata name (loopback and
    private networks are allowed: webhooks often go to the intranet)."""
    if not isinstance(url, str) or len(url) > 500 or any(ord(c) <= 32 for c in url):
        raise TicketError("webhook url: an http(s) URL of at most 500 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TicketError("webhook url must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise TicketError("webhook url must not carry credentials")
    host = parts.hostname.lower().rstrip(".")
    if host in _METADATA_NAMES:
        raise TicketError(f"webhook url: {host} is a metadata service")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    if address.is_link_local or address.is_unspecified or address.is_multicast:
        raise TicketError(f"webhook url: {address} is link-local, unspecified or multicast")
    return url


# ---------------------------------------------------------------------- evaluation
def matches(trigger: Trigger, facts: Facts, now: float) -> bool:
    """Whether every condition of ``trigger`` holds for ``facts`` at ``now``."""
    return all(holds(c, facts, now) for c in trigger.conditions)


def holds(cond: Condition, facts: Facts, now: float) -> bool:
    """Whether one condition holds."""
    if cond.field in HOURS:
        hours = (now - getattr(facts, HOURS[cond.field])) / HOUR
        return hours >= cond.value if cond.op == "at_least" else hours < cond.value
    if cond.field == "tags":
        return (cond.value in facts.tags) == (cond.op == "contains")
    if cond.field == "changed":
        return cond.value in facts.changed
    if cond.field.startswith(FIELD_PREFIX):
        return _field_holds(cond, facts.fields.get(cond.field[len(FIELD_PREFIX):]))
    actual = getattr(facts, "ticket_type" if cond.field == "type" else cond.field)
    if cond.op == "is_set":
        return actual is not None
    if cond.op == "not_set":
        return actual is None
    if cond.field in _TEXTS:
        actual = (actual or "").lower()
        if cond.op in ("contains", "not_contains"):
            return (cond.value in actual) == (cond.op == "contains")
    return {"is": lambda: actual == cond.value, "is_not": lambda: actual != cond.value,
            "in": lambda: actual in cond.value, "not_in": lambda: actual not in cond.value,
            }[cond.op]()


def _same(actual: Any, wanted: Any) -> bool:
    """A stored value against a rule's: texts without case, an unticked box (not stored) is
    false, values of different kinds never equal (a field whose kind changed since)."""
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return (actual is True) == wanted if isinstance(wanted, bool) else False
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.casefold() == wanted.casefold()
    if isinstance(actual, int | float) and isinstance(wanted, int | float):
        return actual == wanted
    return False


def _field_holds(cond: Condition, actual: Any) -> bool:
    op, wanted = cond.op, cond.value
    if op in _SET:
        return (actual is not None) == (op == "is_set")
    if op in ("is", "is_not"):
        return _same(actual, wanted) == (op == "is")
    if op in ("in", "not_in"):
        return any(_same(actual, w) for w in wanted) == (op == "in")
    if op in ("contains", "not_contains"):
        found = isinstance(actual, str) and str(wanted).casefold() in actual.casefold()
        return found == (op == "contains")
    # at_least / less_than: numbers with numbers, dates (YYYY-MM-DD) with dates
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool)
                  for v in (actual, wanted))
    if not numbers and not (isinstance(actual, str) and isinstance(wanted, str)):
        return False
    return actual >= wanted if op == "at_least" else actual < wanted


def due_at(trigger: Trigger, facts: Facts) -> float | None:
    """When a time trigger's hour thresholds are all reached for ``facts``; None when its
    other conditions do not hold now (a change of the ticket wakes the sweep) or a
    ``less_than`` bound has passed by then."""
    if not all(holds(c, facts, 0.0) for c in trigger.conditions if c.field not in HOURS):
        return None
    due = max((getattr(facts, HOURS[c.field]) + c.value * HOUR for c in trigger.conditions
               if c.field in HOURS and c.op == "at_least"), default=None)
    if due is None:
        return None
    for c in trigger.conditions:
        if c.field in HOURS and c.op == "less_than" \
                and due >= getattr(facts, HOURS[c.field]) + c.value * HOUR:
            return None
    return due


def plan(trigger: Trigger, facts: Facts, *, agents: Sequence[str] | None = None,
         queues: Sequence[str] | None = None) -> Plan:
    """What ``trigger``'s actions do to a ticket with ``facts`` (in order: a later action on the
    same field wins). A status the table refuses, an unknown agent or queue is skipped."""
    status = priority = queue = assignee = None
    unassign = False
    tags = list(facts.tags)
    emails: list[Email] = []
    hooks: list[Webhook] = []
    skipped: list[str] = []
    values: dict[str, Any] = {}
    current = Status(facts.status)
    for act in trigger.actions:
        if act.type == "set_status":
            target = Status(str(act.value))
            if target != current and target not in TRANSITIONS[current]:
                skipped.append(f"status {current.value} -> {target.value} is not allowed")
            else:
                status = target
        elif act.type == "set_priority":
            priority = Priority(str(act.value))
        elif act.type == "set_queue":
            if queues is not None and act.value not in queues:
                skipped.append(f"no queue {act.value!r}")
            else:
                queue = act.value
        elif act.type == "assign":
            if agents is not None and act.value not in agents:
                skipped.append(f"no agent {act.value!r}")
            else:
                assignee, unassign = act.value, False
        elif act.type == "unassign":
            assignee, unassign = None, True
        elif act.type == "add_tag" and act.value not in tags:
            if len(tags) >= 20:
                skipped.append(f"tag {act.value!r}: the ticket has 20 tags")
            else:
                tags.append(str(act.value))
        elif act.type == "remove_tag" and act.value in tags:
            tags.remove(str(act.value))
        elif act.type == "set_field" and act.field is not None:
            values[act.field] = act.value
        elif act.type == "email":
            emails.append(Email(str(act.to), str(act.subject), str(act.text)))
        elif act.type == "webhook":
            hooks.append(Webhook(str(act.url), str(act.secret)))
    new_tags = tuple(sorted(tags))
    changes = TicketChanges(
        status=status if status is not None and status.value != facts.status else None,
        priority=priority if priority is not None and priority.value != facts.priority
        else None,
        queue=queue if queue != facts.queue else None,
        tags=new_tags if new_tags != tuple(sorted(facts.tags)) else None,
        assignee=assignee if assignee != facts.assignee else None,
        unassign=unassign and facts.assignee is not None)
    fields = tuple((k, v) for k, v in values.items() if facts.fields.get(k) != v)
    return Plan(trigger, changes, tuple(emails), tuple(hooks), tuple(skipped), fields)


def after(facts: Facts, changes: TicketChanges, now: float,
          fields: Sequence[tuple[str, Any]] = ()) -> Facts:
    """``facts`` once ``changes`` (and the field values ``fields``) are made at ``now`` (what
    the next trigger of a cascade sees)."""
    out = facts
    if fields:
        values = {**facts.fields, **dict(fields)}
        out = replace(out, fields={k: v for k, v in values.items() if v is not None},
                      updated_at=now)
    if changes.status is not None:
        out = replace(out, status=changes.status.value, status_since=now)
    if changes.priority is not None:
        out = replace(out, priority=changes.priority.value)
    if changes.queue is not None:
        out = replace(out, queue=changes.queue)
    if changes.tags is not None:
        out = replace(out, tags=tuple(changes.tags))
    if changes.assignee is not None:
        out = replace(out, assignee=changes.assignee)
    if changes.unassign:
        out = replace(out, assignee=None)
    if not changes.is_empty():
        out = replace(out, updated_at=now)
    return out


@dataclass
class Cascade:
    """The outcome of one cascade: the plans of the triggers that matched, in order."""

    plans: list[Plan] = field(default_factory=list)
    facts: Facts | None = None  # the ticket as the cascade leaves it


def cascade(triggers: Iterable[Trigger], event: str, facts: Facts, now: float, *,
            agents: Sequence[str] | None = None, queues: Sequence[str] | None = None
            ) -> Cascade:
    """Run every enabled trigger of ``event`` once, in order, each on the ticket as the
    earlier ones left it. Nothing here re-runs a trigger: that is the loop safety."""
    out = Cascade(facts=facts)
    for trigger in sorted(triggers, key=lambda t: (t.position, t.id)):
        if not trigger.enabled or trigger.event != event:
            continue
        assert out.facts is not None
        if not matches(trigger, out.facts, now):
            continue
        step = plan(trigger, out.facts, agents=agents, queues=queues)
        out.plans.append(step)
        out.facts = after(out.facts, step.changes, now, step.fields)
    return out


def uses_fields(trigger: Trigger) -> bool:
    """Whether ``trigger`` reads the custom fields (so its facts need their values)."""
    return any(c.field.startswith(FIELD_PREFIX) for c in trigger.conditions) \
        or any(a.type == "set_field" for a in trigger.actions)


def _plain(value: Any) -> Any:
    if isinstance(value, Status | Priority):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value
